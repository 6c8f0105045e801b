"""Pictures of the parameter counts: where VGG's parameters sit, and where its compute goes."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..analysis.params import params_vs_compute
from .figures import figure_and_axes
from .tables import Table

__all__ = ["plot_params_vs_compute"]


def plot_params_vs_compute(model: nn.Module | str | Table = "D", input_size: int = 224, ax: Any = None) -> Any:
    """One bar chart: each weight layer's share of all parameters and of all multiply-adds.

    ``model`` may also be the result of :func:`~vgg_teach.analysis.params.params_vs_compute`.
    Returns the figure (see :mod:`.figures`).
    """
    rows = model if isinstance(model, Table) else params_vs_compute(model, input_size)
    fig, axes = figure_and_axes(ax, figsize=(11, 4))
    ax = axes[0, 0]
    x = list(range(len(rows)))
    ax.bar([i - 0.2 for i in x], [100 * r.params_share for r in rows], width=0.4,
           label="매개변수 / parameters", color="#d1495b")
    ax.bar([i + 0.2 for i in x], [100 * r.macs_share for r in rows], width=0.4,
           label="연산(곱셈-덧셈) / compute (MACs)", color="#00798c")
    ax.set_xticks(x)
    ax.set_xticklabels([r.name for r in rows], rotation=60, ha="right")
    ax.set_ylabel("전체 대비 비율 (%) / share of total (%)")
    ax.set_title("매개변수는 fc6에, 연산은 합성곱에 / Parameters in fc6, compute in the convolutions")
    ax.legend()
    return fig
