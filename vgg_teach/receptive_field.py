"""Lesson 03: receptive fields, computed layer by layer and measured with autograd.

The table walks the convolutions and poolings in the order a forward pass runs them (refusing a network that is
not a single path, such as ResNet) up to the first layer that sees the whole image, with
``k_eff = dilation·(k − 1) + 1``: ``rf += (k_eff − 1)·jump``, ``start += ((k_eff − 1)/2 − padding)·jump`` (the
center of the first unit's field), ``jump *= stride``. VGG16: 3, 5, 6, 10, 14, 16, 24, 32, 40, 44, 60, 76, 92, 100,
132, 164, 196, 212. Measured, the field is where ``∂unit/∂input ≠ 0``; on the real network max pooling and dead
ReLUs make it smaller, so ``method="linear"`` measures a copy with the same geometry and positive weights. The
effective receptive field (Luo et al., 2016) is the mean gradient magnitude over random inputs.
"""

from __future__ import annotations

import copy
import math
from collections import namedtuple
from typing import Any, Sequence

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from .counting import _meta_forward, eval_mode, input_shape, layer_names, leaf_layers, model_device
from .errors import UsageError, josa, particle
from .models import vgg16
from .show import Table

#: The analytic receptive fields of VGG16's 18 conv/pool layers, conv1_1 … pool5.
VGG16_RECEPTIVE_FIELDS = (3, 5, 6, 10, 14, 16, 24, 32, 40, 44, 60, 76, 92, 100, 132, 164, 196, 212)
RF_TYPES = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
_GLOBAL_TYPES = (nn.Linear, nn.Flatten, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
# Position-wise layers: every activation module except those that mix positions, batch norm (in eval mode),
# dropout, local response norm (across channels only) and Identity.
_ACTIVATIONS = tuple(c for c in vars(nn.modules.activation).values() if isinstance(c, type)
                     and issubclass(c, nn.Module) and c.__module__ == nn.modules.activation.__name__
                     and c not in (nn.MultiheadAttention, nn.Softmax, nn.Softmin, nn.LogSoftmax, nn.GLU))
_NEUTRAL_TYPES = (*_ACTIVATIONS, nn.Identity, nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd,
                  nn.LocalResponseNorm, nn.CrossMapLRN2d)
_LAYER_OPS = {"conv2d", "conv1d", "conv3d", "max_pool2d", "avg_pool2d", "max_pool2d_with_indices", "_max_pool2d",
              "lp_pool2d", "conv_transpose2d"}


class _Stop(Exception):
    """Raised by a hook to end the forward pass at the first whole-image layer."""


class _Flow(TorchFunctionMode):
    """A forward pass that records the leaves it calls (hooks ``enter``/``leave``), up to the first whole-image
    layer, and the first place where two activations meet (a shortcut's add, a cat) or a conv/pool op is called
    outside any layer."""

    def __init__(self, x: torch.Tensor, paths: dict[int, str]) -> None:
        super().__init__()
        self.acts, self.ids = [x], {id(x)}  # the activations, kept alive so that no id is reused while we look
        self.paths, self.calls, self.depth = paths, [], 0
        self.problem: tuple[str, str, str] | None = None  # (kind, op, after which layer)

    def enter(self, m: nn.Module, _inp: Any) -> None:
        if id(m) in self.paths:
            self.calls.append((self.paths[id(m)], m))
            if isinstance(m, _GLOBAL_TYPES):
                raise _Stop
            self.depth += 1

    def leave(self, m: nn.Module, *_: Any) -> None:
        if id(m) in self.paths:
            self.depth -= 1

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        kwargs = kwargs or {}
        flat = [a for a in (*args, *kwargs.values()) for a in (a if isinstance(a, (list, tuple)) else (a,))]
        inputs = {id(a) for a in flat if isinstance(a, torch.Tensor) and id(a) in self.ids}
        name, after = getattr(func, "__name__", str(func)), self.calls[-1][0] if self.calls else "input"
        if self.problem is None and len(inputs) > 1:
            self.problem = ("merge", name, after)
        elif self.problem is None and inputs and not self.depth and name in _LAYER_OPS:
            self.problem = ("functional", name, after)
        out = func(*args, **kwargs)
        for t in (out if isinstance(out, (list, tuple)) else (out,)) if inputs else ():
            if isinstance(t, torch.Tensor) and id(t) not in self.ids:
                self.acts.append(t)
                self.ids.add(id(t))
        return out


def _walk(module: nn.Module) -> list[tuple[str, nn.Module, str]]:
    """``(path, module, paper name)`` up to the first whole-image layer, in the order a forward pass on ``meta``
    runs them (a reused module each time; registration order if it cannot run there). Refuses a network that is not
    a single path, or that calls a convolution or pooling as a function in ``forward``."""
    leaves = leaf_layers(module)
    first_conv = next((m for _, m in leaves if isinstance(m, nn.Conv2d)), None)
    x = torch.empty(1, first_conv.in_channels if first_conv is not None else 3, 224, 224, device="meta")
    flow = _Flow(x, {id(m): path for path, m in leaves})
    try:
        with nn.modules.module.register_module_forward_pre_hook(flow.enter), \
                nn.modules.module.register_module_forward_hook(flow.leave), eval_mode(module), torch.no_grad(), flow:
            _meta_forward(module, x)
    except _Stop:
        pass
    except Exception:  # noqa: BLE001 - it cannot run at this size: the order is unknown
        flow.calls = leaves if flow.problem is None else flow.calls
    if flow.problem is not None:
        kind, op, after = flow.problem
        if kind == "merge":
            raise UsageError(
                f"{after} 뒤에서 두 갈래의 활성값이 '{op}'{particle(op, '로')} 합쳐집니다(ResNet의 지름길 연결처럼): "
                "이 모델은 계층이 한 줄로 이어진 모델이 아니어서 수용 영역(receptive field) 표를 계층 순서대로 계산할 "
                "수 없습니다. 한 줄로 이어진 부분만 nn.Sequential로 잘라서 넘기세요. / "
                f"After {after}, two branches of activations meet in '{op}' (like ResNet's shortcut): this network "
                "is not a single chain of layers, so a receptive-field table cannot be computed layer after layer. "
                "Pass an nn.Sequential of a part that is a single path.")
        raise UsageError(
            f"{after} 뒤에서 forward가 '{op}'{particle(op, '을')} 계층이 아닌 함수로 직접 부릅니다(F.max_pool2d 같은): "
            "수용 영역 표는 계층(모듈)만 읽습니다. nn.MaxPool2d, nn.Conv2d 같은 계층으로 쓰세요. / "
            f"After {after}, forward calls '{op}' directly as a function (like F.max_pool2d): receptive-field "
            "tables read layers (modules) only. Use layers such as nn.MaxPool2d and nn.Conv2d.")
    out = []
    for (path, m), name in zip(flow.calls, layer_names(flow.calls)):
        if isinstance(m, _GLOBAL_TYPES):
            break
        if not isinstance(m, (*RF_TYPES, *_NEUTRAL_TYPES)):
            raise UsageError(
                f"{path} ({type(m).__name__}): 수용 영역(receptive field) 계산은 Conv2d, MaxPool2d, AvgPool2d와 "
                "위치마다 따로 작동하는 계층(ReLU, BatchNorm2d, Dropout …)만 지원합니다. 이 계층 앞까지를 "
                f"nn.Sequential로 잘라서 넘기세요. / {path} ({type(m).__name__}): receptive fields are computed for "
                "Conv2d, MaxPool2d, AvgPool2d and position-wise layers (ReLU, BatchNorm2d, Dropout …) only; pass an "
                "nn.Sequential that stops before this layer.")
        out.append((path, m, name))
    return out


def _geometry(m: nn.Module, axis: int) -> tuple[int, int, int, int, int, bool]:
    """``(kernel, stride, left padding, total padding, dilation, ceil_mode)`` along ``axis``."""
    kernel, stride, dilation = (v if isinstance(v, int) else int(v[axis])
                                for v in (m.kernel_size, m.stride, getattr(m, "dilation", 1)))
    if m.padding in ("valid", "same"):
        total = 0 if m.padding == "valid" else dilation * (kernel - 1)
        left = total // 2
    else:
        left = m.padding if isinstance(m.padding, int) else int(m.padding[axis])
        total = 2 * left
    return kernel, stride, left, total, dilation, bool(getattr(m, "ceil_mode", False))


class RFLayer(namedtuple("RFLayer", "index layer path type kernel stride padding dilation receptive_field jump start "
                                   "output_size")):
    """One conv or pooling layer of :func:`receptive_field_table`, along one axis: ``jump``, input pixels between
    neighboring units; ``start``, the center of the first unit's field (pixel ``i`` is at ``i``); ``output_size``, the
    output length for the table's ``input_size`` (``None`` without one)."""

    def interval(self, unit: int) -> tuple[int, int]:
        """First and last input pixel (inclusive) seen by output unit ``unit``, before clipping to the image."""
        centre, half = self.start + unit * self.jump, (self.receptive_field - 1) / 2
        return round(centre - half), round(centre + half)

    def centre_unit(self) -> int:
        """The middle output unit for the table's ``input_size``."""
        if not self.output_size:
            raise UsageError("input_size를 주고 표를 만들어야 가운데 유닛을 알 수 있습니다. / "
                             "Build the table with an input_size to know the center unit.")
        return (self.output_size - 1) // 2


class RFTable(Table):
    """The :class:`Table` of :class:`RFLayer` rows that :func:`receptive_field_table` returns."""

    def row(self, layer: int | str) -> RFLayer:
        """The row of ``layer``: its index, paper name (``"conv3_3"``) or module path (``"features.14"``)."""
        if isinstance(layer, int) and not isinstance(layer, bool):
            if -len(self) <= layer < len(self):
                return self[layer]
        else:
            for r in self:
                if layer in (r.layer, r.path):
                    return r
        names = ", ".join(r.layer for r in self)
        raise UsageError(f"계층 {josa(repr(layer), '을')} 찾을 수 없습니다. "
                         f"0–{len(self) - 1} 사이의 번호나 이름({names})을 쓰세요. / "
                         f"No layer {layer!r}: use an index 0–{len(self) - 1} or one of the names ({names}).")


def receptive_field_table(module: nn.Module, input_size: int | Sequence[int] | None = None,
                          axis: int | None = None) -> RFTable:
    """One :class:`RFLayer` per ``Conv2d``/``MaxPool2d``/``AvgPool2d`` of ``module``, in forward order.

    Any kernel, stride, padding (``"same"``/``"valid"`` too), dilation and ``ceil_mode``. ``axis`` picks the height
    (0) or width (1); the default ``None`` requires square geometry. With ``input_size`` (an int, ``(H, W)`` or
    ``(C, H, W)``) each row also gets its ``output_size``.
    """
    n = None if input_size is None else input_shape(input_size)[1 + (axis or 0)]
    rows, rf, jump, start = [], 1, 1, 0.0
    for index, (path, m, name) in enumerate(w for w in _walk(module) if isinstance(w[1], RF_TYPES)):
        g = _geometry(m, axis or 0)
        if axis is None and g != _geometry(m, 1):
            raise UsageError(
                f"{name} ({path})의 커널/보폭(stride)/패딩(padding)/팽창(dilation)이 가로와 세로에서 다릅니다: "
                f"axis=0(세로)과 axis=1(가로)로 따로 계산하세요. / {name} ({path}) has a non-square kernel, stride, "
                f"padding or dilation: compute each direction with axis=0 (height) and axis=1 (width).")
        kernel, stride, left, total, dilation, ceil_mode = g
        if n is not None:  # PyTorch's output length: a pooling with ceil_mode rounds up, unless it starts in padding
            span, ceil = n + total - dilation * (kernel - 1) - 1, ceil_mode and not isinstance(m, nn.Conv2d)
            out = (-(-span // stride) if ceil else span // stride) + 1
            n = 0 if span < 0 else out - 1 if ceil and (out - 1) * stride >= n + left else out
        rf += dilation * (kernel - 1) * jump
        start += (dilation * (kernel - 1) / 2 - left) * jump
        jump *= stride
        rows.append(RFLayer(index, name, path, type(m).__name__, kernel, stride, left, dilation, rf, jump, start, n))
    return RFTable(rows, columns=[
        ("계층 / Layer", lambda r: r.layer, False), ("종류 / Type", lambda r: r.type, False),
        ("커널 / Kernel", lambda r: str(r.kernel), True), ("보폭 / Stride", lambda r: str(r.stride), True),
        ("패딩 / Padding", lambda r: str(r.padding), True), ("팽창 / Dilation", lambda r: str(r.dilation), True),
        ("수용 영역 / RF", lambda r: str(r.receptive_field), True), ("점프 / Jump", lambda r: str(r.jump), True),
        ("시작 / Start", lambda r: f"{r.start:g}", True),
        ("출력 크기 / Output", lambda r: "" if r.output_size is None else str(r.output_size), True),
    ], title="수용 영역(receptive field) 표 / Receptive field, layer by layer"
             + ("" if axis is None else f" (axis={axis})"))


def vgg16_features() -> nn.Module:
    """VGG16's ``features`` on the ``meta`` device: the default stack of the tables and plots."""
    with torch.device("meta"):
        return vgg16().features


def rf_tables(module: nn.Module, size: int | Sequence[int]) -> tuple[RFTable, RFTable]:
    """The height and width tables for an input of ``size``."""
    return receptive_field_table(module, size, axis=0), receptive_field_table(module, size, axis=1)


def centre_box(rows: tuple[RFLayer, RFLayer]) -> tuple[int, int, int, int]:
    """``(top, left, bottom, right)`` of the center unit's field (height row, width row), inclusive, not clipped."""
    (top, bottom), (left, right) = (r.interval(r.centre_unit()) for r in rows)
    return top, left, bottom, right


def _clip(box: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    top, left, bottom, right = max(box[0], 0), max(box[1], 0), min(box[2], size[0] - 1), min(box[3], size[1] - 1)
    return (top, left, bottom, right) if top <= bottom and left <= right else None


def _auto_size(module: nn.Module, index: int) -> tuple[int, int]:
    """The smallest square input that holds the whole field of layer ``index``'s center unit."""
    rows = rf_tables(module, 1)
    rf, jump = max(t[index].receptive_field for t in rows), max(t[index].jump for t in rows)
    for n in range(rf, 4 * (rf + jump) + 64):
        t0, t1 = rf_tables(module, n)
        if t0[index].output_size and t1[index].output_size:
            box = centre_box((t0[index], t1[index]))
            if _clip(box, (n, n)) == box:
                return n, n
    raise UsageError("수용 영역이 잘리지 않는 입력 크기를 찾지 못했습니다: input_size를 직접 주세요. / "
                     "Found no input size that holds the whole receptive field: pass input_size.")


class RFMeasurement(namedtuple("RFMeasurement", "layer method input_size unit analytic analytic_box expected_box "
                                               "measured_box gradient measured expected clipped matches")):
    """What :func:`empirical_receptive_field` and :func:`effective_receptive_field` measured.

    ``gradient``: ``|∂unit/∂input|`` summed over input channels (averaged over samples), shape ``(H, W)``. Boxes are
    ``(top, left, bottom, right)``, inclusive: ``expected_box`` is the analytic field clipped to the image,
    ``measured_box`` the bounding box of the non-zero gradient (``None`` if all zero); ``measured`` and ``expected``
    are their heights and widths, ``clipped`` says whether the image cuts the field, ``matches`` whether the two
    boxes are the same.
    """

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
        (h, w), (eh, ew) = self.measured, self.expected
        verdict = "일치 / match" if self.matches else "다름 / differs"
        return (f"{self.layer} [{self.method}] 측정 / measured {h}×{w}, 이론 / analytic {eh}×{ew}"
                f"{' (잘림 / clipped)' if self.clipped else ''}: {verdict}")


def empirical_receptive_field(module: nn.Module, layer: int | str, input_size: int | Sequence[int] | None = None,
                              method: str = "linear", channel: int | None = 0, n_samples: int = 16,
                              seed: int = 0) -> RFMeasurement:
    """Measure the receptive field of ``layer``'s center unit with autograd.

    ``layer``: an index into :func:`receptive_field_table`, a paper name (``"conv3_3"``) or a module path; the
    network is cut right after it. ``method``: ``"linear"`` measures the linear copy and equals the analytic
    value; ``"naive"`` uses the real network and one random input (max pooling and ReLU make it smaller);
    ``"union"`` joins the supports of ``n_samples`` random inputs. ``channel``: the output channel (``None``: all
    summed; ``"linear"`` ignores it). ``input_size`` defaults to the smallest square that holds the whole field;
    with a smaller one, compare ``measured`` with ``expected`` (the clipped analytic field).
    """
    index = rf_tables(module, 1)[0].row(layer).index
    size = _auto_size(module, index) if input_size is None else input_shape(input_size)[1:]
    t0, t1 = rf_tables(module, size)
    rows = (t0[index], t1[index])
    if not (rows[0].output_size and rows[1].output_size):
        raise UsageError(f"입력 {size[0]}×{josa(size[1], '은')} {rows[0].layer}까지 가기에 너무 작습니다. "
                         "더 큰 input_size를 주세요. / "
                         f"An input of {size[0]}×{size[1]} is too small to reach {rows[0].layer}: "
                         "pass a larger input_size.")
    analytic_box = centre_box(rows)
    unit = (rows[0].centre_unit(), rows[1].centre_unit())
    if method == "linear":
        # The same geometry, linear and positive: per conv or pooling, its zero padding (on the right, what the
        # output reaches: ceil_mode too) and a uniform average over its window; one channel, as every channel of
        # such a stack carries the same values. ∂unit/∂input is then positive exactly on the receptive field.
        # The smallest path weight is Π 1/(kh·kw): float64 where float32 could underflow.
        dtype = torch.float64 if sum(math.log10(r.kernel) for t in (t0, t1) for r in t[:index + 1]) > 30 \
            else torch.float32
        layers, (n_h, n_w) = [], size
        for rh, rw in zip(t0[:index + 1], t1[:index + 1]):
            pads = [p for r, n in ((rw, n_w), (rh, n_h))  # F.pad lists the last dimension first
                    for p in (r.padding, (r.output_size - 1) * r.stride + r.dilation * (r.kernel - 1) + 1 - n
                              - r.padding)]
            conv = nn.Conv2d(1, 1, (rh.kernel, rw.kernel), (rh.stride, rw.stride), dilation=(rh.dilation, rw.dilation),
                             bias=False, dtype=dtype)
            nn.init.constant_(conv.weight, 1 / (rh.kernel * rw.kernel))
            layers += [nn.ZeroPad2d(pads), conv]
            n_h, n_w = rh.output_size, rw.output_size
        net, x, channel = nn.Sequential(*layers), torch.ones(1, 1, *size, dtype=dtype), None
    elif method in ("naive", "union", "erf"):
        truncated, seen = [], -1
        for _, m, _ in _walk(module):
            truncated.append(m)
            seen += isinstance(m, RF_TYPES)
            if seen == index:
                break
        net = nn.Sequential(*truncated)
        if model_device(net).type == "meta":
            raise UsageError(f"method={josa(repr(method), '은')} 실제 가중치가 필요합니다: meta 장치가 아닌 모델을 "
                             "넘기세요. / "
                             f"method={method!r} needs real weights: pass a model that is not on the meta device.")
        net = copy.deepcopy(net).eval()
        in_channels = next((m.in_channels for m in truncated if isinstance(m, nn.Conv2d)), 1)
        x = torch.randn(1 if method == "naive" else n_samples, in_channels, *size,
                        generator=torch.Generator().manual_seed(seed)).to(model_device(net))
    else:
        raise UsageError(f"method는 'linear', 'naive', 'union' 중 하나입니다 (받은 값: {method!r}). / "
                         f"method must be 'linear', 'naive' or 'union', got {method!r}.")
    for p in net.parameters():
        p.requires_grad_(False)
    x.requires_grad_(True)
    y = net(x)[:, :, unit[0], unit[1]]
    (grad,) = torch.autograd.grad((y.sum(1) if channel is None else y[:, channel]).sum(), x)
    per_sample = grad.abs().sum(1)  # (B, H, W)
    nz = (per_sample > 0).any(0).nonzero()
    measured_box = None if nz.numel() == 0 else (int(nz[:, 0].min()), int(nz[:, 1].min()),
                                                 int(nz[:, 0].max()), int(nz[:, 1].max()))
    expected_box = _clip(analytic_box, size)
    return RFMeasurement(rows[0].layer, method, tuple(size), unit, (rows[0].receptive_field, rows[1].receptive_field),
                         analytic_box, expected_box, measured_box, per_sample.mean(0).float().detach().cpu(),
                         *((0, 0) if b is None else (b[2] - b[0] + 1, b[3] - b[1] + 1)
                           for b in (measured_box, expected_box)),
                         expected_box != analytic_box, measured_box == expected_box)


def effective_receptive_field(module: nn.Module, layer: int | str, input_size: int | Sequence[int] | None = None,
                              n_samples: int = 16, seed: int = 0, channel: int | None = None) -> RFMeasurement:
    """The effective receptive field (Luo et al., 2016) of ``layer``'s center unit: the mean ``|∂unit/∂input|``
    over ``n_samples`` Gaussian inputs through the real network, summed over output channels by default.

    The map is Gaussian-like: ``result.effective_size(0.95)`` is far smaller than ``result.analytic``.
    """
    return empirical_receptive_field(module, layer, input_size, "erf", channel, n_samples, seed)
