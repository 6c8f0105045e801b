"""Mixed precision around a plain epoch loop, training step and evaluation (the engine's own, or lesson 05's).

The engine hands the loop, and through it ``step(model, images, labels, optimizer, loss_fn)``, stand-ins: the
``model`` runs its forward pass under autocast; with fp16 the ``loss_fn``'s backward multiplies the gradient by the
gradient scaler's factor (``loss.backward()`` does what ``scaler.scale(loss).backward()`` does; the loss value stays
unscaled), and ``optimizer.step()`` is ``scaler.step(optimizer); scaler.update()``. With bf16 and fp32 they make
exactly the plain calls. An evaluation's model also hands every batch's logits to the engine, for the test loss.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Optional

import torch
from torch import nn

from ..errors import UsageError, bilingual
from .recipe import Precision


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
