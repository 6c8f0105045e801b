"""The course in a real browser: every lesson opened in JupyterLab in headless Chromium, Run All.

One JupyterLab (token-less, 127.0.0.1, a temp copy of ``lessons/``, kernels in smoke mode) and one Chromium serve
every lesson: Run All finishes with every code cell counted, no error shown, widgets rendered as widgets, every check
cell's ✅/⏳/❌ box shown and Hangul drawn as real glyphs (screenshots in ``artifacts/screenshots/``). The harness is
shown able to fail: four broken cells appended to a lesson are reported exactly, and the Hangul probe fails in a
Chromium without a Korean font.

Needs Debian's ``/usr/bin/chromium`` and a Korean font (``bash .ci/install_browser.sh``): skipped
when Chromium is missing, except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import browser_support as bs
import nbformat
import pytest

from tools import authoring

pytestmark = pytest.mark.browser

ROOT = authoring.ROOT
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
ARTIFACTS = Path(os.environ.get("VGG_TEACH_ARTIFACTS", ROOT / "artifacts"))
SCREENSHOTS = ARTIFACTS / "screenshots"
BROKEN = f"broken_{LESSONS[0].name}" if LESSONS else "broken.ipynb"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="module")
def playwright():
    why = bs.browser_unavailable()
    if why:
        if _in_ci():
            pytest.fail(f"CI=true but the browser tests cannot run: {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def _broken_copy(lesson: Path, target: Path) -> None:
    """The lesson plus a working widget cell (the positive control) and four broken cells."""
    nb = nbformat.read(lesson, as_version=4)
    working = nbformat.v4.new_code_cell(
        "import ipywidgets as widgets\n"
        "from ipywidgets import interact\n\n"
        "@interact(k=widgets.IntSlider(value=3, min=1, max=7, description='커널 k'))\n"
        "def show(k):\n"
        "    print(f'출력 크기 / output size: {(56 + 2 - k) // 1 + 1}')",
        id="working-widget")
    widget = nbformat.v4.new_code_cell(
        "from IPython.display import display\n"
        "# a widget view whose model does not exist: must be reported as not rendered\n"
        "display({'application/vnd.jupyter.widget-view+json': {'model_id': 'no-such-model', "
        "'version_major': 2, 'version_minor': 0}, 'text/plain': 'IntSlider(value=0)'}, raw=True)",
        id="broken-widget")
    # what the page shows when the widget manager is missing: the widget's text repr
    as_text = nbformat.v4.new_code_cell(
        "display({'text/plain': \"interactive(children=(IntSlider(value=3), Output()))\"}, raw=True)",
        id="widget-as-text")
    check = nbformat.v4.new_code_cell("print('checked?')  # a check cell without a status box", id="broken-check")
    check.metadata["tags"] = ["check"]
    error = nbformat.v4.new_code_cell("1/0", id="broken-error")
    nb.cells += [working, widget, as_text, check, error]
    target.write_text(authoring.canonical(nb), encoding="utf-8")


@pytest.fixture(scope="module")
def lab_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lab") / "lessons"
    shutil.copytree(ROOT / "lessons", root)
    if LESSONS:
        _broken_copy(LESSONS[0], root / BROKEN)
    return root


@pytest.fixture(scope="module")
def lab(playwright, lab_root, tmp_path_factory):
    with bs.JupyterLab(lab_root, tmp_path_factory.mktemp("jupyter")) as server:
        yield server


@pytest.fixture(scope="module")
def browser(playwright, tmp_path_factory):
    context = bs.launch_chromium(playwright, tmp_path_factory.mktemp("chromium") / "profile")
    yield context
    context.close()


def _save_report(run: bs.NotebookRun, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    data = asdict(run)
    data["screenshot"] = str(run.screenshot) if run.screenshot else None
    data["problems"] = run.problems()
    (SCREENSHOTS / f"{name}.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_in_jupyterlab(lesson: Path, lab: bs.JupyterLab, browser):
    run = bs.run_notebook(browser, lab, lesson.name, SCREENSHOTS / f"{lesson.stem}.png")
    _save_report(run, lesson.stem)
    print(run.summary())
    problems = run.problems()
    assert not problems, f"{lesson.name} in JupyterLab:\n  " + "\n  ".join(problems) + \
        f"\n(screenshot: {run.screenshot}; server log tail:\n{lab.log(1500)})"


def test_harness_reports_broken_cells(lab: bs.JupyterLab, browser, lab_root: Path):
    """A lesson copy with a working ``interact`` slider, then a missing widget model, a widget shown as
    text, a check cell without status and ``1/0``: exactly the four broken cells are reported, the
    slider renders."""
    run = bs.run_notebook(browser, lab, BROKEN, SCREENSHOTS / f"{Path(BROKEN).stem}.png")
    _save_report(run, Path(BROKEN).stem)
    problems = run.problems()
    n = len(run.cells)
    working_i, widget_i, as_text_i, check_i, error_i = range(n - 5, n)
    working = run.cells[working_i]
    assert any(d["widgets"] for d in working["dom"]), f"the interact slider did not render: {working['dom']}"
    assert any("출력 크기 / output size: 56" in d["text"] for d in working["dom"]), working["dom"]
    assert run.finished, problems
    assert run.run_all is False, f"run-all should report the failure, got {run.run_all!r}"
    errors = run.error_cells()
    assert {i for i, _ in errors} == {error_i}, errors
    assert any("ZeroDivisionError" in what and what.startswith("page shows") for _, what in errors), \
        f"the traceback must be found in the page itself, not only in the model: {errors}"
    expected = {
        "notebook:run-all-cells reported False",
        f"cell {widget_i}: widget not rendered",
        f"cell {as_text_i}: a widget shown as its text repr",
        f"cell {check_i} (check): no .vgg-teach-check",
        f"cell {error_i}: error output: ZeroDivisionError",
        f"cell {error_i}: error output: page shows",
    }
    for prefix in expected:
        assert any(p.startswith(prefix) for p in problems), f"{prefix!r} not reported; got:\n" + "\n".join(problems)
    unexpected = [p for p in problems if not any(p.startswith(e) for e in expected)]
    assert not unexpected, "the rest of the lesson should be fine:\n" + "\n".join(unexpected)


def test_hangul_probe_fails_without_a_korean_font(playwright, browser, tmp_path: Path):
    """The in-page Hangul check is real: it passes here and fails where Chromium has no Korean font."""
    page = browser.new_page()
    try:
        page.set_content("<p style='font-family: sans-serif'>한글 Hangul</p>")
        with_font = page.evaluate(bs.HANGUL_PROBE_JS, "sans-serif")
    finally:
        page.close()
    assert with_font["ok"], f"no Korean font for Chromium (run .ci/install_browser.sh): {with_font}"
    without = bs.hangul_probe_without_cjk_font(playwright, tmp_path)
    assert not without["ok"], f"the probe passed with only DejaVu Sans available: {without}"
