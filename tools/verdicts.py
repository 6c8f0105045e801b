"""The verdict every check cell must show, one rule for the whole suite.

A ``check`` cell in ``solutions/`` must pass (its first mark is ✅); in ``lessons/`` — unfilled — nothing in it may
pass, so that every stub is proven "not done" by its own check. nbval's runs (``conftest.py``) and the lessons run
in full outside nbval (``tests/course/test_no_dead_ends.py``) both hold their check cells to it.
"""

from __future__ import annotations

from typing import Any

from tools.authoring import cell_tags
from vgg_teach.checks import FAILED_MARK, PASSED_MARK, PENDING_MARK

__all__ = ["check_cell_problem", "check_cells", "is_check_cell", "outputs_text", "verdict_of"]

_VERDICTS = ((PASSED_MARK, "passed"), (PENDING_MARK, "pending"), (FAILED_MARK, "failed"))


def outputs_text(outputs: list[dict[str, Any]] | None) -> str:
    """The text of notebook cell outputs (nbformat dicts): streams, plain text and HTML, one per line."""
    parts: list[Any] = []
    for out in outputs or []:
        data = out.get("data", {})
        parts += [out.get("text", ""), data.get("text/plain", ""), data.get("text/html", "")]
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)


def verdict_of(outputs: list[dict[str, Any]] | None) -> str | None:
    """The verdict a check cell shows, read from its outputs: "passed", "pending", "failed" (its first mark), or
    None when it shows none."""
    text = outputs_text(outputs)
    found = [(text.find(mark), name) for mark, name in _VERDICTS if mark in text]
    return min(found)[1] if found else None


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
