"""Counting VGG: parameters, compute and activation memory, layer by layer.

- formulas: :func:`conv_params` ``(k·k·C_in + 1)·C_out``, :func:`linear_params` ``(in + 1)·out``,
  :func:`batchnorm_params` ``2·C`` (γ and β; the running mean/variance are buffers, not parameters);
- :func:`layer_table`: one row per layer of any model (name, type, output shape, formula, count,
  cumulative count, multiply-adds, activation elements); :func:`count_flops`;
- :func:`config_table`: the same totals for configurations A–E and their ``_bn`` variants;
- :func:`params_vs_compute`: parameters live in the fully connected layers, compute in the convolutions.

Nothing here allocates a full model unless you pass one: the tables build models on PyTorch's
``meta`` device (shapes without memory), so all ten A–E models are counted in well under a second.
Compute is counted by ``torch.utils.flop_counter.FlopCounterMode``, which counts a multiply-add as
**2 FLOPs**; the tables show multiply-adds (MACs), the number usually quoted for VGG16 (15.5 G).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..models import CFGS
from ..show.tables import Table, fmt_int, fmt_pct
from .layers import input_shape, layer_names, meta_vgg, pair, trace

__all__ = [
    "conv_params", "linear_params", "batchnorm_params", "LayerRow", "LayerTable", "layer_table", "count_flops",
    "ConfigRow", "config_table", "CostRow", "params_vs_compute", "BYTES_PER_ELEMENT",
]

#: float32: every activation and parameter takes 4 bytes.
BYTES_PER_ELEMENT = 4

_TORCHVISION_NAMES = {"A": "vgg11", "B": "vgg13", "C": None, "D": "vgg16", "E": "vgg19"}


# --------------------------------------------------------------------------------------- formulas

def conv_params(in_channels: int, out_channels: int, kernel_size: int | Sequence[int] = 3,
                bias: bool = True, groups: int = 1) -> int:
    """Parameters of ``nn.Conv2d``: ``(kh·kw·C_in/groups + 1)·C_out`` (``+ 1`` only with a bias)."""
    kh, kw = pair(kernel_size)
    return (kh * kw * (in_channels // groups) + int(bias)) * out_channels


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Parameters of ``nn.Linear``: ``(in + 1)·out`` (``+ 1`` only with a bias)."""
    return (in_features + int(bias)) * out_features


def batchnorm_params(channels: int, affine: bool = True) -> int:
    """Trainable parameters of ``nn.BatchNorm2d``: ``2·C`` (γ and β), 0 without ``affine``.

    Its running mean and variance (2·C more numbers) are buffers: saved in the ``state_dict`` but
    not trained and not counted by ``parameters()``.
    """
    return 2 * channels if affine else 0


def _formula(module: nn.Module) -> str:
    """The parameter formula of one layer as text, e.g. ``(3·3·64 + 1)·128``; "" without parameters."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        c_in = module.in_channels // module.groups
        core = f"{kh}·{kw}·{c_in}"
        return f"({core} + 1)·{module.out_channels}" if module.bias is not None else f"{core}·{module.out_channels}"
    if isinstance(module, nn.Linear):
        if module.bias is not None:
            return f"({module.in_features} + 1)·{module.out_features}"
        return f"{module.in_features}·{module.out_features}"
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return f"2·{module.num_features}" if module.affine else ""
    if any(True for _ in module.parameters(recurse=False)):
        return " + ".join("·".join(map(str, p.shape)) or "1" for p in module.parameters(recurse=False))
    return ""


def _own_params(module: nn.Module, conv_formula: Callable[[int, int, int], int] | None = None,
                linear_formula: Callable[[int, int], int] | None = None) -> int:
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        if conv_formula is not None and kh == kw and module.groups == 1 and module.bias is not None:
            return int(conv_formula(module.in_channels, module.out_channels, kh))
        return conv_params(module.in_channels, module.out_channels, module.kernel_size,
                           module.bias is not None, module.groups)
    if isinstance(module, nn.Linear):
        if linear_formula is not None and module.bias is not None:
            return int(linear_formula(module.in_features, module.out_features))
        return linear_params(module.in_features, module.out_features, module.bias is not None)
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return batchnorm_params(module.num_features, module.affine)
    return sum(p.numel() for p in module.parameters(recurse=False))


# --------------------------------------------------------------------------------- layer table
@dataclass
class LayerRow:
    """One layer in :func:`layer_table` (shapes leave out the batch dimension)."""

    name: str
    path: str
    type: str
    output_shape: tuple[int, ...]
    formula: str
    params: int
    cumulative: int
    macs: int
    activations: int

    @property
    def flops(self) -> int:
        """FLOPs as ``FlopCounterMode`` counts them: 2 per multiply-add."""
        return 2 * self.macs

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _macs(module: nn.Module, out_shape: tuple[int, ...]) -> int:
    """Multiply-adds of one sample through a conv or linear layer (the ops FlopCounterMode counts)."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return int(torch.Size(out_shape).numel()) * kh * kw * (module.in_channels // module.groups)
    if isinstance(module, nn.Linear):
        return module.in_features * module.out_features
    return 0


def _makes_new_tensor(module: nn.Module) -> bool:
    # In-place ReLU reuses its input; Dropout (at inference), Identity and Flatten return it or a view.
    return not (getattr(module, "inplace", False)
                or isinstance(module, (nn.modules.dropout._DropoutNd, nn.Identity, nn.Flatten)))



class LayerTable(Table):
    """The :class:`Table` of :func:`layer_table`, with the model's totals as attributes."""

    total_params: int = 0  #: all parameters (equals ``sum(p.numel() for p in model.parameters())``)
    total_macs: int = 0  #: multiply-adds of the conv and linear layers, batch 1
    flops_counted: int = 0  #: FlopCounterMode's total for the same pass (2 FLOPs per multiply-add)
    activation_elements: int = 0  #: elements of every new output tensor, batch 1

    @property
    def activation_bytes(self) -> int:
        return self.activation_elements * BYTES_PER_ELEMENT


def layer_table(model: nn.Module, input_size: int | Sequence[int] = 224, compact: bool = False,
                conv_formula: Callable[[int, int, int], int] | None = None,
                linear_formula: Callable[[int, int], int] | None = None) -> LayerTable:
    """The layer-by-layer table of ``model`` for one input of ``input_size``.

    Each :class:`LayerRow` has the paper-style ``name`` (conv1_1, pool1, fc6, …), the module
    ``path`` (``features.0``), the ``type``, the ``output_shape`` (no batch dimension), the parameter
    ``formula`` and count, the ``cumulative`` count, ``macs`` (multiply-adds of a conv or linear
    layer; other layers count 0, as in ``FlopCounterMode``) and ``activations``: the elements of the
    output tensor when the layer allocates a new one (an in-place ReLU, Dropout at inference,
    Identity and Flatten count 0). ``compact=True`` leaves out ReLU and Dropout rows.

    The forward pass runs on the ``meta`` device (shapes only), so even a real VGG16 is tabled
    without computing anything. Totals: ``total_params``, ``total_macs``, ``flops_counted``
    (FlopCounterMode), ``activation_elements`` and ``activation_bytes`` (see :class:`LayerTable`).

    ``conv_formula(c_in, c_out, k)`` and ``linear_formula(n_in, n_out)`` count
    the parameters of convolutions and linear layers with a bias (square kernel, ``groups=1`` — every
    VGG layer) instead of :func:`conv_params` / :func:`linear_params`; other layers keep those.
    """
    leaves, shapes, total_flops = trace(model, input_size)
    rows: list[LayerRow] = []
    total = 0
    for (path, m), name in zip(leaves, layer_names(leaves)):
        shape = shapes.get(path)
        if shape is None:  # not called by forward
            continue
        n = _own_params(m, conv_formula, linear_formula)
        total += n
        rows.append(LayerRow(name, path, type(m).__name__, shape, _formula(m), n, total,
                             _macs(m, shape), int(torch.Size(shape).numel()) if _makes_new_tensor(m) else 0))
    shown = [r for r in rows if not (compact and r.type in ("ReLU", "Dropout"))]
    macs = sum(r.macs for r in rows)
    acts = sum(r.activations for r in rows)
    table = LayerTable(
        shown,
        columns=[
            ("계층 / Layer", lambda r: r.name, False),
            ("종류 / Type", lambda r: r.type, False),
            ("출력 모양 / Output shape", lambda r: "×".join(map(str, r.output_shape)), False),
            ("식 / Formula", lambda r: r.formula, False),
            ("매개변수 / Params", lambda r: fmt_int(r.params), True),
            ("누적 / Cumulative", lambda r: fmt_int(r.cumulative), True),
            ("곱셈-덧셈 / MACs", lambda r: fmt_int(r.macs), True),
        ],
        title=f"계층별 표 / Layer by layer — {type(model).__name__}, 입력 / input {input_shape(input_size)}",
        footer=["합계 / Total", "", "", "", fmt_int(total), "", fmt_int(macs)],
        notes=[f"곱셈-덧셈(MACs) {macs / 1e9:.2f} G = FLOPs {2 * macs / 1e9:.2f} G (FlopCounterMode는 곱셈-덧셈 하나를 "
               f"2 FLOPs로 셉니다 / FlopCounterMode counts a multiply-add as 2 FLOPs); 활성화(activation) "
               f"{acts:,}개 × 4바이트 = {acts * BYTES_PER_ELEMENT / 2**20:.1f} MiB (배치 1 / batch 1)."],
    )
    table.total_params, table.total_macs = total, macs
    table.flops_counted, table.activation_elements = total_flops, acts
    return table


def count_flops(model: nn.Module, input_size: int | Sequence[int] = 224) -> int:
    """FLOPs of one forward pass at batch 1, as ``FlopCounterMode`` counts them (2 per multiply-add).

    Runs on the ``meta`` device: no memory and no real arithmetic, whatever the model's size.
    """
    return trace(model, input_size)[2]




# ------------------------------------------------------------------------------- A–E comparison
@dataclass
class ConfigRow:
    """One configuration in :func:`config_table`."""

    config: str
    batch_norm: bool
    name: str
    weight_layers: int
    params: int
    conv_params: int
    bn_params: int
    fc_params: int
    fc1_params: int
    macs: int
    flops: int
    activations: int

    @property
    def fc1_share(self) -> float:
        """Share of all parameters held by the first fully connected layer (fc6)."""
        return self.fc1_params / self.params

    @property
    def activation_bytes(self) -> int:
        """Activation memory of one image in float32: ``activations × 4`` bytes."""
        return self.activations * BYTES_PER_ELEMENT

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fc1_share": self.fc1_share, "activation_bytes": self.activation_bytes}


def _config_row(cfg: str, batch_norm: bool, input_size: int, num_classes: int) -> ConfigRow:
    table = layer_table(meta_vgg(cfg, batch_norm, num_classes), input_size)

    def total(kind: str) -> int:
        return sum(r.params for r in table if r.type == kind)

    tv = _TORCHVISION_NAMES[cfg]
    name = f"{tv or 'vgg16_1x1'}{'_bn' if batch_norm else ''}"
    linears = [r for r in table if r.type == "Linear"]
    return ConfigRow(cfg, batch_norm, name, sum(r.type in ("Conv2d", "Linear") for r in table),
                     table.total_params, total("Conv2d"), total("BatchNorm2d"), total("Linear"),
                     linears[0].params, table.total_macs, table.flops_counted, table.activation_elements)


def config_table(input_size: int = 224, num_classes: int = 1000,
                 batch_norm: Sequence[bool] = (False, True)) -> Table:
    """Configurations A–E (and their batch-norm variants) side by side.

    Per :class:`ConfigRow`: weight layers, parameters (total, conv, batch norm, fully connected,
    fc6 alone and its share), multiply-adds and FLOPs (FlopCounterMode, batch 1), and activation
    memory (the elements of every new output tensor of a batch-1 forward pass × 4 bytes; see
    :func:`layer_table`). Configuration C has no torchvision name; it is listed as ``vgg16_1x1``.
    """
    rows = [_config_row(c, bn, input_size, num_classes) for bn in batch_norm for c in CFGS]
    return Table(
        rows,
        columns=[
            ("구성 / Config", lambda r: r.config + (" + BN" if r.batch_norm else ""), False),
            ("이름 / Name", lambda r: r.name, False),
            ("가중치 계층 / Weight layers", lambda r: str(r.weight_layers), True),
            ("매개변수 / Params", lambda r: fmt_int(r.params), True),
            ("fc6 매개변수 / fc6 params", lambda r: fmt_int(r.fc1_params), True),
            ("fc6 비율 / fc6 share", lambda r: fmt_pct(r.fc1_share), True),
            ("곱셈-덧셈 / MACs (G)", lambda r: f"{r.macs / 1e9:.2f}", True),
            ("FLOPs (G)", lambda r: f"{r.flops / 1e9:.2f}", True),
            ("활성화 메모리 / Activations (MiB)", lambda r: f"{r.activation_bytes / 2**20:.1f}", True),
        ],
        title=f"VGG 구성 A–E 비교 / Configurations A–E — 입력 / input {input_size}×{input_size}, 배치 / batch 1",
        notes=["FLOPs = 2 × 곱셈-덧셈(multiply-add) — FlopCounterMode의 셈법 / as FlopCounterMode counts them.",
               "활성화 메모리: 순전파가 새로 만드는 출력 텐서(합성곱, 배치 정규화, 풀링, 완전 연결)의 원소 수 × "
               "4바이트 "
               "(제자리 ReLU·드롭아웃 제외, 입력·매개변수 제외) / activation memory: elements of every new output "
               "tensor (conv, batch norm, pooling, linear) × 4 bytes; in-place ReLU, dropout, the input and the "
               "parameters are not counted."],
    )


# --------------------------------------------------------------------------- params vs compute
@dataclass(frozen=True)
class CostRow:
    """One weight layer in :func:`params_vs_compute`."""

    name: str
    params: int
    macs: int
    params_share: float
    macs_share: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def params_vs_compute(model: nn.Module | str = "D", input_size: int = 224) -> Table:
    """Per weight layer (conv and linear), its parameters and multiply-adds and their shares.

    ``model`` is a module or a configuration letter (then built on the meta device).
    Returns a :class:`Table` of :class:`CostRow`.
    """
    table = layer_table(meta_vgg(model) if isinstance(model, str) else model, input_size)
    rows = [CostRow(r.name, r.params, r.macs, r.params / table.total_params, r.macs / table.total_macs)
            for r in table if r.type in ("Conv2d", "Linear")]
    return Table(rows, columns=[
        ("계층 / Layer", lambda r: r.name, False),
        ("매개변수 / Params", lambda r: fmt_int(r.params), True),
        ("매개변수 비율 / Params share", lambda r: fmt_pct(r.params_share), True),
        ("곱셈-덧셈 / MACs", lambda r: fmt_int(r.macs), True),
        ("연산 비율 / Compute share", lambda r: fmt_pct(r.macs_share), True),
    ], title="매개변수는 완전 연결 계층에, 연산은 합성곱 계층에 / "
             "Parameters sit in the FC layers, compute in the convs")


