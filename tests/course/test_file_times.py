"""Longest files first (tools/file_times.py): the order, the table, and that pytest really uses them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tools.file_times import FILE_TIMES, heaviest_files_first, read_file_times, write_file_times

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Item:
    nodeid: str


def test_whole_files_longest_first_and_the_rest_in_their_order():
    items = [Item(n) for n in ("a.py::t1", "a.py::t2", "b.ipynb::Cell 0", "b.ipynb::Cell 1", "c.py::t", "d.py::t")]
    got = [i.nodeid for i in heaviest_files_first(items, {"b.ipynb": 30.0, "d.py": 5.0})]
    assert got == ["b.ipynb::Cell 0", "b.ipynb::Cell 1", "d.py::t", "a.py::t1", "a.py::t2", "c.py::t"]


def test_a_partial_record_updates_its_files_and_drops_files_that_are_gone(tmp_path):
    (tmp_path / "tests").mkdir()
    for name in ("x.py", "y.py"):
        (tmp_path / name).write_text("")
    table = tmp_path / "tests" / "file_times.json"
    write_file_times({"x.py": 3.0, "y.py": 9.0, "gone.py": 50.0, "tiny.py": 0.01}, table)
    assert list(read_file_times(table)) == ["y.py", "x.py"]
    write_file_times({"x.py": 12.34}, table)
    assert read_file_times(table) == {"x.py": 12.3, "y.py": 9.0}
    assert list(json.loads(table.read_text())["seconds"]) == ["x.py", "y.py"]


def test_the_table_names_only_files_that_exist_and_covers_the_longest():
    seconds = read_file_times()
    assert seconds, f"{FILE_TIMES} is missing: run `pytest --record-file-times`"
    assert all((ROOT / name).is_file() for name in seconds), "stale entries: run `pytest --record-file-times`"
    assert "tests/course/test_no_dead_ends.py" in seconds
