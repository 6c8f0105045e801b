"""No dead ends: the unfilled lessons 04 to 07 run top to bottom outside smoke mode, offline (tests/offline's
``sitecustomize`` refuses every connection that leaves the machine), with no weights, CIFAR-10 or GPU: stand-ins
said in loud boxes, the CPU run shrunk (``VGG_TEACH_CPU_MINUTES``: one small batch per experiment, a learner's code
path), torchrun on the CPU. They stand in for nbval's run of these lessons (conftest.py leaves them out): every check
cell is held to tools/verdicts.py. Lessons 01-03 have no path that smoke mode changes but 03's sample count; nbval
runs them unfilled, offline too (conftest.py)."""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from tools.verdicts import check_cell_problem, check_cells, outputs_text

ROOT = Path(__file__).resolve().parents[2]

OFFLINE = ROOT / "tests" / "offline"  # its sitecustomize refuses connections that leave the machine


def _text(nb) -> str:
    return "\n".join(outputs_text(cell.get("outputs")) for cell in nb.cells)


@pytest.fixture
def offline_kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(OFFLINE), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.delenv("VGG_TEACH_SMOKE", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("VGG_TEACH_CPU_MINUTES", "0.02")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # the laptop without a GPU, even on a machine with one
    return tmp_path


LESSONS = ("04_pretrained_head_swap.ipynb", "05_cifar10_training.ipynb", "06_dense_evaluation.ipynb",
           "07_multi_gpu_ddp.ipynb")


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


def test_lesson_06_offline_goes_on_with_random_weights_to_the_end(offline_kernel):
    nb, _ = _run(LESSONS[2], offline_kernel)
    text = _text(nb)
    assert "offline test" in text and "대체 모델" in text  # the download was tried, refused, and said
    assert "⏳" in text  # to_fully_convolutional and the dense evaluation unfilled: the lesson went on anyway


def test_lesson_07_offline_on_a_cpu_runs_the_reference_script_and_the_cli_under_torchrun(offline_kernel):
    nb, work = _run(LESSONS[3], offline_kernel)
    text = _text(nb)
    launch = "\n".join(outputs_text(c.get("outputs")) for c in nb.cells if "= torchrun(" in c.source)
    assert "⏳" in text and "epoch 2/2" in launch, launch  # the script unwritten: the reference ran in 2 processes
    assert (work / "ddp_train.py").is_file() and (work / "ddp_tiny.pt").is_file()  # in the learner's folder
    assert (work / "runs" / "lesson07" / "metrics.json").is_file()
