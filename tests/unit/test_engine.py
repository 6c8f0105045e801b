"""vgg_teach.training.engine and .checkpoint, and the tiny CPU run of benchmarks/train_speed.py."""

from __future__ import annotations

import importlib.util
import inspect
import json
import math
import tarfile
from pathlib import Path

import pytest
import torch
from torch import nn

from vgg_teach.answers import train_step
from vgg_teach.errors import DivergenceError, OutOfMemoryError, OutputWriteError
from vgg_teach.models import build_model
from vgg_teach.training import engine
from vgg_teach.training.checkpoint import atomic_save, rng_state, set_rng_state
from vgg_teach.training.engine import fit, train_one_epoch
from vgg_teach.training.recipe import Precision, TrainConfig, amp_dtype, lr_factor
from vgg_teach.training.sources import load_image_folder_splits, make_image_folder


def load_checkpoint(path):
    """A checkpoint file's raw contents (tensors and plain values only)."""
    return torch.load(path, map_location="cpu", weights_only=True)


REPO = Path(__file__).resolve().parents[2]
TIMING_KEYS = {"seconds", "eval_seconds", "images_per_second"}
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def tiny_data(image_folder):
    return load_image_folder_splits(image_folder)  # 3 classes × 16 train / 4 test


def _fit(data, epochs=3, model=None, **kw):
    train, test = data
    torch.manual_seed(0)
    model = model if model is not None else build_model("vgg_tiny_cifar", len(train.classes))
    cfg = TrainConfig(epochs=epochs, batch_size=8, lr=kw.pop("lr", 0.2), seed=kw.pop("seed", 0),
                      tta=kw.pop("tta", False))
    return fit(model, train, test, cfg, device=CPU, progress=False, log=None, **kw), model


def _untimed(history):
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in history]


def test_fit_learns_and_reports(tiny_data):
    # lr 0.05: it learns from every seed tried (0, 1, 2); at 0.2 it learns from some and diverges from others
    result, _ = _fit(tiny_data, epochs=8, tta=True, lr=0.05)
    history = result["history"]
    assert [r["epoch"] for r in history] == list(range(1, 9)) and result["epochs"] == 8
    assert set(history[0]) >= {"train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds", "images_per_second"}
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert result["test_accuracy"] >= 0.6  # 3 classes (chance 1/3) with distinct colours
    assert 0 <= result["test_accuracy_tta"] <= 1 and result["precision"] == "fp32"
    assert result["images_per_second"] == pytest.approx(8 * 48 / result["train_seconds"])


def test_train_one_epoch_is_short_and_readable():
    """Lesson 05 shows both to learners: the loop calls the step, and the step is the five plain lines."""
    loop = inspect.getsource(train_one_epoch)
    assert len(loop.splitlines()) <= 20
    assert "step(hands.model, images, labels, hands.optimizer, hands.loss_fn)" in loop and "scheduler.step()" in loop
    step = inspect.getsource(train_step)
    assert len(step.splitlines()) <= 12
    lines = ("logits = model(images)", "loss = loss_fn(logits, labels)", "optimizer.zero_grad()", "loss.backward()",
             "optimizer.step()", "return loss")
    assert [step.index(line) for line in lines] == sorted(step.index(line) for line in lines)
    assert "autocast" not in step and "scaler" not in step  # mixed precision is the engine's (StepHands)


def test_lr_schedules():
    total = 100
    one = [lr_factor(s, total, 0.2, "onecycle") for s in range(total)]
    cos = [lr_factor(s, total, 0.2, "cosine") for s in range(total)]
    assert one[19] == cos[19] == 1.0 and one[0] == pytest.approx(0.05)
    assert all(a < b for a, b in zip(one[:19], one[1:20]))  # warm-up rises
    assert all(a > b for a, b in zip(one[20:-1], one[21:]))  # then falls
    assert one[-1] < 0.02 and cos[-1] < 0.001 and cos[40] > one[40]
    with pytest.raises(ValueError):
        lr_factor(0, 10, 0.2, "step")


def test_precision_choice():
    cuda = torch.device("cuda")
    assert amp_dtype(cuda, "auto", capability=(9, 0)) is torch.bfloat16  # H100
    assert amp_dtype(cuda, "auto", capability=(7, 5)) is torch.float16   # T4
    assert amp_dtype(CPU, "auto") is None and amp_dtype(CPU, "bf16") is torch.bfloat16
    cpu = Precision.for_device(CPU)
    assert cpu.name == "fp32" and not cpu.scaler.is_enabled()


def test_gpu_code_path_bf16_channels_last_runs_on_the_cpu(tiny_data):
    """The CUDA recipe's autocast + channels_last, exercised on the CPU (which supports bf16 autocast)."""
    train, test = tiny_data
    cfg = TrainConfig(epochs=1, batch_size=8, precision="bf16", channels_last=True, tta=True)
    model = build_model("vgg_tiny_cifar", 3)
    result = fit(model, train, test, cfg, device=CPU, progress=False, log=None)
    assert result["precision"] == "bf16"
    assert model.features[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert math.isfinite(result["history"][0]["train_loss"]) and 0 <= result["test_accuracy_tta"] <= 1


def test_resume_matches_an_uninterrupted_run(tiny_data, tmp_path):
    straight, straight_model = _fit(tiny_data, epochs=3, checkpoint=tmp_path / "a.pt")

    def stop_after_first_epoch(record):
        if record["epoch"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _fit(tiny_data, epochs=3, checkpoint=tmp_path / "b.pt", callbacks=[stop_after_first_epoch])
    assert load_checkpoint(tmp_path / "b.pt")["epoch"] == 1
    resumed, resumed_model = _fit(tiny_data, epochs=3, checkpoint=tmp_path / "b.pt", resume=True)
    assert len(resumed["history"]) == 3 and resumed["epochs"] == 3
    assert _untimed(resumed["history"]) == _untimed(straight["history"])
    for (name, a), b in zip(straight_model.state_dict().items(), resumed_model.state_dict().values()):
        assert torch.equal(a, b), name


def test_resume_with_more_epochs_and_without_checkpoint(tiny_data, tmp_path, capsys):
    first, _ = _fit(tiny_data, epochs=1, checkpoint=tmp_path / "c.pt", resume=True)  # nothing to resume yet
    more, _ = _fit(tiny_data, epochs=2, checkpoint=tmp_path / "c.pt", resume=True)
    assert [r["epoch"] for r in more["history"]] == [1, 2]
    assert _untimed(more["history"][:1]) == _untimed(first["history"])


def test_checkpoint_save_is_atomic(tiny_data, tmp_path, monkeypatch):
    path = tmp_path / "run" / "checkpoint.pt"
    _fit(tiny_data, epochs=1, checkpoint=path)
    before = path.read_bytes()

    def crash_midway(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", crash_midway)
    with pytest.raises(OutputWriteError, match="No space"):
        _fit(tiny_data, epochs=2, checkpoint=path, resume=True)
    monkeypatch.undo()
    assert path.read_bytes() == before  # the epoch-1 checkpoint is intact …
    assert load_checkpoint(path)["epoch"] == 1  # … and loads
    assert sorted(p.name for p in path.parent.iterdir()) == ["checkpoint.pt"]  # no temporary file left


def test_atomic_save_replaces_and_keeps_mode(tmp_path):
    path = tmp_path / "x.pt"
    atomic_save({"a": torch.ones(2)}, path)
    atomic_save({"a": torch.zeros(2)}, path)
    assert torch.equal(load_checkpoint(path)["a"], torch.zeros(2))
    assert path.stat().st_mode & 0o044  # readable by others like a normal file, not mkstemp's 0600


def test_rng_state_roundtrip_through_a_weights_only_checkpoint(tmp_path):
    import random

    import numpy as np
    torch.manual_seed(1)
    atomic_save({"rng": rng_state()}, tmp_path / "r.pt")
    expected = (random.random(), float(np.random.rand()), torch.rand(3))
    random.random(), np.random.rand(), torch.rand(3)
    set_rng_state(load_checkpoint(tmp_path / "r.pt")["rng"])
    got = (random.random(), float(np.random.rand()), torch.rand(3))
    assert got[:2] == expected[:2] and torch.equal(got[2], expected[2])


class _NaNOnCall(nn.Module):
    """Wraps a model; its output on the ``bad_call``-th forward pass is NaN."""

    def __init__(self, inner: nn.Module, bad_call: int) -> None:
        super().__init__()
        self.inner, self.bad_call, self.calls = inner, bad_call, 0

    def forward(self, x):
        self.calls += 1
        out = self.inner(x)
        return out * float("nan") if self.calls == self.bad_call else out


def test_nan_loss_names_epoch_and_step(tiny_data, tmp_path):
    model = _NaNOnCall(build_model("vgg_tiny_cifar", 3), bad_call=3)
    with pytest.raises(DivergenceError) as err:
        _fit(tiny_data, epochs=2, model=model, checkpoint=tmp_path / "n.pt")
    msg = str(err.value)
    assert "에포크 1의 3번째 스텝" in msg and "epoch 1, step 3" in msg
    assert msg.index("학습률(learning rate)을 낮춰") < msg.index("Lower the learning rate")
    assert not (tmp_path / "n.pt").exists()  # a diverged epoch is never saved


def test_huge_learning_rate_diverges(tiny_data):
    with pytest.raises(DivergenceError, match="NaN"):
        _fit(tiny_data, epochs=2, lr=1e6)


def test_out_of_memory_suggests_a_smaller_batch(tiny_data, monkeypatch):
    def oom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(engine, "train_one_epoch", oom)
    with pytest.raises(OutOfMemoryError) as err:
        _fit(tiny_data, epochs=1)
    msg = str(err.value)
    assert msg.index("배치 크기(batch size)를 줄여") < msg.index("smaller batch size")
    assert "8 → 4" in msg and "Tried to allocate 2.00 GiB" in msg


def _tarball(tmp_path: Path, **folder_kw) -> Path:
    """A small image-folder archive in the layout of the CIFAR-10 JPEG tarball (train/<class>/…)."""
    root = make_image_folder(tmp_path / "imgs", **folder_kw)
    tarball = tmp_path / "train.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(root / "train", arcname="train")
    return tarball


def _benchmark(name: str):
    """Import benchmarks/NAME.py (the benchmarks folder is not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_runs_tiny_on_cpu(tmp_path):
    tarball = _tarball(tmp_path, classes=tuple("abcd"), n_train=15, n_test=0, fmt="jpg")
    bench = _benchmark("train_speed")
    args = [str(tarball), "--cache", str(tmp_path / "cache.pt"), "--out", str(tmp_path / "speed.json"),
            "--holdout", "12", "--limit", "56", "--epochs", "2", "--batch-size", "8", "--model", "vgg_tiny_cifar",
            "--device", "cpu", "--warmup-steps", "1", "--throughput-images", "32", "--throughput-batch", "8",
            "--no-progress"]
    report = bench.main(args)
    saved = json.loads((tmp_path / "speed.json").read_text())
    assert saved["data"]["heldout_images"] == 12 and saved["data"]["train_images"] == 44
    assert saved["data"]["cache_hit"] is False and (tmp_path / "cache.pt").is_file()
    assert len(saved["history"]) == 2 and saved["recipe"]["tta"] is True
    for key in ("heldout_accuracy", "heldout_accuracy_tta", "train_seconds", "images_per_second",
                "network_images_per_second"):
        assert math.isfinite(saved[key]) and saved[key] >= 0, key
    assert saved["network_images_per_second"] > 0 and "excludes" in saved["timing_note"]
    assert report["heldout_accuracy"] == saved["heldout_accuracy"]
    assert bench.main(args)["data"]["cache_hit"] is True  # the second run skips decoding


def test_median_runs_summarises_repeated_benchmarks(tmp_path, monkeypatch):
    """benchmarks/median_runs.py: N runs of train_speed.py with different seeds, medians in summary.json."""
    monkeypatch.chdir(tmp_path)  # the default cache path is relative: it would land in tmp_path/data
    tarball = _tarball(tmp_path, classes=("a", "b", "c"), n_train=12, n_test=1)
    median_runs = _benchmark("median_runs")
    out = tmp_path / "bench"
    summary = median_runs.main([str(tarball), "--runs", "3", "--out-dir", str(out), "--", "--holdout", "6",
                                "--epochs", "1", "--batch-size", "8", "--model", "vgg_tiny_cifar", "--no-cache",
                                "--device", "cpu", "--warmup-steps", "1", "--throughput-images", "16",
                                "--throughput-batch", "8"])
    saved = json.loads((out / "summary.json").read_text())
    assert saved["runs"] == 3 and sorted(p.name for p in out.glob("run*.json")) == ["run0.json", "run1.json",
                 "run2.json"]
    ips = saved["images_per_second"]
    assert len(ips["values"]) == 3 and ips["median"] == sorted(ips["values"])[1]
    assert ips["min"] <= ips["median"] <= ips["max"] and summary["device"] == "cpu"
    assert not (tmp_path / "data").exists()  # --no-cache: no cache file at the default (relative) path


def test_the_finiteness_check_is_exact_also_when_a_sum_overflows():
    from vgg_teach.training.engine import _all_finite

    huge = torch.full((10,), 3e38)  # finite, but its float32 sum is inf: the slow path must say finite
    assert _all_finite([huge, torch.ones(3, dtype=torch.float16)]) and _all_finite([])
    assert not _all_finite([torch.ones(4), torch.tensor([1.0, float("nan")])])
    assert not _all_finite([torch.tensor([float("inf"), -float("inf")])])  # their sum is NaN, not inf
    assert not _all_finite([huge, torch.tensor([60000.0, float("inf")], dtype=torch.float16)])


def test_a_checkpoint_on_disk_is_named_even_when_the_run_stops_right_after_writing_it(tiny_data, tmp_path,
                                                                                     monkeypatch):
    """Under torchrun a rank can die while rank 0 tells the others its write went well (seen in CI): what is on
    disk must be what the message names. Stand-in: the wait after rank 0's write is interrupted."""
    from vgg_teach.training import distributed

    class StopsAfterTheWrite(distributed.Dist):
        def on_main(self, fn):
            fn()
            raise KeyboardInterrupt  # where ranks wait for rank 0: after the file is on disk

    monkeypatch.setattr(engine.distributed, "current", lambda: StopsAfterTheWrite())
    train, test = tiny_data
    told = []
    with pytest.raises(KeyboardInterrupt):
        fit(build_model("vgg_tiny_cifar", 3), train, test, TrainConfig(epochs=3, batch_size=8), device=CPU,
            progress=False, log=told.append, checkpoint=tmp_path / "c.pt")
    assert torch.load(tmp_path / "c.pt", weights_only=True)["epoch"] == 1
    assert any("The checkpoint up to epoch 1 is at" in line for line in told), told
