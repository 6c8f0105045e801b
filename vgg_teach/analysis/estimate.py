"""How long a training plan takes, estimated from FLOP counts and an assumed GPU speed (not a measurement).

A training step costs about 3 forward passes (the backward pass about 2); layers that are frozen run
forward only. One epoch trains on ``n_train`` images and tests on ``n_test``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch
from torch import nn

from ..show.tables import Table
from .params import count_flops

__all__ = ["PlanRow", "estimate_plan", "experiment_flops"]


@dataclass(frozen=True)
class PlanRow:
    """One experiment of a plan: FLOPs per image, per epoch, and the estimated minutes."""

    name: str
    epochs: int
    train_flops: int     #: per training image (forward + backward + update)
    test_flops: int      #: per test image (forward)
    epoch_flops: float   #: one epoch: n_train training images + n_test test images
    minutes: float


def _pretrained_vgg16_bn_meta(num_classes: int = 10) -> nn.Module:
    """torchvision's VGG16-BN with a new ``num_classes`` head, on the ``meta`` device (no weights, no memory)."""
    import torchvision

    from ..answers import swap_head

    with torch.device("meta"):
        return swap_head(torchvision.models.vgg16_bn(), num_classes=num_classes)


def experiment_flops(input_size: int = 32, num_classes: int = 10) -> dict[str, tuple[int, int]]:
    """``{experiment: (train FLOPs, test FLOPs)}`` per image for the training lesson's three experiments.

    ``scratch``: the CIFAR VGG16-BN trained whole; ``head``: the pretrained VGG16-BN with frozen features
    (they run forward only); ``finetune``: the pretrained VGG16-BN trained whole.
    """
    from ..models import build_model

    with torch.device("meta"):
        scratch = count_flops(build_model("vgg16_bn_cifar", num_classes), 32)
    pretrained = _pretrained_vgg16_bn_meta(num_classes)
    whole, features = count_flops(pretrained, input_size), count_flops(pretrained.features, input_size)
    return {"scratch": (3 * scratch, scratch),
            "head": (features + 3 * (whole - features), whole),
            "finetune": (3 * whole, whole)}


def estimate_plan(plan: Mapping[str, int], tflops: float = 10.0, n_train: int = 50_000, n_test: int = 10_000,
                  input_size: int = 32) -> Table:
    """A :class:`~vgg_teach.show.tables.Table` of :class:`PlanRow`: ``plan`` maps an experiment to its epochs.

    ``tflops`` is the sustained speed assumed for the GPU (10 for a T4 in mixed precision, about 15 % of
    its 65 TFLOPS fp16 peak). The footer is the total; everything is an estimate, as the title says.
    """
    flops = experiment_flops(input_size)
    rows = []
    for name, epochs in plan.items():
        train, test = flops[name]
        per_epoch = n_train * train + n_test * test
        rows.append(PlanRow(name, int(epochs), train, test, per_epoch, epochs * per_epoch / (tflops * 1e12) / 60))
    total = sum(r.minutes for r in rows)
    return Table(rows, columns=[
        ("실험 / Experiment", lambda r: r.name, False),
        ("학습 GFLOP/장 / train GFLOP per image", lambda r: f"{r.train_flops / 1e9:.2f}", True),
        ("에포크당 TFLOP / per epoch", lambda r: f"{r.epoch_flops / 1e12:.1f}", True),
        ("에포크 / Epochs", lambda r: str(r.epochs), True),
        ("예상 분 / est. minutes", lambda r: f"{r.minutes:.1f}", True),
    ], title=f"예상 학습 시간 (추정, {tflops:g} TFLOPS 가정) / Estimated training time (assuming {tflops:g} TFLOPS)",
        footer=["합계 / total", "", "", "", f"{total:.1f}"],
        notes=[f"학습 이미지 {n_train:,}장 + 시험 이미지 {n_test:,}장 / {n_train:,} training + {n_test:,} test images "
               f"per epoch; 입력 / input {input_size}×{input_size}. 측정값이 아닙니다 / not a measurement."])
