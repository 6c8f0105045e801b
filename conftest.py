"""Test-suite wiring shared by the unit tests and nbval's notebook runs.

- Smoke mode (``VGG_TEACH_SMOKE=1``) and a non-interactive matplotlib backend are set before any
  kernel starts, so notebooks shrink data and epochs but run the same code path.
- Under pytest-xdist (``-n auto`` in pyproject's addopts) every worker, and every kernel it starts, uses one
  thread: the workers already fill the cores.
- A check cell (tag ``check``) must report ✅ in ``solutions/`` and must *not* report ✅ in
  ``lessons/``: the generated stubs are proven to be "not done" by their own checks.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

os.environ.setdefault("VGG_TEACH_SMOKE", "1")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # One xdist worker per core: one thread each, and so for the notebook kernels and torchrun processes it starts
    # (they inherit the environment). Two threads per worker on 2 cores made the suite 40% slower (6.4 vs 4.6 min).
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"
# Headless plotting for the unit tests, in this process only: an MPLBACKEND variable would be
# inherited by nbval's kernels and replace their inline backend, so figures would vanish there.
matplotlib.use("Agg")
os.environ.setdefault("TQDM_MININTERVAL", "60")

from vgg_teach.checks.feedback import PASSED_MARK as PASSED

ROOT = Path(__file__).resolve().parent


def _outputs_text(outputs) -> str:
    parts = []
    for out in outputs or []:
        if "text" in out:
            parts.append(out["text"])
        data = out.get("data", {})
        parts.append(data.get("text/plain", ""))
    return "\n".join(parts)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    outcome = yield
    cell = getattr(item, "cell", None)
    if cell is None or outcome.excinfo is not None or "check" not in cell.get("metadata", {}).get("tags", []):
        return
    folder = Path(str(item.fspath)).parent.name
    text = _outputs_text(getattr(item, "test_outputs", []))
    if folder == "solutions" and PASSED not in text:
        outcome.force_exception(AssertionError(
            f"check cell did not pass in the solution notebook:\n{text}"))
    elif folder == "lessons" and PASSED in text:
        outcome.force_exception(AssertionError(
            f"check cell reports ✅ for the unfilled lesson: its stub is not detected as not done:\n{text}"))
