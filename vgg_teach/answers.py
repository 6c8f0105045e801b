"""The reference answer of every exercise, under the name the exercise gives it — one predictable place.

A check cell ends with ``thing = result.use(learners_thing, answers.thing)``: while the learner's code does
not pass its check, the lesson goes on with the answer from here, and says so. Where the answer is also
the library's own implementation (``make_layers``, the parameter formulas, ``confusion_matrix``, the training
step and the evaluation that the engine runs) it is
re-exported from where that logic lives, so it exists once.

=========================  =======================================================
exercise                   answer
=========================  =======================================================
``MyVGG16``                :class:`MyVGG16` (VGG16, configuration D, written out)
``make_layers``            :func:`vgg_teach.models.architecture.make_layers`
``conv_params``            :func:`vgg_teach.analysis.params.conv_params`
``linear_params``          :func:`vgg_teach.analysis.params.linear_params`
``receptive_fields``       :func:`receptive_fields`
``swap_head``              :func:`swap_head`
``count_parameters``       :func:`count_parameters`
``confusion_matrix``       :func:`vgg_teach.training.metrics.confusion_matrix`
``train_step``             :func:`vgg_teach.training.step.train_step` (the engine's own step)
``evaluate``               :func:`vgg_teach.training.step.evaluate` (the engine's own evaluation)
``to_fully_convolutional`` :func:`vgg_teach.analysis.dense.to_fully_convolutional`
``predict_score_map``      :func:`predict_score_map`
=========================  =======================================================
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
from torch import nn

from ._lazy import lazy_exports
from .models.architecture import init_vgg_weights

#: Answers that are the library's own code, imported from their home when first asked for.
_ELSEWHERE = {"make_layers": "vgg_teach.models.architecture", "conv_params": "vgg_teach.analysis.params",
              "linear_params": "vgg_teach.analysis.params", "confusion_matrix": "vgg_teach.training.metrics",
              "to_fully_convolutional": "vgg_teach.analysis.dense", "train_step": "vgg_teach.training.step",
              "evaluate": "vgg_teach.training.step"}

__all__ = ["MyVGG16", "receptive_fields", "swap_head", "ParameterCount", "count_parameters", "predict_score_map",
           *_ELSEWHERE]
__getattr__, _dir = lazy_exports(__name__, _ELSEWHERE)


def __dir__() -> list[str]:
    return sorted(__all__)


class MyVGG16(nn.Module):
    """VGG16 (configuration D), written out layer by layer: the answer of the first exercise.

    Every layer is listed by hand, in the order of the paper's Table 1, with the same indices as
    torchvision so that ``torchvision.models.vgg16`` weights load with ``strict=True``. Lessons fall
    back to this class while the learner's own version does not pass ``check_vgg16``.
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            # block 1: 224×224 → 112×112
            nn.Conv2d(3, 64, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(64, 64, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            # block 2: → 56×56
            nn.Conv2d(64, 128, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(128, 128, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            # block 3: → 28×28
            nn.Conv2d(128, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            # block 4: → 14×14
            nn.Conv2d(256, 512, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(512, 512, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(512, 512, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            # block 5: → 7×7
            nn.Conv2d(512, 512, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(512, 512, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(512, 512, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        init_vgg_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def receptive_fields(layers: Sequence[Sequence[int]]) -> list[int]:
    """The receptive field after each layer of ``[(kernel, stride), …]`` or ``[(kernel, stride, dilation), …]``.

    ``rf`` grows by ``(k_eff − 1) · jump`` per layer, with ``k_eff = dilation·(kernel − 1) + 1``, and the
    jump (the distance between neighboring units, in input pixels) multiplies by the stride.
    """
    rf, jump, out = 1, 1, []
    for layer in layers:
        kernel, stride = layer[0], layer[1]
        dilation = layer[2] if len(layer) > 2 else 1
        rf += dilation * (kernel - 1) * jump
        jump *= stride
        out.append(rf)
    return out


class ParameterCount(NamedTuple):
    """Parameter counts: ``total = trainable + frozen``."""

    total: int
    trainable: int
    frozen: int

    def __str__(self) -> str:
        return (f"전체(total) {self.total:,} = 학습(trainable) {self.trainable:,} + "
                f"고정(frozen) {self.frozen:,}")


def count_parameters(model: nn.Module) -> ParameterCount:
    """How many parameters ``model`` has, and how many of them the optimizer may change."""
    total = trainable = 0
    for p in model.parameters():
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return ParameterCount(total, trainable, total - trainable)


def swap_head(model: nn.Module, num_classes: int = 10, freeze_features: bool = True) -> nn.Module:
    """A new last layer for ``num_classes`` classes (the answer of the head-swap exercise).

    ``classifier[6]`` (4096 → 1000 ImageNet classes) becomes a fresh ``nn.Linear(4096, num_classes)``;
    with ``freeze_features`` the convolutional part stops learning (``requires_grad=False``), which is
    the first step of fine-tuning. For VGG16-BN and 10 classes: 134,309,962 parameters, of which
    14,723,136 (the features) are frozen. Note: frozen BatchNorm layers still update their running
    statistics in ``train()`` mode — call ``model.features.eval()`` to keep those fixed as well.
    Changes ``model`` in place and returns it.
    """
    old = model.classifier[6]
    model.classifier[6] = nn.Linear(old.in_features, num_classes, device=old.weight.device)
    if freeze_features:
        for p in model.features.parameters():
            p.requires_grad_(False)
    return model


def predict_score_map() -> tuple[int, int, int]:
    """VGG16's class score map for a 384×384 image: ``(side, stride, receptive field) = (6, 32, 404)``."""
    pool5 = 384 // 32                # five 2×2 poolings: 12×12
    side = pool5 - 7 + 1             # fc6 is a 7×7 convolution without padding: 6×6 scores
    stride = 2 ** 5                  # 32 pixels between neighbouring scores
    receptive_field = 212 + (7 - 1) * stride  # pool5 sees 212 pixels; fc6 spans 7 pool5 units: 404
    return side, stride, receptive_field
