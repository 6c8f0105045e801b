"""The training recipe as one dataclass, validated on creation, and the CLI flags generated from it.

Each field of :class:`TrainConfig` carries its help text and its allowed range in ``metadata``; the
same metadata checks a config made in a notebook (``TrainConfig(lr=-1)`` raises a bilingual
:class:`~vgg_teach.errors.UsageError`) and makes the ``--flag`` of ``python -m vgg_teach.train``
(:func:`add_config_arguments`, :func:`config_from_args`) — so the two can never drift apart.

The optimizer and the learning-rate schedule of the recipe: SGD with Nesterov momentum, one-cycle or cosine.

Mixed precision: bf16 on Ampere/Hopper GPUs, fp16 with a gradient scaler on a T4 or older, fp32 on the CPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import torch
from torch import nn

from ..errors import UsageError, bilingual

# ---- from vgg_teach.training.config (phase-1 merge)
#: A default batch size shrinks for a small data set so that an epoch still has this many full batches.
MIN_STEPS_PER_EPOCH = 4


def _opt(help_en: str, *, minimum: float | None = None, maximum: float | None = None,
         above: float | None = None, below: float | None = None, choices: Sequence[str] = (),
         cli: bool = True) -> dict[str, Any]:
    """Metadata of one field: help text, range (``minimum ≤ x ≤ maximum``, ``above < x < below``), choices."""
    return {"help": help_en, "minimum": minimum, "maximum": maximum, "above": above, "below": below,
            "choices": tuple(choices), "cli": cli}


@dataclass
class TrainConfig:
    """The training recipe. The defaults are the recipe the benchmark measures (see benchmarks/README.md).

    ``batch_size`` is the images of one optimizer step — under torchrun for all processes together (the global
    batch, each process taking ``batch_size / N``), so that ``lr`` and its schedule mean the same with N processes
    as with one.
    """

    epochs: int = field(default=30, metadata=_opt("number of epochs", minimum=1))
    batch_size: int = field(default=512, metadata=_opt(
        "images per training step (with torchrun: of all processes together)", minimum=1))
    lr: float = field(default=0.2, metadata=_opt("peak learning rate (SGD, for the whole batch)", above=0))
    momentum: float = field(default=0.9, metadata=_opt("SGD momentum", minimum=0, below=1))
    nesterov: bool = field(default=True, metadata=_opt("Nesterov momentum"))
    weight_decay: float = field(default=5e-4, metadata=_opt(
        "weight decay on conv/linear weights (not on biases or batch norm)", minimum=0, below=1))
    label_smoothing: float = field(default=0.1, metadata=_opt("label smoothing of the loss", minimum=0, below=1))
    schedule: str = field(default="onecycle", metadata=_opt(
        "learning-rate schedule: onecycle (linear up, linear down to 0) or cosine", choices=("onecycle", "cosine")))
    warmup: float = field(default=0.2, metadata=_opt("fraction of all steps spent warming up", minimum=0, maximum=1))
    precision: str = field(default="auto", metadata=_opt(
        "auto: bf16 on Ampere or newer GPUs, fp16 on older ones, fp32 on the CPU",
        choices=("auto", "bf16", "fp16", "fp32")))
    channels_last: Optional[bool] = field(default=None, metadata=_opt(
        "channels_last memory format (None: on for CUDA)", cli=False))
    compile: bool = field(default=False, metadata=_opt("torch.compile the model (slow first epoch, faster after)"))
    augment: bool = field(default=True, metadata=_opt("random crop (4-pixel padding) and horizontal flip"))
    tta: bool = field(default=False, metadata=_opt("also report accuracy with flip test-time augmentation"))
    seed: int = field(default=0, metadata=_opt("random seed of the weights, the shuffling and the augmentation",
                                               minimum=0))
    eval_batch_size: int = field(default=1024, metadata=_opt("images per evaluation step (per process)", minimum=1))
    # Only matters under torchrun with GPUs (see training/distributed.py), so it stays out of the printed recipe.
    sync_bn: bool = field(default=False, repr=False, metadata=_opt(
        "with several GPUs (torchrun): batch-norm statistics over the global batch (SyncBatchNorm; NCCL only)"))

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _validate(f, getattr(self, f.name))

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)


def batch_size_for(num_train: int, batch_size: int) -> int:
    """``batch_size``, or for a data set too small for it the largest power of two that still gives
    :data:`MIN_STEPS_PER_EPOCH` full batches per epoch (72 images: 512 → 16). Used for a batch size nobody chose.
    """
    if num_train // batch_size >= MIN_STEPS_PER_EPOCH:
        return batch_size
    fitting = max(1, num_train // MIN_STEPS_PER_EPOCH)
    return min(batch_size, 1 << (fitting.bit_length() - 1))


def flag_name(name: str) -> str:
    """``batch_size`` → ``--batch-size``."""
    return "--" + name.replace("_", "-")


def _range_text(name: str, meta: dict[str, Any]) -> str:
    """The allowed range as an inequality: ``"epochs ≥ 1"``, ``"0 ≤ momentum < 1"``, ``"lr > 0"``."""
    low = (f"{meta['minimum']:g} ≤ " if meta["minimum"] is not None else
           f"{meta['above']:g} < " if meta["above"] is not None else "")
    high = (f" ≤ {meta['maximum']:g}" if meta["maximum"] is not None else
            f" < {meta['below']:g}" if meta["below"] is not None else "")
    if low and not high:  # "epochs ≥ 1" reads better than "1 ≤ epochs"
        return f"{name} {'≥' if meta['minimum'] is not None else '>'} {low.split()[0]}"
    return f"{low}{name}{high}"


def _validate(f: dataclasses.Field, value: Any) -> None:
    meta = f.metadata
    if not meta:
        return
    flag = flag_name(f.name)
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if meta["choices"]:
        if value not in meta["choices"]:
            raise UsageError(bilingual(
                f"{f.name} ({flag})은(는) {', '.join(meta['choices'])} 중 하나여야 합니다 (받은 값: {value!r}).",
                f"{f.name} ({flag}) must be one of {', '.join(meta['choices'])} (got {value!r})."))
        return
    if kind.startswith("bool") or kind.startswith("Optional[bool"):
        if not (isinstance(value, bool) or (value is None and kind.startswith("Optional"))):
            raise UsageError(bilingual(f"{f.name}은(는) True 또는 False여야 합니다 (받은 값: {value!r}).",
                                       f"{f.name} must be True or False (got {value!r})."))
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == "int" and not isinstance(value, int)):
        raise UsageError(bilingual(f"{f.name} ({flag})은(는) {'정수' if kind == 'int' else '수'}여야 합니다 "
                                   f"(받은 값: {value!r}).",
                                   f"{f.name} ({flag}) must be {'an integer' if kind == 'int' else 'a number'} "
                                   f"(got {value!r})."))
    ok = math.isfinite(value)
    ok = ok and (meta["minimum"] is None or value >= meta["minimum"])
    ok = ok and (meta["maximum"] is None or value <= meta["maximum"])
    ok = ok and (meta["above"] is None or value > meta["above"])
    ok = ok and (meta["below"] is None or value < meta["below"])
    if not ok:
        allowed = _range_text(f.name, meta)
        raise UsageError(bilingual(f"{flag} 값은 {allowed} 범위여야 합니다 (받은 값: {value!r}).",
                                   f"{flag} must be in the range {allowed} (got {value!r})."))


def _parse_number(f: dataclasses.Field):
    def parse(text: str) -> Any:
        try:
            value = int(text) if f.type in ("int", int) else float(text)
        except ValueError:
            value = text
        try:
            _validate(f, value)
        except UsageError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
        return value
    parse.__name__ = str(f.type)  # argparse names the type in its messages
    return parse


def add_config_arguments(parser: argparse.ArgumentParser, smoke_defaults: dict[str, Any] | None = None) -> None:
    """Add one ``--flag`` per :class:`TrainConfig` field (booleans: ``--x`` or ``--no-x``, whichever changes it).

    Every flag defaults to ``None`` (= "not given"), so :func:`config_from_args` can tell a given value
    from the default; ``smoke_defaults`` only shows in the help.
    """
    smoke = smoke_defaults or {}
    for f in dataclasses.fields(TrainConfig):
        meta = f.metadata
        if not meta.get("cli"):
            continue
        default = f.default
        note = f" (default {default}" + (f"; smoke: {smoke[f.name]})" if f.name in smoke else ")")
        if isinstance(default, bool):
            flag = flag_name(f.name) if not default else "--no-" + f.name.replace("_", "-")
            parser.add_argument(flag, dest=f.name, action="store_const", const=not default, default=None,
                                help=meta["help"] + (" off" if default else ""))
        elif meta["choices"]:
            parser.add_argument(flag_name(f.name), dest=f.name, choices=meta["choices"], default=None,
                                help=meta["help"] + note)
        else:
            parser.add_argument(flag_name(f.name), dest=f.name, type=_parse_number(f), default=None,
                                metavar=f.name.upper(), help=meta["help"] + note)


def config_from_args(args: argparse.Namespace, defaults: dict[str, Any] | None = None) -> TrainConfig:
    """The :class:`TrainConfig` of the parsed flags; a flag not given takes ``defaults`` or the field's default."""
    values = dict(defaults or {})
    for f in dataclasses.fields(TrainConfig):
        given = getattr(args, f.name, None)
        if given is not None:
            values[f.name] = given
    return TrainConfig(**values)


def given_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`TrainConfig` fields the command line set explicitly."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
            if getattr(args, f.name, None) is not None}


# ---- from vgg_teach.training.optim (phase-1 merge)
def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.SGD:
    """SGD with Nesterov momentum; weight decay on conv/linear weights, none on biases and BatchNorm."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    return torch.optim.SGD([{"params": decay, "weight_decay": config.weight_decay},
                            {"params": no_decay, "weight_decay": 0.0}],
                           lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)


def lr_factor(step: int, total_steps: int, warmup: float = 0.2, schedule: str = "onecycle") -> float:
    """The learning rate at ``step`` as a fraction of the peak.

    Both schedules rise linearly for the first ``warmup`` fraction of the steps; then ``onecycle``
    falls linearly to 0 and ``cosine`` follows half a cosine to 0.
    """
    if schedule not in ("onecycle", "cosine"):
        raise UsageError(bilingual(f"schedule은 onecycle 또는 cosine이어야 합니다 (받은 값: {schedule}).",
                                   f"schedule must be onecycle or cosine (got {schedule})."))
    warm = max(1, round(warmup * total_steps))
    if step < warm:
        return (step + 1) / warm
    progress = min(1.0, (step - warm) / max(1, total_steps - warm))
    if schedule == "onecycle":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig,
                   steps_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step schedule (:func:`lr_factor`); resuming with more epochs stretches it."""
    lr_factor(0, 1, config.warmup, config.schedule)  # reject an unknown schedule now, not mid-training
    total = config.epochs * steps_per_epoch
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total, config.warmup, config.schedule))


# ---- from vgg_teach.training.precision (phase-1 merge)
def amp_dtype(device: torch.device, precision: str = "auto",
              capability: Optional[tuple[int, int]] = None) -> Optional[torch.dtype]:
    """The autocast dtype for ``device``: bf16, fp16, or ``None`` for plain fp32.

    ``auto``: bf16 on CUDA GPUs of compute capability ≥ 8 (A100, H100, RTX 30xx+), fp16 on older
    ones (T4, V100: no fast bf16), fp32 on the CPU and on Apple's MPS.
    """
    choices = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}
    if precision != "auto":
        if precision not in choices:
            raise UsageError(bilingual(f"precision은 auto, bf16, fp16, fp32 중 하나여야 합니다 (받은 값: {precision}).",
                                       f"precision must be auto, bf16, fp16 or fp32 (got {precision})."))
        if device.type == "cpu" and precision == "fp16":
            return None  # the CPU has no useful fp16 autocast: plain fp32
        return choices[precision]
    if device.type != "cuda":
        return None
    major, _ = capability or torch.cuda.get_device_capability(device)
    return torch.bfloat16 if major >= 8 else torch.float16


def _grad_scaler(enabled: bool):
    try:
        return torch.amp.GradScaler("cuda", enabled=enabled)
    except (AttributeError, TypeError):  # torch < 2.3
        return torch.cuda.amp.GradScaler(enabled=enabled)


@dataclass
class Precision:
    """Mixed-precision settings: ``autocast()`` for the forward pass and a gradient ``scaler``.

    The scaler only does something for fp16 (whose small range would let gradients underflow to
    zero); for bf16 and fp32 it is disabled and ``scaler.step(opt)`` is just ``opt.step()``.
    """

    device_type: str
    dtype: Optional[torch.dtype]
    scaler: object = field(repr=False)

    @classmethod
    def for_device(cls, device: torch.device, precision: str = "auto") -> "Precision":
        dtype = amp_dtype(device, precision)
        return cls(device.type, dtype, _grad_scaler(enabled=dtype == torch.float16))

    @property
    def name(self) -> str:
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.dtype, "fp32")

    def autocast(self):
        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.dtype is not None)


def use_channels_last(device: torch.device, setting: Optional[bool] = None) -> bool:
    """Whether images and weights use the ``channels_last`` memory format: ``setting``, or on for CUDA.

    The one place this is decided; training, evaluation and prediction all ask here.
    """
    return device.type == "cuda" if setting is None else bool(setting)
