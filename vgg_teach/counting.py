"""Lesson 02: walking a model's layers, and counting its parameters, compute and activation memory.

Models are counted on PyTorch's ``meta`` device (shapes without memory): all ten A–E models in well under a
second. ``FlopCounterMode`` counts a multiply-add as **2 FLOPs**; the tables show multiply-adds (MACs), the number
usually quoted for VGG16 (15.5 G). Leaves are taken in registration order, the order ``nn.Sequential`` and VGG run.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections import namedtuple
from typing import Any, Callable, Sequence

import torch
from torch import nn

from .answers import conv_params, linear_params
from .errors import UsageError, cause, josa
from .models import CFGS, conv_layer_names, vgg, vgg_cifar
from .show import Table

_POOLS = (nn.MaxPool2d, nn.AvgPool2d)
_BATCHNORM, _DROPOUT = nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd
#: float32: every activation and parameter takes 4 bytes.
BYTES_PER_ELEMENT = 4


def leaf_layers(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(path, module)`` for every module without children, in registration order."""
    return [(name or type(m).__name__, m) for name, m in module.named_modules() if next(m.children(), None) is None]


def layer_names(leaves: Sequence[tuple[str, nn.Module]]) -> list[str]:
    """Paper-style names: conv1_1 … pool5, fc6 … fc8 when every convolution is 3×3 or 1×1 with stride 1.

    Other networks (AlexNet's 11×11 stride-4 stem, ResNet's 7×7) are named the Caffe way: ``conv1``, ``conv2``, … in
    order, a pooling after the n-th convolution ``pool<n>``, linear layers numbered on from the last convolution. A
    batch norm, ReLU or dropout takes its layer's number (``bn1_1``, ``relu6``, ``drop6``); anything else keeps its
    module path (``avgpool``).
    """
    # The body: up to the last pooling. After it, a convolution is the classifier made convolutional (lesson 06's
    # fc6 as a 7×7 convolution, fc7 and fc8 as 1×1): named fc6 … like the linear layers it replaces.
    pools = [i for i, (_, m) in enumerate(leaves) if isinstance(m, _POOLS)]
    body = leaves[: pools[-1] + 1] if pools else leaves
    vgg_like = all(tuple(m.stride) == (1, 1) and tuple(m.kernel_size) in ((3, 3), (1, 1))
                   for _, m in body if isinstance(m, nn.Conv2d))
    spec = ["M" if isinstance(m, _POOLS) else 0 for _, m in body if isinstance(m, (nn.Conv2d, *_POOLS))]
    paper = iter(conv_layer_names(spec))
    fc = spec.count("M") + 1 if vgg_like else spec.count(0) + 1
    n_conv, names = 0, []
    last = ""  # suffix of the last conv ("1_1", or "3" outside VGG) or linear layer ("6")
    for index, (path, m) in enumerate(leaves):
        if vgg_like and index >= len(body) and isinstance(m, nn.Conv2d):
            name, last, fc = f"fc{fc}", str(fc), fc + 1
        elif isinstance(m, (nn.Conv2d, *_POOLS)) and vgg_like:
            name = next(paper)
            last = name[4:] if name.startswith("conv") else ""
        elif isinstance(m, nn.Conv2d):
            n_conv += 1
            name, last = f"conv{n_conv}", str(n_conv)
        elif isinstance(m, _POOLS):
            name, last = f"pool{max(n_conv, 1)}", ""
        elif isinstance(m, nn.Linear):
            name, last, fc = f"fc{fc}", str(fc), fc + 1
        elif last and isinstance(m, (_BATCHNORM, nn.ReLU, _DROPOUT)):
            name = ("bn" if isinstance(m, _BATCHNORM) else "relu" if isinstance(m, nn.ReLU) else "drop") + last
        else:
            name = path
        names.append(name)
    return names


def meta_vgg(cfg: str = "D", batch_norm: bool = False, num_classes: int = 1000, cifar: bool = False,
             **kwargs: Any) -> nn.Module:
    """A VGG (``vgg_cifar`` with ``cifar=True``) on the ``meta`` device: real shapes, no memory, no init cost."""
    with torch.device("meta"):
        return (vgg_cifar if cifar else vgg)(cfg, batch_norm=batch_norm, num_classes=num_classes, **kwargs)


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


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (the CPU for a model without any)."""
    return next((t.device for t in [*model.parameters(), *model.buffers()]), torch.device("cpu"))


def _meta_forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Run ``model`` with every parameter and buffer swapped for a meta tensor: shapes, no memory."""
    state = {k: torch.empty_like(v, device="meta") for k, v in [*model.named_parameters(), *model.named_buffers()]}
    return torch.func.functional_call(model, state, (x.to("meta"),))


def input_shape(input_size: int | Sequence[int]) -> tuple[int, int, int]:
    """``224``, ``(224, 224)`` or ``(3, 224, 224)`` → ``(C, H, W)``; NumPy integers and whole floats count too."""
    bad = UsageError("입력 크기는 224, (224, 224) 또는 (3, 224, 224)처럼 양의 정수로 지정하세요 "
                     f"(받은 값: {input_size!r}). / "
                     f"input_size must look like 224, (224, 224) or (3, 224, 224), in positive whole numbers; got "
                     f"{input_size!r}.")
    try:
        items = (input_size,) if isinstance(input_size, numbers.Real) else tuple(input_size)
    except TypeError:
        raise bad from None
    if isinstance(input_size, (str, bytes)) or not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) and float(v).is_integer() for v in items):
        raise bad
    shape = tuple(int(v) for v in items)
    shape = (3, shape[0], shape[0]) if len(shape) == 1 else (3, *shape) if len(shape) == 2 else shape
    if len(shape) != 3 or min(shape) < 1:
        raise bad
    return shape  # type: ignore[return-value]


def trace(model: nn.Module, input_size: int | Sequence[int]
          ) -> tuple[list[tuple[str, nn.Module]], dict[str, tuple[int, ...]], int]:
    """Leaves, their output shapes (batch 1, batch dim dropped) and FlopCounterMode's total FLOPs."""
    from torch.utils.flop_counter import FlopCounterMode  # loads triton's runtime (0.2 s): only when counting
    leaves, shape, shapes = leaf_layers(model), input_shape(input_size), {}
    paths = {id(m): path for path, m in leaves}

    def record(m: nn.Module, _inp: Any, out: Any) -> None:
        if id(m) in paths and isinstance(out, torch.Tensor):
            shapes.setdefault(paths[id(m)], tuple(out.shape[1:]))

    with nn.modules.module.register_module_forward_hook(record), eval_mode(model), torch.no_grad(), \
            FlopCounterMode(display=False) as counter:
        try:
            try:
                _meta_forward(model, torch.empty(1, *shape, device="meta"))
            except NotImplementedError:  # an op without a meta kernel: one real pass at batch 1
                shapes.clear()
                counter.flop_counts.clear()
                model(torch.zeros(1, *shape, device=model_device(model)))
        except RuntimeError as err:
            if "too small" not in str(err):
                raise
            raise UsageError(f"입력 {shape[1]}×{josa(shape[2], '은')} 이 모델에 너무 작습니다: 중간의 특징 맵이 "
                             f"1×1보다 작아집니다 ({cause(err)}). 더 큰 input_size를 주세요. / "
                             f"An input of {shape[1]}×{shape[2]} is too small for this model: a feature map in between "
                             f"shrinks below 1×1 ({cause(err)}). Pass a larger input_size.") from None
    return leaves, shapes, int(counter.get_total_flops())


def count_flops(model: nn.Module, input_size: int | Sequence[int] = 224) -> int:
    """FLOPs of one forward pass at batch 1 as ``FlopCounterMode`` counts them (2 per multiply-add), on ``meta``."""
    return trace(model, input_size)[2]


def _formula(m: nn.Module) -> str:
    """The parameter formula of one layer as text, e.g. ``(3·3·64 + 1)·128``; "" without parameters."""
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        conv = isinstance(m, nn.Conv2d)
        core = "·".join(map(str, (*m.kernel_size, m.in_channels // m.groups))) if conv else str(m.in_features)
        out = m.out_channels if conv else m.out_features
        return f"({core} + 1)·{out}" if m.bias is not None else f"{core}·{out}"
    if isinstance(m, _BATCHNORM):  # γ and β; the running mean and variance are buffers, not parameters
        return f"2·{m.num_features}" if m.affine else ""
    return " + ".join("·".join(map(str, p.shape)) or "1" for p in m.parameters(recurse=False))


def _own_params(m: nn.Module, conv_formula: Callable[[int, int, int], int] | None,
                linear_formula: Callable[[int, int], int] | None) -> int:
    if isinstance(m, nn.Conv2d):
        kh, kw = m.kernel_size
        if conv_formula is not None and kh == kw and m.groups == 1 and m.bias is not None:
            return int(conv_formula(m.in_channels, m.out_channels, kh))
        return conv_params(m.in_channels, m.out_channels, m.kernel_size, m.bias is not None, m.groups)
    if isinstance(m, nn.Linear):
        if linear_formula is not None and m.bias is not None:
            return int(linear_formula(m.in_features, m.out_features))
        return linear_params(m.in_features, m.out_features, m.bias is not None)
    return sum(p.numel() for p in m.parameters(recurse=False))


#: One layer of :func:`layer_table` (shapes leave out the batch dimension).
LayerRow = namedtuple("LayerRow", "name path type output_shape formula params cumulative macs activations")


class LayerTable(Table):
    """The :class:`Table` of :func:`layer_table`, with the model's totals (batch 1) as attributes."""

    total_params = total_macs = activation_elements = 0
    flops_counted = 0  #: FlopCounterMode's total for the same pass (2 FLOPs per multiply-add)

    @property
    def activation_bytes(self) -> int:
        return self.activation_elements * BYTES_PER_ELEMENT


def layer_table(model: nn.Module, input_size: int | Sequence[int] = 224, compact: bool = False,
                conv_formula: Callable[[int, int, int], int] | None = None,
                linear_formula: Callable[[int, int], int] | None = None) -> LayerTable:
    """The layer-by-layer table of ``model`` for one input of ``input_size``, computed on the ``meta`` device.

    ``activations``: the elements of a layer's output when it makes a new tensor (in-place ReLU, dropout, Identity
    and Flatten count 0); ``compact`` leaves out ReLU and Dropout rows. The learner's ``conv_formula(c_in, c_out,
    k)`` and ``linear_formula(n_in, n_out)`` count the layers with a bias, a square kernel and ``groups=1`` (every
    VGG layer) instead of :func:`conv_params` / :func:`linear_params`.
    """
    leaves, shapes, total_flops = trace(model, input_size)
    rows, total = [], 0
    for (path, m), name in zip(leaves, layer_names(leaves)):
        if (shape := shapes.get(path)) is None:  # not called by forward
            continue
        n = _own_params(m, conv_formula, linear_formula)
        total += n
        # In-place ReLU reuses its input; Dropout (at inference), Identity and Flatten return it or a view.
        new_tensor = not (getattr(m, "inplace", False) or isinstance(m, (_DROPOUT, nn.Identity, nn.Flatten)))
        # Multiply-adds of a conv or linear layer, the ops FlopCounterMode counts.
        layer_macs = torch.Size(shape).numel() * math.prod(m.kernel_size) * (m.in_channels // m.groups) \
            if isinstance(m, nn.Conv2d) else m.in_features * m.out_features if isinstance(m, nn.Linear) else 0
        rows.append(LayerRow(name, path, type(m).__name__, shape, _formula(m), n, total, layer_macs,
                             torch.Size(shape).numel() if new_tensor else 0))
    macs, acts = sum(r.macs for r in rows), sum(r.activations for r in rows)
    table = LayerTable(
        [r for r in rows if not (compact and r.type in ("ReLU", "Dropout"))],
        columns=[("계층 / Layer", lambda r: r.name, False), ("종류 / Type", lambda r: r.type, False),
                 ("출력 모양 / Output shape", lambda r: "×".join(map(str, r.output_shape)), False),
                 ("식 / Formula", lambda r: r.formula, False), ("매개변수 / Params", lambda r: f"{r.params:,}", True),
                 ("누적 / Cumulative", lambda r: f"{r.cumulative:,}", True),
                 ("곱셈-덧셈 / MACs", lambda r: f"{r.macs:,}", True)],
        title=f"계층별 표 / Layer by layer — {type(model).__name__}, 입력 / input {input_shape(input_size)}",
        footer=["합계 / Total", "", "", "", f"{total:,}", "", f"{macs:,}"],
        notes=[f"곱셈-덧셈(MACs) {macs / 1e9:.2f} G = FLOPs {2 * macs / 1e9:.2f} G (FlopCounterMode는 곱셈-덧셈 하나를 "
               f"2 FLOPs로 셉니다 / FlopCounterMode counts a multiply-add as 2 FLOPs); 활성화(activation) "
               f"{acts:,}개 × 4바이트 = {acts * BYTES_PER_ELEMENT / 2**20:.1f} MiB (배치 1 / batch 1)."])
    table.total_params, table.total_macs = total, macs
    table.flops_counted, table.activation_elements = total_flops, acts
    return table


#: One configuration of :func:`config_table`: fc6's parameters and share, activation memory of one image.
ConfigRow = namedtuple("ConfigRow", "config batch_norm name weight_layers params fc1_params fc1_share macs flops "
                                    "activation_bytes")


def config_table(input_size: int = 224, num_classes: int = 1000,
                 batch_norm: Sequence[bool] = (False, True)) -> Table:
    """Configurations A–E (and their batch-norm variants) side by side; C, without a torchvision name, is
    ``vgg16_1x1``."""
    names = {"A": "vgg11", "B": "vgg13", "C": "vgg16_1x1", "D": "vgg16", "E": "vgg19"}
    rows = []
    for bn in batch_norm:
        for cfg in CFGS:
            t = layer_table(meta_vgg(cfg, bn, num_classes), input_size)
            fc6 = next(r.params for r in t if r.type == "Linear")
            rows.append(ConfigRow(cfg, bn, names[cfg] + ("_bn" if bn else ""),
                                  sum(r.type in ("Conv2d", "Linear") for r in t), t.total_params, fc6,
                                  fc6 / t.total_params, t.total_macs, t.flops_counted, t.activation_bytes))
    return Table(rows, columns=[
        ("구성 / Config", lambda r: r.config + (" + BN" if r.batch_norm else ""), False),
        ("이름 / Name", lambda r: r.name, False), ("가중치 계층 / Weight layers", lambda r: str(r.weight_layers), True),
        ("매개변수 / Params", lambda r: f"{r.params:,}", True),
        ("fc6 매개변수 / fc6 params", lambda r: f"{r.fc1_params:,}", True),
        ("fc6 비율 / fc6 share", lambda r: f"{r.fc1_share:.1%}", True),
        ("곱셈-덧셈 / MACs (G)", lambda r: f"{r.macs / 1e9:.2f}", True),
        ("FLOPs (G)", lambda r: f"{r.flops / 1e9:.2f}", True),
        ("활성화 메모리 / Activations (MiB)", lambda r: f"{r.activation_bytes / 2**20:.1f}", True),
    ], title=f"VGG 구성 A–E 비교 / Configurations A–E — 입력 / input {input_size}×{input_size}, 배치 / batch 1",
        notes=["FLOPs = 2 × 곱셈-덧셈(multiply-add) — FlopCounterMode의 셈법 / as FlopCounterMode counts them.",
               "활성화 메모리: 순전파가 새로 만드는 출력 텐서(합성곱, 배치 정규화, 풀링, 완전 연결)의 원소 수 × "
               "4바이트 (제자리 ReLU·드롭아웃 제외, 입력·매개변수 제외) / activation memory: elements of every new "
               "output tensor (conv, batch norm, pooling, linear) × 4 bytes; in-place ReLU, dropout, the input and "
               "the parameters are not counted."])


CostRow = namedtuple("CostRow", "name params macs params_share macs_share")


def params_vs_compute(model: nn.Module | str = "D", input_size: int = 224) -> Table:
    """Each weight layer's parameters and multiply-adds, and their shares; ``model`` may be a configuration letter."""
    table = layer_table(meta_vgg(model) if isinstance(model, str) else model, input_size)
    rows = [CostRow(r.name, r.params, r.macs, r.params / table.total_params, r.macs / table.total_macs)
            for r in table if r.type in ("Conv2d", "Linear")]
    return Table(rows, columns=[
        ("계층 / Layer", lambda r: r.name, False), ("매개변수 / Params", lambda r: f"{r.params:,}", True),
        ("매개변수 비율 / Params share", lambda r: f"{r.params_share:.1%}", True),
        ("곱셈-덧셈 / MACs", lambda r: f"{r.macs:,}", True),
        ("연산 비율 / Compute share", lambda r: f"{r.macs_share:.1%}", True),
    ], title="매개변수는 완전 연결 계층에, 연산은 합성곱 계층에 / "
             "Parameters sit in the FC layers, compute in the convs")


class StackComparison(namedtuple("StackComparison", "n_layers kernel channels receptive_field stacked_params "
                                                   "single_params stacked_coefficient single_coefficient saving")):
    """``n_layers`` stacked k×k convolutions against one with the same receptive field (weights only, C → C): the
    stack has ``stacked_coefficient·C²`` = ``n·k²·C²`` weights, the single layer ``r²·C²``."""

    def __str__(self) -> str:
        k, r, n = self.kernel, self.receptive_field, self.n_layers
        return (f"{n}×({k}×{k}) = {self.stacked_coefficient}C² = {self.stacked_params:,}  vs  "
                f"1×({r}×{r}) = {self.single_coefficient}C² = {self.single_params:,}  (C = {self.channels}, "
                f"절약 / saving {self.saving:.1%}, ReLU {n} vs 1)")


def stacked_vs_single(n_layers: int = 2, kernel: int = 3, channels: int = 64) -> StackComparison:
    """Why 3×3 (paper §2.3): ``n_layers`` k×k convs see as far as one ``n(k−1)+1`` conv, with fewer weights."""
    if n_layers < 1 or kernel < 1 or channels < 1:
        raise ValueError("n_layers, kernel, channels는 모두 1 이상이어야 합니다. / "
                         "n_layers, kernel and channels must all be at least 1.")
    rf = n_layers * (kernel - 1) + 1
    stacked = n_layers * conv_params(channels, channels, kernel, bias=False)
    single = conv_params(channels, channels, rf, bias=False)
    return StackComparison(n_layers, kernel, channels, rf, stacked, single, n_layers * kernel ** 2, rf ** 2,
                           1 - stacked / single)


def why_3x3_table(channels: int = 512) -> Table:
    """The paper's two comparisons (2×3×3 vs 5×5, 3×3×3 vs 7×7) as a table."""
    return Table([stacked_vs_single(n, 3, channels) for n in (2, 3)], columns=[
        ("3×3 쌓기 / stacked 3×3", lambda s: f"{s.n_layers}층 / layers", False),
        ("수용 영역 / Receptive field", lambda s: f"{s.receptive_field}×{s.receptive_field}", False),
        ("쌓은 가중치 / Stack weights", lambda s: f"{s.stacked_coefficient}C² = {s.stacked_params:,}", True),
        ("단일 계층 가중치 / Single layer", lambda s: f"{s.single_coefficient}C² = {s.single_params:,}", True),
        ("절약 / Saving", lambda s: f"{s.saving:.1%}", True), ("ReLU 수 / ReLUs", lambda s: f"{s.n_layers} vs 1", True),
    ], title=f"왜 3×3인가 / Why 3×3 (C = {channels}, 편향 제외 / no bias)")


CifarRow = namedtuple("CifarRow", "part imagenet cifar imagenet_params cifar_params")


def cifar_comparison(cfg: str = "D", batch_norm: bool = True, num_classes: int = 10, hidden: int = 512) -> Table:
    """The ImageNet VGG (224×224, 1000 classes) against ``vgg_cifar``: the same convolutions, a smaller classifier."""
    big = layer_table(meta_vgg(cfg, batch_norm), 224)
    small = layer_table(meta_vgg(cfg, batch_norm, num_classes, cifar=True, hidden=hidden), 32)
    (big_shape, big_n), (small_shape, small_n) = (
        ("→ " + "×".join(map(str, conv[-1].output_shape)), sum(r.params for r in conv))
        for conv in ([r for r in t if r.path.startswith("features.")] for t in (big, small)))
    rows = [CifarRow("합성곱 부분 / features", big_shape, small_shape, big_n, small_n),
            *(CifarRow(a.name, a.formula, b.formula, a.params, b.params)
              for a, b in zip((r for r in big if r.type == "Linear"), (r for r in small if r.type == "Linear"))),
            CifarRow("합계 / Total", "224×224, 1000", f"32×32, {num_classes}", big.total_params, small.total_params)]
    return Table(rows, columns=[
        ("부분 / Part", lambda r: r.part, False), ("ImageNet (224)", lambda r: r.imagenet, False),
        ("매개변수 / Params", lambda r: f"{r.imagenet_params:,}", True), ("CIFAR (32)", lambda r: r.cifar, False),
        ("매개변수 / Params ", lambda r: f"{r.cifar_params:,}", True),
    ], title=f"ImageNet VGG vs CIFAR VGG — 구성 / config {cfg}{' + BN' if batch_norm else ''}",
        notes=["합성곱 부분은 같고 분류기만 바뀝니다: 32×32 입력은 풀링 5번 뒤 512×1×1이 됩니다. / "
               "The convolutions are the same; only the classifier changes: 32×32 becomes 512×1×1 "
               "after five poolings."])
