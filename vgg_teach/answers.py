"""Every exercise's reference answer, under the name the exercise gives it, in the order of the lessons.

A check cell ends with ``thing = result.use(learners_thing, answers.thing)``: until the learner's code passes its
check, the lesson goes on with the answer from here, and says so. The library reuses these answers (the layer
tables count with :func:`conv_params`, the engine trains with :func:`train_step` …), so each exists once and the
learner has written every line the library runs for them.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from typing import Callable, Iterable, NamedTuple, Sequence

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from .errors import UsageError, bilingual, josa
from .models import build_model, init_vgg_weights
from .models import make_layers as make_layers  # lesson 01's builder is the library's own


# -- lesson 01 -------------------------------------------------------------------------------------------------------
class MyVGG16(nn.Module):
    """VGG16 (configuration D) written out layer by layer, with torchvision's indices (its weights load strictly)."""

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


# -- lesson 02 -------------------------------------------------------------------------------------------------------
def conv_params(in_channels: int, out_channels: int, kernel_size: int | Sequence[int] = 3,
                bias: bool = True, groups: int = 1) -> int:
    """Parameters of ``nn.Conv2d``: ``(k·k·C_in + 1)·C_out`` (``C_in / groups``; ``+ 1`` only with a bias)."""
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return (kh * kw * (in_channels // groups) + int(bias)) * out_channels


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Parameters of ``nn.Linear``: ``(in + 1)·out`` (``+ 1`` only with a bias)."""
    return (in_features + int(bias)) * out_features


# -- lesson 03 -------------------------------------------------------------------------------------------------------
def receptive_fields(layers: Sequence[Sequence[int]]) -> list[int]:
    """The receptive field after each ``(kernel, stride[, dilation])`` layer: ``rf += (k_eff − 1)·jump``, then
    ``jump *= stride``, with ``k_eff = dilation·(kernel − 1) + 1``."""
    rf, jump, out = 1, 1, []
    for layer in layers:
        kernel, stride = layer[0], layer[1]
        dilation = layer[2] if len(layer) > 2 else 1
        rf += dilation * (kernel - 1) * jump
        jump *= stride
        out.append(rf)
    return out


# -- lesson 04 -------------------------------------------------------------------------------------------------------
def swap_head(model: nn.Module, num_classes: int = 10, freeze_features: bool = True) -> nn.Module:
    """A fresh ``classifier[6] = nn.Linear(4096, num_classes)`` and, with ``freeze_features``, frozen features.

    For VGG16-BN and 10 classes: 134,309,962 parameters, 14,723,136 of them (the features) frozen. Frozen batch
    norms still update their running statistics in ``train()`` mode (``model.features.eval()`` stops that).
    Changes ``model`` in place and returns it.
    """
    old = model.classifier[6]
    model.classifier[6] = nn.Linear(old.in_features, num_classes, device=old.weight.device)
    if freeze_features:
        for p in model.features.parameters():
            p.requires_grad_(False)
    return model


class ParameterCount(NamedTuple):
    total: int
    trainable: int
    frozen: int

    def __str__(self) -> str:
        return f"전체(total) {self.total:,} = 학습(trainable) {self.trainable:,} + 고정(frozen) {self.frozen:,}"


def count_parameters(model: nn.Module) -> ParameterCount:
    """``(total, trainable, frozen)``: the numbers in ``model.parameters()``, split by ``requires_grad``."""
    total = trainable = 0
    for p in model.parameters():
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return ParameterCount(total, trainable, total - trainable)


# -- lesson 05 -------------------------------------------------------------------------------------------------------
def train_step(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
               optimizer: torch.optim.Optimizer, loss_fn: Callable) -> torch.Tensor:
    """One step of training on one batch; returns the loss. The engine's own step."""
    logits = model(images)              # 1. forward: a score per class for every image
    loss = loss_fn(logits, labels)      # 2. loss: one number for the whole batch
    optimizer.zero_grad()               # 3. clear the last step's gradients (backward adds to .grad)
    loss.backward()                     # 4. backward: the gradient of the loss for every parameter
    optimizer.step()                    # 5. update the weights along those gradients
    return loss


def train_one_epoch(model: nn.Module, loader: Iterable, optimizer: torch.optim.Optimizer, scheduler,
                    loss_fn: Callable, step: Callable = train_step) -> dict[str, float]:
    """One pass over ``loader``: ``step`` on every batch, the schedule stepped after each; returns the epoch's mean
    loss and accuracy over its images. The engine's own loop (it hands in mixed precision and a progress bar).

    ``loss_fn.logits`` are the logits the loss last saw: the hits are counted from them, with no second forward pass.
    """
    model.train()                       # dropout on; batch norm uses (and learns) each batch's statistics
    loss_sum = correct = count = 0
    for images, labels in loader:
        loss = step(model, images, labels, optimizer, loss_fn)   # one update of the weights
        scheduler.step()                # the next batch's learning rate: the one-cycle schedule moves every batch
        n = labels.size(0)
        loss_sum += loss.detach() * n   # a batch's mean loss, weighted by its images; detach: no graph kept alive
        correct += (loss_fn.logits.argmax(dim=1) == labels).sum()
        count += n                      # images, not batches: the last batch may be smaller
    # the sums stay tensors (on the GPU) until here: .item() at every step would make the GPU wait
    return {"loss": float(loss_sum) / count, "acc": float(correct) / count}


def evaluate(model: nn.Module, loader: Iterable) -> float:
    """The fraction of ``loader``'s images that ``model`` gets right. The engine's own evaluation.

    Leaves the model in eval mode: the engine puts it back in train mode at the start of every epoch.
    """
    model.eval()                        # dropout off; batch norm uses its running statistics
    correct = total = 0
    with torch.no_grad():               # no graph and no gradients: less memory, faster
        for images, labels in loader:
            preds = model(images).argmax(dim=1)
            correct += (preds == labels).sum().item()
            total += labels.numel()     # images, not batches: the last batch may be smaller
    return correct / total


def confusion_matrix(preds: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``num_classes × num_classes`` counts (int64), row = true class, column = predicted: one ``bincount``."""
    preds = torch.as_tensor(preds).flatten().long().cpu()
    labels = torch.as_tensor(labels).flatten().long().cpu()
    index = labels * num_classes + preds
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


# -- lesson 06 -------------------------------------------------------------------------------------------------------
def linear_to_conv(fc: nn.Linear, in_channels: int, kernel_size: int) -> nn.Conv2d:
    """The ``Conv2d`` that computes ``fc`` on every ``in_channels × k × k`` window, sharing fc's tensors.

    ``torch.flatten`` reads a window channel, row, column, so fc's ``(out, in_channels·k·k)`` weight viewed as
    ``(out, in_channels, k, k)`` is the kernel.
    """
    k = int(kernel_size)
    if fc.in_features != in_channels * k * k:
        raise UsageError(bilingual(
            f"{fc}의 입력 {fc.in_features}개는 {in_channels}×{k}×{k} = {josa(in_channels * k * k, '과')} 다릅니다.",
            f"{fc} takes {fc.in_features} inputs, not {in_channels}×{k}×{k} = {in_channels * k * k}."))
    conv = nn.Conv2d(in_channels, fc.out_features, k, bias=fc.bias is not None, device="meta")
    conv.weight = nn.Parameter(fc.weight.detach().reshape(fc.out_features, in_channels, k, k),
                               requires_grad=fc.weight.requires_grad)
    if fc.bias is not None:
        conv.bias = nn.Parameter(fc.bias.detach(), requires_grad=fc.bias.requires_grad)
    return conv


def to_fully_convolutional(model: nn.Module) -> nn.Sequential:
    """``nn.Sequential(features=model.features, classifier=…)`` with every ``nn.Linear`` of the classifier as a
    convolution holding the same numbers: the first reads a ``C × k × k`` window of the last feature map (7×7 for
    a 224 VGG), the others are 1×1. No average pooling: the output is a class score map ``(N, classes, h, w)``
    for any input of at least 224×224. Every parameter is shared with ``model``; the state_dict keys are its own.
    """
    for name in ("features", "classifier"):
        if not hasattr(model, name):
            raise UsageError(bilingual(f"모델에 {josa(name, '이')} 없습니다: torchvision 구조의 VGG를 넘기세요.",
                                       f"The model has no {name}: pass a VGG with torchvision's layout."))
    convs = [m for m in model.features.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise UsageError(bilingual("features에 합성곱 계층이 없습니다.", "features has no convolution."))
    channels, head, first = convs[-1].out_channels, [], True
    for layer in model.classifier:
        if isinstance(layer, nn.Linear):  # the first reads a C × k × k window of the features, the others 1×1
            k = math.isqrt(layer.in_features // channels) if first else 1
            head.append(linear_to_conv(layer, channels if first else layer.in_features, k))
            first = False
        else:
            head.append(layer)
    return nn.Sequential(OrderedDict(features=model.features, classifier=nn.Sequential(*head)))


def dense_evaluation(fcn: nn.Module, images: torch.Tensor, flip: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's dense evaluation: ``(probs, score_map)``.

    ``score_map`` ``(N, classes, h, w)`` is the fully convolutional net's output; ``probs`` ``(N, classes)`` its
    average over the positions, then softmax. With ``flip`` the mirrored images go through too: their map, flipped
    back to the image's positions, is averaged into ``score_map``, and their softmax into ``probs``.
    """
    score_map = fcn(images)                              # (N, classes, h, w): a score per class at every position
    probs = score_map.mean(dim=(2, 3)).softmax(dim=1)    # average the positions first, then softmax over classes
    if flip:
        mirrored = fcn(images.flip(-1)).flip(-1)         # the mirror's map, turned back to the image's positions
        probs = (probs + mirrored.mean(dim=(2, 3)).softmax(dim=1)) / 2   # the two posteriors averaged
        score_map = (score_map + mirrored) / 2
    return probs, score_map


def predict_score_map() -> tuple[int, int, int]:
    """VGG16's class score map for a 384×384 image: ``(side, stride, receptive field) = (6, 32, 404)``."""
    pool5 = 384 // 32                # five 2×2 poolings: 12×12
    side = pool5 - 7 + 1             # fc6 is a 7×7 convolution without padding: 6×6 scores
    stride = 2 ** 5                  # 32 pixels between neighboring scores
    receptive_field = 212 + (7 - 1) * stride  # pool5 sees 212 pixels; fc6 spans 7 pool5 units: 404
    return side, stride, receptive_field


# -- lesson 07 -------------------------------------------------------------------------------------------------------
def ddp_train(epochs: int = 2, batch_size: int = 16, save_to: str = "ddp_tiny.pt") -> None:
    """Lesson 07's DDP training script, run once in every process by ``torchrun``; ``batch_size`` is the global
    batch, all processes together. Random stand-in images: what it teaches is the plumbing, not the accuracy."""
    torch.manual_seed(0)                                  # the same images and first weights in every process
    data = TensorDataset(torch.randn(64, 3, 32, 32), torch.randint(0, 10, (64,)))
    model = build_model("vgg_tiny_cifar")
    # 1. the process group, from torchrun's environment: NCCL with a GPU for every process, else gloo on the CPU
    local_rank = int(os.environ["LOCAL_RANK"])
    on_gpus = torch.cuda.device_count() >= int(os.environ["LOCAL_WORLD_SIZE"])   # a GPU for every process?
    device = torch.device("cuda", local_rank) if on_gpus else torch.device("cpu")
    if on_gpus:
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if on_gpus else "gloo")
    rank, world_size = dist.get_rank(), dist.get_world_size()
    # 2. each process its own shard, reshuffled every epoch; the global batch shared among the processes
    sampler = DistributedSampler(data, shuffle=True, seed=0)
    loader = DataLoader(data, batch_size=batch_size // world_size, sampler=sampler, drop_last=True)
    # 3. the model on its device first, then wrapped: DDP copies rank 0's weights and averages every gradient
    model = DDP(model.to(device), device_ids=[local_rank] if on_gpus else None)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)                          # another order every epoch, the same in every process
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            loss = nn.functional.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()                               # DDP averages the gradients across the processes here
            optimizer.step()
        if rank == 0:                                     # 4. one process speaks and writes for all
            print(f"epoch {epoch + 1}/{epochs}: loss {loss.item():.3f} ({world_size} processes)")
    if rank == 0:
        torch.save(model.module.state_dict(), save_to)    # the plain model's weights, as one process would save
    dist.destroy_process_group()                          # 5. leave the group cleanly
