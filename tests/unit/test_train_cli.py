"""python -m vgg_teach.train (the training CLI), in smoke mode on the CPU.

The second half reruns, as written, the CLI cases of issue 12's bad-input sweep: each ends in a bilingual
message and the right exit code, checked before the data is loaded where it can be, and loses nothing.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from PIL import Image

from tests.fakes import patched_cifar10_md5
from vgg_teach import train as cli
from vgg_teach.train import SMOKE_TRAIN_IMAGES, main
from vgg_teach.training import engine
from vgg_teach.training.sources import make_image_folder

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
    assert err.index("설정이 달라") < err.index("other settings")
    assert "model: 'vgg_tiny_cifar' → 'vgg11_bn_cifar'" in err


@pytest.mark.parametrize("content, korean, english", [
    (b"not a checkpoint", "읽을 수 없습니다", "Cannot read the checkpoint"),                 # text
    ({"features.0.weight": torch.zeros(1)}, "학습 체크포인트가 아닙니다", "a bare state_dict"),
    ({"model": {}, "history": []}, "학습 체크포인트가 아닙니다", "missing: optimizer"),     # no optimizer
    ([101, 102], "학습 체크포인트가 아닙니다", "list, not a dict"),                         # the sweep: KeyError: 101
])
def test_resume_from_a_broken_checkpoint_exits_2(image_folder, tmp_path, capsys, monkeypatch, content, korean,
                                                 english):
    out = tmp_path / "out"
    out.mkdir()
    if isinstance(content, bytes):
        (out / "checkpoint.pt").write_bytes(content)
    else:
        torch.save(content, out / "checkpoint.pt")
    monkeypatch.setattr(cli, "load_data", _must_not_load)
    code = main(["--data-dir", str(image_folder), "--out", str(out), "--batch-size", "16", "--resume", *TINY])
    err = capsys.readouterr().err
    assert code == 2 and err.index(korean) < err.index(english) and "Traceback" not in err


def _must_not_load(*args, **kwargs):
    raise AssertionError("the data was loaded before a check that needs no data")


def test_holdout_replaces_the_test_set(tmp_path):
    data = make_image_folder(tmp_path / "d", classes=("a", "b"), n_train=20, n_test=0)
    out = tmp_path / "out"
    assert main(["--data-dir", str(data), "--holdout", "10", "--out", str(out), "--batch-size", "8", *TINY]) == 0
    assert (_metrics(out)["num_train"], _metrics(out)["num_test"]) == (30, 10)


def _empty_class(d: Path) -> None:
    make_image_folder(d, classes=("a",), n_train=2, n_test=1)
    (d / "train" / "b").mkdir()


def _two_classes(d: Path) -> None:
    make_image_folder(d, classes=("a", "b"), n_train=2, n_test=1)


@pytest.mark.parametrize("make, extra, korean, english", [
    (None, [], "데이터 폴더가 없습니다", "No such data folder"),
    (lambda d: (d / "test" / "a").mkdir(parents=True), [], "'train' 폴더가 없습니다", "no 'train' folder"),
    (_empty_class, [], "이미지가 없습니다", "holds no images"),
    (lambda d: make_image_folder(d, classes=("a",), n_train=2, n_test=1), ["--epochs", "0"],
     "epochs ≥ 1 범위여야", "range epochs ≥ 1"),
    (lambda d: make_image_folder(d, classes=("a",), n_train=2, n_test=1), ["--lr", "-1"],
     "lr > 0 범위여야", "range lr > 0"),
    (_two_classes, ["--batch-size", "64"], "배치 크기", "batch size"),
    (lambda d: make_image_folder(d, classes=("a",), n_train=8, n_test=2), [],      # the sweep: "100 %"
     "클래스가 적어도 2개", "at least 2 classes"),
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


# --- issue 12: the CLI cases of the bad-input sweep, rerun as written -------------------------------------------

def _run_args(data: Path, out: Path, *extra: str) -> list[str]:
    return ["--data-dir", str(data), "--out", str(out), *TINY, *extra]


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def test_the_same_command_again_keeps_the_finished_run(image_folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(_run_args(image_folder, out, "--batch-size", "16")) == 0
    saved = _files(out)
    capsys.readouterr()
    for again in (["--batch-size", "16"], ["--model", "vgg11_bn_cifar", "--batch-size", "8"]):  # even another model
        assert main(_run_args(image_folder, out, *again)) == 2
        err = capsys.readouterr().err
        assert err.index("이미 학습한 결과") < err.index("already holds a run")
        assert "--resume" in err and "--overwrite" in err and "epoch 1 of 1, finished" in err
        assert _files(out) == saved


def test_overwrite_replaces_the_run(image_folder, tmp_path):
    out = tmp_path / "out"
    assert main(_run_args(image_folder, out, "--batch-size", "16")) == 0
    assert main(_run_args(image_folder, out, "--batch-size", "8", "--epochs", "2", "--overwrite")) == 0
    m = _metrics(out)
    assert m["epochs"] == 2 and m["config"]["batch_size"] == 8 and m["resumes"] == []


def test_resume_without_a_checkpoint_but_with_results_is_refused(image_folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(_run_args(image_folder, out, "--batch-size", "16")) == 0
    (out / "checkpoint.pt").unlink()
    metrics = (out / "metrics.json").read_bytes()
    assert main(_run_args(image_folder, out, "--batch-size", "16", "--resume")) == 2
    assert "no checkpoint" in capsys.readouterr().err and (out / "metrics.json").read_bytes() == metrics


@pytest.mark.parametrize("flag, line", [
    (["--batch-size", "32"], "batch_size (--batch-size): 16 → 32"),  # the sweep: the rest trained at lr 0
    (["--lr", "1e6"], "lr (--lr): 0.2 → 1000000.0"),                  # the sweep: ignored, but recorded
])
def test_resume_with_another_recipe_is_refused_before_loading_data(image_folder, tmp_path, capsys, monkeypatch,
                                                                   flag, line):
    out = tmp_path / "out"
    assert main(_run_args(image_folder, out, "--batch-size", "16")) == 0
    saved = _files(out)
    monkeypatch.setattr(cli, "load_data", _must_not_load)
    assert main(_run_args(image_folder, out, "--resume", "--epochs", "3", *flag)) == 2
    err = capsys.readouterr().err
    assert err.index("설정이 달라") < err.index("other settings") and line in err
    assert _files(out) == saved


def test_resume_takes_the_flags_left_out_from_the_checkpoint(image_folder, tmp_path):
    out = tmp_path / "out"
    assert main(_run_args(image_folder, out, "--batch-size", "8", "--lr", "0.05", "--no-augment")) == 0
    assert main(_run_args(image_folder, out, "--resume", "--epochs", "2")) == 0
    m = _metrics(out)
    assert (m["config"]["batch_size"], m["config"]["lr"], m["config"]["augment"]) == (8, 0.05, False)
    assert m["resumes"] == [{"after_epoch": 1, "changed": {"epochs": [1, 2]}}] and m["epochs"] == 2
    assert all(r["lr"] > 0 for r in m["history"])


def test_resume_on_other_data_with_the_same_class_names_is_refused(tmp_path, capsys):
    first = make_image_folder(tmp_path / "first", n_train=8, n_test=2, seed=1)
    other = make_image_folder(tmp_path / "other", n_train=8, n_test=2, seed=2)  # same classes, other images
    out = tmp_path / "out"
    assert main(_run_args(first, out, "--batch-size", "8")) == 0
    assert main(_run_args(other, out, "--batch-size", "8", "--resume", "--epochs", "2")) == 2
    err = capsys.readouterr().err
    assert "train_data.sha256" in err and "test_data.sha256" in err and "classes" not in err.split("\n  - ")[0]


def test_divergence_with_one_step_per_epoch_exits_1_and_saves_nothing(image_folder, tmp_path, capsys):
    """The sweep: one step per epoch and a huge --lr ended "done" (rc 0) with test loss NaN in metrics.json.

    1e12, not the 1e6 of the sweep: at 1e6 whether the very first step already overflows depends on the random
    init, and a first epoch that is still finite is rightly saved."""
    out = tmp_path / "out"
    assert main(_run_args(image_folder, out, "--batch-size", "48", "--lr", "1e12", "--epochs", "2")) == 1
    err = capsys.readouterr().err
    assert err.index("발산") < err.index("diverged") and "NaN" in err
    assert not (out / "checkpoint.pt").exists() and not (out / "metrics.json").exists()


def test_label_smoothing_2_is_refused_before_loading_data(image_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "load_data", _must_not_load)
    assert main(_run_args(image_folder, tmp_path / "out", "--label-smoothing", "2.0")) == 2
    err = capsys.readouterr().err
    assert err.index("0 ≤ label_smoothing < 1 범위여야") < err.index("must be in the range 0 ≤ label_smoothing < 1")


def test_argparse_errors_are_not_nested_in_each_other(image_folder, tmp_path, capsys):
    assert main(_run_args(image_folder, tmp_path / "out", "--lr", "-1")) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if "--lr" in line and "usage" not in line]
    korean, english = lines[-2], lines[-1]
    assert korean.startswith("명령줄 인수가 잘못되었습니다") and english.startswith("Bad command-line arguments")
    assert korean.count("범위여야") == 1 and "range" not in korean
    assert not re.search("[가-힣]", english) and english.count("must be in the range") == 1


def test_resume_and_overwrite_together_are_refused(image_folder, tmp_path, capsys):
    assert main(_run_args(image_folder, tmp_path / "out", "--resume", "--overwrite")) == 2
    err = capsys.readouterr().err
    assert err.index("함께 쓸 수 없습니다") < err.index("not allowed with")


@pytest.mark.parametrize("case", ["below a file", "read-only", "out is a file"])
def test_an_unwritable_out_is_refused_before_loading_data(image_folder, tmp_path, capsys, monkeypatch, case):
    (tmp_path / "file").write_text("a file")
    out = {"below a file": tmp_path / "file" / "run", "out is a file": tmp_path / "file"}.get(case, tmp_path / "ro")
    if case == "read-only":  # the tests run as root, where chmod does not stop writing: the disk refuses instead
        def read_only(*args, **kwargs):
            raise OSError(errno.EROFS, "Read-only file system")
        monkeypatch.setattr(tempfile, "mkstemp", read_only)
    monkeypatch.setattr(cli, "load_data", _must_not_load)
    assert main(_run_args(image_folder, out)) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "Traceback" not in err
    expected = ("Read-only file system", "쓸 수 없습니다") if case == "read-only" else ("is a file", "파일입니다")
    assert expected[0] in err and err.index(expected[1]) < err.index(expected[0])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message for a missing GPU")
def test_an_unavailable_device_is_refused_before_loading_data(image_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "load_data", _must_not_load)
    args = ["--data-dir", str(image_folder), "--out", str(tmp_path / "out"), "--device", "cuda"]
    assert main(args) == 2 and "'cuda'" in capsys.readouterr().err


def test_disk_full_at_a_checkpoint_exits_1_and_keeps_the_previous_one(image_folder, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    assert main(_run_args(image_folder, out, "--batch-size", "16")) == 0
    checkpoint = (out / "checkpoint.pt").read_bytes()

    def disk_full(obj, f, *args, **kwargs):
        f.write(b"part")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 4480 vs 4374")

    monkeypatch.setattr(torch, "save", disk_full)
    capsys.readouterr()
    assert main(_run_args(image_folder, out, "--resume", "--epochs", "2")) == 1
    err = capsys.readouterr().err
    assert err.index("디스크가 가득") < err.index("disk is probably full") and "enforce fail" not in err
    assert (out / "checkpoint.pt").read_bytes() == checkpoint
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "metrics.json"]  # no temporary file left


def test_sigint_during_a_checkpoint_write_names_the_epoch_on_disk(image_folder, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    real_save = torch.save

    def interrupted_at_epoch_2(obj, f, *args, **kwargs):
        if isinstance(obj, dict) and obj.get("epoch") == 2:
            raise KeyboardInterrupt
        real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", interrupted_at_epoch_2)
    assert main(_run_args(image_folder, out, "--batch-size", "16", "--epochs", "3")) == 130
    said = capsys.readouterr()
    assert "up to epoch 1 is at" in said.out and "up to epoch 2" not in said.out and "--resume" in said.err
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epoch"] == 1


def test_stale_temporary_files_in_out_are_removed(image_folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stale = [out / ".checkpoint.pt.k1ll3d.tmp", out / ".metrics.json.abc.tmp"]
    for f in stale:
        f.write_bytes(b"left by SIGKILL")
    assert main(_run_args(image_folder, out, "--batch-size", "16")) == 0
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "metrics.json"]


def test_an_unexpected_error_is_short_on_screen_and_logged(image_folder, tmp_path, capsys, monkeypatch):
    def bug(*args, **kwargs):
        return 1 / 0
    monkeypatch.setattr(cli, "fit", bug)
    out = tmp_path / "out"
    assert main(_run_args(image_folder, out)) == 1
    err = capsys.readouterr().err
    log = out / cli.ERROR_LOG
    assert err.index("예상하지 못한 오류") < err.index("Unexpected error") and str(log) in err
    assert "ZeroDivisionError" in err and "Traceback" not in err and len(err.splitlines()) == 2
    text = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "1 / 0" in text


def test_a_small_folder_with_the_default_batch_size_just_works(smoke_off, tmp_path, capsys):
    """The sweep: 72 images and the default batch of 512 → "fewer training images than one batch"."""
    data = make_image_folder(tmp_path / "mine", classes=("a", "b", "c"), n_train=24, n_test=4)
    out = tmp_path / "out"
    assert main(_run_args(data, out, "--epochs", "1")) == 0
    said = capsys.readouterr().out
    assert said.index("배치 크기(batch size)를 512에서 16(으)로") < said.index("reduced from 512 to 16")
    assert _metrics(out)["config"]["batch_size"] == 16


def test_a_cp949_folder_from_a_korean_windows_zip_trains(tmp_path):
    root = os.fsencode(tmp_path / "zip")
    for split, count in ((b"train", 6), (b"test", 2)):
        for i, cls in enumerate(("고양이", "개")):
            folder = root + b"/" + split + b"/" + cls.encode("cp949")
            os.makedirs(folder)
            for k in range(count):
                name = os.fsdecode(folder + f"/사진{k}.jpg".encode("cp949"))
                Image.new("RGB", (32, 32), (200 * i, 40 * k, 90)).save(name)
    out = tmp_path / "out"
    assert main(_run_args(Path(os.fsdecode(root)), out, "--batch-size", "4")) == 0
    assert _metrics(out)["classes"] == ["개", "고양이"]
