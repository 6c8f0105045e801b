"""What test_distributed_torchrun.py runs under torchrun (not a test file):

    python -m torch.distributed.run --standalone --nproc_per_node=2 tests/unit/ddp_worker.py RESULTS SCRIPTS -- RUNS

First lesson 07's check records what each learner's DDP script in SCRIPTS does (in ``RESULTS/check``; each script
makes a process group of its own). Then, in one process group, every rank trains the tiny VGG without batch norm
and dropout with ``fit`` (rank 0 saves the weights to ``RESULTS/plain.pt``), then runs the real CLI once for each
``;``-separated argument list of RUNS, recording every checkpoint and metrics write with its rank in
``RESULTS/writes-rankR.txt``. In a list that starts with ``KILL``, rank 1 is killed (SIGKILL) as its second epoch
starts."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import torch

from vgg_teach import train as cli
from vgg_teach.checks import ddp
from vgg_teach.models import TINY_CFG, vgg_cifar
from vgg_teach.training import distributed, engine
from vgg_teach.training.data import ImageTensors
from vgg_teach.training.recipe import TrainConfig

#: A global batch of 16 (8 per process for 2), two epochs of 4 steps.
CONFIG = TrainConfig(epochs=2, batch_size=16, lr=0.05, eval_batch_size=16, seed=3)


def train() -> torch.nn.Module:
    """64 training and 12 test images of 3 classes, the same in every process; the model built by fit."""
    gen = torch.Generator().manual_seed(11)
    images, labels = torch.randint(0, 256, (76, 3, 32, 32), generator=gen, dtype=torch.uint8), torch.arange(76) % 3
    images[labels == 1, 0] //= 2  # something to learn
    data = ImageTensors(images[:64], labels[:64], ["a", "b", "c"])
    test = ImageTensors(images[64:], labels[64:], data.classes, data.mean, data.std)
    built = []  # built by fit right after seeding, as the CLI's model is
    engine.fit(lambda: built.append(vgg_cifar(TINY_CFG, batch_norm=False, num_classes=3, hidden=32, dropout=0.0))
               or built[-1], data, test, CONFIG, device="cpu", log=None, progress=False)
    return built[-1]


def main(argv: list[str]) -> int:
    results, end = Path(argv[0]), argv.index("--") if "--" in argv else len(argv)
    runs = " ".join(argv[end + 1:]).split(" ; ") if "--" in argv else []
    ddp._record_scripts(results / "check", argv[1:end])
    with distributed.session(distributed.plan(distributed.launch_from_env(), "cpu")) as ctx:
        model = train()
        if ctx.is_main:
            torch.save(model.state_dict(), results / "plain.pt")

        def recorded(name, write):
            def wrapper(obj, path, *args, **kwargs):
                with open(results / f"writes-rank{ctx.rank}.txt", "a", encoding="utf-8") as f:
                    f.write(f"{name} {Path(path).name}\n")
                return write(obj, path, *args, **kwargs)
            return wrapper

        kill, real_epoch = {"on": False, "epoch": 0}, engine.train_one_epoch

        def train_one_epoch(*args, **kwargs):
            kill["epoch"] += 1
            if kill["on"] and ctx.rank == 1 and kill["epoch"] == 2:
                os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))  # Windows: TerminateProcess
            return real_epoch(*args, **kwargs)

        engine.save_state = recorded("save_state", engine.save_state)
        cli.atomic_write_json = recorded("metrics", cli.atomic_write_json)
        engine.train_one_epoch, codes = train_one_epoch, []
        for args in (run.split() for run in runs):
            kill.update(on=args[0] == "KILL", epoch=0)
            codes.append(cli.main(args[kill["on"]:]))
        return max(codes, default=0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
