"""Test-suite wiring shared by the unit tests and nbval's notebook runs.

- Smoke mode (``VGG_TEACH_SMOKE=1``), no network (``tests/offline``) and a non-interactive matplotlib backend
  are set before any kernel starts, so notebooks shrink data and epochs but run the same code path.
- Under pytest-xdist (``-n auto`` in pyproject's addopts: one worker per core plus one, which works while the others
  wait for kernels and subprocesses to start) every worker, and every kernel it starts, uses one thread.
- A check cell (tag ``check``) must report ✅ in ``solutions/`` and must *not* report ✅ in
  ``lessons/``: the generated stubs are proven to be "not done" by their own checks (``tools/verdicts.py``).
- Longest files first (``tools/file_times.py``): items are ordered by the seconds in ``tests/file_times.json`` and
  xdist hands the files out in that order (``--no-loadscope-reorder``), so that no long file starts last while
  the other worker sits idle. ``pytest --record-file-times`` measures the files it ran again and updates the table.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import matplotlib
import pytest

os.environ.setdefault("VGG_TEACH_SMOKE", "1")
# Offline, like a learner without internet: every kernel and subprocess the tests start loads
# tests/offline/sitecustomize.py, which refuses connections that leave the machine.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(Path(__file__).resolve().parent / "tests" / "offline"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
if os.environ.get("PYTEST_XDIST_WORKER"):
    # One thread per xdist worker, and so for the notebook kernels and torchrun processes it starts (they inherit the
    # environment). Two threads per worker on 2 cores made the suite 40% slower (6.4 vs 4.6 min).
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"
# Headless plotting for the unit tests, in this process only: an MPLBACKEND variable would be
# inherited by nbval's kernels and replace their inline backend, so figures would vanish there.
matplotlib.use("Agg")
os.environ.setdefault("TQDM_MININTERVAL", "60")

from tools.file_times import file_of, heaviest_files_first, read_file_times, write_file_times
from tools.verdicts import check_cell_problem, is_check_cell, outputs_text

ROOT = Path(__file__).resolve().parent

# Run in full by tests/course/test_no_dead_ends.py instead: unfilled, top to bottom, out of smoke mode and offline,
# each check cell held to the same rule (tools/verdicts.py). Running them under nbval as well ran the same cells twice.
RUN_BY_TEST_NO_DEAD_ENDS = ("lessons/04_pretrained_head_swap.ipynb", "lessons/05_cifar10_training.ipynb",
                            "lessons/06_dense_evaluation.ipynb", "lessons/07_multi_gpu_ddp.ipynb")
collect_ignore = list(RUN_BY_TEST_NO_DEAD_ENDS)


def pytest_addoption(parser):
    parser.addoption("--record-file-times", action="store_true",
                     help="measure every test file's seconds and rewrite tests/file_times.json (tools/file_times.py)")


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: a worker per core and one more. Much of a notebook or torchrun test is waiting for a kernel or
    processes to start; the extra worker uses that time (2 cores, 2026-12-07: 244 s with 3 workers, 265 s with 2)."""
    return (os.cpu_count() or 1) + 1


def pytest_collection_modifyitems(config, items):
    items[:] = heaviest_files_first(items, read_file_times())


_file_seconds: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    if report.when in ("setup", "call", "teardown"):
        _file_seconds[file_of(report.nodeid)] += report.duration


def pytest_sessionfinish(session, exitstatus):
    # Written once, by the process that saw every report: the xdist controller, or the only process without xdist.
    if session.config.getoption("--record-file-times") and not os.environ.get("PYTEST_XDIST_WORKER"):
        write_file_times(_file_seconds)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    outcome = yield
    cell = getattr(item, "cell", None)
    if cell is None or outcome.excinfo is not None or not is_check_cell(cell):
        return
    folder = Path(str(item.fspath)).parent.name
    outputs = getattr(item, "test_outputs", [])
    problem = check_cell_problem(folder, outputs)
    if problem:
        outcome.force_exception(AssertionError(f"{problem}:\n{outputs_text(outputs)}"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A solution cell whose stored outputs differ from the run says how outputs are stored, and which cell it is in
    the numbering the authoring tools use (nbval counts code cells only)."""
    report = (yield).get_result()
    cell = getattr(item, "cell", None)
    path = Path(str(item.fspath))
    if cell is not None and report.failed and call.when == "call" and path.parent.name == "solutions" \
            and "outputs differ" in str(report.longrepr):
        report.sections.append(("how to fix", f"cell id {cell.get('id')}: the outputs stored in solutions/ come from "
                                f"a run: after editing a code cell, run `python -m tools.authoring execute "
                                f"solutions/{path.name}` (never edit outputs by hand)"))
