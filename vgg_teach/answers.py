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

import math
from collections import OrderedDict
from typing import Callable, Iterable, NamedTuple, Sequence

import torch
from torch import nn

from .errors import UsageError, bilingual
from .models import init_vgg_weights
from .models import make_layers as make_layers  # the builder of lesson 01 is the library's own


# ---- from vgg_teach.answers (phase-1 merge)
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


# ---- from vgg_teach.analysis.params (phase-1 merge)
# --------------------------------------------------------------------------------------- formulas

def conv_params(in_channels: int, out_channels: int, kernel_size: int | Sequence[int] = 3,
                bias: bool = True, groups: int = 1) -> int:
    """Parameters of ``nn.Conv2d``: ``(kh·kw·C_in/groups + 1)·C_out`` (``+ 1`` only with a bias)."""
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return (kh * kw * (in_channels // groups) + int(bias)) * out_channels


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Parameters of ``nn.Linear``: ``(in + 1)·out`` (``+ 1`` only with a bias)."""
    return (in_features + int(bias)) * out_features


# ---- from vgg_teach.analysis.dense (phase-1 merge)
def linear_to_conv(fc: nn.Linear, in_channels: int, kernel_size: int) -> nn.Conv2d:
    """The ``Conv2d`` that computes what ``fc`` computes on every ``in_channels × k × k`` window — with fc's numbers.

    ``fc`` reads a window flattened by ``torch.flatten`` (channel, then row, then column), so its weight
    ``(out, in_channels·k·k)`` viewed as ``(out, in_channels, k, k)`` is the convolution's kernel. The
    new layer *shares* fc's tensors (no copy, no new parameter); ``padding=0``, ``stride=1``.
    """
    k = int(kernel_size)
    if fc.in_features != in_channels * k * k:
        raise UsageError(bilingual(
            f"{fc}의 입력 {fc.in_features}개는 {in_channels}×{k}×{k} = {in_channels * k * k}와 다릅니다.",
            f"{fc} takes {fc.in_features} inputs, not {in_channels}×{k}×{k} = {in_channels * k * k}."))
    conv = nn.Conv2d(in_channels, fc.out_features, k, bias=fc.bias is not None, device="meta")
    conv.weight = nn.Parameter(fc.weight.detach().reshape(fc.out_features, in_channels, k, k),
                               requires_grad=fc.weight.requires_grad)
    if fc.bias is not None:
        conv.bias = nn.Parameter(fc.bias.detach(), requires_grad=fc.bias.requires_grad)
    return conv


def _last_conv_channels(features: nn.Module) -> int:
    convs = [m for m in features.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise UsageError(bilingual("features에 합성곱 계층이 없습니다.", "features has no convolution."))
    return convs[-1].out_channels


def to_fully_convolutional(model: nn.Module) -> nn.Sequential:
    """The fully convolutional form of a VGG (torchvision layout: ``features``, ``avgpool``, ``classifier``).

    Returns ``nn.Sequential(features=model.features, classifier=…)`` where every ``nn.Linear`` of the
    classifier became a convolution with the same numbers (:func:`linear_to_conv`): the first one reads
    a ``C × k × k`` window of the last feature map (``k = 7`` for a 224 VGG, ``C = 512``), the others are
    1×1. ReLU and dropout stay as they are; the adaptive average pooling is left out, so the output is a
    class score map ``(N, classes, h, w)`` for any input of at least 224×224. The state_dict keys are the
    model's own (``classifier.0.weight`` …). The new model *shares* every parameter with ``model``.
    """
    for name in ("features", "classifier"):
        if not hasattr(model, name):
            raise UsageError(bilingual(f"모델에 {name}이(가) 없습니다: torchvision 구조의 VGG를 넘기세요.",
                                       f"The model has no {name}: pass a VGG with torchvision's layout."))
    channels = _last_conv_channels(model.features)
    head: list[nn.Module] = []
    first = True
    for layer in model.classifier:
        if isinstance(layer, nn.Linear):
            k = math.isqrt(layer.in_features // channels) if first else 1
            head.append(linear_to_conv(layer, channels if first else layer.in_features, k))
            first = False
        else:
            head.append(layer)
    return nn.Sequential(OrderedDict(features=model.features, classifier=nn.Sequential(*head)))


# ---- from vgg_teach.training.step (phase-1 merge)
def train_step(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
               optimizer: torch.optim.Optimizer, loss_fn: Callable) -> torch.Tensor:
    """One step of training on one batch; returns the loss. The engine's own step, and lesson 05's answer."""
    logits = model(images)              # 1. forward: a score per class for every image
    loss = loss_fn(logits, labels)      # 2. loss: one number for the whole batch
    optimizer.zero_grad()               # 3. clear the last step's gradients (backward adds to .grad)
    loss.backward()                     # 4. backward: the gradient of the loss for every parameter
    optimizer.step()                    # 5. update the weights along those gradients
    return loss


def evaluate(model: nn.Module, loader: Iterable) -> float:
    """The fraction of images in ``loader`` that ``model`` classifies right. The engine's, and lesson 05's answer.

    Leaves the model in eval mode: putting it back in train mode is the engine's job
    (:func:`.engine.train_one_epoch` calls ``model.train()`` at the start of every epoch).
    """
    model.eval()                        # dropout off; batch norm uses its running statistics
    correct = total = 0
    with torch.no_grad():               # no graph and no gradients: less memory, faster
        for images, labels in loader:
            preds = model(images).argmax(dim=1)
            correct += (preds == labels).sum().item()
            total += labels.numel()     # images, not batches: the last batch may be smaller
    return correct / total


# ---- from vgg_teach.training.metrics (phase-1 merge)
def confusion_matrix(preds: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``num_classes × num_classes`` counts: row = true class, column = predicted class (int64).

    One ``bincount`` over ``true · C + predicted`` (the reference answer of the confusion-matrix exercise).
    """
    preds = torch.as_tensor(preds).flatten().long().cpu()
    labels = torch.as_tensor(labels).flatten().long().cpu()
    index = labels * num_classes + preds
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)
