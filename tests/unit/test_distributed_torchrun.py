"""Two processes under torchrun on the CPU with gloo (the code path of NCCL on GPUs, with another backend) and the
tiny model. One torchrun launch (tests/unit/ddp_worker.py) serves every test: lesson 07's check on learners' DDP
scripts; the weights of two processes are those of one; a fresh CLI run; a one-process run resumed on two (with
--sync-bn, which gloo cannot do: said once); a run whose rank 1 is killed in its second epoch: every process stops,
the checkpoint stays whole, it resumes on one."""

from __future__ import annotations

import functools
import inspect
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch

from tests.fakes import metrics, script
from vgg_teach import answers
from vgg_teach import train as cli
from vgg_teach.checks import FAIL, PASS, TODO, CheckResult, ddp
from vgg_teach.env import seed_everything
from vgg_teach.errors import TrainingError
from vgg_teach.models import TINY_CFG, build_model, vgg_cifar
from vgg_teach.training.checkpoint import load_state

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("ddp_worker.py")
TINY = ["--model", "vgg_tiny_cifar", "--no-progress", "--device", "cpu"]
WRAP = "DDP(model.to(device), device_ids=[local_rank] if on_gpus else None)"
#: a learner's DDP script: the reference with (old, new) changes → the verdict and words of its one ❌ line
SCRIPTS = {
    "reference": ((), PASS, ""),
    "same images": ((("sampler=sampler,", "shuffle=True,"),), FAIL, "Both processes trained on the same images"),
    "no reshuffle": ((("sampler.set_epoch(epoch)", "pass"),), FAIL, "not reshuffled every epoch"),
    "global batch per process": ((("batch_size // world_size", "batch_size"),), FAIL, "used the global batch"),
    "moved after wrapping": (((WRAP, "DDP(model).to(device)"),), FAIL, "moved to its device (.to or .cuda) after"),
    "no DDP": (((WRAP, "model.to(device)"), ("model.module.", "model.")), FAIL, "never wrapped"),
    "every rank prints": ((("if rank == 0:", "if True:"),), FAIL, "Rank 1 printed too"),
    "every rank saves": ((("if rank == 0:\n        torch.save", "if True:\n        torch.save"),), FAIL,
                         "Rank 1 saved too"),
    "DDP's state_dict": ((("model.module.", "model."),), FAIL, "every key starts with module."),
    "no destroy_process_group": ((("dist.destroy_process_group()", "pass"),), FAIL, "no destroy_process_group"),
    "stub": ((("    # 1.", "    raise NotImplementedError\n    # 1."),), TODO, ""),
    "shuffle and a sampler": ((("sampler=sampler,", "sampler=sampler, shuffle=True,"),), FAIL,
                              "takes no shuffle"),
    "device_ids on the CPU": (((WRAP, "DDP(model.to(device), device_ids=[local_rank])"),), FAIL,
                              "device_ids is for GPUs only"),
    "DDP bypassed": ((("entropy(model(images)", "entropy(model.module(images)"),), FAIL, "called model.module(x)"),
    "sampler without shuffle": ((("shuffle=True, seed=0", "shuffle=False"),), FAIL, "shuffle=False) never shuffles"),
    "eval mode after epoch 1": ((("sampler.set_epoch(epoch)",
                                  "sampler.set_epoch(epoch); model.eval() if epoch else 0"),), FAIL,
                                "4 of the 8 training steps ran in eval mode"),
    "rank 0 alone closes": ((("dist.destroy_process_group()", "dist.destroy_process_group() if rank == 0 else 0"),),
                            FAIL, "rank 1 left it open"),
    "rank 1 saves its own file": ((("torch.save(model.module.state_dict(), save_to)",
                                    "torch.save(model.module.state_dict(), save_to)\n    else:\n"
                                    "        torch.save(model.module.state_dict(), f\"{save_to}.rank1\")"),), FAIL,
                                  "Rank 1 saved a file of its own"),
    "loss over world_size": ((("loss.backward()", "(loss / world_size).backward()"),), FAIL,
                             "1/2 the cross-entropy"),
    "a loss module": ((("nn.functional.cross_entropy(", "nn.CrossEntropyLoss()("),), PASS, ""),
    "a loss module, no reshuffle": ((("nn.functional.cross_entropy(", "nn.CrossEntropyLoss()("),
                                     ("sampler.set_epoch(epoch)", "pass")), FAIL, "not reshuffled every epoch"),
    "world size fixed": ((('init_process_group("nccl" if on_gpus else "gloo")',
                           'init_process_group("nccl" if on_gpus else "gloo", world_size=4)'),), FAIL,
                         "read them from the environment"),
    "no __main__ guard": ((("leave the group cleanly", "leave the group cleanly\n\n\nmain()"),), FAIL,
                          'not under if __name__ == "__main__":'),
    "gradients reduced again": ((("optimizer.step()", "[dist.all_reduce(p.grad) for p in model.parameters()]; "
                                                      "optimizer.step()"),), FAIL, "through dist.all_reduce by hand"),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, image_folder):
    root = tmp_path_factory.mktemp("torchrun")
    fresh, resumed, killed, results = root / "fresh", root / "one_then_two", root / "killed", root / "results"
    results.mkdir()
    assert cli.main(["--data-dir", str(image_folder), "--out", str(resumed), "--epochs", "1", *TINY]) == 0
    one_process = metrics(resumed)
    fresh_run = ["--data-dir", str(image_folder), "--model", "vgg_tiny_cifar", "--epochs", "2", "--out", str(fresh),
                 "--no-progress"]  # as README says: no --device, the CPU without a GPU
    resume_run = ["--data-dir", str(image_folder), "--out", str(resumed), "--epochs", "2", "--resume", "--sync-bn",
                  *TINY]
    killed_run = ["KILL", "--data-dir", str(image_folder), "--out", str(killed), "--batch-size", "16", "--epochs", "3",
                  *TINY]
    source = "from vgg_teach.answers import *\n\n" + inspect.getsource(answers.ddp_train).replace("ddp_train", "main")
    (results / "check").mkdir()
    for i, (changes, _, _) in enumerate(SCRIPTS.values()):
        for old, new in changes:
            assert old in source, old
        (root / f"script{i}.py").write_text(functools.reduce(lambda t, c: t.replace(*c, 1), changes, source))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "VGG_TEACH_SMOKE": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           str(WORKER), str(results), *(str(root / f"script{i}.py") for i in range(len(SCRIPTS))),
                           "--", *fresh_run, ";", *resume_run, ";", *killed_run],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0 and (fresh / "metrics.json").is_file(), output[-6000:]  # the killed run fails
    return {"fresh": fresh, "resumed": resumed, "killed": killed, "results": results, "one_process": one_process,
            "output": output}


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
        ["save_state checkpoint.pt", "metrics metrics.json"] + \
        ["save_state checkpoint.pt"]  # fresh: 2 epochs; resumed: epoch 2; killed: epoch 1
    assert not (runs["results"] / "writes-rank1.txt").exists()
    state = load_state(runs["fresh"] / "checkpoint.pt")
    assert state.epoch == 2 and list(state.model) == list(build_model("vgg_tiny_cifar", 3).state_dict())  # no DDP
    out = runs["output"]
    assert out.count("epoch   1/2") == 1 and out.count("epoch   2/2") == 2 and out.count("완료: ") == 2
    assert out.count("works with NCCL on GPUs only") == 1 and out.count("Traceback") <= 1  # torchrun's own, last


def test_a_run_resumes_on_another_number_of_processes(runs):
    """One process, then two; two then one: the killed run below."""
    m = metrics(runs["resumed"])
    assert m["world_size"] == 2 and m["history"][0] == runs["one_process"]["history"][0]
    assert m["resumes"] == [{"after_epoch": 1, "changed": {"epochs": [1, 2], "sync_bn": [False, True],
                                                          "world_size": [1, 2]}}]


def test_a_killed_rank_stops_all_without_a_broken_checkpoint_and_the_run_resumes_on_one_process(runs, image_folder):
    output = runs["output"]
    assert load_state(runs["killed"] / "checkpoint.pt").epoch == 1  # whole: written atomically by rank 0
    # rank 0 tells why once: gloo's error (the usual case), or torchrun's SIGTERM if it came first
    told = output.count("다른 프로세스(rank)가 멈춰서") + output.count("SIGTERM을 받아 멈췄습니다. 에포크")
    assert told == 1 and "up to epoch 1" in output and str(runs["killed"] / "checkpoint.pt") in output, output[-3000:]
    assert "epoch   2/3" not in output
    assert cli.main(["--data-dir", str(image_folder), "--out", str(runs["killed"]), "--batch-size", "16", "--epochs",
                     "2", "--resume", *TINY]) == 0  # the same command, one process
    m = metrics(runs["killed"])
    assert [r["epoch"] for r in m["history"]] == [1, 2] and m["world_size"] == 1
    assert m["resumes"] == [{"after_epoch": 1, "changed": {"epochs": [3, 2], "world_size": [2, 1]}}]


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_lesson_07s_check_names_the_one_slip_of_each_ddp_script(runs, name):
    _, status, words = SCRIPTS[name]
    result = CheckResult("check_ddp_script")
    ddp._judge(result, ddp._records(runs["results"] / "check", len(SCRIPTS))[list(SCRIPTS).index(name)], "")
    failing = [item.text() for item in result.failures]
    assert result.status == status and len(failing) == (status != PASS) and words in "".join(failing), str(result)


def test_a_script_that_outlives_its_time_limit_is_stopped_with_a_message(tmp_path):
    with pytest.raises(TrainingError, match="초 안에 끝나지 않아 .*\n.*did not finish in 0.5 s"):
        ddp.torchrun(tmp_path / "never_started.py", timeout=0.5)


def test_an_unwritten_script_waits_for_the_learner_and_starts_no_process(tmp_path, monkeypatch):
    lesson = nbformat.read(ROOT / "lessons" / "07_multi_gpu_ddp.ipynb", as_version=4)
    cell = next(c.source for c in lesson.cells if c.source.startswith("%%writefile"))
    (tmp_path / "ddp_train.py").write_text(cell.split("\n", 1)[1], encoding="utf-8")  # what %%writefile writes
    monkeypatch.setattr(ddp, "torchrun", lambda *args, **kwargs: pytest.fail("started torchrun for a stub"))
    result = ddp.check_ddp_script(tmp_path / "ddp_train.py")
    assert result.status == TODO and "Not written yet" in str(result)


@pytest.mark.parametrize("error, words", [
    ("[gloo/transport/tcp/pair.cc:561] Connection closed by peer [127.0.0.1]:23682",  # gloo's words
     "dist.barrier() inside if rank == 0"),
    ("SyncBatchNorm layers only work with GPU modules", "only when there are GPUs"),
    ("batch_size should be a positive integer value, but got batch_size=8.0", "batch_size // world_size"),
])
def test_errors_with_one_usual_cause_are_explained(error, words):
    said = ["코드를 실행하다가 오류가 났습니다 — …", "Your code raised an error — …", error]  # rank 0's error
    result = CheckResult("check_ddp_script")
    ddp._judge(result, {0: {"error": said, "stub": False, "on_import": False},
                        1: {"error": None, "stub": False, "on_import": False}}, "")
    assert result.status == FAIL and words in result.failures[0].text(), str(result)
