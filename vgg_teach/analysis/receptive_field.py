"""Receptive fields computed layer by layer: the receptive-field table.

Walking the convolutions and poolings in order, with ``k_eff = dilation·(k − 1) + 1``::

    rf    += (k_eff − 1) · jump         # receptive field: input pixels one unit sees
    start += ((k_eff − 1)/2 − padding) · jump   # center of the first unit's field, input coordinates
    jump  *= stride                     # distance in input pixels between neighboring units

VGG16 gives 3, 5, 6, 10, 14, 16, 24, 32, 40, 44, 60, 76, 92, 100, 132, 164, 196, 212.
Measuring the same fields with autograd is :mod:`.rf_measure`; drawing them, :mod:`vgg_teach.show.rf_plots`.

The layers are walked in the order a forward pass runs them, along a single path (a network with
shortcuts, such as ResNet, is refused with a clear message rather than walked as if in series); the
walk stops at the first layer that sees the whole image (``Linear``, ``Flatten``, adaptive pooling).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence, Union

import torch
from torch import nn

from ..errors import UsageError
from ..models import vgg16
from ..show.tables import Table
from .layers import forward_path, layer_names, leaf_layers, pair

__all__ = [
    "RFLayer", "RFTable", "receptive_field_table", "VGG16_RECEPTIVE_FIELDS", "LayerRef", "walk", "geometry",
    "Geometry", "RF_TYPES", "vgg16_features", "rf_tables", "centre_box", "clip_box", "input_hw",
]

#: The analytic receptive fields of VGG16's 18 conv/pool layers, conv1_1 … pool5.
VGG16_RECEPTIVE_FIELDS = (3, 5, 6, 10, 14, 16, 24, 32, 40, 44, 60, 76, 92, 100, 132, 164, 196, 212)

RF_TYPES = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
_GLOBAL_TYPES = (nn.Linear, nn.Flatten, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
# Position-wise layers: every activation module (except those that can mix positions), batch norm
# (in eval mode), dropout, local response norm (across channels only) and Identity.
_ACTIVATIONS = tuple(c for c in vars(nn.modules.activation).values() if isinstance(c, type)
                     and issubclass(c, nn.Module) and c.__module__ == nn.modules.activation.__name__
                     and c not in (nn.MultiheadAttention, nn.Softmax, nn.Softmin, nn.LogSoftmax, nn.GLU))
_NEUTRAL_TYPES = (*_ACTIVATIONS, nn.Identity, nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd,
                  nn.LocalResponseNorm, nn.CrossMapLRN2d)

LayerRef = Union[int, str]


def walk(module: nn.Module) -> list[tuple[str, nn.Module, str]]:
    """``(path, module, paper name)`` of the leaves up to the first whole-image layer, in the order they run.

    The order comes from a forward pass on the ``meta`` device (:func:`~.layers.forward_path`), so a
    pooling module used five times counts five times; a network that is not a single path (ResNet's
    shortcuts, a concatenation) or that calls a convolution or pooling as a function in ``forward`` is
    refused with a :class:`UsageError` instead of being walked as if its layers ran in series. A module
    that cannot run on ``meta`` is walked in registration order.
    """
    leaves = forward_path(module, stop_at=_GLOBAL_TYPES) or leaf_layers(module)
    out = []
    for (path, m), name in zip(leaves, layer_names(leaves)):
        if isinstance(m, _GLOBAL_TYPES):
            break
        if not isinstance(m, (*RF_TYPES, *_NEUTRAL_TYPES)):
            raise UsageError(
                f"{path} ({type(m).__name__}): 수용 영역(receptive field) 계산은 Conv2d, MaxPool2d, AvgPool2d와 "
                "위치마다 따로 작동하는 계층(ReLU, BatchNorm2d, Dropout …)만 지원합니다. 이 계층 앞까지를 "
                "nn.Sequential로 "
                f"잘라서 넘기세요. / {path} ({type(m).__name__}): receptive fields are computed for Conv2d, MaxPool2d, "
                f"AvgPool2d and position-wise layers (ReLU, BatchNorm2d, Dropout …) only; pass an nn.Sequential "
                f"that stops before this layer.")
        out.append((path, m, name))
    return out


@dataclass(frozen=True)
class Geometry:
    kernel: int
    stride: int
    padding: int  # on the left/top
    pad_total: int  # left + right
    dilation: int
    ceil_mode: bool

    @property
    def k_eff(self) -> int:
        return self.dilation * (self.kernel - 1) + 1

    def output_size(self, n: int, pool: bool) -> int:
        """PyTorch's output length for an input of length ``n`` (conv, or pooling with ``ceil_mode``)."""
        span = n + self.pad_total - self.k_eff
        if not (pool and self.ceil_mode):
            return span // self.stride + 1 if span >= 0 else 0
        out = -(-span // self.stride) + 1
        if (out - 1) * self.stride >= n + self.padding:
            out -= 1
        return out if span >= 0 else 0


def geometry(m: nn.Module, axis: int) -> Geometry:
    kernel, stride = pair(m.kernel_size)[axis], pair(m.stride)[axis]
    dilation = pair(getattr(m, "dilation", 1))[axis]
    padding = m.padding
    if padding == "valid":
        left, total = 0, 0
    elif padding == "same":
        total = dilation * (kernel - 1)
        left = total // 2
    else:
        left = pair(padding)[axis]
        total = 2 * left
    return Geometry(kernel, stride, left, total, dilation, bool(getattr(m, "ceil_mode", False)))


@dataclass(frozen=True)
class RFLayer:
    """One conv or pooling layer of :func:`receptive_field_table` (along one axis).

    ``receptive_field``: how many input pixels (along the axis) one unit of this layer's output
    sees; ``jump``: the distance in input pixels between two neighboring units (the product of
    the strides so far); ``start``: the center of the first unit's field in input pixel coordinates
    (pixel ``i`` is at ``i``; 0.5 lies between pixels 0 and 1); ``output_size``: the output length
    for the table's ``input_size`` (``None`` when none was given).
    """

    index: int
    layer: str
    path: str
    type: str
    kernel: int
    stride: int
    padding: int
    dilation: int
    receptive_field: int
    jump: int
    start: float
    output_size: int | None = None

    @property
    def effective_kernel(self) -> int:
        """``dilation·(kernel − 1) + 1``: the span one kernel covers."""
        return self.dilation * (self.kernel - 1) + 1

    def interval(self, unit: int) -> tuple[int, int]:
        """First and last input pixel (inclusive) seen by output unit ``unit``, before clipping to the image."""
        centre = self.start + unit * self.jump
        half = (self.receptive_field - 1) / 2
        return round(centre - half), round(centre + half)

    def centre_unit(self) -> int:
        """The middle output unit for the table's ``input_size``."""
        if not self.output_size:
            raise UsageError("input_size를 주고 표를 만들어야 가운데 유닛을 알 수 있습니다. / "
                             "Build the table with an input_size to know the center unit.")
        return (self.output_size - 1) // 2

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RFTable(Table):
    """The :class:`~vgg_teach.show.tables.Table` of :class:`RFLayer` rows that :func:`receptive_field_table` returns."""

    def row(self, layer: LayerRef) -> RFLayer:
        """The row of ``layer``: its index, paper name (``"conv3_3"``) or module path (``"features.14"``)."""
        if isinstance(layer, int) and not isinstance(layer, bool):
            if -len(self) <= layer < len(self):
                return self[layer]
        else:
            for r in self:
                if layer in (r.layer, r.path):
                    return r
        names = ", ".join(r.layer for r in self)
        raise UsageError(f"계층 {layer!r}을(를) 찾을 수 없습니다. "
                         f"0–{len(self) - 1} 사이의 번호나 이름({names})을 쓰세요. / "
                         f"No layer {layer!r}: use an index 0–{len(self) - 1} or one of the names ({names}).")


def input_hw(input_size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(input_size, int):
        return input_size, input_size
    *_, h, w = input_size
    return int(h), int(w)


def receptive_field_table(module: nn.Module, input_size: int | Sequence[int] | None = None,
                          axis: int | None = None) -> RFTable:
    """One :class:`RFLayer` per ``Conv2d``/``MaxPool2d``/``AvgPool2d`` of ``module``, in order.

    Works for any stack: any kernel, stride, padding (``"same"``/``"valid"`` too) and dilation, for
    convolutions and poolings alike. ``axis`` picks the height (0) or width (1) direction; the
    default ``None`` requires square kernels, strides, paddings and dilations and raises a
    bilingual error otherwise. With ``input_size`` (an int, ``(H, W)`` or ``(C, H, W)``) each row also
    gets its ``output_size`` along that axis.
    """
    walked = [(path, m, name) for path, m, name in walk(module) if isinstance(m, RF_TYPES)]
    n = None if input_size is None else input_hw(input_size)[axis or 0]
    rows = []
    rf, jump, start = 1, 1, 0.0
    for index, (path, m, name) in enumerate(walked):
        g = geometry(m, axis or 0)
        if axis is None and g != geometry(m, 1):
            raise UsageError(
                f"{name} ({path})의 커널/보폭(stride)/패딩(padding)/팽창(dilation)이 가로와 세로에서 다릅니다: "
                f"axis=0(세로)과 axis=1(가로)로 따로 계산하세요. / {name} ({path}) has a non-square kernel, stride, "
                f"padding or dilation: compute each direction with axis=0 (height) and axis=1 (width).")
        rf += (g.k_eff - 1) * jump
        start += ((g.k_eff - 1) / 2 - g.padding) * jump
        jump *= g.stride
        if n is not None:
            n = g.output_size(n, pool=not isinstance(m, nn.Conv2d))
        rows.append(RFLayer(index, name, path, type(m).__name__, g.kernel, g.stride, g.padding, g.dilation,
                            rf, jump, start, n))
    return RFTable(rows, columns=[
        ("계층 / Layer", lambda r: r.layer, False),
        ("종류 / Type", lambda r: r.type, False),
        ("커널 / Kernel", lambda r: str(r.kernel), True),
        ("보폭 / Stride", lambda r: str(r.stride), True),
        ("패딩 / Padding", lambda r: str(r.padding), True),
        ("팽창 / Dilation", lambda r: str(r.dilation), True),
        ("수용 영역 / RF", lambda r: str(r.receptive_field), True),
        ("점프 / Jump", lambda r: str(r.jump), True),
        ("시작 / Start", lambda r: f"{r.start:g}", True),
        ("출력 크기 / Output", lambda r: "" if r.output_size is None else str(r.output_size), True),
    ], title="수용 영역(receptive field) 표 / Receptive field, layer by layer"
             + ("" if axis is None else f" (axis={axis})"))


def vgg16_features() -> nn.Module:
    """VGG16's ``features`` on the ``meta`` device: the default stack of the tables and plots."""
    with torch.device("meta"):
        return vgg16().features


def rf_tables(module: nn.Module, size: tuple[int, int]) -> tuple[RFTable, RFTable]:
    """The height and width tables for an input of ``size`` (identical for square geometry)."""
    return receptive_field_table(module, size, axis=0), receptive_field_table(module, size, axis=1)


def centre_box(rows: tuple[RFLayer, RFLayer]) -> tuple[int, int, int, int]:
    """``(top, left, bottom, right)`` of the center unit's field, inclusive, not clipped."""
    (top, bottom), (left, right) = (r.interval(r.centre_unit()) for r in rows)
    return top, left, bottom, right


def clip_box(box: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """``box`` cut to an image of ``size`` (``None`` when nothing of it is inside)."""
    top, left, bottom, right = max(box[0], 0), max(box[1], 0), min(box[2], size[0] - 1), min(box[3], size[1] - 1)
    return (top, left, bottom, right) if top <= bottom and left <= right else None
