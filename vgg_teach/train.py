"""``python -m vgg_teach.train``: lesson 05's engine (:func:`~.training.engine.fit`) on the command line.

The steps: parse → check ``OUT`` → data → model → fit → ``OUT/metrics.json``. Everything that can be checked before
the data is loaded is (flag ranges, ``--device``, ``OUT``, a run already there, a resume's recipe). Exit codes: 0
done, 1 training stopped or an unexpected error (traceback in ``OUT/error.log``), 2 bad input (``OUT`` in use by a
live run included), 130 interrupted (Ctrl-C), 143 stopped by SIGTERM.
Under torchrun every process runs this program; rank 0 alone prints and writes.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import os
import re
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Optional, Sequence

from . import __version__
from .env import is_smoke
from .errors import TrainingError, UsageError, VggTeachError, bilingual, cause, josa, meant_name, particle
from .models import CIFAR_MODELS, build_model
from .training import distributed
from .training.checkpoint import (
    atomic_write_json,
    check_resume,
    load_state,
    refuse_to_replace,
    remove_stale_temporaries,
)
from .training.data import ImageTensors, hold_out, subsample
from .training.engine import fit
from .training.guards import Terminated, file_in_the_way, own_folder, sigterm_stops
from .training.recipe import TrainConfig, add_config_arguments, config_from_args
from .training.sources import load_cifar10, load_image_folder, load_image_folder_splits

#: In smoke mode: at most this many training / test images, and what a flag that was not given defaults to.
SMOKE_TRAIN_IMAGES, SMOKE_TEST_IMAGES = 320, 128
SMOKE_DEFAULTS = {"epochs": 1, "batch_size": 64}
#: A default batch size shrinks for a small data set so that an epoch still has this many full batches.
MIN_STEPS_PER_EPOCH = 4
#: The model trained when --model is not given (and a resumed run does not say).
DEFAULT_MODEL = "vgg16_bn_cifar"
#: Where an unexpected error's traceback goes, in --out.
ERROR_LOG = "error.log"

#: Flags of other tools that a learner may type for ours (close spellings are found by errors.meant_name).
_FLAG_ALIASES = {"--learning-rate": "--lr", "--bs": "--batch-size", "--output": "--out", "--output-dir": "--out"}
#: argparse's English messages, in Korean.
_ARGPARSE_KO = (
    (r"the following arguments are required: (.*)", r"꼭 필요한 인수가 빠졌습니다: \1"),
    (r"one of the arguments (.*) is required", r"다음 인수 중 하나가 필요합니다: \1"),
    (r"unrecognized arguments: (.*)", r"알 수 없는 인수입니다: \1"),
    (r"argument (\S+): not allowed with argument (\S+)",
     lambda m: f"{josa(m[1], '은')} {josa(m[2], '과')} 함께 쓸 수 없습니다"),
    (r"argument (\S+): invalid choice: (.*?) \(choose from (.*)\)", r"\1: 고를 수 없는 값 \2 (고를 수 있는 값: \3)"),
    (r"argument (\S+): expected one argument", r"\1 뒤에 값이 하나 있어야 합니다"),
    (r"argument (\S+): (.*)", r"\1: \2"),
)


def _folder(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError(bilingual("폴더 이름이 비어 있습니다: runs/mine처럼 이름을 지정하세요.",
                                                   "an empty name is no folder: give one such as runs/mine."))
    return Path(text)


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
        if "\n" in message:  # a bilingual message of ours: "argument --lr: <Korean>\n<English>"
            head, english = message.split("\n", 1)
            where = re.match(r"argument ([^:]+): ", head)
            korean = f"{where.group(1)}: {head[where.end():]}" if where else head
            english = f"{where.group(0)}{english}" if where else english
        else:
            korean = next((re.sub(en, ko, message, flags=re.DOTALL) for en, ko in _ARGPARSE_KO
                           if re.fullmatch(en, message, flags=re.DOTALL)), message)
            english = message
        if message.startswith("unrecognized arguments:"):  # --learning-rate, --batchsize, --datadir …
            flags = [f for f in self._option_string_actions if f.startswith("--")]
            for word in re.findall(r"--[\w-]+", message):
                close = _FLAG_ALIASES.get(word) or meant_name(word, flags)
                if close:
                    korean += f" ({word}: {close}일까요?)"
                    english += f" ({word}: did you mean {close}?)"
        self.print_usage(sys.stderr)
        self.exit(2, bilingual(f"명령줄 인수가 잘못되었습니다: {korean}",
                               f"Bad command-line arguments: {english}") + "\n")


def build_parser() -> argparse.ArgumentParser:
    """Where the data and the output are, which model, and every :class:`TrainConfig` flag."""
    p = _Parser(prog="python -m vgg_teach.train",
                description="VGG 학습 / Train a VGG on CIFAR-10 or your own image folders.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data-dir", type=Path, help="DIR with train/<class>/… and test/<class>/… images")
    src.add_argument("--dataset", choices=["cifar10"], help="download CIFAR-10 with torchvision")
    p.add_argument("--data-root", type=Path, default=Path("data"), help="where --dataset cifar10 is stored")
    p.add_argument("--holdout", type=_positive_int, default=None,
                   help="test on this many held-out training images (stratified, seeded) instead of "
                        "the test set; then DIR needs no test/ folder")
    p.add_argument("--out", type=_folder, required=True, help="output folder (metrics.json, checkpoint.pt)")
    p.add_argument("--model", choices=sorted(CIFAR_MODELS), default=None,
                   help=f"default: {DEFAULT_MODEL} (with --resume: the checkpoint's)")
    p.add_argument("--device", choices=["cuda", "mps", "cpu"], default=None, help="default: the best available")
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue the run in OUT (or load it, if it is finished)")
    again.add_argument("--overwrite", action="store_true",
                       help="replace a run already in OUT with a new one (without it, an existing run is kept)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_config_arguments(p.add_argument_group("recipe (TrainConfig)"), SMOKE_DEFAULTS)
    return p


def load_data(args: argparse.Namespace, seed: int = 0) -> tuple[ImageTensors, ImageTensors, str]:
    """The (train, test) data the arguments name, and a short description of it."""
    if args.dataset == "cifar10":
        train, test = load_cifar10(args.data_root, download=True)
    elif args.holdout is None:
        train, test = load_image_folder_splits(args.data_dir)
    else:  # only train/ is needed: the test set is held out of it below
        train = load_image_folder(Path(args.data_dir) / "train")
    source = "cifar10" if args.dataset == "cifar10" else str(args.data_dir)
    if args.holdout is not None:
        train, test = hold_out(train, args.holdout, seed)
        source += f" (holdout {args.holdout})"
    if is_smoke():
        train, test = subsample(train, SMOKE_TRAIN_IMAGES, seed), subsample(test, SMOKE_TEST_IMAGES, seed)
    return train, test, source


def _check_out(out: Path) -> None:
    """``out`` must be a folder this process can write: made and tried now, before any data is loaded."""
    blocker = file_in_the_way(out)
    if blocker is not None:
        raise UsageError(bilingual(f"--out {out} {particle(out, '을')} 폴더로 쓸 수 없습니다: {blocker} "
                                   f"{particle(blocker, '은')} 파일입니다. "
                                   "다른 폴더를 고르세요.",
                                   f"--out {out} cannot be a folder: {blocker} is a file. Choose another folder."))
    in_the_way = next((out / name for name in ("checkpoint.pt", "metrics.json") if (out / name).is_dir()), None)
    if in_the_way is not None:
        raise UsageError(bilingual(f"{in_the_way} {particle(in_the_way, '은')} 폴더라서 학습 결과를 그 이름으로 저장할 "
                                   "수 없습니다. 그 폴더의 이름을 바꾸거나 다른 --out을 고르세요.",
                                   f"{in_the_way} is a folder, so the run's results cannot be saved under that name. "
                                   "Rename that folder or choose another --out."))
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:  # read-only disk, no permission …
        raise UsageError(bilingual(
            f"--out {out} 에 쓸 수 없습니다 ({cause(err)}). 쓸 수 있는 폴더를 고르세요(예: 홈 폴더 아래 runs/mine).",
            f"Cannot write to --out {out} ({cause(err)}). Choose a folder you can write to (for example "
            "runs/mine under your home folder).")) from None


def _small_data_batch(config: TrainConfig, num_train: int, world_size: int, scale_lr: bool = True) -> TrainConfig:
    """The default batch size for a small data set: the largest power of two that still gives
    :data:`MIN_STEPS_PER_EPOCH` full batches (72 images: 512 → 16), a multiple of the number of processes, and (with
    ``scale_lr``: no --lr given) the learning rate scaled with it, as the linear scaling rule does; said. (The
    default 0.2 is for batches of 512: on 16 images in batches of 4 it diverged within a few epochs.)"""
    batch = config.batch_size
    if num_train // batch < MIN_STEPS_PER_EPOCH:
        batch = min(batch, 1 << (max(1, num_train // MIN_STEPS_PER_EPOCH).bit_length() - 1))
    batch = max(world_size, batch // world_size * world_size)
    if batch == config.batch_size:
        distributed.local_batch(batch, world_size)
        return config
    lr = config.lr * batch / config.batch_size if scale_lr else config.lr
    lower = (f" 학습률도 같은 비율로 {config.lr:g}에서 {josa(format(lr, '.2g'), '로')} 낮췄습니다(선형 스케일링 규칙).",
             f" The learning rate went down in proportion, from {config.lr:g} to {lr:.2g} (the linear scaling "
             "rule).") if scale_lr else ("", "")
    print(bilingual(
        f"학습 이미지가 {num_train}장뿐이라 배치 크기(batch size)를 {config.batch_size}에서 {josa(batch, '로')} "
        f"줄였습니다(에포크마다 {num_train // batch}스텝).{lower[0]} 직접 정하려면 "
        f"{'--batch-size와 --lr을' if scale_lr else '--batch-size를'} 지정하세요.",
        f"Only {num_train} training images: the batch size was reduced from {config.batch_size} to {batch} "
        f"({num_train // batch} steps per epoch).{lower[1]} Give --batch-size{' and --lr' if scale_lr else ''} to "
        "choose yourself."), flush=True)
    return config.replace(batch_size=batch, lr=lr)


def _run(args: argparse.Namespace, launch: distributed.Dist) -> int:
    the_plan = distributed.plan(launch, args.device)  # before anything is loaded (device, GPUs, NCCL)
    _check_out(args.out)
    with own_folder(args.out) if launch.is_main else contextlib.nullcontext():  # before anything in it is touched
        return _train(args, launch, the_plan)


def _train(args: argparse.Namespace, launch: distributed.Dist, the_plan: distributed.Dist) -> int:
    out = args.out
    checkpoint, metrics_path = out / "checkpoint.pt", out / "metrics.json"
    if launch.is_main:
        remove_stale_temporaries(metrics_path)  # fit cleans the checkpoint's
    refuse_to_replace(checkpoint, resume=args.resume, overwrite=args.overwrite, others=[metrics_path])
    state = load_state(checkpoint) if args.resume and checkpoint.is_file() else None
    args.model = args.model or (state.run.get("model") if state is not None else None) or DEFAULT_MODEL
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    stored = {k: v for k, v in state.config.items() if k in fields} if state else {}
    config = config_from_args(args, {**(SMOKE_DEFAULTS if is_smoke() else {}), **stored})
    chosen = args.batch_size is not None or bool(stored)
    if chosen:  # the global batch must divide among the processes (a resume keeps its batch: N may change)
        distributed.local_batch(config.batch_size, launch.world_size)
    if state is not None:
        check_resume(state, dataclasses.asdict(config), {"model": args.model}, checkpoint)
    with distributed.session(the_plan) as ctx:  # under torchrun: join the other processes
        for note in the_plan.notes:
            print(bilingual(*note), flush=True)
        train, test, source = ctx.main_first(lambda: load_data(args, config.seed))  # rank 0 first (a download)
        if not chosen:
            config = _small_data_batch(config, len(train), launch.world_size, scale_lr=args.lr is None)
        run = {"model": args.model, "classes": train.classes, "data": source,
               "num_train": len(train), "num_test": len(test), "smoke": is_smoke()}
        if args.overwrite and launch.is_main:  # asked for: the old results go now, the old checkpoint later
            metrics_path.unlink(missing_ok=True)
        metrics = fit(lambda: build_model(args.model, num_classes=len(train.classes)), train, test, config,
                      device=the_plan.device, checkpoint=checkpoint, resume=args.resume, overwrite=args.overwrite,
                      progress=not args.no_progress, run=run)
        if launch.is_main:
            atomic_write_json(metrics, metrics_path)
    tta = f" (flip TTA {metrics['test_accuracy_tta']:.2%})" if "test_accuracy_tta" in metrics else ""
    tta_ko = f" (좌우 뒤집기 TTA {metrics['test_accuracy_tta']:.2%})" if "test_accuracy_tta" in metrics else ""
    print(bilingual(f"완료: 시험 정확도 {metrics['test_accuracy']:.2%}{tta_ko}, 학습 {metrics['train_seconds']:.1f}초, "
                    f"초당 이미지 {metrics['images_per_second']:,.0f}장 — {metrics_path}",
                    f"done: test accuracy {metrics['test_accuracy']:.2%}{tta}, {metrics['train_seconds']:.1f} s of "
                    f"training, {metrics['images_per_second']:,.0f} images/s — {metrics_path}"))
    return 0


def _write_error_log(out: Path, rank: Optional[int] = None) -> Optional[Path]:
    """Append the current exception's traceback to ``out/error.log`` (or the temporary folder); its path."""
    who = f"  rank {rank}" if rank is not None else ""
    text = (f"--- {datetime.datetime.now().isoformat(timespec='seconds')}  vgg_teach {__version__}  "
            f"python {sys.version.split()[0]}{who}\nargv: {sys.argv}\n{traceback.format_exc()}\n")
    for path in (out / ERROR_LOG, Path(tempfile.gettempdir()) / f"vgg_teach-{ERROR_LOG}"):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8", errors="backslashreplace") as f:
                f.write(text)
            return path
        except OSError:
            continue
    return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI; returns the exit code. Under torchrun only rank 0 prints (so a problem is told once, not once per
    process); an unexpected error's traceback still goes to ``error.log``, marked with its rank."""
    try:
        launch = distributed.launch_from_env()
    except UsageError as err:
        print(err, file=sys.stderr)
        return 2
    with contextlib.ExitStack() as quiet:
        if not launch.is_main:
            null = quiet.enter_context(open(os.devnull, "w"))
            quiet.enter_context(contextlib.redirect_stdout(null))
            quiet.enter_context(contextlib.redirect_stderr(null))
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as done:  # --help, or bad arguments (already explained on stderr)
            return int(done.code or 0)
        try:
            with sigterm_stops():
                return _run(args, launch)
        except TrainingError as err:
            print(err, file=sys.stderr)
            return 1
        except VggTeachError as err:
            print(err, file=sys.stderr)
            return 2
        except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM (Terminated)
            sigterm = isinstance(err, Terminated)
            saved = (args.out / "checkpoint.pt").is_file()
            if not getattr(err, "told", False):  # (fit says it when it was training)
                print(bilingual(
                    f"{'SIGTERM을 받아 멈췄습니다' if sigterm else '중단되었습니다'}. " + (
                        "같은 명령에 --resume을 붙이면 이어서 학습합니다." if saved else
                        "저장된 에포크가 없으니 같은 명령으로 처음부터 다시 시작하세요."),
                    f"{'Stopped by SIGTERM' if sigterm else 'Interrupted'}. " + (
                        "Run the same command with --resume to continue." if saved else
                        "No epoch was saved: run the same command again to start over.")), file=sys.stderr)
            return 143 if sigterm else 130
        except Exception as err:  # the last resort: a short message here, the traceback in a file
            log = _write_error_log(args.out, launch.rank if launch.torchrun else None)
            where_ko = f"자세한 내용(traceback)은 {log} 에 있습니다" if log else "자세한 내용을 파일에 쓰지 못했습니다"
            where_en = f"the details (the traceback) are in {log}" if log else "the details could not be written"
            print(bilingual(f"예상하지 못한 오류가 났습니다 ({cause(err)}). {where_ko}. 이 강좌의 버그일 수 있으니 그 "
                            "파일을 붙여 알려 주세요.",
                            f"Unexpected error ({cause(err)}); {where_en}. This may be a bug of the course: please "
                            "report it with that file."), file=sys.stderr)
            return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
