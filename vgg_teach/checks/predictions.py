"""Predict, then check: the learner writes a number before reading the formula, and hears at once.

A prediction cell is a tiny exercise, and its check cell one line::

    def my_prediction():
        ### BEGIN SOLUTION
        return 1792
        ### END SOLUTION

    check_prediction("conv1_1_params", my_prediction)

The numeric answers of a lesson's quiz are checked the same way, all at once:
``check_quiz("02", my_quiz_answers)``, where ``my_quiz_answers()`` returns ``{"Q1": …, "Q3": …}``.

Every question is in :data:`QUESTIONS` (from :mod:`.questions`, :mod:`.questions_rf_head`,
:mod:`.questions_training` and :mod:`.questions_ddp`); its truth is *computed* from vgg_teach (the layer table,
the receptive-field table, ``count_flops`` on the ``meta`` device, the engine's loss), never typed in. A wrong
number is compared with the numbers that common mistakes give (the bias forgotten, ``k`` instead of ``k·k``, the
jump not doubled …) and the mistake is named; the truth itself is shown only once the prediction is right, so a
learner can try again. Estimates pass within the question's tolerance.
Checks never raise: a stub (``NotImplementedError``) is ⏳, anything else the learner's code raises is ❌.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Mapping

import torch

from . import questions, questions_ddp, questions_rf_head, questions_training
from .feedback import CheckResult, never_raises
from .questions import Answer, Question, Truth

__all__ = ["check_prediction", "check_quiz", "fmt_answer", "QUESTIONS", "QUIZZES"]

#: Every question a prediction cell or a quiz asks, by key (lessons 01–02, then 03–04, 05 and 07).
QUESTIONS: dict[str, Question] = {**questions.QUESTIONS, **questions_rf_head.QUESTIONS,
                                 **questions_training.QUESTIONS, **questions_ddp.QUESTIONS}

#: lesson → {quiz label: question key}: the quiz questions answered with a number.
QUIZZES: dict[str, dict[str, str]] = {
    "01": {"Q1": "conv_out_56", "Q2": "conv1_1_params", "Q4": "vgg16_out_32"},
    "02": {"Q1": "conv3_3_1x1_params", "Q2": "vgg16_params_448", "Q3": "bn_extra_params"},
    "03": {"Q1": "rf_four_convs", "Q2": "rf_dilated"},
    "04": {"Q2": "new_head_params", "Q3": "swapped_total"},
    "07": {"Q1": "ddp_allreduce_numbers"},
}


def fmt_answer(value: Answer) -> str:
    """``1792`` → ``1,792``; ``15.5`` → ``15.5``; ``(512, 1, 1)`` → ``(512, 1, 1)``."""
    if isinstance(value, tuple):
        return "(" + ", ".join(fmt_answer(v) for v in value) + ")"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) >= 1000 else f"{value:.4g}"


def _number(value: Any) -> float | None:
    """One number from what a learner may write: an int, a float, ``"1,792"``, a one-element tensor."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, str):
        try:
            value = float(value.replace(",", "").replace("_", "").strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        return None
    return float(value)


def _as_answer(value: Any, want: Answer) -> tuple[Answer | None, tuple[str, str] | None]:
    """``value`` shaped like ``want`` (one number, or a tuple of as many), or ``None`` and a (ko, en) reason."""
    if isinstance(want, tuple):
        if isinstance(value, (torch.Tensor, torch.Size)):
            value = tuple(value.tolist()) if isinstance(value, torch.Tensor) else tuple(value)
        items = list(value) if isinstance(value, (tuple, list)) else [value]
        numbers_ = [_number(v) for v in items]
        if len(items) != len(want) or None in numbers_:
            return None, (f"숫자 {len(want)}개를 튜플로 돌려주세요 (예: {fmt_answer(tuple(0 for _ in want))}). "
                          f"받은 값: {value!r}.",
                          f"Return {len(want)} numbers as a tuple (like {fmt_answer(tuple(0 for _ in want))}); "
                          f"got {value!r}.")
        return tuple(numbers_), None  # type: ignore[arg-type]
    number = _number(value)
    if number is None:
        return None, (f"숫자 하나를 돌려주세요. 받은 값: {value!r}.", f"Return one number; got {value!r}.")
    return number, None


def _close(got: Answer, want: Answer, rel_tol: float) -> bool:
    if isinstance(want, tuple):
        return isinstance(got, tuple) and all(_close(g, w, rel_tol) for g, w in zip(got, want))
    return not isinstance(got, tuple) and math.isclose(got, want, rel_tol=rel_tol, abs_tol=1e-9)


def _diagnosis(truth: Truth, got: Answer) -> tuple[str, str] | None:
    """The (ko, en) of the first known mistake that gives ``got``."""
    for mistake, ko, en in truth.mistakes:
        if callable(mistake):
            try:
                hit = not isinstance(got, tuple) and bool(mistake(got))
            except Exception:  # noqa: BLE001 - a predicate that cannot judge this answer does not match
                hit = False
        else:
            hit = _close(got, mistake, 1e-9)
        if hit:
            return ko, en
    return None


def _judge(result: CheckResult, question: Question, value: Any, label: str = "") -> bool:
    """One ✅ (with how the truth comes out) or ❌ (with the mistake it matches, else the question's hint)."""
    truth = question.truth()
    head_ko, head_en = (f"{label}: ", f"{label}: ") if label else ("", "")
    got, problem = _as_answer(value, truth.value)
    if problem is not None:
        result.fail(head_ko + problem[0], head_en + problem[1])
        return False
    if _close(got, truth.value, truth.rel_tol):
        approx = "" if _close(got, truth.value, 1e-9) else f" (정확히는 {fmt_answer(truth.value)})"
        approx_en = "" if not approx else f" (exactly {fmt_answer(truth.value)})"
        result.ok(f"{head_ko}{fmt_answer(got)} — 맞습니다{approx}. {truth.why_ko}",
                  f"{head_en}{fmt_answer(got)} — right{approx_en}. {truth.why_en}")
        return True
    side_ko, side_en = "", ""
    if not isinstance(got, tuple) and not isinstance(truth.value, tuple):
        side_ko = " (정답보다 작습니다)" if got < truth.value else " (정답보다 큽니다)"
        side_en = " (too small)" if got < truth.value else " (too large)"
    hint = _diagnosis(truth, got) or (question.hint_ko, question.hint_en)
    result.fail(f"{head_ko}{fmt_answer(got)} — 정답이 아닙니다{side_ko}. 다시 생각해 보고 이 셀을 다시 실행하세요.",
                f"{head_en}{fmt_answer(got)} is not it{side_en}. Think again and re-run this cell.", *hint)
    return False


def _question(result: CheckResult, key: str) -> Question | None:
    question = QUESTIONS.get(key)
    if question is None:
        result.fail(f"'{key}'라는 질문은 없습니다. 있는 질문: {', '.join(sorted(QUESTIONS))}.",
                    f"There is no question {key!r}. Known questions: {', '.join(sorted(QUESTIONS))}.")
    return question


@never_raises("check_prediction")
def check_prediction(result: CheckResult, key: str, guess: Callable[[], Any] | Any) -> CheckResult:
    """Is the learner's prediction for question ``key`` right? ``guess`` is a function returning it (or the value).

    The report restates the question, then says ✅ with how the number comes out, or ❌ with the mistake
    the wrong number matches (the truth is not given away), or ⏳ while ``guess`` is still a stub (or returns
    ``None`` or ``...``).
    """
    result.name = f"check_prediction({key!r})"
    question = _question(result, key)
    if question is None:
        return result
    result.note(f"질문: {question.ko}", f"Question: {question.en}")
    value = guess() if callable(guess) else guess
    if value is None or value is Ellipsis:
        result.todo("아직 답하지 않았습니다: ... 자리에 숫자를 적고 이 셀을 다시 실행하세요.",
                    "Not answered yet: put your number in place of ... and re-run this cell.")
    else:
        _judge(result, question, value)
    return result


@never_raises("check_quiz")
def check_quiz(result: CheckResult, lesson: str, answers: Callable[[], Mapping[str, Any]] | Mapping[str, Any]
               ) -> CheckResult:
    """The numeric questions of lesson ``lesson``'s quiz: ``answers()`` returns ``{"Q1": 56, …}``.

    A question left out (or ``None``, or ``...``) is ⏳; the others are judged one by one, as
    :func:`check_prediction` judges.
    """
    result.name = f"check_quiz({lesson!r})"
    quiz = QUIZZES.get(str(lesson))
    if quiz is None:
        result.fail(f"레슨 '{lesson}'에는 숫자로 답하는 퀴즈가 없습니다. 있는 레슨: {', '.join(sorted(QUIZZES))}.",
                    f"Lesson {lesson!r} has no numeric quiz. Lessons with one: {', '.join(sorted(QUIZZES))}.")
        return result
    got = answers() if callable(answers) else answers
    if not isinstance(got, Mapping):
        result.fail(f"{{'Q1': 숫자, …}} 꼴의 딕셔너리를 돌려주세요. 받은 것: {type(got).__name__}.",
                    f"Return a dict like {{'Q1': number, …}}; got a {type(got).__name__}.")
        return result
    for label, key in quiz.items():
        if got.get(label) is None or got.get(label) is Ellipsis:
            result.todo(f"{label}: 아직 답하지 않았습니다 — 딕셔너리에 \"{label}\"를 넣어 보세요.",
                        f"{label}: not answered yet — add \"{label}\" to the dict.")
        else:
            _judge(result, QUESTIONS[key], got[label], label)
    extra = sorted(set(map(str, got)) - set(quiz))
    if extra:
        result.note(f"숫자로 검사하지 않는 항목: {', '.join(extra)} (이 퀴즈의 숫자 문제는 {', '.join(quiz)}).",
                    f"Not checked as numbers: {', '.join(extra)} (this quiz's numeric questions: {', '.join(quiz)}).")
    return result
