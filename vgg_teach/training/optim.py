"""The optimizer and the learning-rate schedule of the recipe: SGD with Nesterov momentum, one-cycle or cosine."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import UsageError, bilingual
from .config import TrainConfig

__all__ = ["make_optimizer", "lr_factor", "make_scheduler"]


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
