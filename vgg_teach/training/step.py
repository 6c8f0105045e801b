"""One training step and one evaluation in plain PyTorch: the engine's own, and lesson 05's two exercises.

:func:`train_step` (forward, loss, zero_grad, backward, update) is what :func:`.engine.train_one_epoch` runs
for every batch, and :func:`evaluate` (accuracy in eval mode, without gradients) what :func:`.engine.evaluate`
runs after every epoch. Lesson 05 has the learner write both; once their versions pass their checks
(:mod:`vgg_teach.checks.train_step`), ``fit(..., step=theirs, evaluate=theirs)`` runs them instead of these.

Neither function knows about mixed precision, and the learner's need not either: the engine hands them
stand-ins that add it (:class:`StepHands` for the step, :class:`Watched` for the evaluation):

- ``model`` — the model itself (``train()``, ``eval()``, ``parameters()`` reach it), its forward pass run under
  ``precision.autocast()`` (bf16 or fp16 on a GPU). Only the forward pass: backward and the update run outside
  autocast, as PyTorch recommends;
- ``loss_fn`` — the engine's loss, also under autocast (cross-entropy runs in fp32 there anyway). With fp16 (a
  T4) its backward multiplies the gradient by the gradient scaler's factor, so ``loss.backward()`` does what
  ``scaler.scale(loss).backward()`` does; the loss *value* is not scaled, so it can be logged as it is;
- ``optimizer`` — ``zero_grad()`` as it is; ``step()`` is ``scaler.step(optimizer); scaler.update()``: the
  gradients are divided by the factor again before the update, and a step whose gradients overflowed (inf/NaN)
  is skipped while the factor is halved.

With bf16 and fp32 the scaler is off: the three stand-ins make exactly the plain calls. The evaluation's model
also hands every batch's logits to the engine, which computes the test loss from the same forward passes.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Optional

import torch
from torch import nn

from ..errors import UsageError, bilingual
from .recipe import Precision


# ---- from vgg_teach.training.step (phase-1 merge)
class Autocast(nn.Module):
    """``model`` with its forward pass under ``precision.autocast()``; train/eval mode and parameters are its own.

    ``tta=True`` averages the logits of each image and its mirror image; ``seen(logits)``, if given, gets every
    forward pass's output.
    """

    def __init__(self, model: nn.Module, precision: Precision, tta: bool = False,
                 seen: Optional[Callable[[torch.Tensor], None]] = None) -> None:
        super().__init__()
        self.model = model
        self.precision, self.tta, self.seen = precision, tta, seen
        self.training = model.training

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        with self.precision.autocast():
            logits = self.model(images)
            if self.tta:
                logits = (logits + self.model(images.flip(3))) / 2
        if self.seen is not None:
            self.seen(logits)
        return logits


class _ScaleGradient(torch.autograd.Function):
    """The identity going forward; going backward, the gradient times the gradient scaler's factor."""

    @staticmethod
    def forward(ctx, loss: torch.Tensor, scaler) -> torch.Tensor:  # noqa: ANN001 - autograd's signature
        ctx.scaler = scaler
        return loss.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # noqa: ANN001
        return ctx.scaler.scale(grad), None


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


class StepHands:
    """The model, optimizer and loss that the engine hands a training step, with mixed precision added.

    ``logits`` holds the last logits the loss saw (the engine counts the right answers from them).
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: Callable,
                 precision: Precision) -> None:
        self.model = Autocast(model, precision)
        self.optimizer = ScaledOptimizer(optimizer, precision.scaler)
        self.logits: Optional[torch.Tensor] = None
        self._loss_fn, self._precision = loss_fn, precision

    def loss_fn(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        self.logits = logits
        with self._precision.autocast():
            loss = self._loss_fn(logits, labels)
        scaler = self._precision.scaler
        return _ScaleGradient.apply(loss, scaler) if scaler.is_enabled() and loss.requires_grad else loss


class Watched:
    """The model and loader that the engine hands an evaluation: ``seen(logits, labels)`` gets every batch.

    Each batch is reported once, with the first forward pass made while it is the current batch.
    """

    def __init__(self, model: nn.Module, loader: Iterable, precision: Precision,
                 seen: Callable[[torch.Tensor, torch.Tensor], None], tta: bool = False) -> None:
        self.model = Autocast(model, precision, tta, self._forward_done)
        self.loader = _Batches(loader, self)
        self.labels: Optional[torch.Tensor] = None
        self._seen = seen

    def _forward_done(self, logits: torch.Tensor) -> None:
        if self.labels is not None:
            labels, self.labels = self.labels, None
            self._seen(logits, labels)


class _Batches:
    """``loader``, noting the labels of the batch being handed out (``len`` and attributes are the loader's)."""

    def __init__(self, loader: Iterable, watch: Watched) -> None:
        self._loader, self._watch = loader, watch

    def __iter__(self) -> Iterator:
        for images, labels in self._loader:
            self._watch.labels = labels
            yield images, labels
        self._watch.labels = None

    def __len__(self) -> int:
        return len(self._loader)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)
