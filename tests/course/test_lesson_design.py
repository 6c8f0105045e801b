"""Lessons where the learner does the thinking: predictions before formulas, formulas behind hints, quiz
answers in the lessons (folded), a challenge in every lesson — and every prediction asks a real question."""

from __future__ import annotations

import re

import nbformat
import pytest

from tools import authoring
from vgg_teach.checks.questions import QUESTIONS, QUIZZES

ROOT = authoring.ROOT
SOLUTIONS = authoring.solution_paths()
ANSWER = "<details><summary>답 / Answer</summary>"
_ANY_HINT = re.compile(r"<details><summary>힌트( \d+)? / Hint")  # "힌트 / Hint", "힌트 2 / Hint 2: …"
_PREDICTION = re.compile(r'check_prediction\("([^"]+)", (\w+)\)')
_QUIZ = re.compile(r'check_quiz\("([^"]+)", (\w+)\)')


def _cells(path, kind: str) -> list:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == kind]


def _calls(pattern: re.Pattern) -> dict[str, list[tuple[str, str]]]:
    return {p.name[:2]: [m.groups() for c in _cells(p, "code") for m in pattern.finditer(c.source)] for p in SOLUTIONS}


def test_every_prediction_names_a_question_and_every_question_is_asked():
    asked = {key for calls in _calls(_PREDICTION).values() for key, _ in calls}
    quizzed = {key for quiz in QUIZZES.values() for key in quiz.values()}
    assert asked <= set(QUESTIONS), asked - set(QUESTIONS)
    assert asked | quizzed == set(QUESTIONS), f"questions no lesson asks: {set(QUESTIONS) - asked - quizzed}"


def test_each_quiz_check_is_in_its_own_lesson():
    quizzes = _calls(_QUIZ)
    for lesson, calls in quizzes.items():
        assert all(number == lesson for number, _ in calls), (lesson, calls)
    assert {lesson for lesson, calls in quizzes.items() if calls} == set(QUIZZES)


#: Prediction cells with a check of their own (several numbers judged together), besides check_prediction.
_OWN_PREDICTION_CHECKS = ("check_score_map_predictions(",)


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_every_lesson_asks_first_hints_folds_its_answers_and_offers_a_challenge(path):
    markdown = _cells(path, "markdown")
    own = any(name in c.source for c in _cells(path, "code") for name in _OWN_PREDICTION_CHECKS)
    assert _calls(_PREDICTION)[path.name[:2]] or own, f"{path.name}: no prediction cell"
    assert any(_ANY_HINT.search(c.source) for c in markdown), f"{path.name}: no hint"
    assert any("도전" in c.source and "challenge" in c.source.lower() for c in markdown), f"{path.name}: no challenge"
    for cell in markdown:  # every <details> closes, with blank lines so that its Markdown renders in Jupyter and Colab
        opened = cell.source.count("<details>")
        assert opened == cell.source.count("</details>"), cell.id
        assert cell.source.count("</summary>\n\n") == opened and cell.source.count("\n\n</details>") == opened, cell.id
    lesson = _cells(ROOT / "lessons" / path.name, "markdown")
    quiz = [c.source for c in lesson if re.search(r"^\*\*Q\d", c.source, re.M)]
    assert quiz, f"{path.name}: no quiz"
    for source in quiz:  # in the lesson too: one folded answer per question
        why = (f"{path.name}: every **Qn** of the lesson's quiz needs its answer folded under it, "
               f"{ANSWER}…</details>, and not between solution markers: quiz answers stay in lessons (CONTRIBUTING)")
        assert source.count(ANSWER) == len(re.findall(r"^\*\*Q\d", source, re.M)), why
        assert authoring.STUB_MARKDOWN not in source, why
