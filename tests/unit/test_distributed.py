"""Several processes without starting any: torchrun's environment, the checks made before a process group exists
(each said once, by rank 0), the global-batch rule, the sync-bn note and a lost rank's message. Runs under torchrun
itself: test_distributed_torchrun.py."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist

from vgg_teach import train as cli
from vgg_teach.errors import UsageError
from vgg_teach.training import distributed
from vgg_teach.training.distributed import Dist, launch_from_env, local_batch, plan

TORCHRUN = {"RANK": "0", "WORLD_SIZE": "4", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "4"}


def test_without_torchrun_everything_is_one_process(monkeypatch):
    for key in TORCHRUN:
        monkeypatch.delenv(key, raising=False)
    the_plan = plan(launch_from_env(), "cpu")
    assert the_plan == Dist() and not the_plan.torchrun and not distributed.pending()
    with distributed.session(the_plan) as ctx:
        assert not ctx.distributed and ctx.world_size == 1 and not dist.is_initialized()
        assert ctx.sum([1.5, 2]) == [1.5, 2.0] and ctx.gather([3]) == [[3.0]] and ctx.on_main(lambda: "ran") == "ran"


def test_torchrun_environment_is_read_and_checked():
    assert launch_from_env(TORCHRUN) == Dist(0, 4, 0, 4, torchrun=True)
    assert launch_from_env({"RANK": "3", "WORLD_SIZE": "8"}).local_world_size == 8  # older launchers
    for bad in ({**TORCHRUN, "RANK": "x"}, {**TORCHRUN, "RANK": "4"}, {**TORCHRUN, "LOCAL_WORLD_SIZE": "9"}):
        with pytest.raises(UsageError, match="(?s)torchrun의 환경 변수.*torchrun's environment variables"):
            launch_from_env(bad)


def test_the_plan_refuses_at_once_what_cannot_work(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(UsageError) as err:
        plan(Dist(0, 4, 0, 4, torchrun=True))
    ko, en = str(err.value).split("\n")
    assert "GPU는 2개뿐" in ko and "4 processes on this machine but only 2 GPU(s)" in en and "--nproc_per_node=2" in en
    with pytest.raises(UsageError, match="MPS"):
        plan(Dist(0, 2, 0, 2, torchrun=True), "mps")
    ok = plan(Dist(3, 4, 1, 2, torchrun=True))  # a process per GPU: cuda:LOCAL_RANK; --device cpu: gloo
    assert ok.device == torch.device("cuda", 1) and ok.backend == ("nccl" if dist.is_nccl_available() else "gloo")
    assert plan(Dist(0, 4, 0, 4, torchrun=True), "cpu").backend == "gloo"
    monkeypatch.setattr(dist, "is_nccl_available", lambda: False)
    (ko, en), = plan(Dist(1, 2, 1, 2, torchrun=True)).notes  # no NCCL (Windows): gloo, said
    assert "NCCL이 없어" in ko and "no NCCL" in en and "slower" in en


def test_the_global_batch_must_divide_among_the_processes():
    assert local_batch(512, 1) == 512 and local_batch(512, 4) == 128
    with pytest.raises(UsageError) as err:
        local_batch(512, 3)
    ko, en = str(err.value).split("\n")
    assert "512장은 프로세스 3개로" in ko and "(510, 513 …)" in en and "1, 2, 4, 8, 16 processes" in en


@pytest.mark.parametrize("gpus, flags, korean, english", [
    (0, ["--batch-size", "16", "--device", "cpu"], "나눠지지 않습니다", "multiple of 3 (15, 18 …)"),
    (1, [], "GPU는 1개뿐", "only 1 GPU(s)"),
])
def test_the_cli_under_torchrun_refuses_before_loading_and_only_rank_0_says_why(image_folder, tmp_path, capsys,
                                                                                  monkeypatch, gpus, flags, korean,
                                                                                  english):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    monkeypatch.setattr(cli, "load_data", lambda *a: pytest.fail("loaded the data"))
    monkeypatch.setattr(dist, "init_process_group", lambda *a, **k: pytest.fail("waited for the other processes"))
    said = []
    for rank in range(3):  # what each of torchrun's processes would print
        env = {"RANK": rank, "LOCAL_RANK": rank, "WORLD_SIZE": 3, "LOCAL_WORLD_SIZE": 3}
        for key, value in env.items():
            monkeypatch.setenv(key, str(value))
        assert cli.main(["--data-dir", str(image_folder), "--out", str(tmp_path / "o"), "--model", "vgg_tiny_cifar",
                         *flags]) == 2
        said.append(capsys.readouterr())
    assert said[0].err.count(korean) == 1 and english in said[0].err and "Traceback" not in said[0].err
    assert all(s.out == s.err == "" for s in said[1:])  # the other ranks stay silent


def test_sync_bn_without_nccl_says_so_and_trains_on():
    said = []
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    assert distributed.wrap(model, Dist(), sync_bn=True, say=said.append) is model and said == []  # one process
    with pytest.raises((RuntimeError, ValueError)):  # DDP itself needs a process group, which this test has not
        distributed.wrap(model, Dist(0, 2, device=torch.device("cpu"), backend="gloo"), sync_bn=True, say=said.append)
    assert len(said) == 1 and "NCCL에서만" in said[0] and "works with NCCL on GPUs only" in said[0]
    assert not isinstance(model[1], torch.nn.SyncBatchNorm)


def test_a_lost_rank_is_recognized_and_explained():
    gloo = RuntimeError("[/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:545] Read error [127.0.0.1]:4231: "
                        "Connection reset by peer. This is typically caused by a remote worker hanging. GLHF!")
    assert distributed.peer_lost(RuntimeError("mat1 and mat2 shapes cannot be multiplied"), 4, "x") is None
    assert distributed.peer_lost(distributed.FollowerStop("rank 0 stopped"), 4, "x") is None
    ko, en = str(distributed.peer_lost(gloo, 4, "runs/x/checkpoint.pt")).split("\n")
    assert "에포크 4까지의 체크포인트" in ko and "epoch 4 at runs/x/checkpoint.pt is intact" in en
    assert "Connection reset by peer)" in en and "GLHF" not in en and "pair.cc" not in en
    assert "No epoch was saved yet" in str(distributed.peer_lost(gloo, 0, None))


def test_lesson_07_must_ask_for_a_gpu_like_lesson_05(tmp_path):
    """tools/nblint's GPU_LESSONS: the multi-GPU lesson without metadata.vgg_teach.gpu is reported."""
    import nbformat

    from tools import authoring, nblint

    solution = authoring.ROOT / "solutions" / "07_multi_gpu_ddp.ipynb"
    assert not [p for p in nblint.lint_notebook(solution) if p.rule == "gpu"]
    nb = nbformat.read(solution, as_version=4)
    for key in ("vgg_teach", "accelerator"):
        nb.metadata.pop(key, None)
    nb.metadata.get("colab", {}).pop("gpuType", None)
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / solution.name).write_text(authoring.canonical(nb), encoding="utf-8")
    gpu = [p for p in nblint.lint_notebook(tmp_path / "solutions" / solution.name) if p.rule == "gpu"]
    assert len(gpu) == 1 and "lesson 07 trains on several GPUs" in gpu[0].message
