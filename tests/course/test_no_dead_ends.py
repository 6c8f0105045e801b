"""No dead ends: the unfilled lessons 04 and 05 run top to bottom outside smoke mode, offline (a ``sitecustomize``
refuses every connection that leaves the machine), with no weights, CIFAR-10 or GPU: stand-ins said in loud boxes,
the CPU run shrunk (``VGG_TEACH_CPU_MINUTES``: one batch per experiment, a learner's code path). They stand in for
nbval's run of these two lessons (conftest.py leaves them out): every check cell is held to tools/verdicts.py."""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from tools.verdicts import check_cell_problem, check_cells, outputs_text

ROOT = Path(__file__).resolve().parents[2]

OFFLINE = '''
"""Installed by tests/course/test_no_dead_ends.py: this kernel has no network beyond the machine itself."""
import socket

_LOCAL = {None, "", "localhost", "127.0.0.1", "::1"}
_getaddrinfo, _create_connection = socket.getaddrinfo, socket.create_connection


def getaddrinfo(host, *args, **kwargs):
    if host not in _LOCAL:
        raise socket.gaierror(-3, f"Temporary failure in name resolution (offline test: {host})")
    return _getaddrinfo(host, *args, **kwargs)


def create_connection(address, *args, **kwargs):
    if address[0] not in _LOCAL:
        raise OSError(101, f"Network is unreachable (offline test: {address[0]})")
    return _create_connection(address, *args, **kwargs)


socket.getaddrinfo, socket.create_connection = getaddrinfo, create_connection
'''


def _text(nb) -> str:
    return "\n".join(outputs_text(cell.get("outputs")) for cell in nb.cells)


@pytest.fixture
def offline_kernel(tmp_path, monkeypatch):
    site = tmp_path / "offline-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(OFFLINE, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.delenv("VGG_TEACH_SMOKE", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("VGG_TEACH_CPU_MINUTES", "0.02")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # the laptop without a GPU, even on a machine with one
    return tmp_path


LESSONS = ("04_pretrained_head_swap.ipynb", "05_cifar10_training.ipynb")


def _run(name: str, folder: Path):
    from nbclient import NotebookClient

    work = folder / "learner"
    work.mkdir()
    path = work / name
    shutil.copy(ROOT / "lessons" / name, path)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}},
                   store_widget_state=False).execute()  # raises at the first error cell
    checks = check_cells(nb)
    assert checks, f"{name} has no check cell"
    problems = [f"cell {i}: {p}" for i, c in checks if (p := check_cell_problem("lessons", c.get("outputs")))]
    assert not problems, f"{name}: " + "; ".join(problems)
    return nb, work


def test_these_lessons_are_the_ones_nbval_leaves_to_this_file():
    tree = ast.parse((ROOT / "conftest.py").read_text(encoding="utf-8"))
    skipped = next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                   and any(getattr(t, "id", "") == "RUN_BY_TEST_NO_DEAD_ENDS" for t in node.targets))
    assert sorted(skipped) == sorted(f"lessons/{name}" for name in LESSONS)


def test_lesson_04_offline_goes_on_with_random_weights_and_says_why(offline_kernel):
    nb, _ = _run(LESSONS[0], offline_kernel)
    text = _text(nb)
    assert "offline test" in text  # the download was tried, and refused
    assert "대체 모델" in text and "Stand-in: the pretrained weights cannot be used" in text
    assert "real weights? False" in text and "Expected results" in text and "73.36%" in text
    assert "⏳" in text  # the unfilled exercises wait for the learner, and the lesson went on anyway


def test_lesson_05_offline_on_a_cpu_runs_to_the_end_on_stand_ins_shrunk(offline_kernel):
    nb, work = _run(LESSONS[1], offline_kernel)
    text = _text(nb)
    assert "대체 데이터" in text and "Stand-in data" in text  # CIFAR-10 could not be had
    assert "대체 모델" in text  # nor the pretrained weights
    assert "shrunk to finish within" in text and "FULL_RUN_ON_CPU = True" in text
    assert "Expected results" in text and "94.16%" in text
    assert "⏳" in text  # train_step and evaluate unfilled: the experiments ran the reference, and said so
    assert (work / "runs" / "lesson05" / "scratch.pt").is_file()  # a real run, in the learner's folder
    assert not (work / "data" / "cifar-10-batches-py").exists()  # no fake data where the real data goes
