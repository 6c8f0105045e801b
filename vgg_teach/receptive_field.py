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

Receptive fields measured with autograd, and the effective receptive field.

**Measured** (:func:`empirical_receptive_field`). The input pixels that can change one output
unit are those where ``∂unit/∂input`` is non-zero. On the real network with a random input that
set comes out *smaller* (``method="naive"``): max pooling passes the gradient to one position of
each window and dead ReLUs pass none. The principled measurement (``method="linear"``, default)
keeps the network's geometry — every kernel size, stride, padding and dilation — but makes it
linear with positive weights: every convolution averages (weights ``1/fan_in``), every pooling
becomes an average pooling of the same window, activations and normalization become identities.
Then ``∂unit/∂input`` counts the paths from each pixel to the unit, with positive weights that
cannot cancel: it is non-zero exactly on the receptive field. ``method="union"`` takes the union
over many random inputs on the real network (it approaches, but is not guaranteed to reach, the
analytic size).

**Effective** (:func:`effective_receptive_field`, Luo et al., 2016): the mean gradient magnitude
over random inputs is Gaussian-like and much smaller than the theoretical field.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from typing import Any, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from .counting import _meta_forward, eval_mode, input_shape, layer_names, leaf_layers, model_device, pair
from .errors import UsageError
from .models import vgg16
from .show import Table


# ---- from vgg_teach.analysis.layers (phase-1 merge)
class _Stop(Exception):
    """Raised by a hook to end the forward pass at the first whole-image layer."""


_LAYER_OPS = {"conv2d", "conv1d", "conv3d", "max_pool2d", "avg_pool2d", "max_pool2d_with_indices", "_max_pool2d",
              "lp_pool2d", "conv_transpose2d"}


class _Flow(TorchFunctionMode):
    """Follows the activations through the ops: finds two of them meeting (a shortcut's add, a cat)."""

    def __init__(self, x: torch.Tensor, calls: list[tuple[str, nn.Module]], depth: list[int]) -> None:
        super().__init__()
        self.acts = [x]  # kept alive, so that no id is reused while we look
        self.ids = {id(x)}
        self.calls, self.depth = calls, depth
        self.problem: tuple[str, str] | None = None  # (what happened, after which layer)

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        kwargs = kwargs or {}
        flat = [a for a in (*args, *kwargs.values()) for a in (a if isinstance(a, (list, tuple)) else (a,))]
        inputs = {id(a) for a in flat if isinstance(a, torch.Tensor) and id(a) in self.ids}
        name = getattr(func, "__name__", str(func))
        after = self.calls[-1][0] if self.calls else "input"
        if self.problem is None and len(inputs) > 1:
            self.problem = (f"merge:{name}", after)
        elif self.problem is None and inputs and not self.depth[0] and name in _LAYER_OPS:
            self.problem = (f"functional:{name}", after)
        out = func(*args, **kwargs)
        if inputs:
            for t in out if isinstance(out, (list, tuple)) else (out,):
                if isinstance(t, torch.Tensor) and id(t) not in self.ids:
                    self.acts.append(t)
                    self.ids.add(id(t))
        return out


def forward_path(module: nn.Module, stop_at: tuple[type, ...] = (),
                 input_size: int | Sequence[int] | None = None) -> list[tuple[str, nn.Module]] | None:
    """The leaf layers in the order a forward pass calls them (on ``meta``: no memory, no time), up to and
    including the first layer of a ``stop_at`` type. A module called twice (a shared ``nn.ReLU`` or
    ``nn.MaxPool2d``) is listed twice.

    Raises :class:`UsageError` when the activations do not run down a single path — two of them meet
    in one op (ResNet's ``out += identity``, a concatenation) — or when a convolution or pooling is
    called as a function in ``forward`` (``F.max_pool2d``), outside any layer. Returns ``None`` when
    the module cannot be run on ``meta`` at that size (then nothing is known about its order).
    """
    leaves = leaf_layers(module)
    paths = {id(m): path for path, m in leaves}
    first_conv = next((m for _, m in leaves if isinstance(m, nn.Conv2d)), None)
    channels = first_conv.in_channels if first_conv is not None else 3
    shape = (channels, *input_shape(input_size or 224)[1:])
    calls: list[tuple[str, nn.Module]] = []
    depth = [0]

    def enter(m: nn.Module, _inp: Any) -> None:
        calls.append((paths[id(m)], m))
        if isinstance(m, stop_at):
            raise _Stop
        depth[0] += 1

    def leave(_m: nn.Module, _inp: Any, _out: Any) -> None:
        depth[0] -= 1

    x = torch.empty(1, *shape, device="meta")
    flow = _Flow(x, calls, depth)
    handles = [h for _, m in leaves for h in (m.register_forward_pre_hook(enter), m.register_forward_hook(leave))]
    try:
        with eval_mode(module), torch.no_grad(), flow:
            _meta_forward(module, x)
    except _Stop:
        pass
    except Exception:  # noqa: BLE001 - it cannot run at this size: the order is unknown
        if flow.problem is None:
            return None
    finally:
        for h in handles:
            h.remove()
    if flow.problem is not None:
        what, after = flow.problem
        kind, _, op = what.partition(":")
        if kind == "merge":
            raise UsageError(
                f"{after} 뒤에서 두 갈래의 활성값이 '{op}'(으)로 합쳐집니다(ResNet의 지름길 연결처럼): "
                "이 모델은 계층이 한 줄로 이어진 모델이 아니어서 수용 영역(receptive field) 표를 "
                "계층 순서대로 계산할 수 없습니다. "
                "한 줄로 이어진 부분만 nn.Sequential로 잘라서 넘기세요. / "
                f"After {after}, two branches of activations meet in '{op}' (like ResNet's shortcut): this network "
                "is not a single chain of layers, so a receptive-field table cannot be computed layer after layer. "
                "Pass an nn.Sequential of a part that is a single path.")
        raise UsageError(
            f"{after} 뒤에서 forward가 '{op}'을(를) 계층이 아닌 함수로 직접 부릅니다(F.max_pool2d 같은): "
            "수용 영역 표는 계층(모듈)만 읽습니다. nn.MaxPool2d, nn.Conv2d 같은 계층으로 쓰세요. / "
            f"After {after}, forward calls '{op}' directly as a function (like F.max_pool2d): receptive-field "
            "tables read layers (modules) only. Use layers such as nn.MaxPool2d and nn.Conv2d.")
    return calls


# ---- from vgg_teach.analysis.receptive_field (phase-1 merge)
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


# ---- from vgg_teach.analysis.rf_measure (phase-1 merge)
def _auto_size(module: nn.Module, index: int) -> tuple[int, int]:
    """The smallest square input that holds the whole field of layer ``index``'s center unit."""
    rows = rf_tables(module, (1, 1))
    rf = max(t[index].receptive_field for t in rows)
    jump = max(t[index].jump for t in rows)
    for n in range(rf, 4 * (rf + jump) + 64):
        t0, t1 = rf_tables(module, (n, n))
        if t0[index].output_size and t1[index].output_size:
            box = centre_box((t0[index], t1[index]))
            if clip_box(box, (n, n)) == box:
                return n, n
    raise UsageError("수용 영역이 잘리지 않는 입력 크기를 찾지 못했습니다: input_size를 직접 주세요. / "
                     "Found no input size that holds the whole receptive field: pass input_size.")


def _truncate(module: nn.Module, index: int) -> nn.Sequential:
    """The layers of ``module`` up to and including its ``index``-th conv/pool layer."""
    layers, seen = [], -1
    for _, m, _ in walk(module):
        layers.append(m)
        seen += isinstance(m, RF_TYPES)
        if seen == index:
            return nn.Sequential(*layers)
    raise UsageError(f"계층 번호 {index}이(가) 범위를 벗어났습니다. / Layer index {index} is out of range.")


class _AveragePool(nn.Module):
    """Uniform average over a pooling window of any geometry (dilation and ceil_mode included)."""

    def __init__(self, geometry: tuple[Geometry, Geometry]) -> None:
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
    """A linear, positive copy of a conv/pool stack with the same geometry.

    Convolutions keep kernel, stride, padding (zero padding) and dilation but average (weights
    ``1/fan_in``, no bias); max and average poolings become uniform averages over the same window;
    activations, normalization and dropout become identities. ``∂output/∂input`` of the copy is
    positive exactly on each unit's receptive field. The copy has **one channel** throughout: fed
    a constant input, every channel of an averaging stack would carry the same values, so one
    channel has the same gradient support at a small fraction of the cost.
    It lives on the CPU (a ``meta`` or GPU ``net`` works too) and ``net`` is not changed.
    """
    layers: list[nn.Module] = []
    for _, m, _ in walk(net):
        if isinstance(m, nn.Conv2d):
            conv = nn.Conv2d(1, 1, m.kernel_size, m.stride, m.padding, m.dilation, bias=False, device="cpu")
            with torch.no_grad():
                conv.weight.fill_(1 / conv.weight.numel())
            layers.append(conv)
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            layers.append(_AveragePool((geometry(m, 0), geometry(m, 1))))
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
        """Side of the smallest square, centered on the field, that holds ``fraction`` of the gradient."""
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
    index = rf_tables(module, (1, 1))[0].row(layer).index
    size = _auto_size(module, index) if input_size is None else input_hw(input_size)
    t0, t1 = rf_tables(module, size)
    rows = (t0[index], t1[index])
    if not (rows[0].output_size and rows[1].output_size):
        raise UsageError(f"입력 {size[0]}×{size[1]}은(는) {rows[0].layer}까지 가기에 너무 작습니다. "
                         "더 큰 input_size를 주세요. / "
                         f"An input of {size[0]}×{size[1]} is too small to reach {rows[0].layer}: "
                         "pass a larger input_size.")
    analytic_box = centre_box(rows)
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
            raise UsageError(f"method={method!r}은(는) 실제 가중치가 필요합니다: meta 장치가 아닌 모델을 넘기세요. / "
                             f"method={method!r} needs real weights: pass a model that is not on the meta device.")
        net = copy.deepcopy(truncated).eval()
        batch = 1 if method == "naive" else n_samples
        x = torch.randn(batch, in_channels, *size, generator=torch.Generator().manual_seed(seed)).to(device)
    else:
        raise UsageError(f"method는 'linear', 'naive', 'union' 중 하나입니다 (받은 값: {method!r}). / "
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
                         analytic_box, clip_box(analytic_box, size), measured_box,
                         per_sample.mean(0).float().detach().cpu())


def empirical_receptive_field(module: nn.Module, layer: LayerRef, input_size: int | Sequence[int] | None = None,
                              method: str = "linear", channel: int | None = 0, n_samples: int = 16,
                              seed: int = 0) -> RFMeasurement:
    """Measure the receptive field of ``layer``'s center unit with autograd.

    ``module`` is a conv/pool stack (e.g. ``vgg16().features`` or a whole VGG); ``layer`` an index
    into :func:`receptive_field_table`, a paper name (``"conv3_3"``) or a module path. The network is
    cut right after ``layer``, so deep layers cost one partial forward and backward pass.

    ``method``: ``"linear"`` (default) measures the linearized copy (:func:`linearised`) and equals the
    analytic value; ``"naive"`` uses the real network and one random input — max pooling and ReLU make
    it smaller; ``"union"`` joins the supports of ``n_samples`` random inputs on the real network
    (one batch: about 15 s for pool5 with 16 samples on two CPU cores).
    ``channel`` picks the output channel (``None``: all channels summed); ``"linear"`` ignores it (its
    copy has one channel, and every channel has the same receptive field).

    ``input_size`` defaults to the smallest square input that holds the whole field of the center
    unit. With a smaller input the field is clipped: compare ``measured`` with ``expected`` (the
    analytic field clipped to the image), not with ``analytic``.
    """
    return _measure(module, layer, input_size, method, channel, n_samples, seed)


def effective_receptive_field(module: nn.Module, layer: LayerRef, input_size: int | Sequence[int] | None = None,
                              n_samples: int = 16, seed: int = 0, channel: int | None = None) -> RFMeasurement:
    """The effective receptive field (Luo et al., 2016) of ``layer``'s center unit.

    Mean ``|∂unit/∂input|`` over ``n_samples`` Gaussian random inputs through the real network as
    it is (random or trained weights, eval mode), summed over the output channels of the center
    position by default. The map is Gaussian-like: ``result.effective_size(0.95)`` is far smaller
    than ``result.analytic``. Draw it with :func:`plot_gradient_map`.
    """
    return _measure(module, layer, input_size, "erf", channel, n_samples, seed)
