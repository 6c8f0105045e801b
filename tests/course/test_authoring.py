"""The lesson pipeline: lessons/ is generated from solutions/ and never stale (every lesson)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from tools import authoring
from tools.authoring import BEGIN, END, AuthoringError, strip_solutions

ROOT = authoring.ROOT
SOLUTIONS = authoring.solution_paths()


def test_lessons_and_readme_are_not_stale():
    stale = authoring.stale_files()
    assert not stale, f"run `python -m tools.authoring build`; stale: {[str(p) for p in stale]}"


def test_build_remakes_a_stale_lesson_and_never_overwrites_or_removes_one_made_by_hand(tmp_path):
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    shutil.copytree(ROOT / "lessons", tmp_path / "lessons")
    solution, lesson = tmp_path / "solutions" / SOLUTIONS[0].name, tmp_path / "lessons" / SOLUTIONS[0].name
    edit = lambda path, old, new: path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1),  # noqa: E731
                                                   encoding="utf-8")
    edit(solution, "VGG16", "VGG61")  # the instructor edits the solution: its lesson is stale, build remakes it
    assert lesson in authoring.stale_files(tmp_path)
    assert ("wrote", lesson) in authoring.build(tmp_path) and authoring.stale_files(tmp_path) == []
    edit(lesson, "VGG61", "VGG16 (homework due March 10)")  # edited in lessons/ by hand: refused, nothing lost
    edit(solution, "VGG61", "VGG62")
    with pytest.raises(AuthoringError, match=r"edited by hand \(cell \d+.*Move it into solutions/"):
        authoring.build(tmp_path)
    assert "homework due" in lesson.read_text(encoding="utf-8") and "VGG62" in solution.read_text(encoding="utf-8")
    lesson.unlink()  # the instructor moved the edit and deleted the lesson: build makes it again
    assert ("wrote", lesson) in authoring.build(tmp_path)
    extra = tmp_path / "lessons" / "08_extra.ipynb"  # a notebook written in lessons/ only: refused, kept
    shutil.copy(lesson, extra)
    edit(extra, "VGG62", "VGG11")
    with pytest.raises(AuthoringError, match="has no solution"):
        authoring.build(tmp_path)
    assert extra.exists()
    extra.unlink()
    renamed = tmp_path / "lessons" / "08_renamed.ipynb"  # a generated lesson whose solution was renamed: removed
    shutil.copy(lesson, renamed)
    assert authoring.build(tmp_path) == [("removed", renamed)] and not renamed.exists()


def test_stub_keeps_indentation_and_says_todo_in_both_languages():
    src = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n"
    out = strip_solutions(src)
    assert "return x + y" not in out and BEGIN not in out and END not in out
    assert "    # TODO: 여기에 코드를 작성하세요. / Write your code here.\n" in out
    assert out.rstrip().endswith('    raise NotImplementedError("연습 문제를 채워 주세요 / Fill in this exercise")')
    namespace: dict = {}
    exec(out, namespace)
    with pytest.raises(NotImplementedError):
        namespace["f"](1)


def test_markdown_answers_are_replaced_and_bad_regions_are_refused():
    md = "**Q1.** why?\n\n### BEGIN SOLUTION\nbecause\n### END SOLUTION\n\nmore"
    out = strip_solutions(md, markdown=True)
    assert "because" not in out and "Write your answer here" in out and out.endswith("more")
    with pytest.raises(AuthoringError, match="top level"):
        strip_solutions("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n")
    with pytest.raises(AuthoringError, match="markers"):
        strip_solutions("def f():\n    ### BEGIN SOLUTION\n    pass\n")


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_lesson_is_the_solution_minus_solutions(path):
    solution = nbformat.read(path, as_version=4)
    lesson = nbformat.read(ROOT / "lessons" / path.name, as_version=4)
    assert [c.id for c in solution.cells] == [c.id for c in lesson.cells]
    for s, l in zip(solution.cells, lesson.cells):  # noqa: E741 (s for solution, l for lesson)
        assert s.cell_type == l.cell_type and s.metadata == l.metadata
        if "badges" in s.metadata.get("tags", []):
            assert "/solutions/" in s.source and "/lessons/" in l.source
            continue
        if BEGIN in s.source:
            assert BEGIN not in l.source and ("NotImplementedError" in l.source or "Write your answer" in l.source)
        else:
            assert s.source == l.source
        if l.cell_type == "code":
            assert l.outputs == [] and l.execution_count is None


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_every_exercise_is_followed_by_its_check(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code):
        if BEGIN in cell.source:
            assert "exercise" in cell.metadata.get("tags", []), f"{path.name}: untagged exercise cell {cell.id}"
            later = code[i + 1:]
            assert later and any("check" in c.metadata.get("tags", []) for c in later[:2]), (
                f"{path.name}: exercise cell {cell.id} has no check cell right after it")


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_badges_open_this_file_in_colab_kaggle_and_github(path):
    for folder in ("solutions", "lessons"):
        nb = nbformat.read(ROOT / folder / path.name, as_version=4)
        badges = next(c.source for c in nb.cells if "badges" in c.metadata.get("tags", []))
        github = f"{authoring.repository_url()}/blob/main/{folder}/{path.name}"
        assert f"(https://kaggle.com/kernels/welcome?src={github})" in badges and f"({github})" in badges
        assert ("GPU T4 ×2" in badges) == bool(nb.metadata.get("vgg_teach", {}).get("gpu"))


def test_repository_appears_once_in_the_sources():
    url = authoring.repository_url()
    hits = []
    for p in list(ROOT.glob("vgg_teach/*.py")) + [ROOT / "pyproject.toml", ROOT / "environment.yml"]:
        if p.exists() and url in p.read_text(encoding="utf-8"):
            hits.append(p.name)
    assert hits == ["pyproject.toml"]


def test_check_cell_hook_fails_a_lesson_whose_check_passes(tmp_path):
    """The conftest hook is what proves stubs are 'not done': show that it really fails."""
    (tmp_path / "lessons").mkdir()
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('✅ 통과(passed) — fake check')")
    cell.metadata["tags"] = ["check"]
    nb.cells.append(cell)
    nbformat.write(nb, tmp_path / "lessons" / "99_fake.ipynb")
    nbformat.write(nb, tmp_path / "99_fake_solution.ipynb")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                          "--nbval-current-env", "-o", "addopts=", "lessons"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "stub is not detected as not done" in run.stdout


def test_a_smoke_mode_execute_never_replaces_a_full_runs_outputs(tmp_path, monkeypatch, capsys):
    """Lesson 05's stored outputs come from a real run (``execute --full``); ``execute`` of every solution in smoke
    mode must leave them alone, or one command would put smoke mode's stand-ins back."""
    nb = nbformat.v4.new_notebook(metadata={"vgg_teach": {"stored_run": "full"}})
    nb.cells = [nbformat.v4.new_code_cell("print('trained for real')",
                                          outputs=[nbformat.v4.new_output("stream", text="trained for real\n")])]
    path = tmp_path / "05_real.ipynb"
    path.write_text(authoring.canonical(nb), encoding="utf-8")
    monkeypatch.setattr(authoring, "ROOT", tmp_path)
    before = path.read_text(encoding="utf-8")
    authoring.execute([path], smoke=True)
    assert path.read_text(encoding="utf-8") == before and "skipped 05_real.ipynb" in capsys.readouterr().out
