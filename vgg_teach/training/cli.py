"""Command line for training (the notebook calls the same engine, :func:`vgg_teach.training.engine.fit`).

Examples::

    # your own images: DIR/train/<class>/*.jpg and DIR/test/<class>/*.jpg
    python -m vgg_teach.train --data-dir DIR --epochs 30 --out runs/mine
    # CIFAR-10, downloaded by torchvision into --data-root
    python -m vgg_teach.train --dataset cifar10 --data-root data --out runs/cifar10 --tta
    # the connection dropped? run the same command with --resume
    python -m vgg_teach.train --dataset cifar10 --data-root data --out runs/cifar10 --tta --resume

Writes ``OUT/metrics.json`` (``test_accuracy``, ``train_seconds``, ``images_per_second``, ``epochs``,
``history`` …) and ``OUT/checkpoint.pt`` (after every epoch). Exit codes: 0 done, 1 training
stopped (NaN loss, out of memory), 2 bad input, 130 interrupted.

The steps are plain: parse → data → model → fit → metrics. The recipe's flags (``--epochs``, ``--lr`` …)
are generated from :class:`~.config.TrainConfig`, so the CLI and the notebook share one definition.
With ``VGG_TEACH_SMOKE=1`` it keeps a few hundred images and, unless told otherwise, one epoch and
batches of 64: the same code path in seconds on a CPU.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from ..env import is_smoke
from ..errors import TrainingError, UsageError, VggTeachError, bilingual
from ..models import CIFAR_MODELS, build_model
from .checkpoint import atomic_write_json
from .cifar10 import load_cifar10
from .config import add_config_arguments, config_from_args
from .data import ImageTensors, hold_out, subsample
from .engine import fit
from .folders import load_image_folder, load_image_folder_splits

__all__ = ["main", "build_parser", "load_data", "SMOKE_DEFAULTS"]

#: In smoke mode: at most this many training / test images.
SMOKE_TRAIN_IMAGES, SMOKE_TEST_IMAGES = 320, 128
#: In smoke mode, what a flag that was not given defaults to.
SMOKE_DEFAULTS = {"epochs": 1, "batch_size": 64}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(bilingual(f"1 이상의 정수여야 합니다 (받은 값: {text!r}).",
                                                   f"must be an integer of at least 1 (got {text!r})."))
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own errors, made bilingual; exit code 2
        self.print_usage(sys.stderr)
        self.exit(2, bilingual(f"명령줄 인수가 잘못되었습니다: {message}",
                               f"Bad command-line arguments: {message}") + "\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser: where the data and the output are, which model, and every :class:`TrainConfig` flag."""
    p = _Parser(prog="python -m vgg_teach.train",
                description="VGG 학습 / Train a VGG on CIFAR-10 or your own image folders.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data-dir", type=Path, help="DIR with train/<class>/… and test/<class>/… images")
    src.add_argument("--dataset", choices=["cifar10"], help="download CIFAR-10 with torchvision")
    p.add_argument("--data-root", type=Path, default=Path("data"), help="where --dataset cifar10 is stored")
    p.add_argument("--holdout", type=_positive_int, default=None,
                   help="test on this many held-out training images (stratified, seeded) instead of "
                        "the test set; then DIR needs no test/ folder")
    p.add_argument("--out", type=Path, required=True, help="output folder (metrics.json, checkpoint.pt)")
    p.add_argument("--model", choices=sorted(CIFAR_MODELS), default="vgg16_bn_cifar")
    p.add_argument("--device", choices=["cuda", "mps", "cpu"], default=None, help="default: the best available")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_config_arguments(p.add_argument_group("recipe (TrainConfig)"), SMOKE_DEFAULTS)
    return p


def load_data(args: argparse.Namespace, seed: int = 0) -> tuple[ImageTensors, ImageTensors, str]:
    """The (train, test) data the arguments name, and a short description of it.

    ``--holdout N`` replaces the test set by N held-out training images (stratified, seeded).
    """
    if args.dataset == "cifar10":
        train, test = load_cifar10(args.data_root, download=True)
        source = "cifar10"
    elif args.holdout is None:
        train, test = load_image_folder_splits(args.data_dir)
        source = str(args.data_dir)
    else:  # only train/ is needed: the test set is held out of it below
        train = load_image_folder(Path(args.data_dir) / "train")
        source = str(args.data_dir)
    if args.holdout is not None:
        train, test = hold_out(train, args.holdout, seed)
        source += f" (holdout {args.holdout})"
    if is_smoke():
        train = subsample(train, SMOKE_TRAIN_IMAGES, seed)
        test = subsample(test, SMOKE_TEST_IMAGES, seed)
    return train, test, source


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(bilingual(f"--out {out} 은(는) 폴더가 아니라 파일입니다.",
                                   f"--out {out} is a file, not a folder."))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI; returns the exit code (0 done, 1 training stopped, 2 bad input, 130 interrupted)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, or bad arguments (already explained on stderr)
        return int(done.code or 0)
    out: Path = args.out
    try:
        _check_out(out)                                                          # parse
        config = config_from_args(args, SMOKE_DEFAULTS if is_smoke() else None)
        train, test, source = load_data(args, config.seed)                      # data
        model = lambda: build_model(args.model, num_classes=len(train.classes))  # noqa: E731  model (built by fit)
        run = {"model": args.model, "classes": train.classes, "data": source,
               "num_train": len(train), "num_test": len(test), "smoke": is_smoke()}
        metrics = fit(model, train, test, config, device=args.device, checkpoint=out / "checkpoint.pt",
                      resume=args.resume, progress=not args.no_progress, run=run)  # fit
    except TrainingError as err:
        print(err, file=sys.stderr)
        return 1
    except VggTeachError as err:
        print(err, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(bilingual("중단되었습니다. 같은 명령에 --resume을 붙이면 이어서 학습합니다.",
                        "Interrupted. Run the same command with --resume to continue."), file=sys.stderr)
        return 130
    atomic_write_json(metrics, out / "metrics.json")                             # metrics
    line = (f"test accuracy {metrics['test_accuracy']:.2%}"
            + (f" (flip TTA {metrics['test_accuracy_tta']:.2%})" if "test_accuracy_tta" in metrics else "")
            + f", {metrics['train_seconds']:.1f} s of training, {metrics['images_per_second']:,.0f} images/s")
    print(bilingual(f"완료: {out / 'metrics.json'}", f"done: {line}"))
    return 0
