"""Two processes under torchrun on the CPU with gloo (the code path of NCCL on GPUs, with another backend) and the
tiny model. One torchrun run (tests/unit/ddp_worker.py) serves most tests: the weights of two processes are those of
one; a fresh CLI run; a one-process run resumed on two (with --sync-bn, which gloo cannot do: said once). Another
kills a rank mid-training: every process stops, the checkpoint stays whole, the run resumes on one process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.fakes import metrics, script
from vgg_teach import train as cli
from vgg_teach.env import seed_everything
from vgg_teach.models import TINY_CFG, build_model, vgg_cifar
from vgg_teach.training.checkpoint import load_state
from vgg_teach.training.sources import make_image_folder

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("ddp_worker.py")
TINY = ["--model", "vgg_tiny_cifar", "--no-progress", "--device", "cpu"]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "VGG_TEACH_SMOKE": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, image_folder):
    root = tmp_path_factory.mktemp("torchrun")
    fresh, resumed, results = root / "fresh", root / "one_then_two", root / "results"
    results.mkdir()
    assert cli.main(["--data-dir", str(image_folder), "--out", str(resumed), "--epochs", "1", *TINY]) == 0
    one_process = metrics(resumed)
    fresh_run = ["--data-dir", str(image_folder), "--model", "vgg_tiny_cifar", "--epochs", "2", "--out", str(fresh),
                 "--no-progress"]  # as README says: no --device, the CPU without a GPU
    resume_run = ["--data-dir", str(image_folder), "--out", str(resumed), "--epochs", "2", "--resume", "--sync-bn",
                  *TINY]
    proc = subprocess.run(_torchrun(str(WORKER), str(results), "--", *fresh_run, ";", *resume_run), cwd=ROOT,
                          env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"fresh": fresh, "resumed": resumed, "results": results, "one_process": one_process,
            "output": proc.stdout + proc.stderr}


def test_two_processes_give_the_weights_of_one(runs):
    """Gradients averaged over 2 processes vs one batch mean differ by a few float32 ulp per step; 8 steps of SGD
    with momentum amplify that to ≤ 5e-7 relative (measured): 1e-4 is a wide margin, and far below a wrong slice, a
    missing all-reduce or a rescaled learning rate (1e-2 or more)."""
    worker = script(WORKER, "ddp_worker")
    two, one = torch.load(runs["results"] / "plain.pt", weights_only=True), worker.train().state_dict()
    for key, x in two.items():
        assert (x - one[key]).abs().max() <= 1e-4 * one[key].abs().max() + 1e-6, key
    seed_everything(worker.CONFIG.seed)  # the initial weights: it did train
    initial = vgg_cifar(TINY_CFG, batch_norm=False, num_classes=3, hidden=32, dropout=0.0).state_dict()
    assert any((x - initial[key]).abs().max() > 1e-2 for key, x in two.items())


def test_two_processes_report_global_numbers_and_rank_0_alone_prints_and_writes(runs):
    m = metrics(runs["fresh"])
    assert m["world_size"] == 2 and [r["epoch"] for r in m["history"]] == [1, 2] and m["num_train"] == 48
    batch = m["config"]["batch_size"]
    assert batch % 2 == 0 and 48 // batch >= 4  # shrunk for 48 images, still a global batch both halves share
    for r in [*m["history"], m]:
        assert len(r["images_per_second_per_rank"]) == 2 and min(r["images_per_second_per_rank"]) > 0
    for r in m["history"]:
        assert r["images_per_second"] * r["seconds"] == pytest.approx(48 // batch * batch)  # all ranks' images
        assert r["test_acc"] * 12 == pytest.approx(round(r["test_acc"] * 12))   # a count over all 12 test images
    writes = (runs["results"] / "writes-rank0.txt").read_text().splitlines()
    assert writes == ["save_state checkpoint.pt"] * 2 + ["metrics metrics.json"] + \
        ["save_state checkpoint.pt", "metrics metrics.json"]  # fresh: 2 epochs; resumed: epoch 2
    assert not (runs["results"] / "writes-rank1.txt").exists()
    state = load_state(runs["fresh"] / "checkpoint.pt")
    assert state.epoch == 2 and list(state.model) == list(build_model("vgg_tiny_cifar", 3).state_dict())  # no DDP
    out = runs["output"]
    assert out.count("epoch   1/2") == 1 and out.count("epoch   2/2") == 2 and out.count("완료: ") == 2
    assert out.count("works with NCCL on GPUs only") == 1 and "Traceback" not in out


def test_a_run_resumes_on_another_number_of_processes(runs):
    """One process, then two; two then one: the killed run below."""
    m = metrics(runs["resumed"])
    assert m["world_size"] == 2 and m["history"][0] == runs["one_process"]["history"][0]
    assert m["resumes"] == [{"after_epoch": 1, "changed": {"epochs": [1, 2], "sync_bn": [False, True],
                                                          "world_size": [1, 2]}}]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds rank 1 by its environment (psutil, Linux)")
def test_killing_a_rank_stops_all_without_a_broken_checkpoint_and_the_run_resumes(tmp_path):
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "out"
    args = ["--data-dir", str(make_image_folder(tmp_path / "data", n_train=40, n_test=4)), "--batch-size", "16",
            "--out", str(out), *TINY]
    torchrun = subprocess.Popen(_torchrun("-m", "vgg_teach.train", *args, "--epochs", "200"), cwd=ROOT, env=_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.pt").exists() and torchrun.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        def rank(process) -> str | None:
            try:
                return process.environ().get("RANK")
            except psutil.Error:
                return None

        victims = [p for p in psutil.Process(torchrun.pid).children(recursive=True) if rank(p) == "1"]
        assert victims and torchrun.poll() is None, "rank 1 was not found running"
        victims[0].send_signal(signal.SIGKILL)
        output, _ = torchrun.communicate(timeout=120)
    finally:
        if torchrun.poll() is None:
            torchrun.kill()
    assert torchrun.returncode != 0
    state = load_state(out / "checkpoint.pt")  # whole: written atomically by rank 0
    assert 1 <= state.epoch < 200
    # rank 0 tells why once: gloo's error (the usual case), or torchrun's SIGTERM if it came first
    told = output.count("다른 프로세스(rank)가 멈춰서") + output.count("중단되었습니다. 에포크")
    assert told == 1 and f"epoch {state.epoch}" in output and output.count("Traceback") <= 1, output[-3000:]
    assert cli.main([*args, "--epochs", str(state.epoch + 1), "--resume"]) == 0  # the same command, one process
    m = metrics(out)
    assert [r["epoch"] for r in m["history"]] == list(range(1, state.epoch + 2)) and m["world_size"] == 1
    assert m["resumes"] == [{"after_epoch": state.epoch,
                             "changed": {"epochs": [200, state.epoch + 1], "world_size": [2, 1]}}]
