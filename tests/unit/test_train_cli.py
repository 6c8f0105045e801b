"""python -m vgg_teach.train in smoke mode on the CPU: what README promises of it. Every bad input ends in a
bilingual message and exit code 2 (checked before the data is loaded where it can be), a stopped run in 1, Ctrl-C
in 130, an unexpected error in 1 with its traceback in error.log, and a run already in OUT is never lost."""

from __future__ import annotations

import errno
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

from tests.fakes import korean_first, metrics, patch_cifar10_md5
from vgg_teach import train as cli
from vgg_teach.train import SMOKE_TRAIN_IMAGES
from vgg_teach.training.guards import LOCK_NAME, STALE_SECONDS
from vgg_teach.training.sources import make_image_folder

TINY = ["--model", "vgg_tiny_cifar", "--no-progress", "--device", "cpu"]
pytestmark = pytest.mark.usefixtures("smoke_on")


def _main(capsys, *args) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    said = capsys.readouterr()
    return code, said.out, said.err


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


@pytest.fixture
def no_loading(monkeypatch):
    """The data must not be loaded: the check that fails needs none."""
    monkeypatch.setattr(cli, "load_data", lambda *a: pytest.fail("the data was loaded before a check needing none"))


@pytest.fixture
def done(image_folder, tmp_path, capsys) -> Path:
    """OUT holding a finished one-epoch run (batch 16)."""
    out = tmp_path / "out"
    assert _main(capsys, "--data-dir", image_folder, "--out", out, "--batch-size", 16, *TINY)[0] == 0
    return out


def test_a_run_writes_its_metrics_and_checkpoint(image_folder, tmp_path, capsys):
    out = tmp_path / "out"
    code, said, _ = _main(capsys, "--data-dir", image_folder, "--out", out, "--batch-size", 16, "--tta", *TINY)
    m = metrics(out)
    assert code == 0 and "완료: " in said and "test accuracy" in said
    assert {"test_accuracy", "test_accuracy_tta", "train_seconds", "images_per_second", "epochs", "history", "config",
            "world_size", "images_per_second_per_rank", "resumes"} <= set(m)
    assert m["epochs"] == len(m["history"]) == 1 and m["world_size"] == 1  # smoke mode: one epoch unless told
    assert (m["num_train"], m["num_test"], m["classes"]) == (48, 12, ["cat", "dog", "frog"])
    assert m["smoke"] is True and m["model"] == "vgg_tiny_cifar" and m["images_per_second"] > 0
    assert torch.load(out / "checkpoint.pt", weights_only=True)["run"]["model"] == "vgg_tiny_cifar"


def test_cifar10_runs_offline_from_its_archive(fake_cifar, no_network, tmp_path, capsys, monkeypatch):
    patch_cifar10_md5(monkeypatch, fake_cifar[1])
    assert _main(capsys, "--dataset", "cifar10", "--data-root", fake_cifar[0], "--out", tmp_path / "a", *TINY)[0] == 0
    assert (metrics(tmp_path / "a")["num_train"], metrics(tmp_path / "a")["data"]) == (250, "cifar10")


def test_smoke_mode_keeps_a_few_hundred_images_and_the_holdout_replaces_the_test_set(tmp_path, capsys):
    data = make_image_folder(tmp_path / "big", classes=("a", "b"), n_train=170, n_test=70)
    assert _main(capsys, "--data-dir", data, "--out", tmp_path / "a", *TINY)[0] == 0
    m = metrics(tmp_path / "a")
    assert (m["num_train"], m["num_test"], m["config"]["batch_size"]) == (SMOKE_TRAIN_IMAGES, 128, 64)
    data = make_image_folder(tmp_path / "small", classes=("a", "b"), n_train=20, n_test=0)  # no test/ needed
    assert _main(capsys, "--data-dir", data, "--holdout", 10, "--out", tmp_path / "b", "--batch-size", 8, *TINY)[0] == 0
    assert (metrics(tmp_path / "b")["num_train"], metrics(tmp_path / "b")["num_test"]) == (30, 10)


def test_resume_continues_with_the_flags_left_out_taken_from_the_checkpoint(image_folder, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["--data-dir", image_folder, "--out", out, *TINY]
    assert _main(capsys, *args, "--batch-size", 8, "--lr", 0.05, "--no-augment")[0] == 0
    first = metrics(out)
    without_model = ["--data-dir", image_folder, "--out", out, "--no-progress", "--device", "cpu"]  # --model too
    code, said, _ = _main(capsys, *without_model, "--resume", "--epochs", 3)
    assert code == 0 and "Changed settings: epochs 1 → 3." in said  # a resume says what it changed
    m = metrics(out)
    assert m["model"] == "vgg_tiny_cifar"
    assert (m["config"]["batch_size"], m["config"]["lr"], m["config"]["augment"]) == (8, 0.05, False)
    assert m["resumes"] == [{"after_epoch": 1, "changed": {"epochs": [1, 3]}}] and m["epochs"] == 3
    assert m["history"][0] == first["history"][0] and all(r["lr"] > 0 for r in m["history"])  # schedule stretched


def test_a_run_in_out_is_kept_unless_overwrite_is_asked(done, image_folder, capsys):
    saved = _files(done)
    args = ["--data-dir", image_folder, "--out", done, *TINY]
    for again in (["--batch-size", 16], ["--batch-size", 8, "--model", "vgg11_bn_cifar"]):  # even another model
        code, _, err = _main(capsys, *args, *again)
        assert code == 2 and _files(done) == saved and "epoch 1 of 1, finished" in err
        korean_first(err, "이미 학습한 결과", "already holds a run")
    (done / "checkpoint.pt").rename(done / "elsewhere.pt")  # results without a checkpoint: --resume cannot go on
    code, _, err = _main(capsys, *args, "--resume")
    assert code == 2 and "no checkpoint" in err and (done / "metrics.json").read_bytes() == saved["metrics.json"]
    assert _main(capsys, *args, "--batch-size", 8, "--epochs", 2, "--overwrite")[0] == 0
    assert (metrics(done)["epochs"], metrics(done)["config"]["batch_size"], metrics(done)["resumes"]) == (2, 8, [])


def test_an_unreadable_checkpoint_is_never_offered_to_resume(image_folder, tmp_path, capsys, no_loading):
    (tmp_path / "checkpoint.pt").write_bytes(b"")  # a save that never got its first byte out
    code, _, err = _main(capsys, "--data-dir", image_folder, "--out", tmp_path, *TINY)
    assert code == 2 and "It cannot be resumed" in err and "--resume" not in err and "--overwrite" in err


@pytest.mark.parametrize("flags, line", [
    (["--batch-size", "32"], "batch_size (--batch-size): 16 → 32"),
    (["--lr", "1e6"], "lr (--lr): 0.2 → 1000000.0"),
    (["--model", "vgg11_bn_cifar"], "model: 'vgg_tiny_cifar' → 'vgg11_bn_cifar'"),
    (["--no-augment"], "augment (--no-augment): True → False"),  # the flag that exists
])
def test_resume_with_another_recipe_is_refused_before_loading_data(done, image_folder, capsys, no_loading, flags,
                                                                   line):
    saved = _files(done)
    code, _, err = _main(capsys, "--data-dir", image_folder, "--out", done, *TINY, "--resume", *flags)
    assert code == 2 and line in err and _files(done) == saved and "Traceback" not in err
    korean_first(err, "설정이 달라", "other settings")


def test_resume_on_other_images_of_the_same_classes_is_refused(done, tmp_path, capsys):
    other = make_image_folder(tmp_path / "other", n_train=16, n_test=4, seed=2)  # cat, dog, frog again
    code, _, err = _main(capsys, "--data-dir", other, "--out", done, *TINY, "--resume", "--epochs", 2)
    assert code == 2 and "train_data.sha256" in err and "test_data.sha256" in err and "classes:" not in err


@pytest.mark.parametrize("content, korean, english", [
    (b"not a checkpoint", "읽을 수 없습니다", "Cannot read the checkpoint"),
    ({"features.0.weight": torch.zeros(1)}, "학습 체크포인트가 아닙니다", "a bare state_dict"),
    ({"model": {}, "history": []}, "학습 체크포인트가 아닙니다", "missing: optimizer"),
    ([101, 102], "학습 체크포인트가 아닙니다", "list, not a dict"),
    (pickle.dumps({"epoch": 3}, protocol=4), "읽을 수 없습니다", "Cannot read the checkpoint"),  # never unpickled
])
def test_resume_from_a_file_that_is_no_checkpoint_of_ours_exits_2(image_folder, tmp_path, capsys, no_loading, content,
                                                                  korean, english):
    (tmp_path / "out").mkdir()
    if isinstance(content, bytes):
        (tmp_path / "out" / "checkpoint.pt").write_bytes(content)
    else:
        torch.save(content, tmp_path / "out" / "checkpoint.pt")
    code, _, err = _main(capsys, "--data-dir", image_folder, "--out", tmp_path / "out", "--resume", *TINY)
    assert code == 2 and "Traceback" not in err
    korean_first(err, korean, english)


def _one_class(d: Path) -> None:
    make_image_folder(d, classes=("a",), n_train=8, n_test=2)


@pytest.mark.parametrize("make, extra, korean, english", [
    (None, [], "데이터 폴더가 없습니다", "No such data folder"),
    (lambda d: (d / "test" / "a").mkdir(parents=True), [], "'train' 폴더가 없습니다", "no 'train' folder"),
    (lambda d: (_one_class(d), (d / "train" / "b").mkdir()), [], "이미지가 없습니다", "holds no images"),
    (lambda d: make_image_folder(d, classes=("a", "b"), n_train=2, n_test=1), ["--batch-size", "64"], "배치 크기",
     "batch size"),
    (_one_class, [], "클래스가 적어도 2개", "at least 2 classes"),
    (_one_class, ["--label-smoothing", "2.0"], "0 ≤ label_smoothing < 1 범위여야", "range 0 ≤ label_smoothing < 1"),
    (_one_class, ["--resume", "--overwrite"], "함께 쓸 수 없습니다", "not allowed with"),
    (_one_class, ["--holdout", "0"], "1 이상의 정수", "integer of at least 1"),
    (_one_class, ["--seed", str(2**64)], "0 ≤ seed ≤ 4294967295 범위", "range 0 ≤ seed ≤ 4294967295"),
    (_one_class, ["--lr", "-1"], "명령줄 인수가 잘못되었습니다", "Bad command-line arguments"),  # argparse's own
    (_one_class, ["--learning-rate", "0.1"], "(--learning-rate: --lr일까요?)", "(--learning-rate: did you mean --lr?)"),
    (_one_class, ["--batchsize", "8"], "--batch-size일까요?", "did you mean --batch-size?"),
    (lambda d: [(d / s).mkdir(parents=True) for s in ("train", "test")], [], "클래스 폴더가 없습니다",
     "has no class folders"),
    (lambda d: (make_image_folder(d, classes=("a", "b"), n_train=2, n_test=0),
                make_image_folder(d, classes=("zebra",), n_train=0, n_test=1)), [], "학습 데이터에 없는 클래스",
     "does not have"),
])
def test_bad_input_exits_2_with_a_bilingual_message(tmp_path, capsys, make, extra, korean, english):
    """The flag rows hold one class: loading the data first would say that instead."""
    if make is not None:
        make(tmp_path / "data")
    code, _, err = _main(capsys, "--data-dir", tmp_path / "data", "--out", tmp_path / "out", *TINY, *extra)
    assert code == 2 and not (tmp_path / "out" / "metrics.json").exists()
    korean_first(err, korean, english)


@pytest.mark.parametrize("case", ["below a file", "read-only", "out is a file", "no such device", "empty",
                                  "checkpoint is a folder"])
def test_an_out_or_device_that_cannot_be_used_is_refused_before_loading_data(image_folder, tmp_path, capsys,
                                                                             monkeypatch, no_loading, case):
    (tmp_path / "file").write_text("a file")
    (tmp_path / "ck" / "checkpoint.pt").mkdir(parents=True)
    out = {"below a file": tmp_path / "file" / "run", "out is a file": tmp_path / "file", "empty": "",
           "checkpoint is a folder": tmp_path / "ck"}.get(case, tmp_path / "ro")
    if case == "read-only":  # the tests run as root, where chmod does not stop writing: the disk refuses instead
        monkeypatch.setattr(tempfile, "mkstemp", lambda *a, **k: (_ for _ in ()).throw(
            OSError(errno.EROFS, "Read-only file system")))
    if case == "no such device":
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = _main(capsys, "--data-dir", image_folder, "--out", out,
                         *(["--device", "cuda"] if case == "no such device" else []))
    assert code == 2 and "Traceback" not in err and (str(out) in err or "'cuda'" in err)
    if case != "no such device":
        said = {"read-only": ("쓸 수 없습니다", "Read-only"), "empty": ("폴더 이름이 비어 있습니다", "empty name"),
                "checkpoint is a folder": ("폴더라서", "is a folder")}
        korean_first(err, *said.get(case, ("파일입니다", "is a file")))


def test_divergence_with_one_step_per_epoch_exits_1_and_saves_nothing(image_folder, tmp_path, capsys):
    """--lr 1e12: at 1e6 whether the very first step overflows depends on the init (a finite epoch is saved)."""
    out = tmp_path / "out"
    code, _, err = _main(capsys, "--data-dir", image_folder, "--out", out, "--batch-size", 48, "--lr", 1e12,
                         "--epochs", 2, *TINY)
    assert code == 1 and "NaN" in err and not (out / "checkpoint.pt").exists() and not (out / "metrics.json").exists()
    korean_first(err, "발산", "diverged")


def test_disk_full_at_a_checkpoint_exits_1_and_keeps_the_previous_one(done, image_folder, capsys, monkeypatch):
    saved = _files(done)

    def disk_full(obj, f, *args, **kwargs):  # what torch.save raised in the sweep
        f.write(b"part")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 4480 vs 4374")

    monkeypatch.setattr(torch, "save", disk_full)
    code, said, err = _main(capsys, "--data-dir", image_folder, "--out", done, *TINY, "--resume", "--epochs", 2)
    assert code == 1 and _files(done) == saved and "enforce fail" not in err  # no temporary file left either
    korean_first(err, "디스크가 가득", "disk is probably full")
    assert "Stopped. The checkpoint up to epoch 1 is at" in said


def test_ctrl_c_during_a_checkpoint_write_exits_130_naming_the_epoch_on_disk(image_folder, tmp_path, capsys,
                                                                             monkeypatch):
    out, real_save = tmp_path / "out", torch.save

    def interrupted_at_epoch_2(obj, f, *args, **kwargs):
        if isinstance(obj, dict) and obj.get("epoch") == 2:
            f.write(b"half")
            raise KeyboardInterrupt
        real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", interrupted_at_epoch_2)
    out.mkdir()
    (out / ".checkpoint.pt.k1ll3d.tmp").write_bytes(b"left by SIGKILL")  # stale: removed on start
    (out / ".metrics.json.abc.tmp").write_bytes(b"left by SIGKILL")
    code, said, err = _main(capsys, "--data-dir", image_folder, "--out", out, "--batch-size", 16, "--epochs", 3, *TINY)
    assert code == 130 and "up to epoch 1 is at" in said and "up to epoch 2" not in said and "--resume" in said
    assert "Interrupted" not in err  # said once, by the engine
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME, "checkpoint.pt"]  # the lock file stays, empty
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epoch"] == 1


def _start(image_folder: Path, out: Path) -> subprocess.Popen:
    """A long run of ``python -m vgg_teach.train`` in ``out``, returned once its second epoch is on screen."""
    env = {**os.environ, "VGG_TEACH_SMOKE": "1", "PYTHONWARNINGS": "ignore", "PYTHONUNBUFFERED": "1"}
    log = out.parent / "live.log"
    with open(log, "w") as f:
        run = subprocess.Popen([sys.executable, "-m", "vgg_teach.train", "--data-dir", str(image_folder), "--out",
                                str(out), "--batch-size", "16", "--epochs", "100000", *TINY],
                               stdout=f, stderr=f, env=env)
    deadline = time.monotonic() + 120
    while "epoch   2/" not in log.read_text() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run.poll() is None, log.read_text()
    return run


def test_a_live_run_owns_its_out_another_is_refused_untouched_and_a_dead_runs_lock_is_taken_over(image_folder,
                                                                                                  tmp_path, capsys):
    out = tmp_path / "out"
    live = _start(image_folder, out)
    try:
        (out / ".checkpoint.pt.live.tmp").write_bytes(b"being written")  # a slow Google Drive write, say
        code, _, err = _main(capsys, "--data-dir", image_folder, "--out", out, "--overwrite", *TINY)
        assert code == 2 and f"PID {live.pid}" in err and (out / ".checkpoint.pt.live.tmp").exists()
        korean_first(err, "다른 학습이 쓰고 있습니다", "being written by another training run")
    finally:
        live.kill()  # SIGKILL: its lock is left behind
        live.wait()
    code, said, _ = _main(capsys, "--data-dir", image_folder, "--out", out, "--overwrite", *TINY)
    assert code == 0 and f"(PID {live.pid}, started" in said
    for beat, expected in [(time.time(), 2), (time.time() - STALE_SECONDS - 1, 0)]:  # Drive shared by another VM
        (out / LOCK_NAME).write_text(json.dumps({"pid": 7, "host": "another-colab-vm", "beat": beat}))
        code, said, err = _main(capsys, "--data-dir", image_folder, "--out", out, "--overwrite", *TINY)
        assert code == expected and ("on another machine" in err if code else "Took over the lock" in said)


def test_sigterm_stops_a_run_like_ctrl_c_with_exit_143_naming_the_epoch_on_disk(image_folder, tmp_path, capsys):
    out = tmp_path / "out"
    run = _start(image_folder, out)
    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=60) == 143
    said, epoch = (tmp_path / "live.log").read_text(), torch.load(out / "checkpoint.pt", weights_only=True)["epoch"]
    assert f"Stopped by SIGTERM. The checkpoint up to epoch {epoch} is at" in said and "--resume" in said
    assert said.count("Stopped by SIGTERM") == 1  # said once (by the engine, which knows the epoch), not twice
    code, said, _ = _main(capsys, "--data-dir", image_folder, "--out", out, "--resume", "--epochs", epoch + 1, *TINY)
    assert code == 0 and f"epochs up to {epoch} are done" in said and metrics(out)["epochs"] == epoch + 1


def test_momentum_0_is_plain_sgd(image_folder, tmp_path, capsys):
    assert _main(capsys, "--data-dir", image_folder, "--out", tmp_path, "--momentum", 0, *TINY)[0] == 0
    assert metrics(tmp_path)["config"]["nesterov"] is False


def test_an_unexpected_error_is_two_lines_on_screen_and_its_traceback_in_error_log(image_folder, tmp_path, capsys,
                                                                                   monkeypatch):
    monkeypatch.setattr(cli, "fit", lambda *a, **k: 1 / 0)
    code, _, err = _main(capsys, "--data-dir", image_folder, "--out", tmp_path / "out", *TINY)
    log = tmp_path / "out" / cli.ERROR_LOG
    assert code == 1 and str(log) in err and "ZeroDivisionError" in err and len(err.splitlines()) == 2
    korean_first(err, "예상하지 못한 오류", "Unexpected error")
    assert "Traceback (most recent call last)" in log.read_text(encoding="utf-8")


def test_a_small_folder_with_the_default_batch_size_just_works(smoke_off, tmp_path, capsys):
    data = make_image_folder(tmp_path / "mine", classes=("a", "b", "c"), n_train=24, n_test=4)
    code, said, _ = _main(capsys, "--data-dir", data, "--out", tmp_path / "out", "--epochs", 1, *TINY)
    config = metrics(tmp_path / "out")["config"]
    assert code == 0 and config["batch_size"] == 16
    assert config["lr"] == pytest.approx(0.2 * 16 / 512)  # 0.2 is for batches of 512: on 16 images it diverged
    korean_first(said, "배치 크기(batch size)를 512에서 16으로", "reduced from 512 to 16")
    korean_first(said, "학습률도 같은 비율로 0.2에서 0.0063으로", "from 0.2 to 0.0063 (the linear scaling rule)")
    code, said, _ = _main(capsys, "--data-dir", data, "--out", tmp_path / "mine", "--epochs", 1, "--lr", 0.05, *TINY)
    assert code == 0 and metrics(tmp_path / "mine")["config"]["lr"] == 0.05 and "scaling" not in said


def test_the_module_entry_point_fails_cleanly(tmp_path):
    env = {**os.environ, "VGG_TEACH_SMOKE": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-m", "vgg_teach.train", "--data-dir", str(tmp_path / "nope"),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    korean_first(proc.stderr, "데이터 폴더가 없습니다", "No such data folder")
