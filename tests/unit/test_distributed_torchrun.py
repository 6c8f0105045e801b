"""Two processes under ``python -m torch.distributed.run`` (torchrun) on the CPU with gloo — the code path of NCCL
on GPUs, with another backend. One torchrun run (module fixture, tests/unit/ddp_worker.py) serves most tests:

- the equivalence runs: without batch norm (and without dropout) two processes give the weights of one process,
  to float-reduction tolerance; with batch norm they give the weights of one process whose batch norm sees each
  half of the batch on its own ("ghost batch norm") — the whole difference, explained and computed;
- two CLI runs: a fresh 2-epoch run, and a one-process run resumed on two processes (with --sync-bn, which gloo
  cannot do: said once, training goes on), each write recorded with its rank.

One more torchrun run kills a rank mid-training; the run then resumes on one process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from vgg_teach import train as cli
from vgg_teach.env import seed_everything
from vgg_teach.models import build_model
from vgg_teach.training.checkpoint import load_state
from vgg_teach.training.data import DeviceLoader
from vgg_teach.training.recipe import make_optimizer, make_scheduler
from vgg_teach.training.sources import make_image_folder

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("ddp_worker.py")
TINY = ["--model", "vgg_tiny_cifar", "--no-progress", "--device", "cpu"]
#: float32 results of the same sums in another order (gradients averaged over 2 processes vs one batch mean;
#: other thread counts in the convolutions) differ by a few ulp (eps = 1.2e-7) per step; 8 steps of SGD with
#: momentum amplify that a little (measured: ≤ 5e-7 relative). 1e-4 leaves a margin of 200× and is still far
#: below what a real mistake makes: a wrong slice, a missing all-reduce or a rescaled learning rate change the
#: weights by 1e-2 or more (batch norm's per-process statistics alone: 0.1–1, see test_batch_norm_…).
RTOL, ATOL = 1e-4, 1e-6

spec = importlib.util.spec_from_file_location("ddp_worker", WORKER)
worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(worker)


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "VGG_TEACH_SMOKE": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args]


def _metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory, image_folder):
    root = tmp_path_factory.mktemp("torchrun")
    fresh, resumed, results = root / "fresh", root / "one_then_two", root / "results"
    results.mkdir()
    assert cli.main(["--data-dir", str(image_folder), "--out", str(resumed), "--epochs", "1", *TINY]) == 0
    one_process = _metrics(resumed)
    fresh_run = ["--data-dir", str(image_folder), "--model", "vgg_tiny_cifar", "--epochs", "2", "--out", str(fresh),
                 "--no-progress"]  # the command of the "Done when"
    resume_run = ["--data-dir", str(image_folder), "--out", str(resumed), "--epochs", "2", "--resume", "--sync-bn",
                  *TINY]
    proc = subprocess.run(_torchrun(str(WORKER), str(results), "--", *fresh_run, ";", *resume_run), cwd=ROOT,
                          env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"fresh": fresh, "resumed": resumed, "results": results, "one_process": one_process,
            "output": proc.stdout + proc.stderr}


def test_two_processes_train_and_report_global_numbers(runs):
    m = _metrics(runs["fresh"])
    assert m["world_size"] == 2 and m["epochs"] == 2 and [r["epoch"] for r in m["history"]] == [1, 2]
    assert m["num_train"] == 48 and m["num_test"] == 12
    batch = m["config"]["batch_size"]
    assert batch % 2 == 0 and 48 // batch >= 4  # shrunk for 48 images, still a global batch both halves share
    per_epoch = 48 // batch * batch
    for r in m["history"]:
        assert len(r["images_per_second_per_rank"]) == 2 and min(r["images_per_second_per_rank"]) > 0
        assert r["images_per_second"] * r["seconds"] == pytest.approx(per_epoch)  # all ranks' images, once
        assert r["test_acc"] * 12 == pytest.approx(round(r["test_acc"] * 12))   # a count over all 12 test images
        assert r["train_acc"] * per_epoch == pytest.approx(round(r["train_acc"] * per_epoch))
    assert m["images_per_second"] == pytest.approx(2 * per_epoch / m["train_seconds"])
    assert len(m["images_per_second_per_rank"]) == 2


def test_rank_0_alone_writes_and_its_checkpoint_is_a_one_process_checkpoint(runs):
    writes = (runs["results"] / "writes-rank0.txt").read_text().splitlines()
    assert writes == ["save_state checkpoint.pt"] * 2 + ["metrics metrics.json"] + \
        ["save_state checkpoint.pt", "metrics metrics.json"]  # fresh: 2 epochs; resumed: epoch 2
    assert not (runs["results"] / "writes-rank1.txt").exists()
    state = load_state(runs["fresh"] / "checkpoint.pt")
    assert state.epoch == 2 and state.run["world_size"] == 2
    assert list(state.model) == list(build_model("vgg_tiny_cifar", 3).state_dict())  # no "module." prefix
    assert not list(runs["fresh"].glob(".*.tmp"))


def test_what_the_run_prints_is_printed_once(runs):
    out = runs["output"]
    assert out.count("epoch   1/2") == 1 and out.count("epoch   2/2") == 2  # fresh epochs 1–2, resumed epoch 2
    assert out.count("완료: ") == 2 and out.count("works with NCCL on GPUs only") == 1
    assert "Traceback" not in out


def test_a_one_process_run_resumes_on_two_processes(runs):
    m = _metrics(runs["resumed"])
    assert m["world_size"] == 2 and [r["epoch"] for r in m["history"]] == [1, 2]
    assert m["history"][0] == runs["one_process"]["history"][0]
    assert m["resumes"] == [{"after_epoch": 1, "changed": {"epochs": [1, 2], "sync_bn": [False, True],
                                                          "world_size": [1, 2]}}]


def test_a_two_process_run_resumes_on_one_process(runs, image_folder, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(runs["fresh"], out)
    assert cli.main(["--data-dir", str(image_folder), "--out", str(out), "--epochs", "3", "--resume", *TINY]) == 0
    m = _metrics(out)
    assert m["world_size"] == 1 and m["epochs"] == 3
    assert m["resumes"] == [{"after_epoch": 2, "changed": {"epochs": [2, 3], "world_size": [2, 1]}}]
    assert m["history"][:2] == _metrics(runs["fresh"])["history"]


def _close(a: dict, b: dict) -> tuple[bool, float]:
    """All floating tensors within RTOL·(the tensor's scale) + ATOL; and the largest relative difference."""
    worst, ok = 0.0, True
    for key, x in a.items():
        if not x.is_floating_point():
            continue
        diff, scale = (x - b[key]).abs().max().item(), b[key].abs().max().item()
        ok = ok and diff <= RTOL * scale + ATOL
        worst = max(worst, diff / (scale + ATOL))
    return ok, worst


def test_without_batch_norm_two_processes_give_the_weights_of_one(runs):
    two = torch.load(runs["results"] / "plain.pt", weights_only=True)
    one = worker.train(batch_norm=False).state_dict()
    ok, worst = _close(two, one)
    assert ok, f"largest relative difference {worst:.2e}"
    assert _close(two, worker.tiny(False).state_dict())[1] > 1e-2  # (it did train)


def _ghost_batch_norm(world_size: int = 2) -> dict:
    """One process, each step's batch cut in ``world_size`` slices with a forward and a backward each (so batch norm
    normalizes each slice by its own statistics, as each DDP process does), the gradients averaged, the running
    statistics those of slice 0 (DDP copies rank 0's buffers to the others at every forward)."""
    config = worker.CONFIG
    train, _ = worker.data()
    seed_everything(config.seed)
    model = worker.tiny(batch_norm=True)
    loaders = [DeviceLoader(train, config.batch_size, train=True, seed=config.seed, rank=r, world_size=world_size)
               for r in range(world_size)]
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, len(loaders[0]))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    model.train()
    for epoch in range(1, config.epochs + 1):
        for loader in loaders:
            loader.set_epoch(epoch)
        for batches in zip(*loaders):
            optimizer.zero_grad(set_to_none=True)
            for rank, (images, labels) in enumerate(batches):
                if rank == 1:
                    rank_0 = {name: b.clone() for name, b in model.named_buffers()}
                (loss_fn(model(images), labels) / world_size).backward()
            for name, b in model.named_buffers():
                b.copy_(rank_0[name])
            optimizer.step()
            scheduler.step()
    return model.state_dict()


def test_batch_norm_differs_from_one_process_by_its_per_process_statistics_only(runs):
    two = torch.load(runs["results"] / "bn.pt", weights_only=True)
    one = worker.train(batch_norm=True).state_dict()
    ok, worst = _close(two, one)
    assert not ok and worst > 1e-2, "batch norm over 8 images per process should differ from 16 in one"
    ok, worst = _close(two, _ghost_batch_norm())
    assert ok, f"largest relative difference from ghost batch norm {worst:.2e}"


def _rank_1(torchrun: subprocess.Popen):
    psutil = pytest.importorskip("psutil")
    for child in psutil.Process(torchrun.pid).children(recursive=True):
        try:
            if child.environ().get("RANK") == "1":
                return child
        except psutil.Error:
            continue
    return None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds rank 1 by its environment (psutil, Linux)")
def test_killing_a_rank_stops_all_without_a_broken_checkpoint_and_the_run_resumes(tmp_path):
    data = make_image_folder(tmp_path / "data", classes=("a", "b", "c"), n_train=40, n_test=4)
    out = tmp_path / "out"
    args = ["--data-dir", str(data), "--model", "vgg_tiny_cifar", "--batch-size", "16", "--out", str(out),
            "--no-progress", "--device", "cpu"]
    torchrun = subprocess.Popen(_torchrun("-m", "vgg_teach.train", *args, "--epochs", "200"), cwd=ROOT, env=_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.pt").exists() and torchrun.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        victim = _rank_1(torchrun)
        assert victim is not None and torchrun.poll() is None, "rank 1 was not found running"
        victim.send_signal(signal.SIGKILL)
        output, _ = torchrun.communicate(timeout=120)
    finally:
        if torchrun.poll() is None:
            torchrun.kill()
    assert torchrun.returncode != 0
    state = load_state(out / "checkpoint.pt")  # whole: written atomically by rank 0
    assert 1 <= state.epoch < 200
    # rank 0 tells why once: gloo's error (the usual case), or torchrun's SIGTERM if it came first
    told = output.count("다른 프로세스(rank)가 멈춰서") + output.count("중단되었습니다. 에포크")
    assert told == 1 and f"epoch {state.epoch}" in output, output[-3000:]
    assert output.count("Traceback") <= 1, output[-3000:]  # torchrun's own, not one per process
    # the same command with --resume, on one process this time
    assert cli.main([*args, "--epochs", str(state.epoch + 1), "--resume"]) == 0
    m = _metrics(out)
    assert [r["epoch"] for r in m["history"]] == list(range(1, state.epoch + 2)) and m["world_size"] == 1
    assert m["resumes"] == [{"after_epoch": state.epoch,
                             "changed": {"epochs": [200, state.epoch + 1], "world_size": [2, 1]}}]
