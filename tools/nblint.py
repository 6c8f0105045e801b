"""Notebook hygiene for the course: fast checks that need no kernel.

Run it from the repository root (the test suite runs the same code, ``tests/course/test_notebook_lint.py``)::

    python -m tools.nblint                 # every notebook in solutions/ and lessons/
    python -m tools.nblint lessons/01_*.ipynb
    python -m tools.nblint --rules         # what each rule checks

Each problem names the notebook, the cell (index and id) and the rule, and says how to fix it.
Most problems in ``lessons/`` are fixed by editing ``solutions/`` and running
``python -m tools.authoring build``; problems in ``solutions/`` by editing the solution (and
``python -m tools.authoring execute solutions/NN_….ipynb`` for outputs and execution counts).
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tokenize
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import nbformat

from tools import authoring
from tools.nblint_rules import RULES
from tools.prose import (
    HANGUL,
    WORD,
    glossary_problems,
    h1_lines,
    is_bilingual_text,
    is_glossed,
    prose,
    split_headings,
    words,
)
from tools.spelling import uk_spellings

__all__ = ["Problem", "RULES", "lint_notebook", "lint_pair", "lint_course", "lint_paths",
           "notebook_paths", "prose", "split_headings", "is_bilingual_text", "is_glossed", "main"]


SOLUTIONS, LESSONS = "solutions", "lessons"
#: lesson number → what it does with a GPU: these lessons must ask Colab for a GPU runtime.
GPU_LESSONS = {"05": "trains VGG", "07": "trains on several GPUs"}

_COLAB_BADGE = re.compile(
    r"\[!\[[^\]]*\]\(https://colab\.research\.google\.com/assets/colab-badge\.svg\)\]\(([^)\s]+)\)")
_COLAB_URL = re.compile(r"^https://colab\.research\.google\.com/github/([^/]+/[^/]+)/blob/([^/]+)/(.+)$")
_GITHUB_BLOB = re.compile(r"\((https://github\.com/[^)\s]+/blob/[^)\s]+)\)")
_KAGGLE = re.compile(r"\(https://kaggle\.com/kernels/welcome\?src=([^)\s]+)\)")


@dataclass(frozen=True)
class Problem:
    """One broken rule in one notebook (and cell, when it is about a cell)."""

    path: Path
    rule: str
    message: str
    cell: int | None = None
    cell_id: str | None = None

    def location(self) -> str:
        where = _display(self.path)
        if self.cell is not None:
            where += f": cell {self.cell}" + (f" (id {self.cell_id})" if self.cell_id else "")
        return where

    def __str__(self) -> str:
        return f"{self.location()} [{self.rule}] {self.message}"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(authoring.ROOT))
    except ValueError:
        return str(path)


# -- single notebooks ----------------------------------------------------------------------------

def _kind(path: Path) -> str | None:
    return path.parent.name if path.parent.name in (SOLUTIONS, LESSONS) else None


class _Linter:
    def __init__(self, path: Path, repo_url: str) -> None:
        self.path = path
        self.repo_url = repo_url
        self.kind = _kind(path)
        self.problems: list[Problem] = []

    def add(self, rule: str, message: str, index: int | None = None, cell: Any = None) -> None:
        cell_id = cell.get("id") if cell is not None else None
        self.problems.append(Problem(self.path, rule, message, index, cell_id))

    # each check_* method is one rule (or two closely tied ones)
    def run(self) -> list[Problem]:
        try:
            text = self.path.read_text(encoding="utf-8")
            raw = json.loads(text)
            with warnings.catch_warnings():  # nbformat renames repeated cell ids; check_ids reports them
                warnings.simplefilter("ignore")
                nb = nbformat.reads(text, as_version=4)
        except (OSError, ValueError, nbformat.reader.NotJSONError) as exc:  # ValueError covers JSONDecodeError
            self.add("json", f"cannot read the notebook: {exc}")
            return self.problems
        if self.check_ids(raw):  # nbformat rewrites repeated ids, so canonical() differs until they are fixed
            self.check_canonical(text, nb)
        self.check_h1(nb)
        self.check_tags(nb)
        self.check_badge(nb)
        self.check_kernelspec(nb)
        self.check_outputs(nb)
        self.check_execution_counts(nb)
        self.check_gpu(nb)
        self.check_bilingual(nb)
        self.check_glossary(nb)
        self.check_spelling(nb)
        return self.problems

    def check_canonical(self, text: str, nb: Any) -> None:
        want = authoring.canonical(nb)
        if text != want:
            got_lines, want_lines = text.splitlines(), want.splitlines()
            line = next((i + 1 for i, (a, b) in enumerate(zip(got_lines, want_lines, strict=False)) if a != b),
                        min(len(got_lines), len(want_lines)) + 1)
            self.add("canonical", f"not stored canonically (first difference at line {line}): run "
                                  f"`python -m tools.authoring build` (or write it with authoring.canonical())")

    def check_ids(self, raw: dict[str, Any]) -> bool:
        """Report missing, invalid and repeated ids; return False when ids repeat."""
        seen: dict[str, int] = {}
        unique = True
        for i, cell in enumerate(raw.get("cells", [])):
            cid = cell.get("id")
            if not isinstance(cid, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", cid):
                self.add("cell-ids", f"missing or invalid cell id {cid!r}: run `python -m tools.authoring build`",
                         i, cell)
            elif cid in seen:
                unique = False
                self.add("cell-ids", f"cell id {cid!r} repeats the id of cell {seen[cid]}: give one of them a new id",
                         i, cell)
            else:
                seen[cid] = i
        return unique

    def check_h1(self, nb: Any) -> None:
        where = [(i, cell, h) for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"
                 for h in h1_lines(cell.source)]
        if not where:
            self.add("h1", "no H1 title: the first cell must be a Markdown cell starting with '# NN. 제목 (Title)'", 0,
                     nb.cells[0] if nb.cells else None)
            return
        first_i, first_cell, _ = where[0]
        if first_i != 0:
            self.add("h1", "the H1 title is not in the first cell: move it to cell 0", first_i, first_cell)
        for i, cell, h in where[1:]:
            self.add("h1", f"a second H1 {h!r}: a notebook has one H1 (its title); use '##' here", i, cell)

    def check_tags(self, nb: Any) -> None:
        if self.kind is None:
            return
        tagged = {tag: [i for i, c in enumerate(nb.cells) if tag in authoring.cell_tags(c)] for tag in
                  ("badges", "setup", "exercise")}
        for tag, kind, where in (("badges", "Markdown", "the cell under the title"),
                                 ("setup", "code", "the code cell after the overview")):
            cells = tagged[tag]
            if len(cells) != 1 or nb.cells[cells[0]].cell_type != kind.lower():
                self.add("tags", f"{len(cells)} cell(s) tagged '{tag}' ({cells}): tag exactly one, {where} (a "
                                 f"{kind} cell), '{tag}'; `python -m tools.authoring build` then writes its content")
        stub = authoring.BEGIN if self.kind == SOLUTIONS else authoring.STUB_CODE[-1]
        for i in tagged["exercise"]:
            cell = nb.cells[i]
            if stub not in cell.source and authoring.STUB_MARKDOWN not in cell.source:
                self.add("tags", f"tagged 'exercise' but has no {authoring.BEGIN} … {authoring.END} region: "
                                 "the lesson would hold the whole answer. Wrap what the learner writes in the "
                                 "markers (inside the function), or remove the tag", i, cell)

    def _expected_paths(self) -> tuple[str, str, str] | None:
        if self.kind is None:
            return None
        rel = f"{self.kind}/{self.path.name}"
        slug = self.repo_url.removeprefix("https://github.com/")
        colab = f"https://colab.research.google.com/github/{slug}/blob/{authoring.BRANCH}/{rel}"
        github = f"{self.repo_url}/blob/{authoring.BRANCH}/{rel}"
        return rel, colab, github

    def check_badge(self, nb: Any) -> None:
        expected = self._expected_paths()
        if expected is None:
            return
        rel, colab, github = expected
        badges = [(i, cell, url) for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"
                  for url in _COLAB_BADGE.findall(cell.source)]
        if not badges:
            self.add("badge", "no Open-in-Colab badge: tag the cell under the title 'badges' and run "
                              "`python -m tools.authoring build`")
        for i, cell, url in badges:
            if url == colab:
                continue
            m = _COLAB_URL.match(url)
            why = []
            if not m:
                why.append("not a colab.research.google.com/github/… URL")
            else:
                repo, branch, file = m.groups()
                slug = self.repo_url.removeprefix("https://github.com/")
                if repo != slug:
                    why.append(f"repository {repo!r}, not {slug!r} from pyproject.toml")
                if branch != authoring.BRANCH:
                    why.append(f"branch {branch!r}, not {authoring.BRANCH!r}")
                if file != rel:
                    why.append(f"file {file!r}, not this file {rel!r}")
            self.add("badge", f"Colab badge points at {url} ({'; '.join(why)}): run "
                              f"`python -m tools.authoring build`", i, cell)
        for i, cell in enumerate(nb.cells):
            if "badges" in authoring.cell_tags(cell):
                for url in _GITHUB_BLOB.findall(cell.source):
                    if url != github:
                        self.add("badge", f"GitHub link points at {url}, not this file {github}: run "
                                          f"`python -m tools.authoring build`", i, cell)
                if (kaggle := _KAGGLE.findall(cell.source)) != [github]:
                    self.add("badge", f"the Open-in-Kaggle link must open {github}, found {kaggle or 'none'}: "
                                      f"run `python -m tools.authoring build`", i, cell)

    def check_kernelspec(self, nb: Any) -> None:
        spec = nb.metadata.get("kernelspec", {})
        if spec.get("name") != "python3" or spec.get("language", "python") != "python":
            self.add("kernelspec", f"kernelspec is {dict(spec)!r}, not the python3 kernel: run "
                                   f"`python -m tools.authoring build`")

    def check_outputs(self, nb: Any) -> None:
        if self.kind == LESSONS:
            for i, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                if cell.get("outputs") or cell.get("execution_count") is not None:
                    self.add("outputs", "a lesson cell with outputs or an execution count: lessons are "
                                        "generated without them (`python -m tools.authoring build`)", i, cell)
        if self.kind == SOLUTIONS:
            for i, cell in enumerate(nb.cells):
                for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
                    if out.get("output_type") == "error":
                        self.add("error-output", f"stored error output {out.get('ename')}: "
                                                 f"{out.get('evalue')}: fix the cell and re-execute", i, cell)

    def check_execution_counts(self, nb: Any) -> None:
        if self.kind != SOLUTIONS:
            return
        cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
        counts = [c.get("execution_count") for _, c in cells]
        if counts == list(range(1, len(cells) + 1)):
            return
        bad = next(k for k, n in enumerate(counts) if n != k + 1)
        i, cell = cells[bad]
        got = "not executed" if counts[bad] is None else f"[{counts[bad]}]"
        self.add("execution-counts",
                 f"code cells must be counted 1, 2, 3 … top to bottom; this one is {got}, expected [{bad + 1}] "
                 f"(all counts: {counts}): run `python -m tools.authoring execute solutions/{self.path.name}`",
                 i, cell)

    def check_gpu(self, nb: Any) -> None:
        meta = nb.metadata
        wants = bool(meta.get("vgg_teach", {}).get("gpu"))
        accel = meta.get("accelerator") == "GPU"
        gpu_type = bool(meta.get("colab", {}).get("gpuType"))
        if wants and not (accel and gpu_type):
            self.add("gpu", "metadata.vgg_teach.gpu is true but metadata.accelerator/colab.gpuType are missing: "
                            "run `python -m tools.authoring build`")
        if not wants and (accel or gpu_type or "accelerator" in meta):
            self.add("gpu", "GPU accelerator metadata on a notebook without metadata.vgg_teach.gpu: remove it or "
                            "set vgg_teach.gpu, then run `python -m tools.authoring build`")
        lesson = self.path.name[:2]
        if lesson in GPU_LESSONS and not wants:
            self.add("gpu", f"lesson {lesson} {GPU_LESSONS[lesson]} and must ask Colab for a GPU: set "
                            "{\"vgg_teach\": {\"gpu\": true}} in the solution's notebook metadata")

    def check_bilingual(self, nb: Any) -> None:
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "markdown" or "badges" in authoring.cell_tags(cell):
                continue
            headings, body = split_headings(prose(cell.source))
            for h in headings:
                if not (HANGUL.search(h) and words(h)):
                    self.add("bilingual", f"heading {h!r} needs Korean and English, e.g. '개요 (Overview)'", i, cell)
            if not (HANGUL.search(body) or WORD.search(body)):
                continue  # a pure heading cell (or only code/math/images)
            ok, why = is_bilingual_text(body)
            if not ok:
                self.add("bilingual", f"prose must be in Korean and English: {why}", i, cell)

    def check_glossary(self, nb: Any) -> None:
        markdown = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]
        for i, message in glossary_problems(markdown):
            self.add("glossary", message, i, nb.cells[i])

    def check_spelling(self, nb: Any) -> None:
        for i, cell in enumerate(nb.cells):
            text = prose(cell.source) if cell.cell_type == "markdown" else _comments_and_strings(cell.source)
            if cell.cell_type in ("markdown", "code"):
                for uk, us in uk_spellings(text):
                    self.add("spelling", f"{uk!r} is British spelling; the course writes US English: {us!r} "
                                         f"(tools/spelling.py)", i, cell)


def _comments_and_strings(source: str) -> str:
    """A code cell's comments and string literals: the prose a learner reads there (names are not prose)."""
    kinds = {tokenize.COMMENT, tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    words = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in kinds:
                words.append(re.sub(r"\w*_\w*", " ", token.string))  # snake_case names inside a string or comment
    except (tokenize.TokenError, SyntaxError):  # a magic line (%%writefile, !pip) may stop it: what was read counts
        pass
    return "\n".join(words)


# -- the course ----------------------------------------------------------------------------------

def lint_notebook(path: Path, repo_url: str | None = None) -> list[Problem]:
    """Every single-notebook rule for ``path`` (folder-specific rules from its folder's name)."""
    return _Linter(Path(path), repo_url or authoring.repository_url()).run()


def _cell_ids(path: Path) -> list[Any]:
    try:
        return [c.get("id") for c in json.loads(path.read_text(encoding="utf-8")).get("cells", [])]
    except (OSError, ValueError):
        return []


def lint_pair(solution: Path, lesson: Path) -> list[Problem]:
    """Rules between a solution and its lesson: both exist, and their cell ids are the same, in order."""
    if not solution.exists():
        return [Problem(lesson, "pair", f"no {SOLUTIONS}/{lesson.name}: lessons are generated from solutions; "
                                        f"`python -m tools.authoring build` removes orphans")]
    if not lesson.exists():
        return [Problem(solution, "pair", f"no {LESSONS}/{solution.name}: run `python -m tools.authoring build`")]
    sol_ids, les_ids = _cell_ids(solution), _cell_ids(lesson)
    if sol_ids == les_ids:
        return []
    k = next((k for k, (a, b) in enumerate(zip(sol_ids, les_ids, strict=False)) if a != b),
             min(len(sol_ids), len(les_ids)))
    return [Problem(lesson, "cell-ids",
                    f"cell ids differ from {SOLUTIONS}/{solution.name} from cell {k} on "
                    f"({len(les_ids)} vs {len(sol_ids)} cells): run `python -m tools.authoring build`",
                    k, les_ids[k] if k < len(les_ids) else None)]


def notebook_paths(root: Path = authoring.ROOT) -> list[Path]:
    """Every notebook of the course: ``solutions/*.ipynb`` then ``lessons/*.ipynb``."""
    return [p for folder in (SOLUTIONS, LESSONS) for p in sorted((root / folder).glob("*.ipynb"))]


def lint_course(root: Path = authoring.ROOT, repo_url: str | None = None) -> list[Problem]:
    """All rules over ``root``'s solutions/ and lessons/, pairs included."""
    url = repo_url or authoring.repository_url(root if (root / "pyproject.toml").exists() else authoring.ROOT)
    problems = [p for path in notebook_paths(root) for p in lint_notebook(path, url)]
    names = sorted({p.name for p in notebook_paths(root)})
    for name in names:
        problems += lint_pair(root / SOLUTIONS / name, root / LESSONS / name)
    return problems


def lint_paths(paths: Iterable[Path], repo_url: str | None = None) -> list[Problem]:
    """Lint the given notebooks (folders expand to their ``*.ipynb``); pairs where both sides exist."""
    files: list[Path] = []
    for p in paths:
        files += sorted(p.glob("*.ipynb")) if p.is_dir() else [p]
    problems = [q for f in files for q in lint_notebook(f, repo_url)]
    pairs = {(f.parent.parent, f.name) for f in files if _kind(f)}
    for base, name in sorted(pairs):
        if (base / SOLUTIONS / name).exists() and (base / LESSONS / name).exists():
            problems += lint_pair(base / SOLUTIONS / name, base / LESSONS / name)
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.nblint", description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks or folders (default: solutions/ and lessons/)")
    parser.add_argument("--rules", action="store_true", help="list the rules and exit")
    args = parser.parse_args(argv)
    if args.rules:
        for rule, what in RULES.items():
            print(f"{rule:17} {what}")
        return 0
    if args.paths:
        problems = lint_paths(args.paths)
        checked = len({f for p in args.paths for f in (sorted(p.glob("*.ipynb")) if p.is_dir() else [p])})
    else:
        problems, checked = lint_course(), len(notebook_paths())
    for p in problems:
        print(p)
    if problems:
        print(f"❌ {len(problems)} problem(s) in {len({p.path for p in problems})} of {checked} notebook(s); "
              f"`python -m tools.nblint --rules` explains the rules", file=sys.stderr)
        return 1
    print(f"✅ {checked} notebook(s), no problems")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
