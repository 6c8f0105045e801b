"""Diagnose before judging: well-known VGG16 variants, and a failed forward pass explained with arithmetic.

:func:`recognise` looks at a recorded forward pass (:class:`~vgg_teach.checks.trace.Recording`) for
the variants a learner most often brings from elsewhere, and says so first and once:

- VGG16-BN (batch norm after the convolutions): the exercise is the paper's VGG16, without it;
- the 32×32 CIFAR head (fc6 taking 512·1·1, 512·2·2 or 512·4·4 inputs, or 512 hidden units);
- a grayscale first layer (``Conv2d(1, 64, …)``) when the images are RGB;
- fc6/fc7 written as convolutions (timm's ``ConvMlp``, the paper's dense evaluation): the same
  computation as the linear layers at 224×224, so it passes, with a note.

:func:`explain_crash` turns the op that raised into a sentence with the numbers that explain it:
what fc6 expects at 224×224 and what the features give, which channels a convolution expects and
gets, why ``MaxPool2d(3)`` runs out of image (kernel 3 also means stride 3) …
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .feedback import CheckResult
from .trace import OpEvent, Recording, conv_geometry, pool_geometry
from .vgg16_structure import fc_shape, split

__all__ = ["Variants", "recognise", "explain_crash", "features_arithmetic"]

_CIFAR_SIDES = (1, 2, 4)  # 32×32 halved five, four or three times


@dataclass
class Variants:
    batch_norm: bool = False
    cifar: bool = False
    grayscale: bool = False
    fc_as_conv: bool = False


def _side(n: int, channels: int = 512) -> int | None:
    """``s`` when ``n`` = ``channels``·s·s, else ``None``."""
    if n % channels:
        return None
    s = math.isqrt(n // channels)
    return s if s * s * channels == n else None


def features_arithmetic(n: int, channels: int = 512) -> str:
    """``25088`` → ``"512·7·7 = 25,088"``; a number that is not 512·s·s stays ``"12,345"``."""
    s = _side(n, channels)
    return f"{channels}·{s}·{s} = {n:,}" if s else f"{n:,}"


def _first_fc(rec: Recording) -> tuple[OpEvent | None, tuple[int, int] | None]:
    """fc6 and its (in, out): from the events, or from the failed op when fc6 itself raised."""
    _, classifier = split(rec.events, drop_batch_norm=True)
    if classifier:
        return classifier[0], fc_shape(classifier[0])
    f = rec.failed
    if f is not None and f.name == "linear" and isinstance(f.arg("weight"), torch.Tensor):
        w = f.arg("weight")
        return f, (int(w.shape[1]), int(w.shape[0]))
    return None, None


def recognise(result: CheckResult, rec: Recording) -> Variants:
    """Add one line per variant found (before any other line of the check) and say which were found."""
    v = Variants()
    features, classifier = split(rec.events, drop_batch_norm=False)
    bns = [e for e in features if e.name == "batch_norm"]
    if bns:
        v.batch_norm = True
        result.fail(f"이것은 VGG16-BN입니다: 합성곱 뒤에 배치 정규화(batch normalization)가 {len(bns)}개 있습니다 "
                    f"(첫 번째: {bns[0].module}). 이 연습은 배치 정규화가 없는 논문의 VGG16입니다.",
                    f"This is VGG16-BN: {len(bns)} batch norm layers follow the convolutions (the first: "
                    f"{bns[0].module}). The exercise is the paper's VGG16, without batch norm.",
                    "nn.BatchNorm2d를 모두 빼세요. 아래 검사는 배치 정규화를 빼고 본 나머지 구조입니다.",
                    "Remove every nn.BatchNorm2d. The lines below judge the rest of the structure, batch norm aside.")
    f = rec.failed
    if f is not None and f.name == "conv2d" and not any(e.name == "conv2d" for e in rec.events):
        g = conv_geometry(f)
        if g["in"] == 1 and f.in_shape and len(f.in_shape) == 4 and f.in_shape[1] == 3:
            v.grayscale = True
            result.fail(f"conv1_1({f.module})이 입력 채널 1개(흑백 이미지)로 만들어졌습니다. 이 연습의 이미지는 "
                        "RGB, 채널 3개입니다.",
                        f"conv1_1 ({f.module}) is built for 1 input channel (grayscale images); the exercise's "
                        "images are RGB, with 3 channels.",
                        f"nn.Conv2d(3, {g['out']}, kernel_size=3, padding=1)",
                        f"nn.Conv2d(3, {g['out']}, kernel_size=3, padding=1)")
    fc6, shape = _first_fc(rec)
    if shape is not None and (_side(shape[0]) in _CIFAR_SIDES or shape[1] == 512):
        v.cifar = True
        n_in = features_arithmetic(shape[0])
        result.fail(f"이것은 32×32 CIFAR용 머리(head)입니다: fc6({fc6.module})이 입력 {n_in}개를 받아 "
                    f"{shape[1]}개를 냅니다. 이 연습은 224×224 ImageNet 이미지의 VGG16이라, 특징 추출부가 "
                    "512·7·7로 끝나고 fc6에는 512·7·7 = 25,088개의 입력이 필요합니다.",
                    f"This is the 32×32 CIFAR head: fc6 ({fc6.module}) takes {n_in} inputs and gives {shape[1]}. "
                    "The exercise is VGG16 for 224×224 ImageNet images, whose features end at 512·7·7, so fc6 "
                    "needs 512·7·7 = 25,088 inputs.",
                    "nn.Linear(512 * 7 * 7, 4096) → nn.Linear(4096, 4096) → nn.Linear(4096, num_classes)",
                    "nn.Linear(512 * 7 * 7, 4096) → nn.Linear(4096, 4096) → nn.Linear(4096, num_classes)")
    convs = [e for e in classifier if e.name == "conv2d" and fc_shape(e) is not None]
    if convs:
        v.fc_as_conv = True
        names = ", ".join(e.module for e in convs)
        result.note(f"완전 연결 계층을 합성곱으로 썼습니다({names}): 7×7×512 특징 위의 7×7 합성곱은 "
                    "Linear(25088, 4096)과, 1×1 위의 1×1 합성곱은 Linear(4096, 4096)과 같은 계산입니다 "
                    "(출력 하나하나가 입력 전부를 봅니다). 그래서 같은 것으로 보고 검사합니다 — 논문의 조밀한 "
                    "평가(dense evaluation) 형태이고, 레슨 06에서 이 변환을 다룹니다.",
                    f"The fully connected layers are written as convolutions ({names}): a 7×7 convolution over the "
                    "7×7×512 features computes Linear(25088, 4096), a 1×1 convolution over 1×1 computes "
                    "Linear(4096, 4096) (every output sees every input). They are checked as those linear layers: "
                    "this is the paper's dense-evaluation form, and lesson 06 shows the conversion.")
    return v


def _position(events: list[OpEvent]) -> tuple[int, int]:
    """(block, conv index) of the next conv after ``events``: 5 pools and 2 convs seen → (6, 3)."""
    block, index = 1, 0
    for e in events:
        if e.name in ("max_pool2d", "avg_pool2d"):
            block, index = block + 1, 0
        elif e.name == "conv2d":
            index += 1
    return block, index


def _last_4d(events: list[OpEvent]) -> tuple[int, ...] | None:
    for e in reversed(events):
        if e.out_shape and len(e.out_shape) == 4:
            return e.out_shape
    return None


def explain_crash(rec: Recording) -> tuple[str, str, str, str] | None:
    """(ko, en, hint_ko, hint_en) explaining why the op in ``rec.failed`` could not run; ``None`` if unknown."""
    f, events = rec.failed, rec.events
    if f is None:
        return None
    if f.name == "linear" and isinstance(f.arg("weight"), torch.Tensor) and f.in_shape:
        w_in = int(f.arg("weight").shape[1])
        n_fc = sum(fc_shape(e) is not None for e in events)
        name = f"fc{6 + n_fc} ({f.module})"
        if len(f.in_shape) > 2 and math.prod(f.in_shape[1:]) == w_in:
            return (f"{name}에 {f.in_shape} 모양의 4차원 텐서가 그대로 들어갑니다: 펼치지(flatten) 않았습니다.",
                    f"{name} receives a 4-D tensor of shape {f.in_shape}: it was not flattened.",
                    "완전 연결 계층 앞에서 x = torch.flatten(x, 1) (또는 nn.Flatten())로 이미지마다 한 줄로 펴세요.",
                    "Flatten before the linear layers: x = torch.flatten(x, 1) (or nn.Flatten()).")
        n_in = int(f.in_shape[-1]) if len(f.in_shape) == 2 else math.prod(f.in_shape[1:])
        if n_fc == 0:
            shape = _last_4d(events)
            have = (f"{shape[1]}·{shape[2]}·{shape[3]} = {n_in:,}" if shape and math.prod(shape[1:]) == n_in
                    else f"{n_in:,}")
            s = _side(w_in)
            why_ko = f" ({32 * s}×{32 * s} 이미지라면 특징이 {features_arithmetic(w_in)}개입니다)" if s else ""
            why_en = f" ({features_arithmetic(w_in)} is what a {32 * s}×{32 * s} image gives)" if s else ""
            return (f"{name}은 입력 {features_arithmetic(w_in)}개를 받도록 만들어졌는데, 224×224 이미지에서 특징 "
                    f"추출부는 {have}개를 내놓습니다{why_ko}.",
                    f"{name} is built for {features_arithmetic(w_in)} inputs, but at 224×224 the features give "
                    f"{have}{why_en}.",
                    "224를 다섯 번 반으로 줄이면 7이므로 fc6에는 512·7·7 = 25,088개의 입력이 필요합니다: "
                    "nn.Linear(512 * 7 * 7, 4096).",
                    "224 halved five times is 7, so fc6 needs 512·7·7 = 25,088 inputs: nn.Linear(512 * 7 * 7, 4096).")
        return (f"{name}은 입력 {w_in:,}개를 받도록 만들어졌는데, 앞 계층 fc{5 + n_fc}은 {n_in:,}개를 냅니다.",
                f"{name} is built for {w_in:,} inputs, but the layer before it, fc{5 + n_fc}, gives {n_in:,}.",
                "각 계층의 in_features는 앞 계층의 out_features와 같아야 합니다: 4096 → 4096.",
                "Each layer's in_features must be the previous layer's out_features: 4096 → 4096.")
    if f.name == "conv2d" and f.in_shape and len(f.in_shape) == 4 and isinstance(f.arg("weight"), torch.Tensor):
        g = conv_geometry(f)
        block, index = _position(events)
        name = f"conv{block}_{index + 1} ({f.module})"
        if g["in"] != f.in_shape[1]:
            if (block, index) == (1, 0) and g["in"] == 1:
                return (f"{name}: 흑백용 첫 계층에 RGB 이미지(채널 3개)가 들어갑니다.",
                        f"{name}: a first layer for grayscale gets RGB images (3 channels).", "", "")
            return (f"{name}은 입력 채널 {g['in']}개를 기대하는데, 앞 계층은 {f.in_shape[1]}개를 냅니다.",
                    f"{name} expects {g['in']} input channels, but the layer before gives {f.in_shape[1]}.",
                    f"합성곱의 입력 채널은 앞 합성곱의 출력 채널과 같아야 합니다: nn.Conv2d({f.in_shape[1]}, "
                    f"{g['out']}, kernel_size=3, padding=1).",
                    f"A conv's in_channels must be the previous conv's out_channels: nn.Conv2d({f.in_shape[1]}, "
                    f"{g['out']}, kernel_size=3, padding=1).")
    if f.name in ("max_pool2d", "avg_pool2d") and f.in_shape and len(f.in_shape) == 4:
        g = pool_geometry(f)
        block, _ = _position(events)
        sizes = [224] + [int(e.out_shape[-1]) for e in events if e.name in ("max_pool2d", "avg_pool2d") and e.out_shape]
        if sizes[-1] != f.in_shape[-1]:
            sizes.append(int(f.in_shape[-1]))
        path = " → ".join(str(s) for s in sizes)
        k = g["kernel"][0]
        same_ko = (f" MaxPool2d({k})는 커널 {k}, 보폭 {k}입니다: 보폭을 주지 않으면 커널 크기와 같아집니다."
                   if g["stride"] == g["kernel"] and k != 2 else "")
        same_en = (f" MaxPool2d({k}) means kernel {k} and stride {k}: the stride defaults to the kernel size."
                   if g["stride"] == g["kernel"] and k != 2 else "")
        return (f"pool{block} ({f.module}): {k}×{k} 창이 {f.in_shape[-2]}×{f.in_shape[-1]} 입력에 들어가지 않습니다. "
                f"풀링을 지날 때마다 공간 크기: {path}.{same_ko}",
                f"pool{block} ({f.module}): its {k}×{k} window does not fit into the {f.in_shape[-2]}×"
                f"{f.in_shape[-1]} input. The spatial size after each pooling: {path}.{same_en}",
                "nn.MaxPool2d(2, 2)는 크기를 반으로 줄입니다: 224 → 112 → 56 → 28 → 14 → 7.",
                "nn.MaxPool2d(2, 2) halves the size: 224 → 112 → 56 → 28 → 14 → 7.")
    if f.name in ("view", "reshape") and f.in_shape:
        per_image = math.prod(f.in_shape[1:])
        return (f"{f.module}에서 {f.in_shape} 모양(이미지마다 숫자 {per_image:,}개)을 다른 모양으로 바꾸려다 "
                "실패했습니다: 숫자 개수가 맞지 않습니다.",
                f"{f.module} reshapes a tensor of shape {f.in_shape} ({per_image:,} numbers per image) into a shape "
                "those numbers do not fill.",
                "torch.flatten(x, 1) (또는 x.view(x.size(0), -1))은 크기를 직접 쓰지 않아도 됩니다.",
                "torch.flatten(x, 1) (or x.view(x.size(0), -1)) needs no size written by hand.")
    return None
