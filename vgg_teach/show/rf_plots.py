"""Pictures of receptive fields: growth per layer, boxes over a photo, gradient maps, and a layer slider."""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from ..analysis.receptive_field import LayerRef, RFTable, centre_box, receptive_field_table, rf_tables, vgg16_features
from ..analysis.rf_measure import RFMeasurement
from ..errors import UsageError
from .figures import figure_and_axes

__all__ = ["plot_rf_growth", "plot_rf_boxes", "plot_gradient_map", "plot_gradient_maps", "rf_slider",
           "show_rf_slider"]


def plot_rf_growth(table: RFTable | nn.Module | None = None, input_size: int = 224, ax: Any = None) -> Any:
    """Bar chart of the receptive field per layer (VGG16 by default), with the jump as a line.

    ``table`` is a :func:`~vgg_teach.analysis.receptive_field.receptive_field_table` result or a module.
    Returns the figure (see :mod:`.figures`).
    """
    rows = table if isinstance(table, RFTable) else receptive_field_table(table or vgg16_features())
    fig, axes = figure_and_axes(ax, figsize=(11, 4))
    ax = axes[0, 0]
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
    return fig


def _image_array(image: Any) -> Any:
    """An ``(H, W)`` or ``(H, W, 3)`` float array in [0, 1] from a tensor, array or PIL image (None: gray)."""
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
        raise UsageError(f"이미지는 (H, W), (H, W, 3) 또는 (3, H, W) 모양이어야 합니다 (받은 모양: {arr.shape}). / "
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


def plot_rf_boxes(image: Any = None,
                  layers: Sequence[LayerRef] = ("conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3"),
                  module: nn.Module | None = None, ax: Any = None) -> Any:
    """Draw the receptive field of the center unit of each of ``layers`` over ``image``.

    ``image``: a ``(3, H, W)`` or ``(H, W, 3)`` tensor or array, a PIL image, or ``None`` (a gray
    224×224 checkerboard). ``module`` defaults to VGG16's ``features``. Boxes that reach past the
    border are cut by the image frame. Returns the figure.
    """
    img = _image_array(image)
    size = img.shape[:2]
    t0, t1 = rf_tables(module or vgg16_features(), size)
    fig, axes = figure_and_axes(ax, figsize=(5, 5))
    ax = axes[0, 0]
    ax.imshow(img, cmap="gray", vmin=0, vmax=1)
    for i, layer in enumerate(layers):
        r0 = t0.row(layer)
        r1 = t1[r0.index]
        _draw_box(ax, centre_box((r0, r1)), _COLOURS[i % len(_COLOURS)],
                  f"{r0.layer}: {r0.receptive_field}×{r1.receptive_field}")
    ax.set_xlim(-0.5, size[1] - 0.5)
    ax.set_ylim(size[0] - 0.5, -0.5)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.8)
    ax.set_title("가운데 유닛의 수용 영역 / Receptive field of the center unit")
    return fig


def plot_gradient_map(result: RFMeasurement, ax: Any = None, title: str | None = None, log: bool | None = None) -> Any:
    """Show ``result.gradient`` with the measured box (solid) and the analytic field (dashed).

    ``log`` (default: on, except for the effective receptive field) draws ``log10`` of the gradient
    with zeros left blank, so the whole support shows even where the gradient is tiny. Returns the figure.
    """
    import numpy as np

    fig, axes = figure_and_axes(ax, figsize=(5, 5))
    ax = axes[0, 0]
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
                       round(cx + (s - 1) / 2)), "#edae49", f"기울기의 95% / 95% of the gradient {s}×{s}")
    ax.set_xlim(-0.5, result.input_size[1] - 0.5)
    ax.set_ylim(result.input_size[0] - 0.5, -0.5)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.8)
    ax.set_title(title or f"{result.layer} — {result.method}")
    return fig


def plot_gradient_maps(results: Sequence[RFMeasurement], titles: Sequence[str] | None = None, ax: Any = None) -> Any:
    """Several :func:`plot_gradient_map` panels side by side (e.g. the linear and the naive measurement)."""
    fig, axes = figure_and_axes(ax, 1, len(results), figsize=(5 * len(results), 5))
    for i, (result, panel) in enumerate(zip(results, axes[0])):
        plot_gradient_map(result, ax=panel, title=titles[i] if titles else None)
    return fig


def rf_slider(image: Any = None, module: nn.Module | None = None, layer: LayerRef = "conv3_3") -> Any:
    """Build (without showing) a slider over the conv/pool layers that redraws the center unit's field.

    Returns a :class:`~vgg_teach.show.widgets.LiveView`; its ``widget`` is an ``ipywidgets.VBox`` of an
    ``IntSlider`` and an ``Output`` (ipywidgets 7.6+ and 8). Use :func:`show_rf_slider` in a notebook.
    """
    import ipywidgets as widgets
    from matplotlib.figure import Figure

    from .widgets import LiveView, figure_bundle

    net = module or vgg16_features()
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
    """Display the receptive-field slider, plus a static figure for viewers without widgets.

    See :meth:`vgg_teach.show.widgets.LiveView.show` for ``fallback`` (``"separate"``, ``"bundle"``, ``"none"``).
    """
    rf_slider(image, module, layer).show(fallback)
