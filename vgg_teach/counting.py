"""Walking a model's layers: leaves in forward order, paper-style names, shapes and FLOPs on the ``meta`` device.

Shared by the parameter tables (:mod:`.params`), the receptive-field tables (:mod:`.receptive_field`) and
the checks. Assumption: a model's leaf modules run in the order they are registered — true for
``nn.Sequential`` stacks and for VGG (``features``, ``avgpool``, ``classifier``).

Counting VGG: parameters, compute and activation memory, layer by layer.

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

Two comparisons from the paper and the course: why 3×3 convolutions, and what the 32×32 CIFAR variant changes.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import torch
from torch import nn

from .answers import conv_params, linear_params
from .errors import UsageError
from .models import CFGS, conv_layer_names, vgg, vgg_cifar
from .show import Table, fmt_int, fmt_pct


# ---- from vgg_teach.analysis.layers (phase-1 merge)
def pair(value: int | Sequence[int]) -> tuple[int, int]:
    """``3`` → ``(3, 3)``; ``(3, 5)`` stays: a module's kernel/stride/padding as a pair."""
    if isinstance(value, int):
        return value, value
    a, b = value
    return int(a), int(b)


def leaf_layers(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(path, module)`` for every module without children, in registration order.

    For ``nn.Sequential`` stacks and for VGG (``features``, ``avgpool``, ``classifier``) this is also
    the order of the forward pass — the assumption the layer tables rely on. A model whose
    ``forward`` calls its layers in another order, or calls one twice, is not described correctly.
    """
    leaves = [(name, m) for name, m in module.named_modules() if next(m.children(), None) is None]
    return [(name or type(m).__name__, m) for name, m in leaves]


_POOLS = (nn.MaxPool2d, nn.AvgPool2d)


def _vgg_like(leaves: Sequence[tuple[str, nn.Module]]) -> bool:
    """Every convolution is 3×3 (or 1×1) with stride 1, so only poolings shrink the image: VGG's naming fits."""
    return all(pair(m.stride) == (1, 1) and pair(m.kernel_size) in ((3, 3), (1, 1))
               for _, m in leaves if isinstance(m, nn.Conv2d))


def layer_names(leaves: Sequence[tuple[str, nn.Module]]) -> list[str]:
    """Paper-style names for the leaves of a model: conv1_1 … pool5, fc6 … fc8 for a VGG-like one.

    In a VGG-like model (:func:`_vgg_like`) convolutions and pools are named by
    :func:`vgg_teach.models.conv_layer_names` and linear layers are ``fc6``, ``fc7``, … (numbered after
    the last pooling block, as in Caffe's VGG). Any other network (AlexNet's 11×11 stride-4 first layer,
    ResNet's 7×7 stem) is named the Caffe way: ``conv1``, ``conv2``, … in order, a pooling after the
    n-th convolution ``pool<n>`` (AlexNet: pool1, pool2, pool5), linear layers numbered on from the
    last convolution. A batch norm, ReLU or dropout after a layer takes its number (``bn1_1``,
    ``relu1_1``, ``relu6``, ``drop6``); anything else keeps its module path (``avgpool``).
    """
    vgg_like = _vgg_like(leaves)
    spec = ["M" if isinstance(m, _POOLS) else 0 for _, m in leaves if isinstance(m, (nn.Conv2d, *_POOLS))]
    paper = iter(conv_layer_names(spec))
    fc = spec.count("M") + 1 if vgg_like else spec.count(0) + 1
    n_conv = 0
    names: list[str] = []
    last = ""  # suffix of the last conv ("1_1", or "3" outside VGG) or linear layer ("6")
    for path, m in leaves:
        if isinstance(m, (nn.Conv2d, *_POOLS)) and vgg_like:
            name = next(paper)
            last = name[4:] if name.startswith("conv") else ""
        elif isinstance(m, nn.Conv2d):
            n_conv += 1
            name, last = f"conv{n_conv}", str(n_conv)
        elif isinstance(m, _POOLS):
            name, last = f"pool{max(n_conv, 1)}", ""
        elif isinstance(m, nn.Linear):
            name, last, fc = f"fc{fc}", str(fc), fc + 1
        elif last and isinstance(m, nn.modules.batchnorm._BatchNorm):
            name = f"bn{last}"
        elif last and isinstance(m, (nn.ReLU, nn.modules.dropout._DropoutNd)):
            name = f"{'relu' if isinstance(m, nn.ReLU) else 'drop'}{last}"
        else:
            name = path
        names.append(name)
    return names


def meta_vgg(cfg: str = "D", batch_norm: bool = False, num_classes: int = 1000, cifar: bool = False,
             **kwargs: Any) -> nn.Module:
    """A VGG built on the ``meta`` device: real shapes and parameter counts, no memory, no init cost.

    ``cifar=True`` builds :func:`vgg_teach.models.vgg_cifar` instead of :func:`vgg_teach.models.architecture`.
    """
    with torch.device("meta"):
        if cifar:
            return vgg_cifar(cfg, batch_norm=batch_norm, num_classes=num_classes, **kwargs)
        return vgg(cfg, batch_norm=batch_norm, num_classes=num_classes, **kwargs)


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """Put every submodule in eval mode for the block, then restore each one's own mode."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training


def _meta_forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Run ``model`` with every parameter and buffer swapped for a meta tensor: shapes, no memory."""
    state = {k: torch.empty_like(v, device="meta") for k, v in
             [*model.named_parameters(), *model.named_buffers()]}
    return torch.func.functional_call(model, state, (x.to("meta"),))


def input_shape(input_size: int | Sequence[int]) -> tuple[int, int, int]:
    """``224``, ``(224, 224)`` or ``(3, 224, 224)`` → ``(C, H, W)``."""
    if isinstance(input_size, int):
        return 3, input_size, input_size
    shape = tuple(int(s) for s in input_size)
    if len(shape) == 2:
        return (3, *shape)  # type: ignore[return-value]
    if len(shape) != 3:
        raise UsageError(f"입력 크기는 224, (224, 224) 또는 (3, 224, 224) 꼴이어야 합니다 (받은 값: {input_size}). / "
                         f"input_size must look like 224, (224, 224) or (3, 224, 224), got {input_size}.")
    return shape  # type: ignore[return-value]


def trace(model: nn.Module, input_size: int | Sequence[int]
          ) -> tuple[list[tuple[str, nn.Module]], dict[str, tuple[int, ...]], int]:
    """Leaves, their output shapes (batch 1, batch dim dropped) and FlopCounterMode's total FLOPs."""
    from torch.utils.flop_counter import FlopCounterMode

    leaves = leaf_layers(model)
    shapes: dict[str, tuple[int, ...]] = {}

    def hook(path: str) -> Callable[..., None]:
        def record(_m: nn.Module, _inp: Any, out: Any) -> None:
            if isinstance(out, torch.Tensor):
                shapes.setdefault(path, tuple(out.shape[1:]))
        return record

    handles = [m.register_forward_hook(hook(path)) for path, m in leaves]
    shape = input_shape(input_size)
    try:
        with eval_mode(model), torch.no_grad(), FlopCounterMode(display=False) as counter:
            try:
                _meta_forward(model, torch.empty(1, *shape, device="meta"))
            except NotImplementedError:  # an op without a meta kernel: one real pass at batch 1
                shapes.clear()
                counter.flop_counts.clear()
                model(torch.zeros(1, *shape, device=model_device(model)))
    finally:
        for h in handles:
            h.remove()
    return leaves, shapes, int(counter.get_total_flops())


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (the CPU for a model without any)."""
    for t in [*model.parameters(), *model.buffers()]:
        return t.device
    return torch.device("cpu")


# ---- from vgg_teach.analysis.params (phase-1 merge)
#: float32: every activation and parameter takes 4 bytes.
BYTES_PER_ELEMENT = 4


_TORCHVISION_NAMES = {"A": "vgg11", "B": "vgg13", "C": None, "D": "vgg16", "E": "vgg19"}


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


# ---- from vgg_teach.analysis.compare (phase-1 merge)
# ---------------------------------------------------------------------------------- why 3×3
@dataclass(frozen=True)
class StackComparison:
    """``n_layers`` stacked k×k convolutions against one convolution with the same receptive field.

    Counts are weights only (no bias), C input and C output channels, as in the paper's §2.3.
    """

    n_layers: int
    kernel: int
    channels: int
    receptive_field: int
    stacked_params: int
    single_params: int

    @property
    def stacked_coefficient(self) -> int:
        """``n·k²``: the stack has ``n·k²·C²`` weights (18 for two 3×3)."""
        return self.n_layers * self.kernel ** 2

    @property
    def single_coefficient(self) -> int:
        """``r²``: the single layer has ``r²·C²`` weights (25 for 5×5)."""
        return self.receptive_field ** 2

    @property
    def saving(self) -> float:
        """Fraction of weights the stack saves: 1 − 18/25 = 28 % for two 3×3 vs 5×5."""
        return 1 - self.stacked_params / self.single_params

    def __str__(self) -> str:
        k, r, n = self.kernel, self.receptive_field, self.n_layers
        return (f"{n}×({k}×{k}) = {self.stacked_coefficient}C² = {self.stacked_params:,}  vs  "
                f"1×({r}×{r}) = {self.single_coefficient}C² = {self.single_params:,}  (C = {self.channels}, "
                f"절약 / saving {fmt_pct(self.saving)}, ReLU {n} vs 1)")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "stacked_coefficient": self.stacked_coefficient,
                "single_coefficient": self.single_coefficient, "saving": self.saving}


def stacked_vs_single(n_layers: int = 2, kernel: int = 3, channels: int = 64) -> StackComparison:
    """Why 3×3: ``n_layers`` k×k convs have the receptive field of one ``n(k−1)+1`` conv.

    Two 3×3 → 5×5 with 18C² instead of 25C² weights; three 3×3 → 7×7 with 27C² instead of 49C².
    """
    if n_layers < 1 or kernel < 1 or channels < 1:
        raise ValueError("n_layers, kernel, channels는 모두 1 이상이어야 합니다. / "
                         "n_layers, kernel and channels must all be at least 1.")
    rf = n_layers * (kernel - 1) + 1
    return StackComparison(n_layers, kernel, channels, rf,
                           n_layers * conv_params(channels, channels, kernel, bias=False),
                           conv_params(channels, channels, rf, bias=False))


def why_3x3_table(channels: int = 512) -> Table:
    """The two comparisons of the paper (2×3×3 vs 5×5, 3×3×3 vs 7×7) as a table."""
    rows = [stacked_vs_single(n, 3, channels) for n in (2, 3)]
    return Table(rows, columns=[
        ("3×3 쌓기 / stacked 3×3", lambda s: f"{s.n_layers}층 / layers", False),
        ("수용 영역 / Receptive field", lambda s: f"{s.receptive_field}×{s.receptive_field}", False),
        ("쌓은 가중치 / Stack weights", lambda s: f"{s.stacked_coefficient}C² = {fmt_int(s.stacked_params)}", True),
        ("단일 계층 가중치 / Single layer", lambda s: f"{s.single_coefficient}C² = {fmt_int(s.single_params)}", True),
        ("절약 / Saving", lambda s: fmt_pct(s.saving), True),
        ("ReLU 수 / ReLUs", lambda s: f"{s.n_layers} vs 1", True),
    ], title=f"왜 3×3인가 / Why 3×3 (C = {channels}, 편향 제외 / no bias)")


# -------------------------------------------------------------------------------- CIFAR variant
@dataclass
class CifarRow:
    """One part of the model in :func:`cifar_comparison`."""

    part: str
    imagenet: str
    cifar: str
    imagenet_params: int
    cifar_params: int


def cifar_comparison(cfg: str = "D", batch_norm: bool = True, num_classes: int = 10, hidden: int = 512) -> Table:
    """The ImageNet VGG (224×224, 1000 classes) against :func:`vgg_teach.models.vgg_cifar`.

    The convolutional part is the same; a 32×32 input leaves 512×1×1 features instead of 512×7×7,
    so fc6 takes 512 inputs instead of 25,088 and the hidden width is ``hidden`` instead of 4096.
    Rows: features, fc6, fc7, fc8, total — each with the layer's shape and parameter count.
    """
    big = layer_table(meta_vgg(cfg, batch_norm), 224)
    small = layer_table(meta_vgg(cfg, batch_norm, num_classes, cifar=True, hidden=hidden), 32)

    def features(t: LayerTable) -> tuple[str, int]:
        conv = [r for r in t if r.path.startswith("features.")]
        return "→ " + "×".join(map(str, conv[-1].output_shape)), sum(r.params for r in conv)

    (big_shape, big_n), (small_shape, small_n) = features(big), features(small)
    rows = [CifarRow("합성곱 부분 / features", big_shape, small_shape, big_n, small_n)]
    for a, b in zip((r for r in big if r.type == "Linear"), (r for r in small if r.type == "Linear")):
        rows.append(CifarRow(a.name, a.formula, b.formula, a.params, b.params))
    rows.append(CifarRow("합계 / Total", "224×224, 1000", f"32×32, {num_classes}", big.total_params,
                         small.total_params))
    return Table(rows, columns=[
        ("부분 / Part", lambda r: r.part, False),
        ("ImageNet (224)", lambda r: r.imagenet, False),
        ("매개변수 / Params", lambda r: fmt_int(r.imagenet_params), True),
        ("CIFAR (32)", lambda r: r.cifar, False),
        ("매개변수 / Params ", lambda r: fmt_int(r.cifar_params), True),
    ], title=f"ImageNet VGG vs CIFAR VGG — 구성 / config {cfg}{' + BN' if batch_norm else ''}",
        notes=["합성곱 부분은 같고 분류기만 바뀝니다: 32×32 입력은 풀링 5번 뒤 512×1×1이 됩니다. / "
               "The convolutions are the same; only the classifier changes: 32×32 becomes 512×1×1 "
               "after five poolings."])
