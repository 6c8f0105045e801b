"""Longest test files first: the order that keeps both xdist workers busy to the end.

``pytest --dist loadfile`` keeps a file on one worker; handed out in the usual order, a long file that comes late
runs while the other worker sits idle. ``conftest.py`` orders the collected items by the seconds recorded in
``tests/file_times.json`` (longest first; files without a record after them, in their usual order) and
``--no-loadscope-reorder`` makes xdist hand them out in that order. ``pytest --record-file-times`` measures the
files it ran again (setup + call + teardown of each file's tests) and updates the table.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

__all__ = ["FILE_TIMES", "file_of", "read_file_times", "heaviest_files_first", "write_file_times"]

FILE_TIMES = Path(__file__).resolve().parents[1] / "tests" / "file_times.json"


def file_of(nodeid: str) -> str:
    """The test file a pytest node id belongs to (``tests/unit/test_x.py::test_y`` → ``tests/unit/test_x.py``)."""
    return nodeid.split("::")[0]


def read_file_times(path: Path = FILE_TIMES) -> dict[str, float]:
    """The recorded seconds of each test file (its path from the repository root, with '/'); {} without a table."""
    if not path.exists():
        return {}
    return {name: float(sec) for name, sec in json.loads(path.read_text(encoding="utf-8"))["seconds"].items()}


def heaviest_files_first(items: Iterable[Any], seconds: dict[str, float]) -> list[Any]:
    """Test items (anything with a ``nodeid``) with whole files ordered by recorded seconds, longest first. A
    file's own items keep their order, and so do the files without a record, after the recorded ones."""
    items = list(items)
    first_seen: dict[str, int] = {}
    for item in items:
        first_seen.setdefault(file_of(item.nodeid), len(first_seen))
    return sorted(items, key=lambda item: (-seconds.get(file_of(item.nodeid), 0.0), first_seen[file_of(item.nodeid)]))


def write_file_times(measured: dict[str, float], path: Path = FILE_TIMES) -> None:
    """Merge ``measured`` into the table and write it (atomically): longest first, in tenths of a second. A partial
    run updates only the files it ran; files that no longer exist, and files under 0.05 s, are left out."""
    root = path.resolve().parents[1]
    seconds = {name: sec for name, sec in {**read_file_times(path), **measured}.items() if (root / name).is_file()}
    table = {"about": "Seconds each test file took (setup + call + teardown of its tests) on the 2-core VM, "
                      "measured by `pytest --record-file-times`; conftest.py runs the longest files first.",
             "seconds": {name: round(sec, 1) for name, sec in sorted(seconds.items(), key=lambda kv: (-kv[1], kv[0]))
                         if sec >= 0.05}}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
