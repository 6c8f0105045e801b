"""The training engine of lesson 05 — one engine for the notebook and for ``python -m vgg_teach.train``.

Read :func:`train_one_epoch` first: forward, loss, backward, step, for every batch. Everything
else here only makes that loop fast and safe:

- **speed** — data and augmentation already on the GPU (:class:`vgg_teach.data.DeviceLoader`),
  mixed precision (:class:`Precision`: bf16 on Ampere/Hopper GPUs, fp16 with a gradient scaler on
  a T4 or older, fp32 on the CPU), ``channels_last`` memory format on CUDA, optional
  ``torch.compile``;
- **recipe** — SGD with Nesterov momentum, weight decay on weights only, label smoothing, a
  one-cycle (warm up, then decay to 0) or warmup + cosine learning-rate schedule;
- **safety** — a checkpoint after every epoch, written atomically (:mod:`vgg_teach.checkpoint`),
  resuming after a disconnect, a clear error when the loss becomes NaN/inf (learning rate too high)
  or the GPU runs out of memory (batch too large).

The main entry point is :func:`fit`; :func:`build_model` names the models that lesson 05 and the
CLI train.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence, Union

import torch
from torch import nn
from tqdm.auto import tqdm

from .checkpoint import atomic_save, load_checkpoint, rng_state, set_rng_state
from .data import DeviceLoader, ImageTensors, bilingual
from .env import get_device, seed_everything
from .models import vgg_cifar

__all__ = [
    "MODELS",
    "build_model",
    "TrainConfig",
    "TrainingError",
    "DivergenceError",
    "GPUMemoryError",
    "Precision",
    "amp_dtype",
    "make_optimizer",
    "lr_factor",
    "make_scheduler",
    "train_one_epoch",
    "eval_logits",
    "evaluate",
    "fit",
]

#: A tiny configuration with the same structure (five pooling stages ending in 512 channels, so
#: ``VGG(image_size=32)``'s 512-feature head fits): for tests and quick CPU checks only.
TINY_CFG = [8, "M", 16, "M", 32, "M", 64, "M", 512, "M"]

#: The models lesson 05 and ``--model`` can train, by name → ``factory(num_classes)``.
MODELS: dict[str, Callable[[int], nn.Module]] = {
    "vgg16_bn_cifar": lambda n: vgg_cifar("D", batch_norm=True, num_classes=n),
    "vgg11_bn_cifar": lambda n: vgg_cifar("A", batch_norm=True, num_classes=n),
    "vgg_tiny_cifar": lambda n: vgg_cifar(TINY_CFG, batch_norm=True, num_classes=n, hidden=64),
}


def build_model(name: str = "vgg16_bn_cifar", num_classes: int = 10) -> nn.Module:
    """A fresh model from :data:`MODELS` (``vgg16_bn_cifar`` is lesson 05's VGG16-BN for 32×32)."""
    if name not in MODELS:
        raise ValueError(bilingual(f"알 수 없는 모델 '{name}'입니다. 다음 중 하나를 고르세요: {', '.join(MODELS)}",
                                   f"Unknown model '{name}'. Choose one of: {', '.join(MODELS)}"))
    return MODELS[name](num_classes)


class TrainingError(RuntimeError):
    """Training stopped; the message (Korean, then English) says why and what to change."""


class DivergenceError(TrainingError):
    """The loss became NaN or infinite."""


class GPUMemoryError(TrainingError):
    """The GPU ran out of memory."""


@dataclass
class TrainConfig:
    """Lesson 05's recipe. The defaults are the recipe the benchmark measures (see benchmarks/README.md)."""

    epochs: int = 30
    batch_size: int = 512
    lr: float = 0.2                 #: peak learning rate (SGD, for the whole batch)
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4      #: on conv/linear weights only, not on biases or BatchNorm
    label_smoothing: float = 0.1
    schedule: str = "onecycle"      #: "onecycle" (linear up, linear down to 0) or "cosine"
    warmup: float = 0.2             #: fraction of all steps spent warming up
    precision: str = "auto"         #: "auto", "bf16", "fp16" or "fp32"
    channels_last: Optional[bool] = None  #: None: on for CUDA
    compile: bool = False           #: torch.compile the model (slow first epoch, faster after)
    augment: bool = True            #: random crop (4-pixel padding) + horizontal flip
    tta: bool = False               #: also report the final accuracy with flip test-time augmentation
    seed: int = 0
    eval_batch_size: int = 1024


# --------------------------------------------------------------------------------------------
# Mixed precision
# --------------------------------------------------------------------------------------------

def amp_dtype(device: torch.device, precision: str = "auto",
              capability: Optional[tuple[int, int]] = None) -> Optional[torch.dtype]:
    """The autocast dtype for ``device``: bf16, fp16, or ``None`` for plain fp32.

    ``auto``: bf16 on CUDA GPUs of compute capability ≥ 8 (A100, H100, RTX 30xx+), fp16 on older
    ones (T4, V100: no fast bf16), fp32 on the CPU and on Apple's MPS.
    """
    choices = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}
    if precision != "auto":
        if precision not in choices:
            raise ValueError(bilingual(f"precision은 auto, bf16, fp16, fp32 중 하나여야 합니다 (받은 값: {precision}).",
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


# --------------------------------------------------------------------------------------------
# Optimizer and learning-rate schedule
# --------------------------------------------------------------------------------------------

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
        raise ValueError(bilingual(f"schedule은 onecycle 또는 cosine이어야 합니다 (받은 값: {schedule}).",
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


# --------------------------------------------------------------------------------------------
# One epoch
# --------------------------------------------------------------------------------------------

class _Meter:
    """Running loss/accuracy kept on the device (no GPU→CPU sync per step), NaN watch included."""

    def __init__(self, epoch: int, device: torch.device, check_every: int = 50) -> None:
        self.epoch, self.check_every, self.steps = epoch, check_every, 0
        self.loss_sum = torch.zeros((), device=device)
        self.correct = torch.zeros((), dtype=torch.int64, device=device)
        self.count = 0
        self.first_bad_step = torch.full((), -1, dtype=torch.int64, device=device)

    def add(self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        self.steps += 1
        loss = loss.detach().float()
        bad = ~torch.isfinite(loss) & (self.first_bad_step < 0)
        self.first_bad_step = torch.where(bad, self.steps, self.first_bad_step)
        self.loss_sum += loss * labels.numel()
        self.correct += (logits.argmax(1) == labels).sum()
        self.count += labels.numel()
        if self.steps % self.check_every == 0:
            self.check()

    def check(self) -> None:
        step = int(self.first_bad_step)
        if step >= 0:
            raise DivergenceError(bilingual(
                f"학습이 발산했습니다: 에포크 {self.epoch}의 {step}번째 스텝(step)에서 손실(loss)이 NaN 또는 "
                "무한대가 되었습니다. 학습률(learning rate)을 낮춰(예: 절반으로) 처음부터 다시 학습하세요.",
                f"Training diverged: the loss became NaN or infinite at epoch {self.epoch}, step {step}. "
                "Lower the learning rate (for example, halve it) and train again from scratch.",
            ))

    def result(self) -> dict[str, float]:
        self.check()
        n = max(1, self.count)
        return {"loss": float(self.loss_sum) / n, "acc": float(self.correct) / n}


def train_one_epoch(model: nn.Module, loader: Iterable, optimizer: torch.optim.Optimizer,
                    scheduler, loss_fn: nn.Module, precision: Precision, epoch: int = 1,
                    progress: bool = True) -> dict[str, float]:
    """One pass over the training data: forward, loss, backward, step — for every batch."""
    model.train()
    meter = _Meter(epoch, next(model.parameters()).device)
    for images, labels in tqdm(loader, desc=f"epoch {epoch}", leave=False, disable=not progress):
        # images arrive augmented, normalised and channels_last, already on the GPU (DeviceLoader)
        with precision.autocast():                   # bf16/fp16 on a GPU, plain fp32 on the CPU
            logits = model(images)                   # 1. forward
            loss = loss_fn(logits, labels)           # 2. loss
        optimizer.zero_grad(set_to_none=True)
        precision.scaler.scale(loss).backward()      # 3. backward (the scaler only acts for fp16)
        precision.scaler.step(optimizer)             # 4. step: update the weights
        precision.scaler.update()
        scheduler.step()                             # next learning rate
        meter.add(loss, logits, labels)              # sums stay on the GPU; NaN/inf is caught here
    return meter.result()


@torch.no_grad()
def eval_logits(model: nn.Module, loader: Iterable, precision: Precision,
                tta: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``(logits, labels)`` for every batch of ``loader``, in eval mode, under ``precision``'s autocast.

    ``tta=True`` averages the logits of each image and its mirror image (flip test-time augmentation).
    Shared by :func:`evaluate` and by :func:`vgg_teach.viz.predict`.
    """
    model.eval()
    for images, labels in loader:
        with precision.autocast():
            logits = model(images)
            if tta:
                logits = (logits + model(images.flip(3))) / 2
        yield logits, labels


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, precision: Precision, loss_fn: Optional[nn.Module] = None,
             tta: bool = False) -> dict[str, float]:
    """Loss and accuracy on ``loader``; ``tta=True`` averages the logits of each image and its mirror."""
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    meter = _Meter(0, next(model.parameters()).device, check_every=10**9)
    for logits, labels in eval_logits(model, loader, precision, tta):
        meter.add(loss_fn(logits.float(), labels), logits, labels)
    n = max(1, meter.count)
    return {"loss": float(meter.loss_sum) / n, "acc": float(meter.correct) / n}


# --------------------------------------------------------------------------------------------
# fit: epochs, checkpoints, resume, errors
# --------------------------------------------------------------------------------------------

def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _oom_error(err: BaseException, batch_size: int) -> GPUMemoryError:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    smaller = max(1, batch_size // 2)
    return GPUMemoryError(bilingual(
        f"GPU 메모리가 부족합니다 ({first_line}). 배치 크기(batch size)를 줄여(예: {batch_size} → {smaller}) "
        "다시 실행하세요. 노트북에서는 커널을 재시작해야 앞서 쓰던 메모리가 비워집니다.",
        f"The GPU ran out of memory ({first_line}). Use a smaller batch size (for example "
        f"{batch_size} → {smaller}) and run again. In a notebook, restart the kernel to free the memory "
        "that is still held.",
    ))


def fit(model: nn.Module, train_data: ImageTensors, test_data: ImageTensors,
        config: Optional[TrainConfig] = None, *, device: Union[str, torch.device, None] = None,
        checkpoint: Union[str, Path, None] = None, resume: bool = False,
        callbacks: Sequence[Callable[[dict], None]] = (), progress: bool = True,
        log: Optional[Callable[[str], None]] = print, extra: Optional[dict] = None) -> dict:
    """Train ``model`` on ``train_data``, test after every epoch, return the metrics.

    ``checkpoint`` (a ``.pt`` path) is rewritten atomically after every epoch; with ``resume=True``
    training continues from it — weights, optimizer, schedule, gradient scaler, history, random
    generators — exactly as if it had never stopped (run with a larger ``config.epochs`` to train
    longer). ``callbacks`` get each epoch's record after its checkpoint is saved. ``extra`` is
    stored in the checkpoint and returned (the CLI keeps the model name and classes there).

    Returns a dict with ``test_accuracy`` (last epoch), ``test_accuracy_tta`` (if ``config.tta``),
    ``train_seconds`` (training loops only: no evaluation, no checkpoint writing),
    ``images_per_second``, ``epochs``, ``history`` (one record per epoch), ``precision``, ``device``.
    Raises :class:`DivergenceError` for a NaN/inf loss and :class:`GPUMemoryError` for CUDA out of memory.
    """
    config = config or TrainConfig()
    device = torch.device(device) if device is not None else get_device()
    say = log or (lambda _msg: None)
    if config.epochs < 1:
        raise ValueError(bilingual(f"에포크 수는 1 이상이어야 합니다 (받은 값: {config.epochs}).",
                                   f"The number of epochs must be at least 1 (got {config.epochs})."))
    seed_everything(config.seed)
    channels_last = device.type == "cuda" if config.channels_last is None else config.channels_last
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # pick the fastest convolution kernels for these shapes
    model = model.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    train_loader = DeviceLoader(train_data, config.batch_size, device, train=True, augment=config.augment,
                                seed=config.seed, channels_last=channels_last)
    test_loader = DeviceLoader(test_data, config.eval_batch_size, device, channels_last=channels_last)
    precision = Precision.for_device(device, config.precision)
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, len(train_loader))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    net = torch.compile(model) if config.compile else model

    history: list[dict] = []
    start_epoch = 1
    if resume and checkpoint is not None and Path(checkpoint).is_file():
        # On the CPU: RNG states must stay CPU tensors; load_state_dict moves the rest to the device.
        state = load_checkpoint(checkpoint, map_location="cpu")
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as err:
            raise TrainingError(bilingual(
                f"체크포인트 {checkpoint} 는 다른 모델의 것이라 이어서 학습할 수 없습니다. 다른 출력 폴더를 쓰거나 "
                "이어 하기(resume)를 끄세요.",
                f"The checkpoint {checkpoint} belongs to a different model, so training cannot resume from it. "
                f"Use another output folder or turn resume off. ({str(err).splitlines()[0]})",
            )) from None
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            precision.scaler.load_state_dict(state["scaler"])
        history = list(state["history"])
        start_epoch = int(state["epoch"]) + 1
        set_rng_state(state["rng"])
        say(bilingual(f"체크포인트에서 이어 갑니다: 에포크 {start_epoch - 1}까지 끝났습니다 ({checkpoint}).",
                      f"Resuming from the checkpoint: epochs up to {start_epoch - 1} are done ({checkpoint})."))
    elif resume:
        say(bilingual("이어 갈 체크포인트가 없어 처음부터 학습합니다.",
                      "No checkpoint to resume from: training from scratch."))

    epochs = range(start_epoch, config.epochs + 1)
    try:
        for epoch in tqdm(epochs, desc="training", disable=not progress, initial=start_epoch - 1,
                          total=config.epochs):
            train_loader.set_epoch(epoch)
            _sync(device)
            lr = optimizer.param_groups[0]["lr"]  # at the start of the epoch
            t0 = time.perf_counter()
            train = train_one_epoch(net, train_loader, optimizer, scheduler, loss_fn, precision, epoch, progress)
            _sync(device)
            seconds = time.perf_counter() - t0
            test = evaluate(net, test_loader, precision)
            record = {"epoch": epoch, "train_loss": train["loss"], "train_acc": train["acc"],
                      "test_loss": test["loss"], "test_acc": test["acc"],
                      "lr": lr, "seconds": seconds,
                      "eval_seconds": time.perf_counter() - t0 - seconds,
                      "images_per_second": train_loader.num_images / seconds}
            history.append(record)
            if checkpoint is not None:
                atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                             "scheduler": scheduler.state_dict(), "scaler": precision.scaler.state_dict(),
                             "history": history, "epoch": epoch, "rng": rng_state(),
                             "config": asdict(config), "extra": dict(extra or {})}, checkpoint)
            say(f"epoch {epoch:>3}/{config.epochs}  train loss {train['loss']:.3f} acc {train['acc']:.2%}  "
                f"test loss {test['loss']:.3f} acc {test['acc']:.2%}  {seconds:.1f}s "
                f"{record['images_per_second']:,.0f} img/s")
            for callback in callbacks:
                callback(record)
        result_tta = evaluate(net, test_loader, precision, tta=True) if config.tta else None
    except torch.cuda.OutOfMemoryError as err:  # torch.OutOfMemoryError is the same class
        raise _oom_error(err, config.batch_size) from None
    except KeyboardInterrupt:
        if checkpoint is not None and history:
            say(bilingual(f"중단되었습니다. 에포크 {history[-1]['epoch']}까지의 체크포인트가 {checkpoint} 에 "
                          "있습니다. resume=True (또는 --resume)로 이어서 학습하세요.",
                          f"Interrupted. The checkpoint up to epoch {history[-1]['epoch']} is at {checkpoint}; "
                          "continue with resume=True (or --resume)."))
        raise

    train_seconds = sum(r["seconds"] for r in history)
    images = len(history) * train_loader.num_images
    result = {
        "test_accuracy": history[-1]["test_acc"] if history else float("nan"),
        "train_seconds": train_seconds,
        "images_per_second": images / train_seconds if train_seconds else float("nan"),
        "epochs": len(history),
        "history": history,
        "precision": precision.name,
        "device": str(device),
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "config": asdict(config),
        **dict(extra or {}),
    }
    if result_tta is not None:
        result["test_accuracy_tta"] = result_tta["acc"]
    return result
