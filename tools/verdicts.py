"""The verdict every check cell must show, one rule for the whole suite.

A ``check`` cell in ``solutions/`` must pass (its first mark is ✅); in ``lessons/`` — unfilled — nothing in it may
pass, so that every stub is proven "not done" by its own check. nbval's runs (``conftest.py``) and the lessons run
in full outside nbval (``tests/course/test_no_dead_ends.py``) both hold their check cells to it.
"""

from __future__ import annotations

from typing import Any

from tools.authoring import cell_tags
from vgg_teach.checks.feedback import PASSED_MARK, outputs_text, verdict_of

__all__ = ["check_cell_problem", "check_cells", "is_check_cell"]


def is_check_cell(cell: Any) -> bool:
    """Is this notebook cell tagged ``check``?"""
    return "check" in cell_tags(cell)


def check_cells(nb: Any) -> list[tuple[int, Any]]:
    """The (index, cell) pairs of a notebook's cells tagged ``check``."""
    return [(i, c) for i, c in enumerate(nb.cells) if is_check_cell(c)]


def check_cell_problem(folder: str, outputs: list[dict[str, Any]] | None) -> str | None:
    """What is wrong with a check cell's outputs for a notebook in ``folder`` (``solutions`` or ``lessons``), or
    None when its verdict is the right one."""
    got = verdict_of(outputs)
    if folder == "solutions" and got != "passed":
        return f"check cell did not pass in the solution notebook (verdict: {got})"
    if folder == "lessons" and PASSED_MARK in outputs_text(outputs):
        return "check cell reports ✅ for the unfilled lesson: its stub is not detected as not done"
    if folder == "lessons" and got is None:
        return "check cell of the unfilled lesson shows no verdict at all (⏳ or ❌ expected)"
    return None
