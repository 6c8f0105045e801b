"""Notebook hygiene (no kernel, about a second): every rule of :mod:`tools.nblint` holds for every
notebook in ``solutions/`` and ``lessons/`` — and each rule is shown able to fail, on a copy of the
first lesson with exactly one defect.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import nbformat
import pytest

from tools import authoring, glossary, nblint
from tools.glossary import GLOSSARY
from tools.prose import glossary_problems
from tools.spelling import uk_spellings

ROOT = authoring.ROOT
NOTEBOOKS = nblint.notebook_paths(ROOT)
SOLUTIONS = authoring.solution_paths(ROOT)


def _ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}/{p.name}" for p in paths]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_clean(path: Path):
    problems = nblint.lint_notebook(path)
    assert not problems, "\n".join(["", *map(str, problems)])


def test_solutions_and_lessons_pair_up_with_the_same_cell_ids():
    names = sorted({p.name for p in NOTEBOOKS})
    problems = [p for name in names
                for p in nblint.lint_pair(ROOT / "solutions" / name, ROOT / "lessons" / name)]
    assert not problems, "\n".join(["", *map(str, problems)])


def test_glossary_is_consistent():
    kos = [t.ko for t in GLOSSARY]
    assert len(kos) == len(set(kos)), "a Korean term is listed twice"
    for term in GLOSSARY:
        assert term.en and term.ko
        for bad in term.forbidden:
            # a forbidden variant must never be found inside a correct glossary word
            clash = [t.ko for t in GLOSSARY if bad in t.ko]
            assert not clash, f"forbidden {bad!r} (for {term.ko}) occurs inside glossary term(s) {clash}"


# -- each rule can fail --------------------------------------------------------------------------

@pytest.fixture()
def course(tmp_path: Path) -> Path:
    """A temp copy of the first lesson: tmp/solutions/NAME and tmp/lessons/NAME."""
    src = SOLUTIONS[0]
    for folder in ("solutions", "lessons"):
        (tmp_path / folder).mkdir()
        shutil.copy(ROOT / folder / src.name, tmp_path / folder / src.name)
    return tmp_path


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _write(path: Path, nb: nbformat.NotebookNode) -> None:
    path.write_text(authoring.canonical(nb), encoding="utf-8")


def _key(p: nblint.Problem) -> tuple:
    return p.rule, p.cell, p.message


def _new_problems(path: Path, mutate: Callable[[Path], Path | None]) -> list[nblint.Problem]:
    """Problems the lint reports for ``path`` after ``mutate`` that it did not report before.

    (Diffing against the untouched copy keeps these tests about one defect each, even while the real
    lesson has a problem of its own: that one fails ``test_notebook_is_clean`` instead.)
    """
    before = {_key(p) for p in nblint.lint_notebook(path)}
    target = mutate(path) or path
    return [p for p in nblint.lint_notebook(target) if _key(p) not in before]


def _first_code(nb) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip())


def _markdown_with(nb, predicate) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and predicate(c))


def _edit(folder: str, change: Callable[[nbformat.NotebookNode], None]) -> Callable[[Path], Path]:
    def mutate(path: Path) -> Path:
        target = path.parent.parent / folder / path.name
        nb = _read(target)
        change(nb)
        _write(target, nb)
        return target
    return mutate


def _indent_2(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(raw, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def _second_h1(nb) -> None:
    i = _markdown_with(nb, lambda c: c.source.startswith("## "))
    nb.cells[i].source = nb.cells[i].source[1:]


def _badge_path(nb) -> None:
    i = _markdown_with(nb, lambda c: "badges" in c.metadata.get("tags", []))
    nb.cells[i].source = nb.cells[i].source.replace("/lessons/", "/solutions/")


def _badge_repo(nb) -> None:
    i = _markdown_with(nb, lambda c: "badges" in c.metadata.get("tags", []))
    slug = authoring.repository_url().removeprefix("https://github.com/")
    nb.cells[i].source = nb.cells[i].source.replace(f"colab.research.google.com/github/{slug}/",
                                                    "colab.research.google.com/github/someone/fork/")


def _lesson_output(nb) -> None:
    i = _first_code(nb)
    nb.cells[i].execution_count = 1
    nb.cells[i].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]


def _swap_counts(nb) -> None:
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    code[1].execution_count, code[2].execution_count = code[2].execution_count, code[1].execution_count


def _unexecuted(nb) -> None:
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    code[-1].execution_count = None
    code[-1].outputs = []


def _error_output(nb) -> None:
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    code[-1].outputs.append(nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                                   traceback=[]))


def _as_lesson_05(path: Path) -> Path:
    """The same notebook stored as lessons/05_….ipynb (badges re-stamped), still without vgg_teach.gpu."""
    name = "05_" + path.name[3:]
    target = path.parent / name
    nb = authoring.stamp(_read(path), f"lessons/{name}", authoring.repository_url(), target.stem)
    _write(target, nb)
    return target


def _append_markdown(text: str) -> Callable[[nbformat.NotebookNode], None]:
    """Add one prose cell at the end (so no earlier glossary use moves)."""
    def change(nb):
        nb.cells.append(nbformat.v4.new_markdown_cell(text, id="defect01"))
    return change


_english_only = _append_markdown(
    "*Every block ends with a max pool, and the lint must notice that this cell has no Korean at all.*")
_korean_only = _append_markdown("모든 블록은 최대 풀링으로 끝납니다. 이 셀에는 영어 문장이 없습니다.")
_identifiers_only = _append_markdown("VGG16 모델을 만듭니다: VGG16, ReLU, MaxPool2d, GoogLeNet.")


_british = _append_markdown("이미지를 채널마다 정규화합니다. *We normalise every channel of the images here, so that "
                            "they all share one scale.*")
_variant_in_a_later_gloss = _append_markdown("계층(layer, 흔히 레이어라고도 합니다)을 하나 더 쌓습니다. *One more "
                                             "layer is stacked on top of the others.*")


def _heading_without_english(nb) -> None:
    i = _markdown_with(nb, lambda c: c.source.startswith("## "))
    _, _, rest = nb.cells[i].source.partition("\n")
    nb.cells[i].source = "## 한국어로만 쓴 제목\n" + rest


def _forbidden_variant(nb) -> None:
    # a later use of 합성곱 (its first use, glossed, stays), spelled the way the glossary forbids
    hits = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "합성곱" in c.source]
    i = hits[1]
    nb.cells[i].source = nb.cells[i].source.replace("합성곱", "컨볼루션", 1)


def _unglossed_first_use(nb) -> None:
    i = _markdown_with(nb, lambda c: "합성곱(convolution)" in c.source)
    nb.cells[i].source = nb.cells[i].source.replace("합성곱(convolution)", "합성곱")


def _untag(tag: str) -> Callable[[nbformat.NotebookNode], None]:
    def change(nb):
        for cell in nb.cells:
            if tag in cell.metadata.get("tags", []):
                cell.metadata["tags"].remove(tag)
    return change


def _answer_left_in_exercise(nb) -> None:
    i = next(i for i, c in enumerate(nb.cells) if "exercise" in c.metadata.get("tags", []))
    nb.cells[i].source = "\n".join(line for line in nb.cells[i].source.split("\n")
                                   if line.strip() not in (authoring.BEGIN, authoring.END))


def _duplicate_id(path: Path) -> None:
    # raw JSON: nbformat would quietly rename the repeated id on writing
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["cells"][3]["id"] = raw["cells"][2]["id"]
    path.write_text(json.dumps(raw, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


L, S = "lessons", "solutions"
#: defect → (the copy it is made in, the one rule that must report it, how to make it)
DEFECTS: dict[str, tuple[str, str, Callable[[Path], Path | None]]] = {
    "non-canonical indent": (L, "canonical", _indent_2),
    "two H1s": (L, "h1", _edit(L, _second_h1)),
    "badge points at the solution": (L, "badge", _edit(L, _badge_path)),
    "badge of another repository": (L, "badge", _edit(L, _badge_repo)),
    "outputs in a lesson": (L, "outputs", _edit(L, _lesson_output)),
    "wrong kernelspec": (L, "kernelspec", _edit(L, lambda nb: nb.metadata.update(kernelspec={"name": "ir"}))),
    "out-of-order counts": (S, "execution-counts", _edit(S, _swap_counts)),
    "unexecuted solution cell": (S, "execution-counts", _edit(S, _unexecuted)),
    "error output in a solution": (S, "error-output", _edit(S, _error_output)),
    "gpu flag without GPU metadata": (L, "gpu", _edit(L, lambda nb: nb.metadata.update(vgg_teach={"gpu": True}))),
    "GPU metadata without the flag": (L, "gpu", _edit(L, lambda nb: nb.metadata.update(accelerator="GPU"))),
    "lesson 05 without a GPU": (L, "gpu", _as_lesson_05),
    "English-only prose cell": (L, "bilingual", _edit(L, _english_only)),
    "Korean-only prose cell": (L, "bilingual", _edit(L, _korean_only)),
    "identifiers are not English": (L, "bilingual", _edit(L, _identifiers_only)),
    "Korean-only heading": (L, "bilingual", _edit(L, _heading_without_english)),
    "forbidden glossary variant": (L, "glossary", _edit(L, _forbidden_variant)),
    "first use without English": (L, "glossary", _edit(L, _unglossed_first_use)),
    "variant named again in a later gloss": (L, "glossary", _edit(L, _variant_in_a_later_gloss)),
    "British spelling": (L, "spelling", _edit(L, _british)),
    "repeated cell id": (L, "cell-ids", _duplicate_id),
    "no setup cell tagged": (S, "tags", _edit(S, _untag("setup"))),
    "no badges cell tagged": (S, "tags", _edit(S, _untag("badges"))),
    "an answer left in an exercise cell": (S, "tags", _edit(S, _answer_left_in_exercise)),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_each_defect_is_reported_as_exactly_that_problem(course: Path, defect: str):
    folder, rule, mutate = DEFECTS[defect]
    new = _new_problems(course / folder / SOLUTIONS[0].name, mutate)
    assert new, f"{defect}: the lint found nothing"
    assert {p.rule for p in new} == {rule}, f"{defect}: expected only [{rule}], got:\n" + "\n".join(map(str, new))


def test_first_use_must_be_glossed_in_running_text(course: Path):
    """Moving the gloss from the first use to a later use is reported at the first use."""
    path = course / "lessons" / SOLUTIONS[0].name
    nb = _read(path)
    hits = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "합성곱" in nblint.prose(c.source)]
    first, later = hits[0], hits[-1]
    assert first != later

    def move(nb):
        nb.cells[first].source = nb.cells[first].source.replace("합성곱(convolution)", "합성곱")
        nb.cells[later].source = nb.cells[later].source.replace("합성곱", "합성곱(convolution)", 1)

    new = _new_problems(path, _edit("lessons", move))
    assert [(p.rule, p.cell) for p in new] == [("glossary", first)], "\n".join(map(str, new))


@pytest.mark.parametrize("text, glossed", [
    ("합성곱(convolution)과", True),
    ("합성곱 (convolutions)을", True),
    ("합성곱 계층(convolutional layer)은", True),
    ("합성곱(`nn.Conv2d`)은", False),
    ("합성곱은 (convolution)", False),
    ("합성곱을 쓰는 작은 계층 여러 개(convolution)", False),
])
def test_what_counts_as_a_gloss(text: str, glossed: bool):
    term = next(t for t in GLOSSARY if t.ko == "합성곱")
    after = nblint.prose(text)[len(term.ko):]
    assert nblint.is_glossed(term, after) is glossed


def test_a_gloss_may_follow_the_ending_that_makes_the_term_a_modifier():
    term = next(t for t in GLOSSARY if t.ko == "사전 학습")
    assert nblint.is_glossed(term, "된(pretrained) VGG16") and not nblint.is_glossed(term, "을(pretrained)")


def test_code_and_code_spans_are_not_prose(course: Path):
    """Forbidden variants and English-free text inside code cells and code spans are fine."""
    def add(nb):
        nb.cells.append(nbformat.v4.new_code_cell("# 레이어, 파라미터, 컨볼루션: 코드 주석은 검사하지 않습니다\nx = 1"))
        nb.cells.append(nbformat.v4.new_markdown_cell(
            "흔히 `컨볼루션`이라고도 하지만 이 강의에서는 합성곱이라고 씁니다. "
            "*People also say `컨볼루션`; this course writes it the same way every time.*\n\n"
            "```python\nlayers = []  # 레이어\n```"))
        for cell in nb.cells[-2:]:
            cell.id = f"extra{len(nb.cells)}{cell.cell_type[:2]}"
    new = _new_problems(course / "lessons" / SOLUTIONS[0].name, _edit("lessons", add))
    assert not new, "\n".join(map(str, new))


def test_lesson_ids_must_match_the_solution(course: Path):
    lesson = course / "lessons" / SOLUTIONS[0].name
    nb = _read(lesson)
    nb.cells[4].id = "changed0"
    _write(lesson, nb)
    problems = nblint.lint_course(course, authoring.repository_url())
    pair = [p for p in problems if p.rule in ("cell-ids", "pair")]
    assert [(p.rule, p.cell) for p in pair] == [("cell-ids", 4)], "\n".join(map(str, problems))


def test_an_orphan_lesson_is_reported(course: Path):
    (course / "solutions" / SOLUTIONS[0].name).unlink()
    problems = nblint.lint_course(course, authoring.repository_url())
    assert [p.rule for p in problems if p.rule == "pair"] == ["pair"]


def test_cli_exit_status(course: Path, capsys):
    path = course / "lessons" / SOLUTIONS[0].name
    nb = _read(path)
    nb.metadata.kernelspec = {"display_name": "R", "language": "R", "name": "ir"}
    _write(path, nb)
    assert nblint.main([str(path)]) == 1
    assert "[kernelspec]" in capsys.readouterr().out


def test_prose_strips_code_math_and_urls():
    text = nblint.prose("합성곱 `nn.Conv2d` $k=3$ [링크 text](https://example.com/a) <b>굵게</b> https://x.org/y\n"
                        "```\n# not a heading\n```\n### BEGIN SOLUTION\n")
    assert "nn.Conv2d" not in text and "k=3" not in text and "example.com" not in text and "x.org" not in text
    assert "링크 text" in text and "굵게" in text and "BEGIN" not in text and "not a heading" not in text


# -- the glossary's first-use mention, the spelling list, the README's glossary -------------------

_TITLE = (0, "# 01. 계층 쌓기 (Stacking layers)")


@pytest.mark.parametrize("cells, problems", [
    ([_TITLE, (1, "계층(layer, 흔히 레이어라고도 합니다)을 쌓습니다. *We stack layers.*")], 0),
    ([(1, "계층(layer, 흔히 레이어라고도 합니다)을 쌓습니다."), (2, "계층(layer, 레이어)을 또 씁니다.")], 1),
    ([(1, "계층(layer)을 쌓습니다. 흔히 레이어라고도 합니다.")], 1),
    ([(1, "합성곱(convolution, 레이어)과 계층(layer)을 씁니다.")], 1),
    ([(1, "계층을 쌓습니다."), (2, "계층(layer, 레이어)이라고 뒤늦게 씁니다.")], 2),
    ([(1, "흔히 `레이어`라고도 하는 계층(layer)을 씁니다.")], 0),
])
def test_a_variant_may_be_named_once_in_the_first_gloss(cells, problems: int):
    found = glossary_problems(cells)
    assert len(found) == problems, found


def test_the_heading_gloss_does_not_use_up_the_first_mention():
    """A title may gloss a term; naming the variant is still allowed in the first gloss of running text."""
    assert glossary_problems([(0, "# 02. 매개변수 세기 (Counting the parameters)"),
                              (1, "매개변수(parameter, 흔히 파라미터라고도 합니다)를 셉니다.")]) == []


@pytest.mark.parametrize("text, found", [
    ("We normalise and Normalisation", [("normalise", "normalize"), ("Normalisation", "Normalization")]),
    ("center-crop vs centre-crop; colour, neighbouring, grey, initialised",
     [("centre", "center"), ("colour", "color"), ("neighbouring", "neighboring"), ("grey", "gray"),
      ("initialised", "initialized")]),
    ("an exercise, a surprise, precise analysis with emphasis; your four hours; otherwise raise the noise", []),
    ("normalize, center, color, analyze, modeling, labeled", []),
])
def test_british_spellings_are_found_and_us_ones_are_not(text: str, found: list):
    assert uk_spellings(text) == found


def test_readme_holds_the_glossary():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert glossary.readme_with_glossary(text) == text, "README's glossary is stale: python -m tools.glossary --readme"
    assert glossary.markdown_table() in text
    with pytest.raises(ValueError, match="glossary section"):
        glossary.readme_with_glossary("# README without the markers\n")
