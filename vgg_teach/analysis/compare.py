"""Two comparisons from the paper and the course: why 3×3 convolutions, and what the 32×32 CIFAR variant changes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..show.tables import Table, fmt_int, fmt_pct
from .layers import meta_vgg
from .params import LayerTable, conv_params, layer_table

__all__ = ["StackComparison", "stacked_vs_single", "why_3x3_table", "CifarRow", "cifar_comparison"]


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


