"""Lesson 03 — receptive fields: computed layer by layer, measured with autograd, and drawn.

**Analytic** (:func:`receptive_field_table`). Walking the convolutions and poolings in order, with
``k_eff = dilation·(k − 1) + 1``::

    rf    += (k_eff − 1) · jump         # receptive field: input pixels one unit sees
    start += ((k_eff − 1)/2 − padding) · jump   # centre of the first unit's field, input coordinates
    jump  *= stride                     # distance in input pixels between neighbouring units

VGG16 gives 3, 5, 6, 10, 14, 16, 24, 32, 40, 44, 60, 76, 92, 100, 132, 164, 196, 212.

**Measured** (:func:`empirical_receptive_field`). The input pixels that can change one output
unit are those where ``∂unit/∂input`` is non-zero. On the real network with a random input that
set comes out *smaller* (``method="naive"``): max pooling passes the gradient to one position of
each window and dead ReLUs pass none. The principled measurement (``method="linear"``, default)
keeps the network's geometry — every kernel size, stride, padding and dilation — but makes it
linear with positive weights: every convolution averages (weights ``1/fan_in``), every pooling
becomes an average pooling of the same window, activations and normalisation become identities.
Then ``∂unit/∂input`` counts the paths from each pixel to the unit, with positive weights that
cannot cancel: it is non-zero exactly on the receptive field. ``method="union"`` takes the union
over many random inputs on the real network (it approaches, but is not guaranteed to reach, the
analytic size).

**Effective** (:func:`effective_receptive_field`, Luo et al., 2016): the mean gradient magnitude
over random inputs is Gaussian-like and much smaller than the theoretical field.

Assumption: the module's layers run in the order they are registered (true for ``nn.Sequential``
and VGG); the walk stops at the first layer that sees the whole image (``Linear``, ``Flatten``,
adaptive pooling). Plots use matplotlib; Hangul needs ``vgg_teach.plotting.use_korean_font()``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from typing import Any, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from .models import vgg16
from .display import Table
from .params import _pair, layer_names, leaf_layers, model_device

__all__ = [
    "RFLayer", "RFTable", "receptive_field_table", "VGG16_RECEPTIVE_FIELDS", "RFMeasurement",
    "empirical_receptive_field", "effective_receptive_field", "linearised", "plot_rf_growth",
    "plot_rf_boxes", "plot_gradient_map", "rf_slider", "show_rf_slider",
]

#: The analytic receptive fields of VGG16's 18 conv/pool layers, conv1_1 … pool5.
VGG16_RECEPTIVE_FIELDS = (3, 5, 6, 10, 14, 16, 24, 32, 40, 44, 60, 76, 92, 100, 132, 164, 196, 212)

_RF_TYPES = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
_GLOBAL_TYPES = (nn.Linear, nn.Flatten, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
# Position-wise layers: every activation module (except those that can mix positions), batch norm
# (in eval mode), dropout, local response norm (across channels only) and Identity.
_ACTIVATIONS = tuple(c for c in vars(nn.modules.activation).values() if isinstance(c, type)
                     and issubclass(c, nn.Module) and c.__module__ == nn.modules.activation.__name__
                     and c not in (nn.MultiheadAttention, nn.Softmax, nn.Softmin, nn.LogSoftmax, nn.GLU))
_NEUTRAL_TYPES = (*_ACTIVATIONS, nn.Identity, nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd,
                  nn.LocalResponseNorm, nn.CrossMapLRN2d)

LayerRef = Union[int, str]


def _walk(module: nn.Module) -> list[tuple[str, nn.Module, str]]:
    """``(path, module, paper name)`` of the leaves up to the first whole-image layer."""
    leaves = leaf_layers(module)
    out = []
    for (path, m), name in zip(leaves, layer_names(leaves)):
        if isinstance(m, _GLOBAL_TYPES):
            break
        if not isinstance(m, (*_RF_TYPES, *_NEUTRAL_TYPES)):
            raise ValueError(
                f"{path} ({type(m).__name__}): 수용 영역(receptive field) 계산은 Conv2d, MaxPool2d, AvgPool2d와 "
                f"위치마다 따로 작동하는 계층(ReLU, BatchNorm2d, Dropout …)만 지원합니다. 이 계층 앞까지를 nn.Sequential로 "
                f"잘라서 넘기세요. / {path} ({type(m).__name__}): receptive fields are computed for Conv2d, MaxPool2d, "
                f"AvgPool2d and position-wise layers (ReLU, BatchNorm2d, Dropout …) only; pass an nn.Sequential "
                f"that stops before this layer.")
        out.append((path, m, name))
    return out


@dataclass(frozen=True)
class _Geometry:
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


def _geometry(m: nn.Module, axis: int) -> _Geometry:
    kernel, stride = _pair(m.kernel_size)[axis], _pair(m.stride)[axis]
    dilation = _pair(getattr(m, "dilation", 1))[axis]
    padding = m.padding
    if padding == "valid":
        left, total = 0, 0
    elif padding == "same":
        total = dilation * (kernel - 1)
        left = total // 2
    else:
        left = _pair(padding)[axis]
        total = 2 * left
    return _Geometry(kernel, stride, left, total, dilation, bool(getattr(m, "ceil_mode", False)))


@dataclass(frozen=True)
class RFLayer:
    """One conv or pooling layer of :func:`receptive_field_table` (along one axis).

    ``receptive_field``: how many input pixels (along the axis) one unit of this layer's output
    sees; ``jump``: the distance in input pixels between two neighbouring units (the product of
    the strides so far); ``start``: the centre of the first unit's field in input pixel coordinates
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
            raise ValueError("input_size를 주고 표를 만들어야 가운데 유닛을 알 수 있습니다. / "
                             "Build the table with an input_size to know the centre unit.")
        return (self.output_size - 1) // 2

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RFTable(Table):
    """The :class:`~vgg_teach.params.Table` of :class:`RFLayer` rows that :func:`receptive_field_table` returns."""

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
        raise ValueError(f"계층 {layer!r}을(를) 찾을 수 없습니다. 0–{len(self) - 1} 사이의 번호나 이름({names})을 쓰세요. / "
                         f"No layer {layer!r}: use an index 0–{len(self) - 1} or one of the names ({names}).")


def _input_hw(input_size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(input_size, int):
        return input_size, input_size
    *_, h, w = input_size
    return int(h), int(w)


def receptive_field_table(module: nn.Module, input_size: int | Sequence[int] | None = None,
                          axis: int | None = None) -> RFTable:
    """Lesson 03: one :class:`RFLayer` per ``Conv2d``/``MaxPool2d``/``AvgPool2d`` of ``module``, in order.

    Works for any stack: any kernel, stride, padding (``"same"``/``"valid"`` too) and dilation, for
    convolutions and poolings alike. ``axis`` picks the height (0) or width (1) direction; the
    default ``None`` requires square kernels, strides, paddings and dilations and raises a
    bilingual error otherwise. With ``input_size`` (an int, ``(H, W)`` or ``(C, H, W)``) each row also
    gets its ``output_size`` along that axis.
    """
    walked = [(path, m, name) for path, m, name in _walk(module) if isinstance(m, _RF_TYPES)]
    n = None if input_size is None else _input_hw(input_size)[axis or 0]
    rows = []
    rf, jump, start = 1, 1, 0.0
    for index, (path, m, name) in enumerate(walked):
        g = _geometry(m, axis or 0)
        if axis is None and g != _geometry(m, 1):
            raise ValueError(
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


# ------------------------------------------------------------------------------- measurement
def _vgg16_features() -> nn.Module:
    with torch.device("meta"):
        return vgg16().features


def _tables(module: nn.Module, size: tuple[int, int]) -> tuple[RFTable, RFTable]:
    """The height and width tables for an input of ``size`` (identical for square geometry)."""
    return receptive_field_table(module, size, axis=0), receptive_field_table(module, size, axis=1)


def _box(rows: tuple[RFLayer, RFLayer]) -> tuple[int, int, int, int]:
    """``(top, left, bottom, right)`` of the centre unit's field, inclusive, not clipped."""
    (top, bottom), (left, right) = (r.interval(r.centre_unit()) for r in rows)
    return top, left, bottom, right


def _clip(box: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    top, left, bottom, right = max(box[0], 0), max(box[1], 0), min(box[2], size[0] - 1), min(box[3], size[1] - 1)
    return (top, left, bottom, right) if top <= bottom and left <= right else None


def _auto_size(module: nn.Module, index: int) -> tuple[int, int]:
    """The smallest square input that holds the whole field of layer ``index``'s centre unit."""
    rows = _tables(module, (1, 1))
    rf = max(t[index].receptive_field for t in rows)
    jump = max(t[index].jump for t in rows)
    for n in range(rf, 4 * (rf + jump) + 64):
        t0, t1 = _tables(module, (n, n))
        if t0[index].output_size and t1[index].output_size:
            box = _box((t0[index], t1[index]))
            if _clip(box, (n, n)) == box:
                return n, n
    raise ValueError("수용 영역이 잘리지 않는 입력 크기를 찾지 못했습니다: input_size를 직접 주세요. / "
                     "Found no input size that holds the whole receptive field: pass input_size.")


def _truncate(module: nn.Module, index: int) -> nn.Sequential:
    """The layers of ``module`` up to and including its ``index``-th conv/pool layer."""
    layers, seen = [], -1
    for _, m, _ in _walk(module):
        layers.append(m)
        seen += isinstance(m, _RF_TYPES)
        if seen == index:
            return nn.Sequential(*layers)
    raise ValueError(f"계층 번호 {index}이(가) 범위를 벗어났습니다. / Layer index {index} is out of range.")


class _AveragePool(nn.Module):
    """Uniform average over a pooling window of any geometry (dilation and ceil_mode included)."""

    def __init__(self, geometry: tuple[_Geometry, _Geometry]) -> None:
        super().__init__()
        self.g = geometry

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gh, gw = self.g
        pads = []
        for g, n in ((gw, x.shape[3]), (gh, x.shape[2])):  # F.pad lists the last dimension first
            needed = (g.output_size(n, pool=True) - 1) * g.stride + g.k_eff
            pads += [g.padding, needed - n - g.padding]  # a negative right pad crops
        x = F.pad(x, pads)
        weight = x.new_full((x.shape[1], 1, gh.kernel, gw.kernel), 1 / (gh.kernel * gw.kernel))
        return F.conv2d(x, weight, stride=(gh.stride, gw.stride), dilation=(gh.dilation, gw.dilation),
                        groups=x.shape[1])


def linearised(net: nn.Module) -> nn.Sequential:
    """A linear, positive copy of a conv/pool stack with the same geometry (lesson 03).

    Convolutions keep kernel, stride, padding (zero padding) and dilation but average (weights
    ``1/fan_in``, no bias); max and average poolings become uniform averages over the same window;
    activations, normalisation and dropout become identities. ``∂output/∂input`` of the copy is
    positive exactly on each unit's receptive field. The copy has **one channel** throughout: fed
    a constant input, every channel of an averaging stack would carry the same values, so one
    channel has the same gradient support at a small fraction of the cost.
    It lives on the CPU (a ``meta`` or GPU ``net`` works too) and ``net`` is not changed.
    """
    layers: list[nn.Module] = []
    for _, m, _ in _walk(net):
        if isinstance(m, nn.Conv2d):
            conv = nn.Conv2d(1, 1, m.kernel_size, m.stride, m.padding, m.dilation, bias=False, device="cpu")
            with torch.no_grad():
                conv.weight.fill_(1 / conv.weight.numel())
            layers.append(conv)
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            layers.append(_AveragePool((_geometry(m, 0), _geometry(m, 1))))
        else:
            layers.append(nn.Identity())
    return nn.Sequential(*layers)


@dataclass
class RFMeasurement:
    """What :func:`empirical_receptive_field` and :func:`effective_receptive_field` measured.

    ``gradient`` is ``|∂unit/∂input|`` summed over input channels (averaged over samples for
    ``"union"`` and ``"erf"``), shape ``(H, W)``. Boxes are ``(top, left, bottom, right)``, inclusive.
    ``expected_box`` is the analytic field of the measured unit clipped to the image;
    ``measured_box`` is the bounding box of the non-zero gradient (``None`` if it is all zero).
    """

    layer: str
    method: str
    input_size: tuple[int, int]
    unit: tuple[int, int]
    analytic: tuple[int, int]
    analytic_box: tuple[int, int, int, int]
    expected_box: tuple[int, int, int, int] | None
    measured_box: tuple[int, int, int, int] | None
    gradient: torch.Tensor

    @staticmethod
    def _extent(box: tuple[int, int, int, int] | None) -> tuple[int, int]:
        return (0, 0) if box is None else (box[2] - box[0] + 1, box[3] - box[1] + 1)

    @property
    def measured(self) -> tuple[int, int]:
        """Height and width of the measured field."""
        return self._extent(self.measured_box)

    @property
    def expected(self) -> tuple[int, int]:
        """Height and width of the analytic field after clipping to the image."""
        return self._extent(self.expected_box)

    @property
    def clipped(self) -> bool:
        """True when the analytic field reaches past the image border."""
        return self.expected_box != self.analytic_box

    @property
    def matches(self) -> bool:
        """True when the measured field is exactly the (clipped) analytic one."""
        return self.measured_box == self.expected_box

    def effective_size(self, fraction: float = 0.95) -> int:
        """Side of the smallest square, centred on the field, that holds ``fraction`` of the gradient."""
        g = self.gradient.double()
        top, left, bottom, right = self.analytic_box
        ys = torch.arange(g.shape[0], dtype=torch.float64)[:, None] - (top + bottom) / 2
        xs = torch.arange(g.shape[1], dtype=torch.float64)[None, :] - (left + right) / 2
        dist = torch.maximum(ys.abs(), xs.abs()).flatten()
        order = torch.argsort(dist)
        mass = torch.cumsum(g.flatten()[order], 0)
        k = int(torch.searchsorted(mass, fraction * mass[-1]))
        return int(round(2 * float(dist[order][min(k, len(order) - 1)]))) + 1

    def __str__(self) -> str:
        h, w = self.measured
        eh, ew = self.expected
        verdict = "일치 / match" if self.matches else "다름 / differs"
        return (f"{self.layer} [{self.method}] 측정 / measured {h}×{w}, 이론 / analytic {eh}×{ew}"
                f"{' (잘림 / clipped)' if self.clipped else ''}: {verdict}")


def _measure(module: nn.Module, layer: LayerRef, input_size: int | Sequence[int] | None,
             method: str, channel: int | None, n_samples: int, seed: int) -> RFMeasurement:
    index = _tables(module, (1, 1))[0].row(layer).index
    size = _auto_size(module, index) if input_size is None else _input_hw(input_size)
    t0, t1 = _tables(module, size)
    rows = (t0[index], t1[index])
    if not (rows[0].output_size and rows[1].output_size):
        raise ValueError(f"입력 {size[0]}×{size[1]}은(는) {rows[0].layer}까지 가기에 너무 작습니다. 더 큰 input_size를 주세요. / "
                         f"An input of {size[0]}×{size[1]} is too small to reach {rows[0].layer}: pass a larger input_size.")
    analytic_box = _box(rows)
    truncated = _truncate(module, index)
    in_channels = next((m.in_channels for m in truncated if isinstance(m, nn.Conv2d)), 1)
    unit = (rows[0].centre_unit(), rows[1].centre_unit())

    if method == "linear":
        net = linearised(truncated)
        # The smallest path weight is Π 1/(kh·kw); use float64 if float32 could underflow.
        depth = sum(math.log10(g.kernel) for r in (t0, t1) for g in r[: index + 1])
        dtype = torch.float64 if depth > 30 else torch.float32
        x = torch.ones(1, 1, *size, dtype=dtype)  # the linearised copy has one channel
        channel = None
        net = net.to(dtype)
    elif method in ("naive", "union", "erf"):
        device = model_device(truncated)
        if device.type == "meta":
            raise ValueError(f"method={method!r}은(는) 실제 가중치가 필요합니다: meta 장치가 아닌 모델을 넘기세요. / "
                             f"method={method!r} needs real weights: pass a model that is not on the meta device.")
        net = copy.deepcopy(truncated).eval()
        batch = 1 if method == "naive" else n_samples
        x = torch.randn(batch, in_channels, *size, generator=torch.Generator().manual_seed(seed)).to(device)
    else:
        raise ValueError(f"method는 'linear', 'naive', 'union' 중 하나입니다 (받은 값: {method!r}). / "
                         f"method must be 'linear', 'naive' or 'union', got {method!r}.")
    for p in net.parameters():
        p.requires_grad_(False)
    x.requires_grad_(True)
    y = net(x)[:, :, unit[0], unit[1]]
    (grad,) = torch.autograd.grad((y.sum(1) if channel is None else y[:, channel]).sum(), x)
    per_sample = grad.abs().sum(1)  # (B, H, W)
    support = (per_sample > 0).any(0)
    nz = support.nonzero()
    measured_box = None if nz.numel() == 0 else (int(nz[:, 0].min()), int(nz[:, 1].min()),
                                                 int(nz[:, 0].max()), int(nz[:, 1].max()))
    return RFMeasurement(rows[0].layer, method, size, unit, (rows[0].receptive_field, rows[1].receptive_field),
                         analytic_box, _clip(analytic_box, size), measured_box,
                         per_sample.mean(0).float().detach().cpu())


def empirical_receptive_field(module: nn.Module, layer: LayerRef, input_size: int | Sequence[int] | None = None,
                              method: str = "linear", channel: int | None = 0, n_samples: int = 16,
                              seed: int = 0) -> RFMeasurement:
    """Lesson 03: measure the receptive field of ``layer``'s centre unit with autograd.

    ``module`` is a conv/pool stack (e.g. ``vgg16().features`` or a whole VGG); ``layer`` an index
    into :func:`receptive_field_table`, a paper name (``"conv3_3"``) or a module path. The network is
    cut right after ``layer``, so deep layers cost one partial forward and backward pass.

    ``method``: ``"linear"`` (default) measures the linearised copy (:func:`linearised`) and equals the
    analytic value; ``"naive"`` uses the real network and one random input — max pooling and ReLU make
    it smaller; ``"union"`` joins the supports of ``n_samples`` random inputs on the real network
    (one batch: about 15 s for pool5 with 16 samples on two CPU cores).
    ``channel`` picks the output channel (``None``: all channels summed); ``"linear"`` ignores it (its
    copy has one channel, and every channel has the same receptive field).

    ``input_size`` defaults to the smallest square input that holds the whole field of the centre
    unit. With a smaller input the field is clipped: compare ``measured`` with ``expected`` (the
    analytic field clipped to the image), not with ``analytic``.
    """
    return _measure(module, layer, input_size, method, channel, n_samples, seed)


def effective_receptive_field(module: nn.Module, layer: LayerRef, input_size: int | Sequence[int] | None = None,
                              n_samples: int = 16, seed: int = 0, channel: int | None = None) -> RFMeasurement:
    """Lesson 03: the effective receptive field (Luo et al., 2016) of ``layer``'s centre unit.

    Mean ``|∂unit/∂input|`` over ``n_samples`` Gaussian random inputs through the real network as
    it is (random or trained weights, eval mode), summed over the output channels of the centre
    position by default. The map is Gaussian-like: ``result.effective_size(0.95)`` is far smaller
    than ``result.analytic``. Draw it with :func:`plot_gradient_map`.
    """
    return _measure(module, layer, input_size, "erf", channel, n_samples, seed)


# ------------------------------------------------------------------------------------- plots
def _axes(ax: Any, figsize: tuple[float, float]) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_rf_growth(table: RFTable | nn.Module | None = None, input_size: int = 224, ax: Any = None) -> Any:
    """Bar chart of the receptive field per layer (VGG16 by default), with the jump as a line.

    ``table`` is a :func:`receptive_field_table` result or a module. Returns the ``Axes``.
    """
    rows = table if isinstance(table, RFTable) else receptive_field_table(table or _vgg16_features())
    ax = _axes(ax, (11, 4))
    x = list(range(len(rows)))
    bars = ax.bar(x, [r.receptive_field for r in rows], color=["#00798c" if r.type == "Conv2d" else "#edae49"
                                                               for r in rows])
    for b, r in zip(bars, rows):
        ax.annotate(str(r.receptive_field), (b.get_x() + b.get_width() / 2, b.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.axhline(input_size, ls="--", color="gray")
    ax.text(0, input_size, f" 입력 크기 / input {input_size}", va="bottom", color="gray", fontsize=8)
    ax.set_xticks(x)
    ax.set_xticklabels([r.layer for r in rows], rotation=60, ha="right")
    ax.set_ylabel("수용 영역 (픽셀) / receptive field (pixels)")
    twin = ax.twinx()
    twin.step(x, [r.jump for r in rows], where="mid", color="#d1495b", label="점프 / jump")
    twin.set_ylabel("점프 (누적 보폭) / jump (stride product)", color="#d1495b")
    ax.set_title("계층마다 커지는 수용 영역 / Receptive field grows layer by layer "
                 "(파랑 합성곱 / blue conv, 노랑 풀링 / yellow pooling)")
    return ax


def _image_array(image: Any) -> Any:
    """An ``(H, W)`` or ``(H, W, 3)`` float array in [0, 1] from a tensor, array or PIL image (None: grey)."""
    import numpy as np

    if image is None:
        yy, xx = np.mgrid[:224, :224]
        return 0.55 + 0.15 * (((yy // 16) + (xx // 16)) % 2)
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu()
        if image.ndim == 4:
            image = image[0]
        if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):
            image = image.permute(1, 2, 0)
        image = image.float().numpy()
    arr = np.asarray(image)
    arr = arr / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float64)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3):
        raise ValueError(f"이미지는 (H, W), (H, W, 3) 또는 (3, H, W) 모양이어야 합니다 (받은 모양: {arr.shape}). / "
                         f"The image must have shape (H, W), (H, W, 3) or (3, H, W), got {arr.shape}.")
    lo, hi = float(arr.min()), float(arr.max())
    return (arr - lo) / (hi - lo) if hi > 1 or lo < 0 else arr


_COLOURS = ("#d1495b", "#edae49", "#00798c", "#30638e", "#66a182", "#8d6a9f", "#003d5b", "#e07a5f")


def _draw_box(ax: Any, box: tuple[int, int, int, int], colour: str, label: str, ls: str = "-") -> None:
    from matplotlib import patheffects
    from matplotlib.patches import Rectangle

    top, left, bottom, right = box
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1, fill=False,
                           edgecolor=colour, lw=2, ls=ls, label=label,
                           path_effects=[patheffects.withStroke(linewidth=3.5, foreground="white")]))


def plot_rf_boxes(image: Any = None, layers: Sequence[LayerRef] = ("conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3"),
                  module: nn.Module | None = None, ax: Any = None) -> Any:
    """Draw the receptive field of the centre unit of each of ``layers`` over ``image``.

    ``image``: a ``(3, H, W)`` or ``(H, W, 3)`` tensor or array, a PIL image, or ``None`` (a grey
    224×224 checkerboard). ``module`` defaults to VGG16's ``features``. Boxes that reach past the
    border are cut by the image frame. Returns the ``Axes``.
    """
    img = _image_array(image)
    size = img.shape[:2]
    t0, t1 = _tables(module or _vgg16_features(), size)
    ax = _axes(ax, (5, 5))
    ax.imshow(img, cmap="gray", vmin=0, vmax=1)
    for i, layer in enumerate(layers):
        r0 = t0.row(layer)
        r1 = t1[r0.index]
        _draw_box(ax, _box((r0, r1)), _COLOURS[i % len(_COLOURS)],
                  f"{r0.layer}: {r0.receptive_field}×{r1.receptive_field}")
    ax.set_xlim(-0.5, size[1] - 0.5)
    ax.set_ylim(size[0] - 0.5, -0.5)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.8)
    ax.set_title("가운데 유닛의 수용 영역 / Receptive field of the centre unit")
    return ax


def plot_gradient_map(result: RFMeasurement, ax: Any = None, title: str | None = None, log: bool | None = None) -> Any:
    """Show ``result.gradient`` with the measured box (solid) and the analytic field (dashed).

    ``log`` (default: on, except for the effective receptive field) draws ``log10`` of the gradient
    with zeros left blank, so the whole support shows even where the gradient is tiny.
    """
    import numpy as np

    ax = _axes(ax, (5, 5))
    g = result.gradient.double().numpy()
    if log if log is not None else result.method != "erf":
        shown = np.ma.masked_less_equal(g, 0)
        shown = np.ma.log10(shown) if shown.count() else shown
    else:
        shown = g / g.max() if g.max() > 0 else g
    ax.imshow(shown, cmap="magma")
    if result.measured_box is not None:
        h, w = result.measured
        _draw_box(ax, result.measured_box, "#00b4d8", f"측정 / measured {h}×{w}")
    _draw_box(ax, result.analytic_box, "#66a182", f"이론 / analytic {result.analytic[0]}×{result.analytic[1]}", "--")
    if result.method == "erf":
        s = result.effective_size(0.95)
        cy = (result.analytic_box[0] + result.analytic_box[2]) / 2
        cx = (result.analytic_box[1] + result.analytic_box[3]) / 2
        _draw_box(ax, (round(cy - (s - 1) / 2), round(cx - (s - 1) / 2), round(cy + (s - 1) / 2),
                       round(cx + (s - 1) / 2)), "#edae49", f"95% 질량 / of mass {s}×{s}")
    ax.set_xlim(-0.5, result.input_size[1] - 0.5)
    ax.set_ylim(result.input_size[0] - 0.5, -0.5)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.8)
    ax.set_title(title or f"{result.layer} — {result.method}")
    return ax


# ------------------------------------------------------------------------------------- widget
def rf_slider(image: Any = None, module: nn.Module | None = None, layer: LayerRef = "conv3_3") -> Any:
    """Build (without showing) a slider over the conv/pool layers that redraws the centre unit's field.

    Returns a :class:`vgg_teach.explorer.LiveView`; its ``widget`` is an ``ipywidgets.VBox`` of an
    ``IntSlider`` and an ``Output`` (ipywidgets 7.6+ and 8). Use :func:`show_rf_slider` in a notebook.
    """
    from matplotlib.figure import Figure
    import ipywidgets as widgets

    from .display import LiveView, figure_bundle

    net = module or _vgg16_features()
    rows = receptive_field_table(net, None, axis=0)
    slider = widgets.IntSlider(value=rows.row(layer).index, min=0, max=len(rows) - 1, step=1,
                               description="계층 / layer", continuous_update=False,
                               style={"description_width": "initial"})

    def render() -> dict[str, str]:
        fig = Figure(figsize=(5, 5))
        ax = fig.subplots()
        plot_rf_boxes(image, [slider.value], net, ax=ax)
        r = rows[slider.value]
        ax.set_title(f"{r.layer}: 수용 영역 / RF {r.receptive_field}, 점프 / jump {r.jump}")
        return figure_bundle(fig)

    return LiveView([slider], render)


def show_rf_slider(image: Any = None, module: nn.Module | None = None, layer: LayerRef = "conv3_3",
                   fallback: str = "separate") -> None:
    """Lesson 03: display the receptive-field slider, plus a static figure for viewers without widgets.

    See :meth:`vgg_teach.explorer.LiveView.show` for ``fallback`` (``"separate"``, ``"bundle"``, ``"none"``).
    """
    rf_slider(image, module, layer).show(fallback)
