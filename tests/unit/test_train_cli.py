"""python -m vgg_teach.train (the training CLI), in smoke mode on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vgg_teach.training import engine
from vgg_teach.training.cli import SMOKE_TRAIN_IMAGES, main
from vgg_teach.training.fakes import make_image_folder, patched_cifar10_md5

TINY = ["--model", "vgg_tiny_cifar", "--no-progress", "--device", "cpu"]
pytestmark = pytest.mark.usefixtures("smoke_on")


def _metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


def test_image_folder_run_writes_metrics_and_checkpoint(image_folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["--data-dir", str(image_folder), "--out", str(out), "--batch-size", "16", "--tta", *TINY]) == 0
    m = _metrics(out)
    for key in ("test_accuracy", "test_accuracy_tta", "train_seconds", "images_per_second", "epochs", "history"):
        assert key in m, key
    assert m["epochs"] == len(m["history"]) == 1  # smoke mode: one epoch unless told otherwise
    assert (m["num_train"], m["num_test"]) == (48, 12) and m["classes"] == ["cat", "dog", "frog"]
    assert m["smoke"] is True and m["model"] == "vgg_tiny_cifar"
    assert 0 <= m["test_accuracy"] <= 1 and m["images_per_second"] > 0
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 1 and state["run"]["model"] == "vgg_tiny_cifar"
    assert "metrics.json" in capsys.readouterr().out


def test_cifar10_archive_run(fake_cifar, no_network, tmp_path):
    root, md5s = fake_cifar
    out = tmp_path / "out"
    with patched_cifar10_md5(md5s):
        code = main(["--dataset", "cifar10", "--data-root", str(root), "--out", str(out), *TINY])
    assert code == 0 and not no_network.attempts
    m = _metrics(out)
    assert m["num_train"] == 250 and m["num_test"] == 50 and m["data"] == "cifar10"
    assert len(m["classes"]) == 10 and m["epochs"] == 1


def test_cifar10_in_smoke_mode_runs_offline_without_data(no_network, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["--dataset", "cifar10", "--data-root", str(tmp_path / "data"), "--out", str(out), *TINY]) == 0
    assert "FAKE CIFAR-10" in capsys.readouterr().out and not no_network.attempts
    assert _metrics(out)["num_train"] == SMOKE_TRAIN_IMAGES


def test_smoke_mode_keeps_a_few_hundred_images(tmp_path):
    data = make_image_folder(tmp_path / "big", classes=("a", "b"), n_train=200, n_test=100)
    out = tmp_path / "out"
    assert main(["--data-dir", str(data), "--out", str(out), *TINY]) == 0
    m = _metrics(out)
    assert m["num_train"] == SMOKE_TRAIN_IMAGES and m["num_test"] == 128
    assert m["config"]["batch_size"] == 64


def test_resume_continues_to_the_requested_epochs(image_folder, tmp_path):
    out = tmp_path / "out"
    args = ["--data-dir", str(image_folder), "--out", str(out), "--batch-size", "16", *TINY]
    assert main([*args, "--epochs", "1"]) == 0
    first = _metrics(out)
    assert main([*args, "--epochs", "3", "--resume"]) == 0
    m = _metrics(out)
    assert m["epochs"] == 3 and [r["epoch"] for r in m["history"]] == [1, 2, 3]
    assert m["history"][0] == first["history"][0]  # epoch 1 was not trained again
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epoch"] == 3


def test_resume_with_another_model_is_refused(image_folder, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["--data-dir", str(image_folder), "--out", str(out), "--batch-size", "16", "--no-progress"]
    assert main([*args, "--model", "vgg_tiny_cifar", "--device", "cpu"]) == 0
    assert main([*args, "--model", "vgg11_bn_cifar", "--resume", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.index("다른 설정") < err.index("other settings")


def test_resume_from_a_broken_checkpoint_exits_2(image_folder, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"not a checkpoint")
    code = main(["--data-dir", str(image_folder), "--out", str(out), "--batch-size", "16", "--resume", *TINY])
    err = capsys.readouterr().err
    assert code == 2 and err.index("읽을 수 없습니다") < err.index("Cannot read the checkpoint")


def test_holdout_replaces_the_test_set(tmp_path):
    data = make_image_folder(tmp_path / "d", classes=("a", "b"), n_train=20, n_test=0)
    out = tmp_path / "out"
    assert main(["--data-dir", str(data), "--holdout", "10", "--out", str(out), "--batch-size", "8", *TINY]) == 0
    assert (_metrics(out)["num_train"], _metrics(out)["num_test"]) == (30, 10)


def _empty_class(d: Path) -> None:
    make_image_folder(d, classes=("a",), n_train=2, n_test=1)
    (d / "train" / "b").mkdir()


@pytest.mark.parametrize("make, extra, korean, english", [
    (None, [], "데이터 폴더가 없습니다", "No such data folder"),
    (lambda d: (d / "test" / "a").mkdir(parents=True), [], "'train' 폴더가 없습니다", "no 'train' folder"),
    (_empty_class, [], "이미지가 없습니다", "holds no images"),
    (lambda d: make_image_folder(d, classes=("a",), n_train=2, n_test=1), ["--epochs", "0"],
     "epochs ≥ 1 범위여야", "range epochs ≥ 1"),
    (lambda d: make_image_folder(d, classes=("a",), n_train=2, n_test=1), ["--lr", "-1"],
     "lr > 0 범위여야", "range lr > 0"),
    (lambda d: make_image_folder(d, classes=("a",), n_train=2, n_test=1), ["--batch-size", "64"],
     "배치 크기", "batch size"),
])
def test_bad_input_exits_2_with_a_bilingual_message(tmp_path, capsys, make, extra, korean, english):
    data = tmp_path / "data"
    if make is not None:
        make(data)
    code = main(["--data-dir", str(data), "--out", str(tmp_path / "out"), *TINY, *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert err.index(korean) < err.index(english)
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_divergence_and_out_of_memory_exit_1(image_folder, tmp_path, capsys, monkeypatch):
    args = ["--data-dir", str(image_folder), "--batch-size", "16", *TINY]
    assert main([*args, "--out", str(tmp_path / "a"), "--lr", "1e6", "--epochs", "2"]) == 1
    assert "learning rate" in capsys.readouterr().err

    def oom(*a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(engine, "train_one_epoch", oom)
    assert main([*args, "--out", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert err.index("배치 크기(batch size)를 줄여") < err.index("smaller batch size") and "16 → 8" in err


def test_module_entry_point_fails_cleanly(tmp_path):
    """The real ``python -m`` entry: exit code 2, Korean first, no traceback."""
    env = {**os.environ, "VGG_TEACH_SMOKE": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-m", "vgg_teach.train", "--data-dir", str(tmp_path / "nope"),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.index("데이터 폴더가 없습니다") < proc.stderr.index("No such data folder")
