"""benchmarks/ (not a package) on the CPU, tiny, so that they cannot rot: train_speed.py, median_runs.py and the
worker of ddp_scaling.py (what each torchrun process runs), without torchrun."""

from __future__ import annotations

import json
import math
import tarfile
from pathlib import Path

from tests.fakes import script
from vgg_teach.training.sources import make_image_folder

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--model", "vgg_tiny_cifar", "--device", "cpu", "--warmup-steps", "1", "--throughput-batch", "8"]


def _benchmark(name: str):  # benchmarks/ is not a package
    return script(ROOT / "benchmarks" / f"{name}.py", name)


def _tarball(tmp_path: Path, classes: tuple[str, ...], n_train: int) -> Path:
    """An image-folder archive in the layout of the CIFAR-10 JPEG tarball (train/<class>/…)."""
    root = make_image_folder(tmp_path / "imgs", classes=classes, n_train=n_train, n_test=0, fmt="jpg")
    with tarfile.open(tmp_path / "train.tar.gz", "w:gz") as tar:
        tar.add(root / "train", arcname="train")
    return tmp_path / "train.tar.gz"


def test_train_speed_runs_tiny_and_caches_the_decoded_images(tmp_path):
    bench = _benchmark("train_speed")
    args = [str(_tarball(tmp_path, tuple("abcd"), 15)), "--cache", str(tmp_path / "cache.pt"), "--out",
            str(tmp_path / "speed.json"), "--holdout", "12", "--limit", "56", "--epochs", "2", "--batch-size", "8",
            "--throughput-images", "32", "--no-progress", *TINY]
    report = bench.main(args)
    saved = json.loads((tmp_path / "speed.json").read_text())
    assert (saved["data"]["heldout_images"], saved["data"]["train_images"]) == (12, 44) and len(saved["history"]) == 2
    assert saved["data"]["cache_hit"] is False and report["heldout_accuracy"] == saved["heldout_accuracy"]
    assert all(math.isfinite(saved[key]) and saved[key] >= 0 for key in ("heldout_accuracy", "heldout_accuracy_tta",
                                                                          "images_per_second"))
    assert bench.main(args)["data"]["cache_hit"] is True  # the second run skips decoding


def test_median_runs_summarises_repeated_benchmarks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default cache path is relative: it would land in tmp_path/data
    out = tmp_path / "bench"
    summary = _benchmark("median_runs").main([str(_tarball(tmp_path, ("a", "b", "c"), 12)), "--runs", "3",
                                              "--out-dir", str(out), "--", "--holdout", "6", "--epochs", "1",
                                              "--batch-size", "8", "--no-cache", "--throughput-images", "16", *TINY])
    ips = json.loads((out / "summary.json").read_text())["images_per_second"]
    assert len(list(out.glob("run*.json"))) == len(ips["values"]) == 3 and summary["device"] == "cpu"
    assert ips["median"] == sorted(ips["values"])[1]
    assert not (tmp_path / "data").exists()  # --no-cache: no cache file at the default (relative) path


def test_the_scaling_benchmark_runs_one_plain_process(tmp_path):
    _benchmark("ddp_scaling").main(["--worker", str(tmp_path / "run.json"), "--device", "cpu", "--images", "64",
                                    "--batch-size", "16", "--epochs", "2"])
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["world_size"] == 1 and run["images_per_second"] > 0 and run["per_rank"] is None
