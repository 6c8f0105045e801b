"""Receptive fields measured with autograd, and the effective receptive field.

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
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UsageError
from .layers import model_device
from .receptive_field import RF_TYPES, Geometry, LayerRef, centre_box, clip_box, geometry, input_hw, rf_tables, walk

__all__ = ["RFMeasurement", "empirical_receptive_field", "effective_receptive_field", "linearised"]


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


