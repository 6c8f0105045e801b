"""Several processes without starting any: torchrun's environment and the backend, the checks made before a process
group exists (each said once, by rank 0; the global-batch rule among them) and a lost rank's message. Runs under
torchrun itself: test_distributed_torchrun.py."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist

from tests.fakes import korean_first
from vgg_teach import train as cli
from vgg_teach.errors import UsageError
from vgg_teach.training import distributed
from vgg_teach.training.distributed import Dist, launch_from_env, plan

TORCHRUN = {"RANK": "0", "WORLD_SIZE": "4", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "4"}


def test_each_process_gets_its_gpu_and_a_backend_that_works(monkeypatch):
    assert launch_from_env(TORCHRUN) == Dist(0, 4, 0, 4, torchrun=True)
    with pytest.raises(UsageError, match="(?s)torchrun의 환경 변수.*torchrun's environment variables"):
        launch_from_env({**TORCHRUN, "RANK": "4"})
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    ok = plan(Dist(3, 4, 1, 2, torchrun=True))  # a process per GPU: cuda:LOCAL_RANK; --device cpu: gloo
    assert ok.device == torch.device("cuda", 1) and ok.backend == ("nccl" if dist.is_nccl_available() else "gloo")
    assert plan(Dist(0, 4, 0, 4, torchrun=True), "cpu").backend == "gloo"
    with pytest.raises(UsageError, match="MPS"):
        plan(Dist(0, 2, 0, 2, torchrun=True), "mps")
    monkeypatch.setattr(dist, "is_nccl_available", lambda: False)
    (ko, en), = plan(Dist(1, 2, 1, 2, torchrun=True)).notes  # no NCCL (Windows): gloo, said
    assert "NCCL이 없어" in ko and "no NCCL" in en and "slower" in en


@pytest.mark.parametrize("gpus, flags, korean, english", [
    (0, ["--batch-size", "16", "--device", "cpu"], "나눠지지 않습니다", "multiple of 3 (15, 18 …)"),
    (1, [], "GPU는 1개뿐", "only 1 GPU(s)"),  # and what to type instead
])
def test_the_cli_under_torchrun_refuses_before_loading_and_rank_0_alone_says_why(image_folder, tmp_path, capsys,
                                                                                  monkeypatch, gpus, flags, korean,
                                                                                  english):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    monkeypatch.setattr(cli, "load_data", lambda *a: pytest.fail("loaded the data"))
    monkeypatch.setattr(dist, "init_process_group", lambda *a, **k: pytest.fail("waited for the other processes"))
    said = []
    for rank in range(3):  # what each of torchrun's processes would print
        for key, value in {"RANK": rank, "LOCAL_RANK": rank, "WORLD_SIZE": 3, "LOCAL_WORLD_SIZE": 3}.items():
            monkeypatch.setenv(key, str(value))
        assert cli.main(["--data-dir", str(image_folder), "--out", str(tmp_path / "o"), "--model", "vgg_tiny_cifar",
                         *flags]) == 2
        said.append(capsys.readouterr())
    korean_first(said[0].err, korean, english)
    assert said[0].err.count(korean) == 1 and "Traceback" not in said[0].err
    assert gpus == 0 or "--nproc_per_node=1" in said[0].err
    assert all(s.out == s.err == "" for s in said[1:])  # the other ranks stay silent


def test_a_lost_rank_is_recognized_and_explained():
    gloo = RuntimeError("[/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:545] Read error [127.0.0.1]:4231: "
                        "Connection reset by peer. This is typically caused by a remote worker hanging. GLHF!")
    assert distributed.peer_lost(RuntimeError("mat1 and mat2 shapes cannot be multiplied"), 4, "x") is None
    message = str(distributed.peer_lost(gloo, 4, "runs/x/checkpoint.pt"))
    korean_first(message, "에포크 4까지의 체크포인트", "epoch 4 at runs/x/checkpoint.pt is intact")
    assert "Connection reset by peer)" in message and "pair.cc" not in message
    assert "No epoch was saved yet" in str(distributed.peer_lost(gloo, 0, None))
