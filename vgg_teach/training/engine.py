"""The training engine (one for lesson 05, ``python -m vgg_teach.train`` and the benchmark), and predictions.

Read :func:`train_one_epoch` first: lesson 05's epoch loop (``answers.train_one_epoch``, a step for every batch)
with the engine's extras handed in. :func:`fit` runs it epoch after epoch, fast
(batches made on the GPU, mixed precision, ``channels_last``, optional ``torch.compile``) and safe: an atomic
checkpoint after every epoch, an exact resume, a saved run never replaced unless asked, a bilingual error when the
loss, the test loss or the weights become NaN/inf (that epoch is never saved) or memory runs out. Under torchrun
the same loop runs in every process, the model in DDP, rank 0 alone writing (:mod:`.distributed`).

**Mixed precision around a plain loop.** The engine hands the epoch loop, and through it
``step(model, images, labels, optimizer, loss_fn)``, stand-ins (:class:`StepHands`): the ``model`` runs its forward
pass under autocast; with fp16 the ``loss_fn``'s backward multiplies the gradient by the gradient scaler's factor
(``loss.backward()`` does what ``scaler.scale(loss).backward()`` does; the loss value stays unscaled), and
``optimizer.step()`` is ``scaler.step(optimizer); scaler.update()``. With bf16 and fp32 they make exactly the plain
calls. An evaluation's model also hands every batch's logits to the engine, for the test loss (:class:`Watched`).
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

import torch
from torch import nn
from tqdm.auto import tqdm

from ..answers import evaluate as evaluate_accuracy
from ..answers import train_one_epoch as epoch_loop
from ..answers import train_step
from ..env import get_device, seed_everything
from ..errors import DivergenceError, OutOfMemoryError, OutputWriteError, UsageError, bilingual, cause, josa
from . import distributed
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
from .guards import Terminated, own_folder, sigterm_stops
from .recipe import Precision, TrainConfig, make_optimizer, make_scheduler, use_channels_last

_DIVERGED = ("학습률(learning rate)을 낮춰(예: 절반으로) 처음부터 다시 학습하세요.",
             "Lower the learning rate (for example, halve it) and train again from scratch.")


class _Meter:
    """Every step's loss, kept on the device (no GPU→CPU sync per step): the sum weighted by images, and the first
    NaN/inf loss; under torchrun summed over the processes, which all stop at the same check."""

    def __init__(self, epoch: int, device: torch.device, check_every: int = 50) -> None:
        self.epoch, self.check_every, self.steps, self.count = epoch, check_every, 0, 0
        self.loss_sum = torch.zeros((), device=device)
        self.first_bad_step = torch.full((), -1, dtype=torch.int64, device=device)
        self.dist = distributed.current()

    def add(self, loss: torch.Tensor, labels: torch.Tensor) -> None:
        self.steps += 1
        loss = loss.detach().float()
        bad = ~torch.isfinite(loss) & (self.first_bad_step < 0)
        self.first_bad_step = torch.where(bad, self.steps, self.first_bad_step)
        self.loss_sum += loss * labels.numel()
        self.count += labels.numel()
        if self.steps % self.check_every == 0:
            self.check()

    def check(self) -> None:
        step = int(self.first_bad_step)
        if self.dist.distributed:  # the first bad step of any process, seen by all
            step = min((int(s) for (s,) in self.dist.gather([step]) if s >= 0), default=-1)
        if step >= 0:
            raise DivergenceError(bilingual(
                f"학습이 발산했습니다: 에포크 {self.epoch}의 {step}번째 스텝(step)에서 손실(loss)이 NaN 또는 무한대가 "
                f"되었습니다. {_DIVERGED[0]}",
                f"Training diverged: the loss became NaN or infinite at epoch {self.epoch}, step {step}. "
                f"{_DIVERGED[1]}"))


def train_one_epoch(model: nn.Module, loader: Iterable, optimizer: torch.optim.Optimizer,
                    scheduler, loss_fn: nn.Module, precision: Precision, epoch: int = 1, progress: bool = True,
                    step: Callable = train_step, loop: Callable = epoch_loop) -> dict[str, float]:
    """One pass over the training data: ``loop(model, loader, optimizer, scheduler, loss_fn, step)`` (the answer's,
    or lesson 05's own) with the engine's extras handed in; returns its ``{"loss", "acc"}``."""
    meter = _Meter(epoch, next(model.parameters()).device)
    hands = StepHands(model, optimizer, loss_fn, precision)  # autocast, and the gradient scaler for fp16

    def watched(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, optimizer, loss_fn) -> torch.Tensor:
        loss = step(model, images, labels, optimizer, loss_fn)  # the learner's step (or the answer's)
        meter.add(loss, labels)                                  # NaN/inf is caught here, on the GPU
        return loss

    # batches arrive augmented, normalized and channels_last, already on the GPU (DeviceLoader)
    batches = tqdm(loader, desc=f"epoch {epoch}", leave=False, disable=not progress)
    result = loop(hands.model, batches, hands.optimizer, scheduler, hands.loss_fn, watched)
    meter.check()
    loss, acc = float(result["loss"]), float(result["acc"])
    if meter.dist.distributed:  # each process's numbers for its images, weighted by how many
        loss, acc, count = meter.dist.sum([loss * meter.count, acc * meter.count, meter.count])
        loss, acc = loss / max(1, count), acc / max(1, count)
    return {"loss": loss, "acc": acc}


def evaluate(model: nn.Module, loader: Iterable, precision: Precision, loss_fn: Optional[nn.Module] = None,
             tta: bool = False, accuracy: Callable = evaluate_accuracy) -> dict[str, float]:
    """Loss and accuracy on ``loader``. ``accuracy(model, loader)`` is the evaluation loop (the answer's, or lesson
    05's own): it gives the accuracy, and the loss is computed from the logits of its own forward passes."""
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    meter = _Meter(0, next(model.parameters()).device, check_every=10**9)
    watch = Watched(model, loader, precision, lambda logits, labels: meter.add(
        loss_fn(logits.float(), labels), labels), tta)
    acc = float(accuracy(watch.model, watch))
    loss_sum, count = meter.dist.sum([float(meter.loss_sum), meter.count])  # under torchrun: every process's part
    if meter.dist.distributed:  # each process's accuracy on its part, weighted by the part's size
        acc = meter.dist.sum([acc * meter.count])[0] / max(1, count)
    return {"loss": loss_sum / max(1, count), "acc": acc}


_evaluate = evaluate  # ``fit``'s parameter ``evaluate`` hides the function inside ``fit``


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _oom_error(err: BaseException, batch_size: int, device: torch.device) -> Optional[OutOfMemoryError]:
    """The bilingual error for CUDA's, the CPU's and Apple's MPS out-of-memory errors; ``None`` for other errors."""
    if not (isinstance(err, (torch.OutOfMemoryError, MemoryError)) or re.search(
            r"out of memory|DefaultCPUAllocator|can't allocate memory|Cannot allocate memory", str(err), re.I)):
        return None
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    smaller = max(1, batch_size // 2)
    where = {"cuda": "GPU", "mps": "Apple GPU(MPS)"}.get(device.type, "CPU")
    return OutOfMemoryError(bilingual(
        f"{where} 메모리가 부족합니다 ({cause(err)}). 배치 크기(batch size)를 줄여(예: {batch_size} → {smaller}) "
        "다시 실행하세요. 노트북에서는 커널을 재시작해야 앞서 쓰던 메모리가 비워집니다.",
        f"The {where} ran out of memory ({cause(err)}). Use a smaller batch size (for example "
        f"{batch_size} → {smaller}) and run again. In a notebook, restart the kernel to free the memory "
        "that is still held."))


def _check_finite(model: nn.Module, test: dict[str, float], epoch: int) -> None:
    """Raise :class:`DivergenceError` when the test loss or any weight (or BatchNorm statistic) is NaN/inf.

    Finite sums (one reduction per tensor, no tensor of flags the size of VGG16's weights) prove the weights finite;
    only a non-finite sum, which overflow can also give, is checked element by element.
    """
    floats = [t for t in model.state_dict().values() if t.is_floating_point()]
    weights_ok = not floats or bool(torch.isfinite(torch.stack([t.sum().float() for t in floats])).all()) or all(
        bool(torch.isfinite(t).all()) for t in floats)
    if weights_ok and math.isfinite(test["loss"]):
        return
    ko, en = ("가중치(weight)", "the weights") if not weights_ok else ("시험 손실(test loss)", "the test loss")
    raise DivergenceError(bilingual(
        f"학습이 발산했습니다: 에포크 {josa(epoch, '이')} 끝난 뒤 {ko}에 NaN 또는 무한대가 생겼습니다. 이 에포크는 "
        "저장하지 "
        f"않았습니다. {_DIVERGED[0]}",
        f"Training diverged: after epoch {epoch} {en} became NaN or infinite. This epoch was not saved. "
        f"{_DIVERGED[1]}"))


def fit(model: Union[nn.Module, Callable[[], nn.Module]], train_data: ImageTensors, test_data: ImageTensors,
        config: Optional[TrainConfig] = None, *, device: Union[str, torch.device, None] = None,
        checkpoint: Union[str, Path, None] = None, resume: bool = False, overwrite: bool = False,
        callbacks: Sequence[Callable[[dict], None]] = (), progress: bool = True,
        log: Optional[Callable[[str], None]] = print, run: Optional[dict] = None,
        step: Callable = train_step, loop: Callable = epoch_loop, evaluate: Callable = evaluate_accuracy) -> dict:
    """Train ``model`` (a module, or a function building it right after seeding) on ``train_data``, test after
    every epoch, return the metrics: ``test_accuracy`` (and ``test_accuracy_tta``), ``train_seconds`` (training
    loops only), ``images_per_second`` (and ``…_per_rank``), ``world_size``, ``epochs``, ``history`` (a record per
    epoch), ``precision``, ``device``, ``num_parameters``, ``config``, ``resumes`` and ``run``'s keys.

    ``checkpoint`` (a ``.pt`` path) is rewritten atomically after every epoch. A run already saved there is
    continued exactly with ``resume=True`` (same recipe and data, checked; a finished run is only loaded),
    replaced with ``overwrite=True``, refused otherwise. ``callbacks`` get each epoch's record once it is saved;
    ``run`` describes the run (stored with the data's fingerprints, checked on resume). ``step``, ``loop`` and
    ``evaluate`` are the training step, the epoch loop and the test accuracy (lesson 05 passes the learner's).
    Under torchrun every process calls ``fit`` alike and gets the global numbers; rank 0 alone logs, writes and
    calls ``callbacks``.
    """
    if distributed.pending():  # under torchrun from a script of one's own: join the other processes for this call
        with distributed.session(distributed.plan(distributed.launch_from_env(), device)) as joined:
            return fit(model, train_data, test_data, config, device=joined.device, checkpoint=checkpoint,
                       resume=resume, overwrite=overwrite, callbacks=callbacks, progress=progress, log=log, run=run,
                       step=step, loop=loop, evaluate=evaluate)
    config = config or TrainConfig()
    for name, value, kind in (("train_data", train_data, ImageTensors), ("test_data", test_data, ImageTensors),
                              ("config", config, TrainConfig)):
        if not isinstance(value, kind):
            raise UsageError(bilingual(f"{name}에는 {kind.__name__} 객체를 넘겨야 합니다 (받은 것: "
                                       f"{type(value).__name__}).",
                                       f"{name} must be {'an' if kind is ImageTensors else 'a'} {kind.__name__} "
                                       f"object (got {type(value).__name__})."))
    ctx = distributed.current()
    if resume and overwrite:
        raise UsageError(bilingual("resume(이어 하기)와 overwrite(덮어쓰기)는 함께 쓸 수 없습니다.",
                                   "resume and overwrite cannot be used together."))
    train_data.require_classes(2)
    distributed.local_batch(config.batch_size, ctx.world_size)  # the global batch must divide among the processes
    code = {name: f"{getattr(fn, '__module__', None)}.{getattr(fn, '__qualname__', type(fn).__name__)}"
            for name, fn in (("step", step), ("loop", loop), ("evaluate", evaluate))}  # whose code trains it
    run = {**(run or {}), "train_data": train_data.fingerprint(), "test_data": test_data.fingerprint(),
           "world_size": ctx.world_size, "code": code}
    device = ctx.device if ctx.distributed else get_device(device)

    def say(message: str) -> None:  # a line that cannot be written (stdout closed: … | head) must not stop training
        if log is not None and ctx.is_main:
            with contextlib.suppress(OSError):
                log(message)

    progress = progress and ctx.is_main
    state, resumes = None, []
    with contextlib.ExitStack() as guard:  # the folder is this run's, SIGTERM stops it like Ctrl-C
        if checkpoint is not None:
            checkpoint = Path(checkpoint)
            if ctx.is_main:
                guard.enter_context(own_folder(checkpoint.parent, say))
        if not ctx.distributed:  # (under torchrun the session handles SIGTERM)
            guard.enter_context(sigterm_stops())
        # a notebook cell that left gradients off, inference mode on or another default device does not stop training
        guard.enter_context(torch.inference_mode(False))
        guard.enter_context(torch.enable_grad())
        if torch.get_default_device().type != "cpu":
            guard.enter_context(torch.device("cpu"))
        if checkpoint is not None:
            if ctx.is_main and remove_stale_temporaries(checkpoint):
                say(bilingual("지난번에 끊긴 저장이 남긴 임시 파일을 지웠습니다.",
                              "Removed temporary files left by an interrupted save."))
            refuse_to_replace(checkpoint, resume=resume, overwrite=overwrite)
            if resume and checkpoint.is_file():
                state = load_state(checkpoint, map_location="cpu")  # RNG states must stay CPU tensors
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
                distributed.same_checkpoint(ctx, state is not None, checkpoint)

        seed_everything(config.seed)
        history: list[dict] = []
        start_epoch = saved_epoch = 0
        ranks = torch.zeros(ctx.world_size, 2, dtype=torch.float64)  # images and seconds of each rank in this call
        try:
            model = model if isinstance(model, nn.Module) else model()
            channels_last = use_channels_last(device, config.channels_last)
            if device.type == "cuda":
                torch.backends.cudnn.benchmark = True  # pick the fastest convolution kernels for these shapes
            model = model.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
            wrapped = distributed.wrap(model, ctx, config.sync_bn, say)  # DDP under torchrun, else the model itself
            model = wrapped.module if wrapped is not model else model  # (SyncBatchNorm layers, if it converted them)
            shard = {"rank": ctx.rank, "world_size": ctx.world_size, "channels_last": channels_last}
            train_loader = DeviceLoader(train_data, config.batch_size, device, train=True, augment=config.augment,
                                        seed=config.seed, **shard)
            test_loader = DeviceLoader(test_data, config.eval_batch_size, device, **shard)
            precision = Precision.for_device(device, config.precision)
            optimizer = make_optimizer(model, config)
            scheduler = make_scheduler(optimizer, config, len(train_loader))
            loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
            net = torch.compile(wrapped) if config.compile else wrapped
            # evaluation needs no gradients to average: each process runs the plain model on its part of the test set
            test_net = net if wrapped is model else (torch.compile(model) if config.compile else model)
            if state is not None:
                restore(state, checkpoint, model, optimizer, scheduler, precision.scaler)
                history, start_epoch = list(state.history), int(state.epoch)
                saved_epoch = start_epoch
                set_rng_state(state.rng)
                other = {k: (v, code[k]) for k, v in state.run.get("code", {}).items() if code.get(k) != v}
                if other:  # lesson 05 run again: a run trained by the reference, loaded as if by the learner's code
                    listed = ", ".join(f"{k} {a} → {b}" for k, (a, b) in other.items())
                    say(bilingual(f"참고: 이 체크포인트는 지금과 다른 코드로 학습했습니다({listed}). 지금의 코드로 "
                                  "다시 학습하려면 overwrite=True로(명령줄: --overwrite) 실행하세요.",
                                  f"Note: this checkpoint was trained by other code than now ({listed}). To train it "
                                  "with the code of now, run with overwrite=True (command line: --overwrite)."))
                if start_epoch >= config.epochs:  # a finished run, only loaded: what it measured when it trained
                    say(bilingual(f"끝난 학습을 불러왔습니다({checkpoint}). 학습할 때 잰 기록입니다:",
                                  f"A finished run, loaded ({checkpoint}). Its record, as measured when it trained:"))
                    for record in history:
                        say(_epoch_line(record, config.epochs))
                else:
                    changes = ", ".join(f"{key} {a} → {b}" for key, (a, b) in resumes[-1]["changed"].items())
                    say(bilingual(f"체크포인트에서 이어 갑니다: 에포크 {saved_epoch}까지 끝났습니다 ({checkpoint})."
                                  + (f" 바뀐 설정: {changes}." if changes else ""),
                                  f"Resuming from the checkpoint: epochs up to {saved_epoch} are done ({checkpoint})."
                                  + (f" Changed settings: {changes}." if changes else "")))

            for epoch in tqdm(range(start_epoch + 1, config.epochs + 1), desc="training", disable=not progress,
                              initial=start_epoch, total=config.epochs):
                train_loader.set_epoch(epoch)
                if ctx.rank > 0:  # their own dropout masks, the same after a resume (rank 0's generator is saved)
                    seed_everything((config.seed * 1_000_003 + epoch) * 1_009 + ctx.rank)
                _sync(device)
                lr = optimizer.param_groups[0]["lr"]  # at the start of the epoch
                t0 = time.perf_counter()
                train = train_one_epoch(net, train_loader, optimizer, scheduler, loss_fn, precision, epoch, progress,
                                        step, loop)
                _sync(device)
                seconds = time.perf_counter() - t0
                test = _evaluate(test_net, test_loader, precision, accuracy=evaluate)
                _check_finite(model, test, epoch)  # a diverged epoch is never saved
                per_rank = torch.tensor(ctx.gather([train_loader.num_images, seconds]), dtype=torch.float64)
                ranks += per_rank
                wall = float(per_rank[:, 1].max())  # the slowest process's: the wall time of the step loop
                record = {"epoch": epoch, "train_loss": train["loss"], "train_acc": train["acc"],
                          "test_loss": test["loss"], "test_acc": test["acc"], "lr": lr, "seconds": wall,
                          "images_per_second": float(per_rank[:, 0].sum()) / wall}
                if ctx.distributed:  # (one process's history keeps the keys it always had)
                    record["images_per_second_per_rank"] = (per_rank[:, 0] / per_rank[:, 1]).tolist()
                record["eval_seconds"] = time.perf_counter() - t0 - seconds
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
                say(_epoch_line(record, config.epochs))
                for callback in callbacks if ctx.is_main else ():
                    callback(record)
            tta = _evaluate(test_net, test_loader, precision, tta=True, accuracy=evaluate) if config.tta else None
        except (KeyboardInterrupt, OutputWriteError) as err:
            told = checkpoint is not None and (checkpoint.is_file() if saved_epoch else isinstance(err,
                                                                                                  KeyboardInterrupt))
            if isinstance(err, KeyboardInterrupt):
                err.told = told  # said here: the CLI does not say it again
            if checkpoint is not None and saved_epoch and told:  # what is really on disk, not the epoch being written
                ko, en = (("SIGTERM을 받아 멈췄습니다", "Stopped by SIGTERM") if isinstance(err, Terminated) else
                          ("중단되었습니다", "Interrupted") if isinstance(err, KeyboardInterrupt) else
                          ("멈췄습니다", "Stopped"))
                say(bilingual(f"{ko}. 에포크 {saved_epoch}까지의 체크포인트가 {checkpoint} 에 있습니다. resume=True "
                              "(또는 --resume)로 이어서 학습하세요.",
                              f"{en}. The checkpoint up to epoch {saved_epoch} is at {checkpoint}; continue with "
                              "resume=True (or --resume)."))
            elif told:
                ko, en = ("SIGTERM을 받아 멈췄습니다", "Stopped by SIGTERM") if isinstance(err, Terminated) else \
                    ("중단되었습니다", "Interrupted")
                say(bilingual(f"{ko}. 첫 에포크가 끝나기 전이라 저장된 체크포인트가 없습니다.",
                              f"{en} before the first epoch ended: no checkpoint was saved."))
            raise
        except IndexError as err:
            if "out of bounds" not in str(err):
                raise
            raise UsageError(bilingual(
                f"모델의 출력 수가 데이터의 클래스 {len(train_data.classes)}개보다 적습니다 ({cause(err)}): 모델을 "
                "num_classes=len(train_data.classes)로 만드세요.",
                f"The model has fewer outputs than the data's {len(train_data.classes)} classes ({cause(err)}): build "
                "it with num_classes=len(train_data.classes).")) from None
        except (RuntimeError, MemoryError) as err:
            if ctx.distributed:
                distributed.failing()
            if (oom := _oom_error(err, config.batch_size, device)) is not None:
                raise oom from None
            if ctx.distributed and (lost := distributed.peer_lost(err, saved_epoch, checkpoint)) is not None:
                raise lost from None
            raise

        train_seconds = sum(r["seconds"] for r in history)
        images = len(history) * len(train_loader) * config.batch_size  # global images per epoch, whatever N was
        result = {
            "test_accuracy": history[-1]["test_acc"] if history else float("nan"),
            "train_seconds": train_seconds,
            "images_per_second": images / train_seconds if train_seconds else float("nan"),
            "images_per_second_per_rank": (ranks[:, 0] / ranks[:, 1]).tolist() if bool(ranks[:, 1].all()) else
            list(history[-1].get("images_per_second_per_rank", [])) if history else [],  # a finished run, only loaded
            "epochs": len(history), "history": history, "precision": precision.name, "device": str(device),
            "num_parameters": sum(p.numel() for p in model.parameters()),
            "config": asdict(config), "resumes": resumes, **run,
        }
        if tta is not None:
            result["test_accuracy_tta"] = tta["acc"]
        return result


def _epoch_line(record: dict, epochs: int) -> str:
    """One epoch of a run's history as ``fit`` prints it."""
    ranks = len(record.get("images_per_second_per_rank", ()))
    return (f"epoch {record['epoch']:>3}/{epochs}  "
            f"train loss {record['train_loss']:.3f} acc {record['train_acc']:.2%}  "
            f"test loss {record['test_loss']:.3f} acc {record['test_acc']:.2%}  {record['seconds']:.1f}s "
            f"{record['images_per_second']:,.0f} img/s" + (f" ({ranks} processes)" if ranks else ""))


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


def predict(model: nn.Module, data: ImageTensors, batch_size: int = 512,
            device: Union[str, torch.device, None] = None) -> Predictions:
    """``model`` over every image of ``data`` as the engine's evaluation sees them (no augmentation, the data's own
    normalization, eval mode, mixed precision), on the model's device unless ``device`` is given; on the CPU."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    loader = DeviceLoader(data, batch_size, device, channels_last=use_channels_last(device))
    forward = Autocast(model.eval(), Precision.for_device(device))
    with torch.no_grad():
        probs = torch.cat([torch.empty(0, len(data.classes))] + [torch.softmax(forward(x).float(), 1).cpu()
                                                                for x, _ in loader])
    return Predictions(data.images.cpu(), data.labels.cpu(), probs.argmax(1), probs, list(data.classes))


def per_class_accuracy(cm: torch.Tensor) -> torch.Tensor:
    """The accuracy of each true class: diagonal / row sum (NaN for a class with no images)."""
    cm = torch.as_tensor(cm).double()
    return (cm.diagonal() / cm.sum(dim=1)).float()


# -- the mixed-precision stand-ins the engine hands the epoch loop, the step and the evaluation -----------------------
class Autocast(nn.Module):
    """``model``, its forward pass under autocast; ``tta`` averages the logits of each image and its mirror image;
    ``seen(logits)``, if given, gets every forward pass's output."""

    def __init__(self, model: nn.Module, precision: Precision, tta: bool = False,
                 seen: Optional[Callable[[torch.Tensor], None]] = None) -> None:
        super().__init__()
        self.model, self.precision, self.tta, self.seen = model, precision, tta, seen
        self.training = model.training

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        with self.precision.autocast():
            logits = self.model(images)
            if self.tta:
                logits = (logits + self.model(images.flip(3))) / 2
        if self.seen is not None:
            self.seen(logits)
        return logits


class ScaledOptimizer:
    """``optimizer`` as a step sees it: ``step()`` goes through the gradient scaler, everything else as it is."""

    def __init__(self, optimizer: torch.optim.Optimizer, scaler) -> None:
        self.optimizer, self.scaler = optimizer, scaler

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self, closure: Optional[Callable] = None) -> None:
        if closure is not None:
            raise UsageError(bilingual("엔진의 옵티마이저는 closure를 받지 않습니다: optimizer.step()으로 부르세요.",
                                       "The engine's optimizer takes no closure: call optimizer.step()."))
        self.scaler.step(self.optimizer)  # unscales, skips a step with inf/NaN gradients (fp16 only)
        self.scaler.update()

    def __getattr__(self, name: str) -> Any:  # param_groups, state, …
        return getattr(self.optimizer, name)


class ScaledLoss:
    """``loss_fn`` as a step sees it: under autocast, and with fp16 its backward starts from the gradient scaler's
    scaled gradient; ``logits``: the last ones it saw (the epoch loop counts the hits from them)."""

    def __init__(self, loss_fn: Callable, precision: Precision) -> None:
        self.loss_fn, self.precision, self.logits = loss_fn, precision, None

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        self.logits = logits
        with self.precision.autocast():
            loss = self.loss_fn(logits, labels)
        if self.precision.scaler.is_enabled() and loss.requires_grad:
            loss.register_hook(self.precision.scaler.scale)  # backward starts from the scaled gradient
        return loss


class StepHands:
    """The model, optimizer and loss the engine hands the epoch loop and its step."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: Callable,
                 precision: Precision) -> None:
        self.model = Autocast(model, precision)
        self.optimizer = ScaledOptimizer(optimizer, precision.scaler)
        self.loss_fn = ScaledLoss(loss_fn, precision)


class Watched:
    """The model and loader the engine hands an evaluation, as one: iterate it for the batches (``len`` and the
    loader's attributes are the loader's); ``seen(logits, labels)`` gets each batch once, with the first forward
    pass made while it is the current batch."""

    def __init__(self, model: nn.Module, loader: Iterable, precision: Precision,
                 seen: Callable[[torch.Tensor, torch.Tensor], None], tta: bool = False) -> None:
        self._loader, self._seen, self._labels = loader, seen, None
        self.model = Autocast(model, precision, tta, self._forward_done)

    def _forward_done(self, logits: torch.Tensor) -> None:
        if self._labels is not None:
            labels, self._labels = self._labels, None
            self._seen(logits, labels)

    def __iter__(self) -> Iterator:
        for images, labels in self._loader:
            self._labels = labels
            yield images, labels
        self._labels = None

    def __len__(self) -> int:
        return len(self._loader)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)
