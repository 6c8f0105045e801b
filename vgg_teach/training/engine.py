"""The training engine — one engine for the notebook, ``python -m vgg_teach.train`` and the benchmark.

Read :func:`train_one_epoch` first: one training step (:func:`.step.train_step`: forward, loss, zero_grad,
backward, update) for every batch. ``fit(..., step=…, evaluate=…)`` runs a step and an evaluation of one's own
instead (lesson 05's exercises: plain PyTorch, with mixed precision added by :mod:`.step`'s stand-ins).
Everything else here only makes that loop fast and safe:

- **speed** — data and augmentation already on the GPU (:class:`~.augment.DeviceLoader`), mixed
  precision (:mod:`.precision`), ``channels_last`` memory format on CUDA, optional ``torch.compile``;
- **recipe** — :class:`~.config.TrainConfig`, with SGD and its schedule in :mod:`.optim`;
- **safety** — a checkpoint after every epoch, written atomically (:mod:`.checkpoint`), resuming after a
  disconnect with the same recipe and data (checked), never replacing a saved run unless asked
  (``overwrite=True``), a clear error when the loss, the test loss or the weights become NaN/inf (learning rate
  too high: that epoch is never saved) or the device runs out of memory (batch too large);
- **several GPUs** — under ``torchrun`` the same loop runs in every process, the model in DDP, each process on its
  slice of every global batch, sums reduced over the processes, rank 0 alone writing (:mod:`.distributed`).

The main entry point is :func:`fit`.

A model's predictions on a whole data set, and the numbers read off them: confusion matrix, per-class accuracy.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence, Union

import torch
from torch import nn
from tqdm.auto import tqdm

from ..answers import evaluate as evaluate_accuracy
from ..answers import train_step
from ..env import get_device, seed_everything
from ..errors import DivergenceError, OutOfMemoryError, OutputWriteError, UsageError, bilingual, cause
from . import distributed
from . import distributed as ddp
from .checkpoint import (
    TrainingState,
    check_resume,
    load_state,
    refuse_to_replace,
    remove_stale_temporaries,
    restore,
    rng_state,
    save_state,
    set_rng_state,
)
from .data import DeviceLoader, ImageTensors
from .recipe import Precision, TrainConfig, make_optimizer, make_scheduler, use_channels_last
from .step import Autocast, StepHands, Watched

# ---- from vgg_teach.training.engine (phase-1 merge)
ModelOrFactory = Union[nn.Module, Callable[[], nn.Module]]


class _Meter:
    """Running loss/accuracy kept on the device (no GPU→CPU sync per step), NaN watch included.

    Under torchrun the sums and the first bad step are reduced over the processes: every process reports the
    global numbers and stops at the same check.
    """

    def __init__(self, epoch: int, device: torch.device, check_every: int = 50) -> None:
        self.epoch, self.check_every, self.steps = epoch, check_every, 0
        self.loss_sum = torch.zeros((), device=device)
        self.correct = torch.zeros((), dtype=torch.int64, device=device)
        self.count = 0
        self.first_bad_step = torch.full((), -1, dtype=torch.int64, device=device)
        self.dist = distributed.current()

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
        if self.dist.distributed:  # the first bad step of any process (−max of −step), seen by all
            worst = self.dist.max(-step if step >= 0 else -math.inf)
            step = int(-worst) if math.isfinite(worst) else -1
        if step >= 0:
            raise DivergenceError(bilingual(
                f"학습이 발산했습니다: 에포크 {self.epoch}의 {step}번째 스텝(step)에서 손실(loss)이 NaN 또는 "
                "무한대가 되었습니다. 학습률(learning rate)을 낮춰(예: 절반으로) 처음부터 다시 학습하세요.",
                f"Training diverged: the loss became NaN or infinite at epoch {self.epoch}, step {step}. "
                "Lower the learning rate (for example, halve it) and train again from scratch.",
            ))

    def totals(self) -> tuple[float, float, int]:
        """(loss·count, correct, count), summed over the processes."""
        loss_sum, correct, count = self.dist.sum([float(self.loss_sum), int(self.correct), self.count])
        return loss_sum, correct, int(count)

    def result(self) -> dict[str, float]:
        self.check()
        loss_sum, correct, count = self.totals()
        return {"loss": loss_sum / max(1, count), "acc": correct / max(1, count)}


def train_one_epoch(model: nn.Module, loader: Iterable, optimizer: torch.optim.Optimizer,
                    scheduler, loss_fn: nn.Module, precision: Precision, epoch: int = 1,
                    progress: bool = True, step: Callable = train_step) -> dict[str, float]:
    """One pass over the training data: ``step`` (forward, loss, zero_grad, backward, update) for every batch."""
    model.train()
    meter = _Meter(epoch, next(model.parameters()).device)
    hands = StepHands(model, optimizer, loss_fn, precision)  # autocast, and the gradient scaler for fp16
    for images, labels in tqdm(loader, desc=f"epoch {epoch}", leave=False, disable=not progress):
        # images arrive augmented, normalized and channels_last, already on the GPU (DeviceLoader)
        loss = step(hands.model, images, labels, hands.optimizer, hands.loss_fn)  # one step of training
        scheduler.step()                             # next learning rate
        meter.add(loss, hands.logits, labels)        # sums stay on the GPU; NaN/inf is caught here
    return meter.result()


@torch.no_grad()
def eval_logits(model: nn.Module, loader: Iterable, precision: Precision,
                tta: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``(logits, labels)`` for every batch of ``loader``, in eval mode, under ``precision``'s autocast.

    ``tta=True`` averages the logits of each image and its mirror image (flip test-time augmentation).
    Shared by :func:`evaluate` and by :func:`vgg_teach.training.metrics.predict`.
    """
    model.eval()
    forward = Autocast(model, precision, tta)
    for images, labels in loader:
        yield forward(images), labels


def evaluate(model: nn.Module, loader: Iterable, precision: Precision, loss_fn: Optional[nn.Module] = None,
             tta: bool = False, accuracy: Callable = evaluate_accuracy) -> dict[str, float]:
    """Loss and accuracy on ``loader``; ``tta=True`` averages the logits of each image and its mirror.

    ``accuracy(model, loader)`` is the evaluation loop (:func:`.step.evaluate`, or lesson 05's own): it gives the
    accuracy, and the loss is computed from the logits of its own forward passes.
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    meter = _Meter(0, next(model.parameters()).device, check_every=10**9)
    watch = Watched(model, loader, precision, lambda logits, labels: meter.add(
        loss_fn(logits.float(), labels), logits, labels), tta)
    acc = float(accuracy(watch.model, watch.loader))
    loss_sum, _, count = meter.totals()  # under torchrun: every process's slice of the data
    if meter.dist.distributed:  # each process's accuracy on its slice, weighted by the slice's size
        acc = meter.dist.sum([acc * meter.count])[0] / max(1, count)
    return {"loss": loss_sum / max(1, count), "acc": acc}


_evaluate = evaluate  # ``fit``'s parameter ``evaluate`` hides the function inside ``fit``


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _is_oom(err: BaseException) -> bool:
    """CUDA's, the CPU's and Apple's MPS out-of-memory errors (and Python's own ``MemoryError``)."""
    if isinstance(err, (torch.cuda.OutOfMemoryError, MemoryError)):  # torch.OutOfMemoryError is the same class
        return True
    text = str(err)
    return isinstance(err, RuntimeError) and bool(re.search(
        r"out of memory|DefaultCPUAllocator|can't allocate memory|Cannot allocate memory", text, re.IGNORECASE))


def _oom_error(err: BaseException, batch_size: int, device: torch.device) -> OutOfMemoryError:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    smaller = max(1, batch_size // 2)
    where = {"cuda": "GPU", "mps": "Apple GPU(MPS)"}.get(device.type, "CPU")
    return OutOfMemoryError(bilingual(
        f"{where} 메모리가 부족합니다 ({cause(err)}). 배치 크기(batch size)를 줄여(예: {batch_size} → {smaller}) "
        "다시 실행하세요. 노트북에서는 커널을 재시작해야 앞서 쓰던 메모리가 비워집니다.",
        f"The {where} ran out of memory ({cause(err)}). Use a smaller batch size (for example "
        f"{batch_size} → {smaller}) and run again. In a notebook, restart the kernel to free the memory "
        "that is still held.",
    ))


def _all_finite(tensors: list[torch.Tensor]) -> bool:
    """True when no element of ``tensors`` is NaN or infinite.

    A NaN or an infinity in a tensor makes its sum NaN or infinite, so finite sums (one fast reduction per
    tensor, no tensor of flags the size of VGG16's 138 M weights) prove it; only a non-finite sum, which a
    finite tensor can also give by overflowing, is checked element by element.
    """
    if not tensors:
        return True
    if bool(torch.isfinite(torch.stack([t.sum().float() for t in tensors])).all()):
        return True
    return all(bool(torch.isfinite(t).all()) for t in tensors)


def _check_finite(model: nn.Module, test: dict[str, float], epoch: int) -> None:
    """Raise :class:`DivergenceError` when the test loss or any weight (or BatchNorm statistic) is NaN/inf."""
    floats = [t for t in model.state_dict().values() if t.is_floating_point()]
    weights_ok = _all_finite(floats)
    if weights_ok and math.isfinite(test["loss"]):
        return
    what_ko, what_en = (("가중치(weight)", "the weights") if not weights_ok else
                        ("시험 손실(test loss)", "the test loss"))
    raise DivergenceError(bilingual(
        f"학습이 발산했습니다: 에포크 {epoch}이 끝난 뒤 {what_ko}에 NaN 또는 무한대가 생겼습니다. 이 에포크는 "
        "저장하지 않았습니다. 학습률(learning rate)을 낮춰(예: 절반으로) 처음부터 다시 학습하세요.",
        f"Training diverged: after epoch {epoch} {what_en} became NaN or infinite. This epoch was not saved. "
        "Lower the learning rate (for example, halve it) and train again from scratch.",
    ))


def fit(model: ModelOrFactory, train_data: ImageTensors, test_data: ImageTensors,
        config: Optional[TrainConfig] = None, *, device: Union[str, torch.device, None] = None,
        checkpoint: Union[str, Path, None] = None, resume: bool = False, overwrite: bool = False,
        callbacks: Sequence[Callable[[dict], None]] = (), progress: bool = True,
        log: Optional[Callable[[str], None]] = print, run: Optional[dict] = None,
        step: Callable = train_step, evaluate: Callable = evaluate_accuracy) -> dict:
    """Train ``model`` on ``train_data``, test after every epoch, return the metrics.

    ``model`` is a module, or a function that builds one: it is built right after seeding, so its initial
    weights follow ``config.seed`` (the CLI does this). ``device`` is a device or a preference ("cuda",
    "mps", "cpu"; ``None``: the best available) — chosen here, once. ``checkpoint`` (a ``.pt`` path) is
    rewritten atomically after every epoch. A checkpoint already there is a run someone trained: with
    ``resume=True`` training continues from it — weights, optimizer, schedule, gradient scaler, history, random
    generators — exactly as if it had never stopped (a finished run just returns its metrics; run with a
    larger ``config.epochs`` to train longer); ``overwrite=True`` replaces it with a new run; with neither,
    :class:`~vgg_teach.errors.CheckpointError` says so. A resume must use the same recipe and data
    (:func:`~.checkpoint.check_resume` lists what differs). ``callbacks`` get each epoch's record after its
    checkpoint is saved. ``run`` describes the run (the CLI keeps the model name and classes there): it is
    stored in the checkpoint with the data's fingerprints, checked on resume and returned.
    ``step(model, images, labels, optimizer, loss_fn)`` trains on one batch and ``evaluate(model, loader)`` gives
    the test accuracy (:mod:`.step`'s by default; lesson 05 passes the learner's): mixed precision, the schedule,
    checkpoints, divergence and memory errors stay the engine's, whichever runs.

    **Under torchrun** every process calls ``fit`` with the same arguments (:mod:`.distributed`): the model is
    wrapped in DDP on this process's device, each process trains on its slice of every global batch
    (``config.batch_size`` images per step in all, so the recipe is that of one process) and tests on its part
    of the test set; losses, accuracies and images/s are reduced over the processes, so every process returns
    the same numbers. Only rank 0 logs, shows progress, writes the checkpoint (the others wait for it) and calls
    ``callbacks``. A resume may use another number of processes that divides the same global batch.

    Returns a dict with ``test_accuracy`` (last epoch), ``test_accuracy_tta`` (if ``config.tta``),
    ``train_seconds`` (training loops only: no evaluation, no checkpoint writing),
    ``images_per_second`` (all processes together), ``images_per_second_per_rank``, ``world_size``, ``epochs``,
    ``history`` (one record per epoch), ``precision``, ``device``, ``config`` (the values used) and ``resumes``
    (what each resume changed).
    Raises :class:`~vgg_teach.errors.DivergenceError` for a NaN/inf loss, test loss or weight,
    :class:`~vgg_teach.errors.OutOfMemoryError` when the device runs out of memory,
    :class:`~vgg_teach.errors.DataError` for training data of fewer than two classes and
    :class:`~.ddp.PeerLostError` when another process of the run died.
    """
    if distributed.pending():  # under torchrun from a script of one's own: join the other processes for this call
        with distributed.session(distributed.plan(distributed.launch_from_env(), device)) as joined:
            return fit(model, train_data, test_data, config, device=joined.device, checkpoint=checkpoint,
                       resume=resume, overwrite=overwrite, callbacks=callbacks, progress=progress, log=log, run=run,
                       step=step, evaluate=evaluate)
    config = config or TrainConfig()
    ctx = distributed.current()
    if resume and overwrite:
        raise UsageError(bilingual("resume(이어 하기)와 overwrite(덮어쓰기)는 함께 쓸 수 없습니다.",
                                   "resume and overwrite cannot be used together."))
    train_data.require_classes(2)
    distributed.local_batch(config.batch_size, ctx.world_size)  # the global batch must divide among the processes
    run = {**(run or {}), "train_data": train_data.fingerprint(), "test_data": test_data.fingerprint(),
           "world_size": ctx.world_size}
    device = ctx.device if ctx.distributed else get_device(device)
    say = (log or (lambda _msg: None)) if ctx.is_main else (lambda _msg: None)
    progress = progress and ctx.is_main
    state, resumes = None, []
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        if ctx.is_main and remove_stale_temporaries(checkpoint):
            say(bilingual("지난번에 끊긴 저장이 남긴 임시 파일을 지웠습니다.",
                          "Removed temporary files left by an interrupted save."))
        refuse_to_replace(checkpoint, resume=resume, overwrite=overwrite)
        if resume and checkpoint.is_file():
            # On the CPU: RNG states must stay CPU tensors; load_state_dict moves the rest to the device.
            state = load_state(checkpoint, map_location="cpu")
            changed = check_resume(state, asdict(config), run, checkpoint)
            if state.run.get("world_size", 1) != ctx.world_size:  # allowed: the global batch is the same
                changed["world_size"] = [state.run.get("world_size", 1), ctx.world_size]
            resumes = list(state.resumes)
            if state.epoch < config.epochs:  # it trains on (a finished run is only loaded)
                resumes.append({"after_epoch": int(state.epoch), "changed": changed})
        elif resume:
            say(bilingual("이어 갈 체크포인트가 없어 새로 학습을 시작합니다.",
                          "No checkpoint to resume from: starting a new run."))
        if resume and ctx.distributed:
            ddp.same_checkpoint(ctx, state is not None, checkpoint)

    seed_everything(config.seed)
    history: list[dict] = []
    start_epoch, saved_epoch = 1, 0
    speed = ddp.Throughput(ctx)
    try:
        model = model if isinstance(model, nn.Module) else model()
        channels_last = use_channels_last(device, config.channels_last)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # pick the fastest convolution kernels for these shapes
        model = model.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
        wrapped = ddp.wrap(model, ctx, config.sync_bn, say)  # DDP under torchrun, else the model itself
        model = wrapped.module if wrapped is not model else model  # (SyncBatchNorm layers, if it converted them)
        shard = {"rank": ctx.rank, "world_size": ctx.world_size}
        train_loader = DeviceLoader(train_data, config.batch_size, device, train=True, augment=config.augment,
                                    seed=config.seed, channels_last=channels_last, **shard)
        test_loader = DeviceLoader(test_data, config.eval_batch_size, device, channels_last=channels_last, **shard)
        precision = Precision.for_device(device, config.precision)
        optimizer = make_optimizer(model, config)
        scheduler = make_scheduler(optimizer, config, len(train_loader))
        loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
        net = torch.compile(wrapped) if config.compile else wrapped
        # evaluation needs no gradients to average: each process runs the plain model on its part of the test set
        test_net = net if wrapped is model else (torch.compile(model) if config.compile else model)
        if state is not None:
            restore(state, checkpoint, model, optimizer, scheduler, precision.scaler)
            history, start_epoch = list(state.history), int(state.epoch) + 1
            saved_epoch = int(state.epoch)
            set_rng_state(state.rng)
            say(bilingual(f"체크포인트에서 이어 갑니다: 에포크 {saved_epoch}까지 끝났습니다 ({checkpoint}).",
                          f"Resuming from the checkpoint: epochs up to {saved_epoch} are done ({checkpoint})."))

        for epoch in tqdm(range(start_epoch, config.epochs + 1), desc="training", disable=not progress,
                          initial=start_epoch - 1, total=config.epochs):
            train_loader.set_epoch(epoch)
            ddp.seed_rank(ctx, config.seed, epoch)  # ranks 1…: their own dropout masks
            _sync(device)
            lr = optimizer.param_groups[0]["lr"]  # at the start of the epoch
            t0 = time.perf_counter()
            train = train_one_epoch(net, train_loader, optimizer, scheduler, loss_fn, precision, epoch, progress,
                                    step)
            _sync(device)
            seconds = time.perf_counter() - t0
            test = _evaluate(test_net, test_loader, precision, accuracy=evaluate)
            _check_finite(model, test, epoch)  # a diverged epoch is never saved
            eval_seconds = time.perf_counter() - t0 - seconds
            record = {"epoch": epoch, "train_loss": train["loss"], "train_acc": train["acc"],
                      "test_loss": test["loss"], "test_acc": test["acc"], "lr": lr,
                      **speed.epoch(train_loader.num_images, seconds),  # seconds, images/s (total, per rank)
                      "eval_seconds": eval_seconds}
            history.append(record)
            if checkpoint is not None:  # rank 0 writes, the others wait (and stop with it if it fails)
                def save(epoch: int = epoch) -> None:
                    nonlocal saved_epoch
                    save_state(TrainingState(
                        model.state_dict(), optimizer.state_dict(), scheduler.state_dict(),
                        precision.scaler.state_dict(), history, epoch, rng_state(), asdict(config), run, resumes),
                        checkpoint)
                    saved_epoch = epoch  # on disk now, even if a rank dies before it hears that the write went well

                ctx.on_main(save)
                saved_epoch = epoch
            say(f"epoch {epoch:>3}/{config.epochs}  train loss {train['loss']:.3f} acc {train['acc']:.2%}  "
                f"test loss {test['loss']:.3f} acc {test['acc']:.2%}  {record['seconds']:.1f}s "
                f"{record['images_per_second']:,.0f} img/s" + (f" ({ctx.world_size} processes)" * ctx.distributed))
            for callback in callbacks if ctx.is_main else ():
                callback(record)
        result_tta = _evaluate(test_net, test_loader, precision, tta=True, accuracy=evaluate) if config.tta else None
    except (KeyboardInterrupt, OutputWriteError) as err:
        if checkpoint is not None and saved_epoch:  # what is really on disk, not the epoch being written
            interrupted = isinstance(err, KeyboardInterrupt)
            ko, en = ("중단되었습니다", "Interrupted") if interrupted else ("멈췄습니다", "Stopped")
            say(bilingual(f"{ko}. 에포크 {saved_epoch}까지의 체크포인트가 {checkpoint} 에 "
                          "있습니다. resume=True (또는 --resume)로 이어서 학습하세요.",
                          f"{en}. The checkpoint up to epoch {saved_epoch} is at {checkpoint}; "
                          "continue with resume=True (or --resume)."))
        raise
    except (RuntimeError, MemoryError) as err:
        if _is_oom(err):
            raise _oom_error(err, config.batch_size, device) from None
        if ctx.distributed and ddp.is_peer_failure(err):
            raise ddp.peer_lost(err, saved_epoch, checkpoint) from None
        raise

    train_seconds = sum(r["seconds"] for r in history)
    images = len(history) * len(train_loader) * config.batch_size  # global images per epoch, whatever N was
    result = {
        "test_accuracy": history[-1]["test_acc"] if history else float("nan"),
        "train_seconds": train_seconds,
        "images_per_second": images / train_seconds if train_seconds else float("nan"),
        "images_per_second_per_rank": speed.per_rank(history),
        "epochs": len(history),
        "history": history,
        "precision": precision.name,
        "device": str(device),
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "config": asdict(config),
        "resumes": resumes,
        **run,
    }
    if result_tta is not None:
        result["test_accuracy_tta"] = result_tta["acc"]
    return result


# ---- from vgg_teach.training.metrics (phase-1 merge)
@dataclass
class Predictions:
    """A model's predictions on a data set: ``images`` (uint8, CPU), ``labels``, ``preds``, ``probs``."""

    images: torch.Tensor
    labels: torch.Tensor
    preds: torch.Tensor
    probs: torch.Tensor
    classes: list[str]

    def __len__(self) -> int:
        return int(self.labels.numel())

    @property
    def correct(self) -> torch.Tensor:
        return self.preds == self.labels

    @property
    def accuracy(self) -> float:
        return float(self.correct.float().mean()) if len(self) else float("nan")


@torch.no_grad()
def predict(model: torch.nn.Module, data: ImageTensors, batch_size: int = 512,
            device: Union[str, torch.device, None] = None) -> Predictions:
    """Run ``model`` over every image of ``data`` (no augmentation, the data's own normalization, eval mode).

    The batches come from :class:`~.augment.DeviceLoader` and the forward pass runs under the
    engine's :class:`~.precision.Precision`, exactly as the engine's ``evaluate`` sees them.
    Runs on the model's device unless ``device`` is given. Everything returned is on the CPU.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    precision = Precision.for_device(device)
    loader = DeviceLoader(data, batch_size, device, train=False, channels_last=use_channels_last(device))
    preds, probs = [], []
    for logits, _ in eval_logits(model, loader, precision):
        p = torch.softmax(logits.float(), dim=1)
        probs.append(p.cpu())
        preds.append(p.argmax(1).cpu())
    num_classes = len(data.classes)
    return Predictions(data.images.cpu(), data.labels.cpu(),
                       torch.cat(preds) if preds else torch.empty(0, dtype=torch.int64),
                       torch.cat(probs) if probs else torch.empty(0, num_classes),
                       list(data.classes))


def per_class_accuracy(cm: torch.Tensor) -> torch.Tensor:
    """The accuracy of each true class: diagonal / row sum (NaN for a class with no images)."""
    cm = torch.as_tensor(cm).double()
    return (cm.diagonal() / cm.sum(dim=1)).float()
