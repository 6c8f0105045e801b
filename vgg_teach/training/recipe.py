"""The training recipe: :class:`TrainConfig` (validated on creation; the source of the CLI's flags, so that
``TrainConfig(lr=-1)`` and ``--lr -1`` are refused alike), SGD and its schedule, mixed precision."""

from __future__ import annotations

import argparse
import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch
from torch import nn

from ..errors import UsageError, bilingual, josa, particle

#: The largest seed every generator takes (NumPy's: 2**32 − 1).
MAX_SEED = 2**32 - 1


def _opt(help_en: str, allowed: str = "", ok: Callable[[Any], bool] = lambda v: True, *,
         choices: tuple[str, ...] = (), cli: bool = True) -> dict:
    """A field's metadata: help text, its range (``"0 ≤ {} < 1"`` and its test), choices, whether it is a flag."""
    return {"help": help_en, "allowed": allowed, "ok": ok, "choices": choices, "cli": cli}


@dataclass
class TrainConfig:
    """The training recipe (the defaults: the one benchmarks/ measures). ``batch_size`` is one optimizer step of
    all processes together under torchrun, so ``lr`` and its schedule mean the same with N processes as with one."""

    epochs: int = field(default=30, metadata=_opt("number of epochs", "{} ≥ 1", lambda v: v >= 1))
    batch_size: int = field(default=512, metadata=_opt(
        "images per training step (with torchrun: of all processes together)", "{} ≥ 1", lambda v: v >= 1))
    lr: float = field(default=0.2, metadata=_opt(
        "peak learning rate (SGD, for the whole batch)", "{} > 0", lambda v: v > 0))
    momentum: float = field(default=0.9, metadata=_opt("SGD momentum", "0 ≤ {} < 1", lambda v: 0 <= v < 1))
    nesterov: bool = field(default=True, metadata=_opt("Nesterov momentum (off by itself when momentum is 0)"))
    weight_decay: float = field(default=5e-4, metadata=_opt(
        "weight decay on conv/linear weights (not on biases or batch norm)", "0 ≤ {} < 1", lambda v: 0 <= v < 1))
    label_smoothing: float = field(default=0.1, metadata=_opt(
        "label smoothing of the loss", "0 ≤ {} < 1", lambda v: 0 <= v < 1))
    schedule: str = field(default="onecycle", metadata=_opt(
        "learning-rate schedule: onecycle (linear up, linear down to 0) or cosine", choices=("onecycle", "cosine")))
    warmup: float = field(default=0.2, metadata=_opt(
        "fraction of all steps spent warming up", "0 ≤ {} ≤ 1", lambda v: 0 <= v <= 1))
    precision: str = field(default="auto", metadata=_opt(
        "auto: bf16 on Ampere or newer GPUs, fp16 on older ones, fp32 on the CPU",
        choices=("auto", "bf16", "fp16", "fp32")))
    channels_last: Optional[bool] = field(default=None, metadata=_opt(
        "channels_last memory format (None: on for CUDA and the CPU)", cli=False))
    compile: bool = field(default=False, metadata=_opt("torch.compile the model (slow first epoch, faster after)"))
    augment: bool = field(default=True, metadata=_opt("random crop (4-pixel padding) and horizontal flip"))
    tta: bool = field(default=False, metadata=_opt("also report accuracy with flip test-time augmentation"))
    seed: int = field(default=0, metadata=_opt(
        "random seed of the weights, the shuffling and the augmentation", f"0 ≤ {{}} ≤ {MAX_SEED}",
        lambda v: 0 <= v <= MAX_SEED))
    eval_batch_size: int = field(default=1024, metadata=_opt(
        "images per evaluation step (per process)", "{} ≥ 1", lambda v: v >= 1))
    # Only matters under torchrun with GPUs, so it stays out of the printed recipe.
    sync_bn: bool = field(default=False, repr=False, metadata=_opt(
        "with several GPUs (torchrun): batch-norm statistics over the global batch (SyncBatchNorm; NCCL only)"))

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            _validate(f, value)
            if isinstance(value, numbers.Real) and not isinstance(value, bool):  # a NumPy number: a plain one
                setattr(self, f.name, int(value) if str(f.type) == "int" else float(value))
        if self.momentum == 0:  # Nesterov's look-ahead needs a momentum: without one it is plain SGD anyway
            self.nesterov = False

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)


def flag_name(name: str) -> str:
    """The command-line flag of a :class:`TrainConfig` field: ``batch_size`` → ``--batch-size``; a switch that is on
    by default is turned off by its flag: ``augment`` → ``--no-augment``."""
    on = any(f.name == name and f.default is True for f in dataclasses.fields(TrainConfig))
    return ("--no-" if on else "--") + name.replace("_", "-")


def _validate(f: dataclasses.Field, value: Any) -> None:
    meta, flag, kind = f.metadata, flag_name(f.name), str(f.type)
    if meta["choices"]:
        if value not in meta["choices"]:
            raise UsageError(bilingual(
                f"{f.name} ({flag}){particle(flag, '은')} {', '.join(meta['choices'])} 중 하나여야 합니다 (받은 값: "
                f"{value!r}).",
                f"{f.name} ({flag}) must be one of {', '.join(meta['choices'])} (got {value!r})."))
    elif "bool" in kind:
        if not (isinstance(value, bool) or (value is None and kind.startswith("Optional"))):
            raise UsageError(bilingual(f"{josa(f.name, '은')} True 또는 False여야 합니다 (받은 값: {value!r}).",
                                       f"{f.name} must be True or False (got {value!r})."))
    elif isinstance(value, bool) or not isinstance(value, numbers.Integral if kind == "int" else numbers.Real):
        raise UsageError(bilingual(f"{f.name} ({flag}){particle(flag, '은')} {'정수' if kind == 'int' else '수'}여야 "
                                   "합니다 "
                                   f"(받은 값: {value!r}).",
                                   f"{f.name} ({flag}) must be {'an integer' if kind == 'int' else 'a number'} "
                                   f"(got {value!r})."))
    elif not (math.isfinite(value) and meta["ok"](value)):
        allowed = meta["allowed"].format(f.name)
        raise UsageError(bilingual(f"{flag} 값은 {allowed} 범위여야 합니다 (받은 값: {value!r}).",
                                   f"{flag} must be in the range {allowed} (got {value!r})."))


def _parse_number(f: dataclasses.Field):
    def parse(text: str) -> Any:
        try:
            value = int(text) if f.type == "int" else float(text)
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
    """One ``--flag`` per :class:`TrainConfig` field (booleans: ``--x`` or ``--no-x``, whichever changes it).

    Every flag defaults to ``None`` ("not given"); ``smoke_defaults`` only shows in the help.
    """
    smoke = smoke_defaults or {}
    for f in dataclasses.fields(TrainConfig):
        meta, default = f.metadata, f.default
        if not meta["cli"]:
            continue
        note = f" (default {default}" + (f"; smoke: {smoke[f.name]})" if f.name in smoke else ")")
        if isinstance(default, bool):
            parser.add_argument(flag_name(f.name), dest=f.name, action="store_const", const=not default, default=None,
                                help=("turn off: " if default else "turn on: ") + meta["help"])
        elif meta["choices"]:
            parser.add_argument(flag_name(f.name), dest=f.name, choices=meta["choices"], default=None,
                                help=meta["help"] + note)
        else:
            parser.add_argument(flag_name(f.name), dest=f.name, type=_parse_number(f), default=None,
                                metavar=f.name.upper(), help=meta["help"] + note)


def config_from_args(args: argparse.Namespace, defaults: dict[str, Any] | None = None) -> TrainConfig:
    """The :class:`TrainConfig` of the parsed flags; a flag not given takes ``defaults`` or the field's default."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
             if getattr(args, f.name, None) is not None}
    return TrainConfig(**{**(defaults or {}), **given})


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.SGD:
    """SGD with Nesterov momentum; weight decay on conv/linear weights, none on biases and BatchNorm."""
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD([{"params": [p for p in params if p.ndim > 1], "weight_decay": config.weight_decay},
                            {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0}],
                           lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)


def lr_factor(step: int, total_steps: int, warmup: float = 0.2, schedule: str = "onecycle") -> float:
    """The learning rate at ``step`` as a fraction of the peak: a linear rise over the first ``warmup`` of the
    steps, then a linear fall to 0 (``onecycle``) or half a cosine to 0 (``cosine``)."""
    if schedule not in ("onecycle", "cosine"):
        raise UsageError(bilingual(f"schedule은 onecycle 또는 cosine이어야 합니다 (받은 값: {schedule}).",
                                   f"schedule must be onecycle or cosine (got {schedule})."))
    warm = max(1, round(warmup * total_steps))
    if step < warm:
        return (step + 1) / warm
    progress = min(1.0, (step - warm) / max(1, total_steps - warm))
    return 1.0 - progress if schedule == "onecycle" else 0.5 * (1.0 + math.cos(math.pi * progress))


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig,
                   steps_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step schedule (:func:`lr_factor`); resuming with more epochs stretches it."""
    lr_factor(0, 1, config.warmup, config.schedule)  # reject an unknown schedule now, not mid-training
    total = config.epochs * steps_per_epoch
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total, config.warmup, config.schedule))


def amp_dtype(device: torch.device, precision: str = "auto",
              capability: Optional[tuple[int, int]] = None) -> Optional[torch.dtype]:
    """The autocast dtype for ``device`` (``None``: plain fp32). ``auto``: bf16 on CUDA GPUs of compute capability
    ≥ 8 (A100, H100, RTX 30xx+), fp16 on older ones (T4, V100: no fast bf16), fp32 on the CPU and Apple's MPS."""
    choices = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}
    if precision != "auto":
        if precision not in choices:
            raise UsageError(bilingual(f"precision은 auto, bf16, fp16, fp32 중 하나여야 합니다 (받은 값: {precision}).",
                                       f"precision must be auto, bf16, fp16 or fp32 (got {precision})."))
        return None if device.type == "cpu" and precision == "fp16" else choices[precision]  # no CPU fp16 autocast
    if device.type != "cuda":
        return None
    major, _ = capability or torch.cuda.get_device_capability(device)
    return torch.bfloat16 if major >= 8 else torch.float16


@dataclass
class Precision:
    """Mixed precision: ``autocast()`` for the forward pass and a gradient ``scaler``, enabled for fp16 only (whose
    small range lets gradients underflow to zero); otherwise ``scaler.step(opt)`` is just ``opt.step()``."""

    device_type: str
    dtype: Optional[torch.dtype]
    scaler: object = field(repr=False)

    @classmethod
    def for_device(cls, device: torch.device, precision: str = "auto") -> Precision:
        dtype = amp_dtype(device, precision)
        return cls(device.type, dtype, torch.amp.GradScaler("cuda", enabled=dtype == torch.float16))

    @property
    def name(self) -> str:
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.dtype, "fp32")

    def autocast(self):
        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.dtype is not None)


def use_channels_last(device: torch.device, setting: Optional[bool] = None) -> bool:
    """Whether images and weights use the ``channels_last`` memory format: ``setting``, or on for CUDA and the CPU
    (on 2 CPU cores it trains the CIFAR VGG16-BN about a fifth faster)."""
    return device.type in ("cuda", "cpu") if setting is None else bool(setting)
