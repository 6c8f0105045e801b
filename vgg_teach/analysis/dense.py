"""VGG at the paper's test time: fully connected layers as convolutions, and dense evaluation at any image size.

Simonyan & Zisserman (arXiv:1409.1556), section 3.2: "the fully-connected layers are first converted to
convolutional layers (the first FC layer to a 7 × 7 conv. layer, the last two FC layers to 1 × 1 conv.
layers). The resulting fully-convolutional net is then applied to the whole (uncropped) image. The result
is a class score map […] Finally, […] the class score map is spatially averaged (sum-pooled)."

- :func:`to_fully_convolutional`: fc6 → ``Conv2d(512, 4096, 7)``, fc7 and fc8 → 1×1 convolutions, with
  the very same numbers (``weight.view(4096, 512, 7, 7)``: ``torch.flatten`` reads pool5 channel by
  channel, row by row) — no new parameter, 138,357,544 for VGG16;
- :func:`score_map_geometry`: the size, stride and receptive field of the class score map for an input
  size, from the receptive-field table of lesson 03 (:mod:`.receptive_field`);
- :func:`head_on_windows` / :func:`crop_scores`: what dense evaluation equals — the original classifier on
  every 7×7 window of pool5 (exact, any network), or the whole network on every crop at stride 32
  (exact only without zero padding, see :class:`TinyValidNet`; VGG's padded convolutions see context
  beyond a crop, the paper's "convolution boundary conditions");
- :func:`dense_predict` (score map → average → softmax, optional flip) and :func:`evaluation_cost_table`
  (FLOPs of dense vs multi-crop evaluation, counted by :func:`.params.count_flops`); :func:`paper_table5`.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import torch
from torch import nn

from ..errors import UsageError, bilingual
from ..show.tables import Table
from .layers import meta_vgg
from .params import count_flops
from .receptive_field import RFTable, input_hw, rf_tables

__all__ = ["linear_to_conv", "to_fully_convolutional", "ScoreMap", "score_map_geometry", "dense_predict",
           "head_on_windows", "crop_scores", "crop_offsets", "TinyValidNet", "evaluation_cost_table",
           "paper_table5", "HEAD_NAMES", "PAPER"]

#: Where the numbers of this lesson come from.
PAPER = ("K. Simonyan & A. Zisserman, \"Very Deep Convolutional Networks for Large-Scale Image Recognition\", "
         "ICLR 2015, arXiv:1409.1556 (v6)")

#: The paper's names of the three fully connected layers (Caffe's VGG16: fc6, fc7, fc8).
HEAD_NAMES = ("fc6", "fc7", "fc8")


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


# ------------------------------------------------------------------------------------ geometry
@dataclass(frozen=True)
class ScoreMap:
    """The class score map of a fully convolutional net for one input size (see :func:`score_map_geometry`).

    ``size``: ``(h, w)`` scores; ``stride``: pixels between neighboring scores; ``receptive_field``: the
    input pixels one score sees (one side); ``start``: ``(y, x)`` of the first score's center in input
    pixels; ``table``: the receptive-field rows, the head's convolutions named fc6, fc7, fc8.
    """

    input_size: tuple[int, int]
    size: tuple[int, int]
    stride: int
    receptive_field: int
    start: tuple[float, float]
    table: RFTable

    def centre(self, i: int, j: int) -> tuple[float, float]:
        """``(y, x)`` of score ``(i, j)``'s center in input pixels."""
        return self.start[0] + i * self.stride, self.start[1] + j * self.stride


def _rename_head(table: RFTable) -> RFTable:
    pools = [i for i, r in enumerate(table) if r.type != "Conv2d"]
    after = list(range(pools[-1] + 1, len(table))) if pools else []
    names = dict(zip(after, (*HEAD_NAMES, *(f"fc{9 + n}" for n in range(len(after))))))
    rows = [replace(r, layer=names[i]) if i in names else r for i, r in enumerate(table)]
    return RFTable(rows, columns=table.columns, title=table.title)


def score_map_geometry(fcn: nn.Module | None = None, input_size: int | Sequence[int] = 384) -> ScoreMap:
    """Size, stride and receptive field of the score map of ``fcn`` (VGG16's by default) for ``input_size``.

    Computed layer by layer with :func:`.receptive_field.receptive_field_table` (no forward pass): for
    VGG16 the map is ``⌊S/32⌋ − 6`` scores a side (384 → 6), 32 pixels apart, each seeing 404×404 pixels.
    """
    fcn = fcn if fcn is not None else to_fully_convolutional(meta_vgg("D"))
    hw = input_hw(input_size)
    rows, cols = (_rename_head(t) for t in rf_tables(fcn, hw))
    last_r, last_c = rows[-1], cols[-1]
    if not (last_r.output_size and last_c.output_size):
        raise UsageError(bilingual(
            f"{hw[0]}×{hw[1]} 입력은 너무 작습니다: 점수 맵이 비어 있습니다 (VGG16은 224×224 이상이어야 합니다).",
            f"A {hw[0]}×{hw[1]} input is too small: the score map is empty (VGG16 needs at least 224×224)."))
    return ScoreMap(hw, (last_r.output_size, last_c.output_size), last_r.jump, last_r.receptive_field,
                    (last_r.start, last_c.start), rows)


# ------------------------------------------------------------------------------ evaluation
@torch.no_grad()
def dense_predict(fcn: nn.Module, images: torch.Tensor, flip: bool = False) -> torch.Tensor:
    """Class probabilities ``(N, classes)``: the score map averaged over its positions, then softmax.

    With ``flip`` the mirrored images go through too and the two softmax outputs are averaged, as the
    paper does at test time. ``fcn`` runs in eval mode (its own mode is restored afterwards).
    """
    from .layers import eval_mode

    with eval_mode(fcn):
        probs = fcn(images).mean(dim=(2, 3)).softmax(dim=1)
        if flip:
            probs = (probs + fcn(images.flip(-1)).mean(dim=(2, 3)).softmax(dim=1)) / 2
    return probs


@torch.no_grad()
def head_on_windows(classifier: nn.Module, features: torch.Tensor, window: int = 7) -> torch.Tensor:
    """The original (fully connected) ``classifier`` applied to every ``window × window`` patch of ``features``.

    ``features`` is a pool5 map ``(N, C, H, W)``; each patch is flattened exactly as ``torch.flatten``
    flattens a 7×7 map, so the result ``(N, classes, H − 6, W − 6)`` is what the converted head computes
    in one pass — one window per 32 input pixels.
    """
    n, c, h, w = features.shape
    patches = features.unfold(2, window, 1).unfold(3, window, 1)            # N, C, h', w', k, k
    hh, ww = patches.shape[2], patches.shape[3]
    flat = patches.permute(0, 2, 3, 1, 4, 5).reshape(n * hh * ww, c * window * window)
    return classifier(flat).view(n, hh, ww, -1).permute(0, 3, 1, 2)


def crop_offsets(size: Sequence[int], crop: int = 224, stride: int = 32) -> list[tuple[int, int]]:
    """Top-left corners ``(y, x)`` of the crops at ``stride`` that fit in an image of ``size = (H, W)``, row by row."""
    h, w = input_hw(size)
    return [(y, x) for y in range(0, h - crop + 1, stride) for x in range(0, w - crop + 1, stride)]


@torch.no_grad()
def crop_scores(model: nn.Module, images: torch.Tensor, offsets: Iterable[tuple[int, int]] | None = None,
                crop: int = 224, stride: int = 32) -> torch.Tensor:
    """``model`` (the original classifier) on ``crop × crop`` crops of ``images``: ``(N, classes, crops)``.

    ``offsets`` are top-left corners (default: every crop at ``stride``, :func:`crop_offsets`, in the order
    of a flattened score map). Each crop is run on its own, padded with zeros at its borders.
    """
    from .layers import eval_mode

    offsets = list(offsets) if offsets is not None else crop_offsets(images.shape[-2:], crop, stride)
    with eval_mode(model):
        scores = [model(images[..., y:y + crop, x:x + crop]) for y, x in offsets]
    return torch.stack(scores, dim=-1)


class TinyValidNet(nn.Module):
    """A VGG in miniature *without padding*: the small case where dense evaluation equals cropping exactly.

    ``features``: 3×3 conv, 3×3 conv, 2×2 max pool, 3×3 conv, 2×2 max pool (all ``padding=0``): a
    20×20 crop becomes ``channels × 3 × 3`` and the total stride is 4. ``classifier``: two linear layers,
    as in VGG's head. With ``padding=1`` (``valid=False``) the convolutions pad every crop with zeros
    and the equality breaks, as in VGG itself.
    """

    crop, stride = 20, 4

    def __init__(self, channels: int = 8, hidden: int = 16, num_classes: int = 5, valid: bool = True) -> None:
        super().__init__()
        pad = 0 if valid else 1
        c = channels
        self.features = nn.Sequential(
            nn.Conv2d(3, c, 3, padding=pad), nn.ReLU(), nn.Conv2d(c, c, 3, padding=pad), nn.ReLU(),
            nn.MaxPool2d(2), nn.Conv2d(c, c, 3, padding=pad), nn.ReLU(), nn.MaxPool2d(2))
        side = 3 if valid else 5
        self.classifier = nn.Sequential(nn.Linear(c * side * side, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


# ------------------------------------------------------------------------------------- cost
def evaluation_cost_table(sizes: Sequence[int] = (256, 384, 512), crop: int = 224, stride: int = 32) -> Table:
    """FLOPs of dense evaluation vs running VGG16 on every crop that one score stands for (square images).

    Dense: one pass of the fully convolutional VGG16 over the ``S × S`` image. Crops: ``crop × crop``
    crops at ``stride`` — as many as the score map has scores — each a full pass at 224. Counted by
    :func:`.params.count_flops` on the ``meta`` device (2 FLOPs per multiply-add, batch 1).
    """
    vgg = meta_vgg("D")
    fcn = to_fully_convolutional(vgg)
    per_crop = count_flops(vgg, crop)
    rows = []
    for s in sizes:
        n = len(crop_offsets((s, s), crop, stride))
        dense = count_flops(fcn, s)
        rows.append((s, n, dense, n * per_crop))
    return Table(rows, columns=[
        ("크기 / Size", lambda r: f"{r[0]}×{r[0]}", False),
        ("점수 / Scores", lambda r: f"{r[1]} = {math.isqrt(r[1])}×{math.isqrt(r[1])}", True),
        ("조밀 / Dense (GFLOP)", lambda r: f"{r[2] / 1e9:.1f}", True),
        ("잘라서 / Crops (GFLOP)", lambda r: f"{r[3] / 1e9:.1f}", True),
        ("배 / Ratio", lambda r: f"{r[3] / r[2]:.1f}×", True),
    ], title=f"조밀한 평가 대 잘라 보기 / Dense vs crop-by-crop — VGG16, {crop}×{crop} 잘라 보기 한 번 / one crop "
             f"= {per_crop / 1e9:.1f} GFLOP",
        notes=[f"잘라 보기: {stride}픽셀 간격, 점수 하나에 잘라 보기 하나 / crops {stride} px apart, one per score; "
               "FlopCounterMode, 곱셈-덧셈 하나 = 2 FLOP / one multiply-add = 2 FLOPs."])


#: Table 5 of the paper: (configuration, evaluation method, top-1 val. error %, top-5 val. error %).
TABLE5 = (("D", "dense", 24.8, 7.5), ("D", "multi-crop", 24.6, 7.5), ("D", "multi-crop & dense", 24.4, 7.2),
          ("E", "dense", 24.8, 7.5), ("E", "multi-crop", 24.6, 7.4), ("E", "multi-crop & dense", 24.4, 7.1))


def paper_table5() -> Table:
    """Table 5 of the paper ("ConvNet evaluation techniques comparison"), with its caption and source."""
    return Table(TABLE5, columns=[
        ("구성 / Config", lambda r: r[0], False),
        ("평가 방법 / Evaluation", lambda r: r[1], False),
        ("top-1 오류 / error (%)", lambda r: f"{r[2]:.1f}", True),
        ("top-5 오류 / error (%)", lambda r: f"{r[3]:.1f}", True),
    ], title="논문의 표 5: 평가 방법 비교 / The paper's Table 5: evaluation techniques (ILSVRC-2012 val.)",
        notes=["학습 크기 S는 [256, 512]에서 뽑았고, 시험 크기 Q는 {256, 384, 512} 세 가지입니다. / "
               "In all experiments the training scale S was sampled from [256; 512], and three test scales Q "
               "were considered: {256, 384, 512}.",
               "multi-crop: 크기마다 50개(5×5 격자 × 좌우 뒤집기 2), 모두 150개 / 50 crops per scale "
               "(5 × 5 grid, 2 flips), 150 in all.",
               f"출처 / Source: {PAPER}, Table 5 and section 3.2."])

