"""Several processes without starting any: torchrun's environment, the checks made before a process group exists,
the global-batch rule, and the DeviceLoader slices whose union is one process's batch (all in this process).

The runs under torchrun itself are in test_distributed_torchrun.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from vgg_teach import train as cli
from vgg_teach.errors import UsageError
from vgg_teach.training import distributed
from vgg_teach.training import distributed as ddp
from vgg_teach.training.data import DeviceLoader
from vgg_teach.training.distributed import Dist, Launch, launch_from_env, local_batch, plan
from vgg_teach.training.sources import load_image_folder_splits, make_image_folder

ROOT = Path(__file__).resolve().parents[2]
TORCHRUN = {"RANK": "0", "WORLD_SIZE": "4", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "4"}
pytestmark = pytest.mark.usefixtures("smoke_on")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = make_image_folder(tmp_path_factory.mktemp("ddp") / "d", classes=("a", "b"), n_train=20, n_test=7)
    return load_image_folder_splits(folder)


def _torchrun_env(monkeypatch, **values) -> None:
    for key, value in {**TORCHRUN, **values}.items():
        monkeypatch.setenv(key, str(value))


def test_without_torchrun_everything_is_one_process(monkeypatch):
    for key in distributed.ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    launch = launch_from_env()
    assert launch == Launch() and not launch.torchrun
    the_plan = plan(launch, "cpu")
    assert the_plan.backend is None and the_plan.device == torch.device("cpu")
    with distributed.session(the_plan) as ctx:
        assert not ctx.distributed and ctx.world_size == 1 and not dist.is_initialized()
        assert ctx.sum([1.5, 2]) == [1.5, 2.0] and ctx.gather([3]) == [[3.0]]
        assert ctx.on_main(lambda: "ran") == "ran"
    assert not distributed.pending()


def test_torchrun_environment_is_read_and_checked():
    assert launch_from_env(TORCHRUN) == Launch(0, 4, 0, 4, torchrun=True)
    assert launch_from_env({"RANK": "3", "WORLD_SIZE": "8"}).local_world_size == 8  # older launchers
    for bad in ({**TORCHRUN, "RANK": "x"}, {**TORCHRUN, "RANK": "4"}, {**TORCHRUN, "LOCAL_WORLD_SIZE": "9"}):
        with pytest.raises(UsageError, match="torchrun"):
            launch_from_env(bad)


def test_more_processes_than_gpus_is_refused_before_any_waiting(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(UsageError) as err:
        plan(Launch(0, 4, 0, 4, torchrun=True))
    ko, en = str(err.value).split("\n")
    assert "GPU는 2개뿐" in ko and "4 processes on this machine but only 2 GPU(s)" in en
    assert "--nproc_per_node=2" in en and "--device cpu" in en
    # the same machine with a process per GPU: cuda:LOCAL_RANK; --device cpu: gloo on the CPU
    ok = plan(Launch(3, 4, 1, 2, torchrun=True))
    assert ok.device == torch.device("cuda", 1) and ok.backend == ("nccl" if dist.is_nccl_available() else "gloo")
    assert plan(Launch(0, 4, 0, 4, torchrun=True), "cpu").backend == "gloo"


def test_nccl_missing_falls_back_to_gloo_with_a_note(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(dist, "is_nccl_available", lambda: False)
    the_plan = plan(Launch(1, 2, 1, 2, torchrun=True))
    assert the_plan.backend == "gloo" and the_plan.device == torch.device("cuda", 1)
    (ko, en), = the_plan.notes
    assert "NCCL이 없어" in ko and "no NCCL" in en and "slower" in en


def test_mps_cannot_be_shared_by_processes():
    with pytest.raises(UsageError, match="MPS"):
        plan(Launch(0, 2, 0, 2, torchrun=True), "mps")


def test_the_global_batch_must_divide_among_the_processes():
    assert local_batch(512, 1) == 512 and local_batch(512, 4) == 128
    with pytest.raises(UsageError) as err:
        local_batch(512, 3)
    ko, en = str(err.value).split("\n")
    assert "512장은 프로세스 3개로" in ko
    assert "(510, 513 …)" in en and "1, 2, 4, 8, 16 processes" in en


def test_cli_refuses_an_indivisible_batch_before_loading_anything(image_folder, tmp_path, monkeypatch, capsys):
    _torchrun_env(monkeypatch, WORLD_SIZE=3, LOCAL_WORLD_SIZE=3)
    monkeypatch.setattr(cli, "load_data", _must_not_load)
    monkeypatch.setattr(dist, "init_process_group", _must_not_load)
    code = cli.main(["--data-dir", str(image_folder), "--out", str(tmp_path / "o"), "--batch-size", "16",
                     "--device", "cpu", "--model", "vgg_tiny_cifar"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("나눠지지 않습니다") == 1 and "multiple of 3 (15, 18 …)" in err
    assert "Traceback" not in err


def test_cli_more_processes_than_gpus_is_said_once_by_rank_0(image_folder, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(cli, "load_data", _must_not_load)
    monkeypatch.setattr(dist, "init_process_group", _must_not_load)
    args = ["--data-dir", str(image_folder), "--out", str(tmp_path / "o"), "--model", "vgg_tiny_cifar"]
    said = []
    for rank in range(2):  # what each of torchrun's processes would print
        _torchrun_env(monkeypatch, RANK=rank, LOCAL_RANK=rank, WORLD_SIZE=2, LOCAL_WORLD_SIZE=2)
        assert cli.main(args) == 2
        said.append(capsys.readouterr())
    assert "GPU는 1개뿐" in said[0].err and "only 1 GPU(s)" in said[0].err
    assert said[1].err == said[1].out == ""  # rank 1 stays silent


def _must_not_load(*args, **kwargs):
    raise AssertionError("this check needs neither the data nor the other processes")


def test_sync_bn_without_nccl_says_so_and_trains_on():
    said = []
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    alone = ddp.wrap(model, Dist(), sync_bn=True, say=said.append)
    assert alone is model and said == []  # one process: nothing to synchronize, nothing to say
    gloo = Dist(0, 2, 0, torch.device("cpu"), "gloo")
    with pytest.raises((RuntimeError, ValueError)):  # DDP itself needs a process group, which this test has not
        ddp.wrap(model, gloo, sync_bn=True, say=said.append)
    assert len(said) == 1 and "NCCL에서만" in said[0] and "works with NCCL on GPUs only" in said[0]
    assert isinstance(model[1], torch.nn.BatchNorm2d) and not isinstance(model[1], torch.nn.SyncBatchNorm)


@pytest.mark.parametrize("augment", [True, False])
def test_rank_slices_of_a_global_batch_are_one_process_batch(data, augment):
    train, _ = data
    one = DeviceLoader(train, 8, train=True, augment=augment, seed=5)
    ranks = [DeviceLoader(train, 8, train=True, augment=augment, seed=5, rank=r, world_size=4) for r in range(4)]
    for loader in (one, *ranks):
        loader.set_epoch(3)
    assert len(one) == len(ranks[0]) == 5 and ranks[0].num_images == 10 and one.num_images == 40
    for (images, labels), *parts in zip(one, *ranks):
        assert [len(y) for _, y in parts] == [2, 2, 2, 2]
        assert torch.equal(torch.cat([x for x, _ in parts]), images)  # the same images, the same crops and flips
        assert torch.equal(torch.cat([y for _, y in parts]), labels)


def test_each_rank_tests_its_own_part_of_the_test_set(data):
    _, test = data
    parts = [DeviceLoader(test, 2, rank=r, world_size=3) for r in range(3)]
    labels = [torch.cat([y for _, y in loader]) for loader in parts]
    assert [loader.num_images for loader in parts] == [len(y) for y in labels] == [4, 5, 5]  # 14 images
    assert torch.equal(torch.cat(labels), test.labels)  # every test image once, in order


def test_a_batch_no_rank_count_divides_is_refused_by_the_loader(data):
    with pytest.raises(UsageError, match="multiple of 3"):
        DeviceLoader(data[0], 8, train=True, rank=0, world_size=3)


def test_a_lost_rank_is_recognized_and_explained():
    gloo = RuntimeError("[/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:545] Read error [127.0.0.1]:4231: "
                        "Connection reset by peer. This is typically caused by a remote worker hanging. GLHF!")
    assert ddp.is_peer_failure(gloo)
    assert not ddp.is_peer_failure(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    assert not ddp.is_peer_failure(distributed.FollowerStop("rank 0 stopped"))
    ko, en = str(ddp.peer_lost(gloo, 4, "runs/x/checkpoint.pt")).split("\n")
    assert "에포크 4까지의 체크포인트" in ko and "epoch 4 at runs/x/checkpoint.pt is intact" in en
    assert "Connection reset by peer)" in en and "GLHF" not in en and "pair.cc" not in en


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
    copy = tmp_path / "solutions" / solution.name
    copy.write_text(authoring.canonical(nb), encoding="utf-8")
    gpu = [p for p in nblint.lint_notebook(copy) if p.rule == "gpu"]
    assert len(gpu) == 1 and "lesson 07 trains on several GPUs" in gpu[0].message


def test_the_scaling_benchmark_runs_one_plain_process(tmp_path):
    """benchmarks/ddp_scaling.py's worker (what each torchrun process runs), without torchrun: it cannot rot."""
    import importlib.util
    import json

    path = ROOT / "benchmarks" / "ddp_scaling.py"
    spec = importlib.util.spec_from_file_location("ddp_scaling", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "run.json"
    bench.main(["--worker", str(out), "--device", "cpu", "--images", "64", "--batch-size", "16", "--epochs", "2"])
    run = json.loads(out.read_text())
    assert run["world_size"] == 1 and run["images_per_second"] > 0 and run["per_rank"] is None
