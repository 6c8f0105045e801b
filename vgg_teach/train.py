"""Command line for lesson 05's training (the notebook calls the same engine, :func:`vgg_teach.engine.fit`).

Examples::

    # your own images: DIR/train/<class>/*.jpg and DIR/test/<class>/*.jpg
    python -m vgg_teach.train --data-dir DIR --epochs 30 --out runs/mine
    # CIFAR-10, downloaded by torchvision into --data-root
    python -m vgg_teach.train --dataset cifar10 --data-root data --out runs/cifar10 --tta
    # the connection dropped? run the same command with --resume
    python -m vgg_teach.train --dataset cifar10 --data-root data --out runs/cifar10 --tta --resume

Writes ``OUT/metrics.json`` (``test_accuracy``, ``train_seconds``, ``images_per_second``, ``epochs``,
``history`` …) and ``OUT/checkpoint.pt`` (after every epoch). Exit codes: 0 done, 1 training
stopped (NaN loss, GPU out of memory), 2 bad input, 130 interrupted.

With ``VGG_TEACH_SMOKE=1`` it keeps a few hundred images and, unless told otherwise, one epoch and
batches of 64: the same code path in seconds on a CPU.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence


from .checkpoint import atomic_write_json, load_checkpoint
from .data import (DataError, ImageTensors, bilingual, hold_out, load_cifar10, load_image_folder,
                   load_image_folder_splits, subsample)
from .engine import MODELS, TrainConfig, TrainingError, build_model, fit
from .env import get_device, is_smoke, seed_everything, smoke_or

__all__ = ["main", "build_parser", "load_data"]

#: In smoke mode: at most this many training / test images.
SMOKE_TRAIN_IMAGES, SMOKE_TEST_IMAGES = 320, 128


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(bilingual(
                f"{minimum} 이상의 정수여야 합니다 (받은 값: {text!r}).",
                f"must be an integer of at least {minimum} (got {text!r})."))
        return value
    return parse


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(bilingual(f"0보다 큰 수여야 합니다 (받은 값: {text!r}).",
                                                   f"must be a number above 0 (got {text!r})."))
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own errors, made bilingual; exit code 2
        self.print_usage(sys.stderr)
        self.exit(2, bilingual(f"명령줄 인수가 잘못되었습니다: {message}",
                               f"Bad command-line arguments: {message}") + "\n")


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = _Parser(prog="python -m vgg_teach.train",
                description="VGG 학습 (lesson 05) / Train a VGG on CIFAR-10 or your own image folders.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data-dir", type=Path, help="DIR with train/<class>/… and test/<class>/… images")
    src.add_argument("--dataset", choices=["cifar10"], help="download CIFAR-10 with torchvision")
    p.add_argument("--data-root", type=Path, default=Path("data"), help="where --dataset cifar10 is stored")
    p.add_argument("--holdout", type=_int_at_least(1), default=None,
                   help="test on this many held-out training images (stratified, seeded) instead of "
                        "the test set; then DIR needs no test/ folder")
    p.add_argument("--out", type=Path, required=True, help="output folder (metrics.json, checkpoint.pt)")
    p.add_argument("--model", choices=sorted(MODELS), default="vgg16_bn_cifar")
    p.add_argument("--epochs", type=_int_at_least(1), default=None, help=f"default {d.epochs} (smoke: 1)")
    p.add_argument("--batch-size", type=_int_at_least(1), default=None, help=f"default {d.batch_size} (smoke: 64)")
    p.add_argument("--lr", type=_positive_float, default=d.lr, help="peak learning rate")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    p.add_argument("--schedule", choices=["onecycle", "cosine"], default=d.schedule)
    p.add_argument("--precision", choices=["auto", "bf16", "fp16", "fp32"], default=d.precision)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--tta", action="store_true", help="also report accuracy with flip test-time augmentation")
    p.add_argument("--no-augment", action="store_true", help="no random crop / flip")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--device", choices=["cuda", "mps", "cpu"], default=None, help="default: the best available")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def load_data(args: argparse.Namespace) -> tuple[ImageTensors, ImageTensors, str]:
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
        train, test = hold_out(train, args.holdout, args.seed)
        source += f" (holdout {args.holdout})"
    if is_smoke():
        train = subsample(train, SMOKE_TRAIN_IMAGES, args.seed)
        test = subsample(test, SMOKE_TEST_IMAGES, args.seed)
    return train, test, source


def _check_resume(checkpoint: Path, model: str, classes: list[str]) -> None:
    extra = load_checkpoint(checkpoint).get("extra", {})
    if extra.get("model", model) != model or extra.get("classes", classes) != classes:
        raise DataError(bilingual(
            f"{checkpoint} 는 다른 설정(모델 {extra.get('model')}, 클래스 {extra.get('classes')})으로 만든 "
            "체크포인트입니다. 같은 --model과 데이터로 실행하거나, 다른 --out 폴더를 쓰세요.",
            f"{checkpoint} was made with other settings (model {extra.get('model')}, classes "
            f"{extra.get('classes')}). Run with the same --model and data, or use another --out folder.",
        ))


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, or bad arguments (already explained on stderr)
        return int(done.code or 0)
    out: Path = args.out
    checkpoint = out / "checkpoint.pt"
    try:
        if out.exists() and not out.is_dir():
            raise DataError(bilingual(f"--out {out} 은(는) 폴더가 아니라 파일입니다.", f"--out {out} is a file, not a folder."))
        try:
            device = get_device(args.device)
        except (RuntimeError, ValueError) as err:
            raise DataError(str(err)) from None
        train, test, source = load_data(args)
        if args.resume and checkpoint.is_file():
            _check_resume(checkpoint, args.model, train.classes)
        config = TrainConfig(
            epochs=args.epochs or smoke_or(1, TrainConfig.epochs),
            batch_size=args.batch_size or smoke_or(64, TrainConfig.batch_size),
            lr=args.lr, weight_decay=args.weight_decay, label_smoothing=args.label_smoothing,
            schedule=args.schedule, precision=args.precision, compile=args.compile,
            augment=not args.no_augment, tta=args.tta, seed=args.seed)
        seed_everything(args.seed)
        model = build_model(args.model, num_classes=len(train.classes))
        extra = {"model": args.model, "classes": train.classes, "data": source,
                 "num_train": len(train), "num_test": len(test), "smoke": is_smoke()}
        metrics = fit(model, train, test, config, device=device, checkpoint=checkpoint, resume=args.resume,
                      progress=not args.no_progress, extra=extra)
    except DataError as err:
        print(err, file=sys.stderr)
        return 2
    except TrainingError as err:
        print(err, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(bilingual("중단되었습니다. 같은 명령에 --resume을 붙이면 이어서 학습합니다.",
                        "Interrupted. Run the same command with --resume to continue."), file=sys.stderr)
        return 130
    atomic_write_json(metrics, out / "metrics.json")
    line = (f"test accuracy {metrics['test_accuracy']:.2%}"
            + (f" (flip TTA {metrics['test_accuracy_tta']:.2%})" if "test_accuracy_tta" in metrics else "")
            + f", {metrics['train_seconds']:.1f} s of training, {metrics['images_per_second']:,.0f} images/s")
    print(bilingual(f"완료: {out / 'metrics.json'}", f"done: {line}"))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
