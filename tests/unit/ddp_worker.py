"""What tests/unit/test_distributed_torchrun.py runs under ``python -m torch.distributed.run`` (not a test file).

    python -m torch.distributed.run --standalone --nproc_per_node=2 tests/unit/ddp_worker.py RESULTS -- CLI_RUNS

In one process group (the course's own :func:`~vgg_teach.training.distributed.session`) every rank:

1. trains two tiny models with :func:`~vgg_teach.training.engine.fit` — one without batch norm, one with — and
   rank 0 saves their final weights to ``RESULTS/plain.pt`` and ``RESULTS/bn.pt`` (the tests compare them with
   one process);
2. runs the real CLI (:func:`vgg_teach.training.cli.main`) once for each ``;``-separated argument list after
   ``--``, recording every checkpoint and metrics write, with its rank, in ``RESULTS/writes-rankR.txt``.

Nothing is replaced but for that recording: the code path is the one ``torchrun -m vgg_teach.train`` runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from vgg_teach import train as cli
from vgg_teach.models import TINY_CFG, vgg_cifar
from vgg_teach.training import distributed, engine
from vgg_teach.training.data import ImageTensors
from vgg_teach.training.recipe import TrainConfig

#: The recipe of the equivalence runs: a global batch of 16 (8 per process for 2), two epochs of 4 steps.
CONFIG = TrainConfig(epochs=2, batch_size=16, lr=0.05, eval_batch_size=16, seed=3)


def data() -> tuple[ImageTensors, ImageTensors]:
    """64 training and 12 test images of 3 classes, random but the same in every process."""
    gen = torch.Generator().manual_seed(11)
    images = torch.randint(0, 256, (76, 3, 32, 32), generator=gen, dtype=torch.uint8)
    labels = torch.arange(76) % 3
    images[labels == 1, 0] //= 2  # something to learn: class 1 is less red, class 2 less green
    images[labels == 2, 1] //= 2
    classes = ["a", "b", "c"]
    train = ImageTensors(images[:64], labels[:64], classes)
    return train, ImageTensors(images[64:], labels[64:], classes, mean=train.mean, std=train.std)


def tiny(batch_norm: bool) -> torch.nn.Module:
    """The tiny VGG, with or without batch norm, and without dropout (its masks could not match one process)."""
    return vgg_cifar(TINY_CFG, batch_norm=batch_norm, num_classes=3, hidden=32, dropout=0.0)


def train(batch_norm: bool) -> torch.nn.Module:
    built: list[torch.nn.Module] = []

    def factory() -> torch.nn.Module:  # built by fit right after seeding, as the CLI's model is
        built.append(tiny(batch_norm))
        return built[-1]

    engine.fit(factory, *data(), CONFIG, device="cpu", log=None, progress=False)
    return built[-1]


def _record(results: Path, rank: int) -> None:
    log = results / f"writes-rank{rank}.txt"

    def recorded(name, write):
        def wrapper(obj, path, *args, **kwargs):
            with open(log, "a", encoding="utf-8") as f:
                f.write(f"{name} {Path(path).name}\n")
            return write(obj, path, *args, **kwargs)
        return wrapper

    engine.save_state = recorded("save_state", engine.save_state)
    cli.atomic_write_json = recorded("metrics", cli.atomic_write_json)


def main(argv: list[str]) -> int:
    results = Path(argv[0])
    runs = " ".join(argv[argv.index("--") + 1:]).split(" ; ") if "--" in argv else []
    launch = distributed.launch_from_env()
    with distributed.session(distributed.plan(launch, "cpu")) as ctx:
        for name, batch_norm in (("plain", False), ("bn", True)):
            model = train(batch_norm)
            if ctx.is_main:
                torch.save(model.state_dict(), results / f"{name}.pt")
        _record(results, ctx.rank)
        codes = [cli.main(run.split()) for run in runs]
    return max(codes, default=0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
