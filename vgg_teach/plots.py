"""Pictures of the parameter counts: where VGG's parameters sit, and where its compute goes.

The VGG explorer widget: configuration A–E, batch norm, input size and classes → the layer table.

:func:`explorer_table` tables the layers of configuration A–E (batch norm on or off) for an input
size and a number of classes — output shapes, parameter formulas and counts — on PyTorch's ``meta``
device, so no model is allocated. :func:`show_explorer` puts controls in front of it
(a :class:`~vgg_teach.show.widgets.LiveView`, with a static copy of the first table for viewers
without widgets).

Pictures of receptive fields: growth per layer, boxes over a photo, gradient maps, and a layer slider.

Pictures of lesson 06: a class score map over its photo, scale jittering, activation scales per initialization.

Every ``plot_*`` follows the course's plotting contract (:mod:`.figures`): an optional ``ax=``, the figure returned.

Pictures of the data and of training: image grids, learning curves, the schedule, confusion matrices.

Every ``plot_*`` follows the course's plotting contract (:mod:`.figures`): an optional ``ax=``, and the
figure returned.

Pictures of predictions: the top-k classes of one photo, the most confident mistakes, a prediction browser.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional, Sequence, Union

import torch
from torch import nn

from .counting import LayerTable, layer_table, meta_vgg, params_vs_compute
from .dense import ScaleJitter, ScoreMap, image_size
from .errors import UsageError
from .models import CFGS
from .receptive_field import (
    LayerRef,
    RFMeasurement,
    RFTable,
    centre_box,
    receptive_field_table,
    rf_tables,
    vgg16_features,
)
from .show import LiveView, Table, figure_and_axes, figure_bundle
from .training.engine import Predictions


# ---- from vgg_teach.show.params_plots (phase-1 merge)
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


# ---- from vgg_teach.show.layer_explorer (phase-1 merge)
def _message(text: str) -> LayerTable:
    return LayerTable(message=text)


def explorer_table(cfg: str = "D", batch_norm: bool = False, input_size: int = 224, num_classes: int = 1000,
                   compact: bool = True) -> LayerTable:
    """The layer table of VGG configuration ``cfg`` for one ``input_size``×``input_size`` image.

    Output shapes, parameter formulas and counts, cumulative counts and multiply-adds per layer
    (see :func:`vgg_teach.analysis.params.layer_table`; ``compact`` hides ReLU and Dropout rows). Built on the
    ``meta`` device: instant, no memory. Invalid settings give a table whose ``message`` says, in
    Korean and English, what to change (it has no rows) — never an exception.
    """
    key = str(cfg).upper()
    if key not in CFGS:
        return _message(f"구성 {cfg!r}은(는) 없습니다: A, B, C, D, E 중 하나를 고르세요. / "
                        f"There is no configuration {cfg!r}: choose one of A, B, C, D, E.")
    pools = CFGS[key].count("M")
    smallest = 2 ** pools
    if not isinstance(input_size, int) or isinstance(input_size, bool) or input_size < smallest:
        return _message(f"입력 크기 {input_size!r}은(는) 쓸 수 없습니다: 2×2 풀링(pooling)을 {pools}번 거치면 "
                        f"{smallest}보다 작은 입력은 0×0이 됩니다. {smallest} 이상의 정수를 고르세요. / "
                        f"Input size {input_size!r} cannot be used: {pools} 2×2 poolings shrink anything smaller "
                        f"than {smallest} to 0×0. Choose a whole number of at least {smallest}.")
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        return _message(f"클래스 수 {num_classes!r}은(는) 쓸 수 없습니다: 1 이상의 정수를 고르세요. / "
                        f"Number of classes {num_classes!r} cannot be used: choose a whole number of at least 1.")
    table = layer_table(meta_vgg(key, batch_norm, num_classes), input_size, compact=compact)
    table.title = (f"구성 / Config {key}{' + BN' if batch_norm else ''}, 입력 / input {input_size}×{input_size}, "
                   f"클래스 / classes {num_classes}")
    if input_size != 224:
        table.notes.append("입력이 224가 아니어도 AdaptiveAvgPool2d가 7×7로 맞추므로 분류기 매개변수는 같고, 연산량만 "
                           "달라집니다. / Whatever the input size, AdaptiveAvgPool2d brings the features to 7×7: the "
                           "classifier's parameters stay the same, only the compute changes.")
    return table


def explorer(cfg: str = "D", batch_norm: bool = False, input_size: int = 224, num_classes: int = 1000) -> LiveView:
    """Build (without showing) the explorer: configuration, batch norm, input size, classes.

    Returns a :class:`LiveView`; its ``controls`` are, in order, a ``Dropdown`` (A–E), a
    ``Checkbox`` (batch norm), an ``IntSlider`` (input size 8–512, step 8: sizes under 32 show
    the bilingual message) and an ``IntText`` (number of classes).
    """
    import ipywidgets as widgets

    style = {"description_width": "initial"}
    labels = {"A": "VGG11", "B": "VGG13", "C": "VGG16 (1×1)", "D": "VGG16", "E": "VGG19"}
    config = widgets.Dropdown(options=[(f"{k} — {v}", k) for k, v in labels.items()], value=cfg.upper(),
                              description="구성 / config", style=style)
    bn = widgets.Checkbox(value=batch_norm, description="배치 정규화 / batch norm", style=style)
    size = widgets.IntSlider(value=input_size, min=8, max=512, step=8, description="입력 크기 / input size",
                             continuous_update=False, style=style)
    classes = widgets.IntText(value=num_classes, description="클래스 수 / classes", style=style)
    return LiveView([config, bn, size, classes],
                    lambda: explorer_table(config.value, bn.value, size.value, classes.value).mime_bundle())


def show_explorer(cfg: str = "D", batch_norm: bool = False, input_size: int = 224, num_classes: int = 1000,
                  fallback: str = "separate") -> None:
    """Display the explorer, plus its initial table as a static output (see :meth:`LiveView.show`)."""
    explorer(cfg, batch_norm, input_size, num_classes).show(fallback)


# ---- from vgg_teach.show.rf_plots (phase-1 merge)
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

    from .show import LiveView, figure_bundle

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


# ---- from vgg_teach.show.dense_plots (phase-1 merge)
def _box(ax: Any, top: float, left: float, height: float, width: float, colour: str, label: str = "",
         ls: str = "-") -> None:
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((left - 0.5, top - 0.5), width, height, fill=False, ec=colour, lw=2, ls=ls))
    if label:
        ax.text(left, top - 2, label, color=colour, fontsize=8, va="bottom",
                bbox={"fc": "white", "ec": "none", "alpha": 0.7, "pad": 1})


def plot_score_map(image: Any, scores: torch.Tensor, geometry: ScoreMap, label: str = "",
                   crop: int = 224, ax: Any = None) -> Any:
    """One class's score map (``(h, w)``, e.g. its softmax probability per position) drawn over ``image``.

    ``image`` is the picture the map was computed from (PIL image or ``(3, H, W)`` tensor in [0, 1]);
    ``geometry`` its :func:`~vgg_teach.analysis.dense.score_map_geometry`. Each score is drawn as a
    ``stride × stride`` cell at its center; a dashed box shows the ``crop × crop`` window one score stands
    for, a dotted one its whole receptive field. Returns the figure.
    """
    fig, axes = figure_and_axes(ax, figsize=(6, 6))
    ax = axes[0, 0]
    values = torch.as_tensor(scores).detach().float().cpu()
    h, w = values.shape[-2:]
    s = geometry.stride
    (y0, x0) = geometry.start
    ax.imshow(to_image(image))
    extent = (x0 - s / 2, x0 + (w - 0.5) * s, y0 + (h - 0.5) * s, y0 - s / 2)
    shown = ax.imshow(values.reshape(h, w).numpy(), cmap="magma", alpha=0.55, extent=extent,
                      interpolation="nearest")
    fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    cy, cx = geometry.centre(0, 0)
    _box(ax, cy - crop / 2 + 0.5, cx - crop / 2 + 0.5, crop, crop, COLOURS[2],
         f"점수 (0,0)의 {crop}×{crop} 창 / window of score (0,0)", ls="--")
    rf = geometry.receptive_field
    top, left = cy - rf / 2 + 0.5, cx - rf / 2 + 0.5
    _box(ax, top, left, rf, rf, COLOURS[3], "", ls=":")
    ax.text(left + 4, top + 4, f"점수 (0,0)의 수용 영역 / receptive field of score (0,0): {rf}", color=COLOURS[3],
            fontsize=8, va="top", bbox={"fc": "white", "ec": "none", "alpha": 0.7, "pad": 1})
    ih, iw = image_size(image)
    margin = 8
    ax.set_xlim(min(-0.5, left - 0.5) - margin, max(iw - 0.5, left + rf) + margin)
    ax.set_ylim(max(ih - 0.5, top + rf) + margin, min(-0.5, top - 0.5) - margin)
    ax.set_title(f"점수 맵 / score map {h}×{w}, 간격 / stride {s}px" + (f"\n{label}" if label else ""))
    ax.set_axis_off()
    return fig


def plot_scale_jitter(image: Any, n: int = 6, jitter: ScaleJitter | None = None, ax: Any = None) -> Any:
    """The original image with the windows of ``n`` scale-jittered crops, then the crops themselves.

    ``jitter`` defaults to ``ScaleJitter(256, 512, 224, seed=0)``. Needs ``n + 1`` Axes when ``ax`` is given.
    Returns the figure.
    """
    jitter = jitter or ScaleJitter(seed=0)
    samples = [jitter.sample(image) for _ in range(n)]
    ncols = min(4, n + 1)
    nrows = math.ceil((n + 1) / ncols)
    fig, axes = figure_and_axes(ax, nrows, ncols, figsize=(3.2 * ncols, 3.3 * nrows))
    flat = list(axes.flat)
    first = flat[0]
    first.imshow(to_image(image))
    for k, sample in enumerate(samples):
        colour = COLOURS[k % len(COLOURS)]
        _box(first, *sample.box_in_original, colour, f"S={sample.scale}")
        flat[k + 1].imshow(to_image(sample.image))
        flat[k + 1].set_title(f"S = {sample.scale}", color=colour)
    first.set_title("원본과 잘라 낸 창 / original and the crops")
    for a in flat:
        a.set_axis_off()
    fig.suptitle(f"크기 흔들기 / scale jittering: S ∈ [{jitter.s_min}, {jitter.s_max}], "
                 f"{jitter.crop}×{jitter.crop} 무작위 잘라 내기 / random crop")
    fig.tight_layout()
    return fig


def plot_activation_scales(scales: Mapping[str, Sequence[float]], ax: Any = None) -> Any:
    """Activation spread per convolution (log scale), one line per entry of ``scales``.

    ``scales`` maps ``"D · Kaiming (He)"``-style labels (configuration · initialization) to the numbers of
    :func:`~vgg_teach.analysis.deep_init.activation_scales`: one color per initialization, configuration
    A dashed. Returns the figure.
    """
    fig, axes = figure_and_axes(ax, figsize=(8, 4.5))
    ax = axes[0, 0]
    schemes: list[str] = []
    for label, values in scales.items():
        config, _, scheme = label.partition(" · ")
        if scheme not in schemes:
            schemes.append(scheme)
        ax.plot(range(1, len(values) + 1), values, marker="o", ms=3, ls="--" if config.strip() == "A" else "-",
                color=COLOURS[schemes.index(scheme) % len(COLOURS)], label=label)
    from matplotlib.ticker import FuncFormatter

    ax.axhline(1.0, color="gray", lw=0.8)
    ax.set_yscale("log")
    # plain "1e-4" labels: the Hangul font has no U+2212, which the default log labels (mathtext) use
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e")
                                               .replace("e+", "e")))
    ax.set_xlabel("합성곱 계층 (순서) / convolution (in order)")
    ax.set_ylabel("출력의 표준편차 / std of the output")
    ax.set_title("초기화에 따라 깊이를 지나는 신호의 크기 / Signal size through depth, per initialization")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


# ---- from vgg_teach.show.training_plots (phase-1 merge)
CIFAR10_KO = {"airplane": "비행기", "automobile": "자동차", "bird": "새", "cat": "고양이", "deer": "사슴",
              "dog": "개", "frog": "개구리", "horse": "말", "ship": "배", "truck": "트럭"}


RIGHT, WRONG = "#1a7f37", "#cf222e"


COLOURS = ["#00798c", "#d1495b", "#edae49", "#66a182", "#2e4057", "#8d96a3"]


def class_label(name: str) -> str:
    """``"고양이 cat"`` for a CIFAR-10 class, the name itself for any other class."""
    ko = CIFAR10_KO.get(name)
    return f"{ko} {name}" if ko else name


def to_image(image: Any):
    """A uint8 C×H×W tensor, a float tensor in [0, 1], a PIL image or an H×W×C array → something imshow takes."""
    if isinstance(image, torch.Tensor):
        img = image.detach().cpu()
        if img.ndim == 3 and img.shape[0] in (1, 3):
            img = img.permute(1, 2, 0)
        if img.dtype.is_floating_point:
            img = img.clamp(0, 1)
        return img.squeeze(-1).numpy() if img.shape[-1] == 1 else img.numpy()
    return image


def plot_samples(images: torch.Tensor, labels: Optional[Sequence[int]] = None,
                 classes: Optional[Sequence[str]] = None, preds: Optional[Sequence[int]] = None,
                 ncols: int = 8, title: Optional[str] = None, size: float = 1.35, ax: Any = None):
    """A grid of images (uint8 N×3×H×W) with their class names.

    With ``preds`` every image is titled "정답/true → 예측/pred", green when right and red when
    wrong. ``ax``: as many Axes as grid cells (``ceil(N / ncols) × ncols``). Returns the figure.
    """
    n = int(images.shape[0])
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    title_room = 0.55 if preds is not None else 0.3  # inches above each image for its one- or two-line title
    fig, axes = figure_and_axes(ax, nrows, ncols,
                                figsize=(size * ncols, (size + title_room) * nrows + (0.4 if title else 0)))
    for i, cell in enumerate(axes.flat):
        cell.set_axis_off()
        if i >= n:
            continue
        cell.imshow(to_image(images[i]), interpolation="nearest")
        if labels is None or classes is None:
            continue
        true = classes[int(labels[i])]
        if preds is None:
            cell.set_title(class_label(true), fontsize=8)
        else:
            guess = classes[int(preds[i])]
            cell.set_title(f"{class_label(true)}\n→ {class_label(guess)}", fontsize=7,
                         color=RIGHT if guess == true else WRONG)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _stages(history: Any) -> list[list[Mapping[str, float]]]:
    """A history (list of epoch records) or a list of histories (stages) → list of stages."""
    history = list(history)
    if history and isinstance(history[0], Mapping):
        return [history]
    return [list(h) for h in history]


def plot_learning_curves(runs: Mapping[str, Any], ax: Any = None):
    """Loss and accuracy per epoch, train (dashed) and test (solid), for each run, in one figure.

    ``runs`` maps a name to a history — the ``history`` list that :func:`vgg_teach.training.engine.fit`
    returns — or to a list of histories trained one after the other (e.g. head only, then
    fine-tuning): their epochs are numbered on, and a dotted line marks where a stage begins.
    Returns the figure (two axes: loss, accuracy).
    """
    fig, axes = figure_and_axes(ax, 1, 2, figsize=(11, 4))
    ax_loss, ax_acc = axes[0]
    for i, (name, history) in enumerate(runs.items()):
        colour = COLOURS[i % len(COLOURS)]
        records: list[Mapping[str, float]] = []
        for s, stage in enumerate(_stages(history)):
            if s > 0 and records:
                for panel in (ax_loss, ax_acc):
                    panel.axvline(len(records) + 0.5, color=colour, linestyle=":", alpha=0.7)
            records += stage
        x = list(range(1, len(records) + 1))
        marker = "o" if len(records) <= 30 else None
        for panel, key, scale in ((ax_loss, "loss", 1.0), (ax_acc, "acc", 100.0)):
            panel.plot(x, [scale * r[f"train_{key}"] for r in records], linestyle="--", color=colour,
                       marker=marker, markersize=3, label=f"{name} — 학습 / train")
            panel.plot(x, [scale * r[f"test_{key}"] for r in records], linestyle="-", color=colour,
                       marker=marker, markersize=3, label=f"{name} — 시험 / test")
    ax_loss.set_title("손실 / loss")
    ax_loss.set_ylabel("교차 엔트로피 / cross-entropy")
    ax_acc.set_title("정확도 / accuracy")
    ax_acc.set_ylabel("정확도 (%) / accuracy (%)")
    for panel in (ax_loss, ax_acc):
        panel.set_xlabel("에포크 / epoch")
        panel.grid(alpha=0.3)
        if panel.lines:
            panel.xaxis.get_major_locator().set_params(integer=True)
    if runs:
        ax_acc.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def plot_lr_schedule(config: Any, steps_per_epoch: int, ax: Any = None):
    """The learning rate of every step of a run of ``config`` (a :class:`~vgg_teach.training.config.TrainConfig`).

    Uses the engine's own :func:`~vgg_teach.training.optim.lr_factor`, so the curve is the schedule the
    training follows. Returns the figure.
    """
    from .training.recipe import lr_factor

    total = max(1, int(config.epochs) * int(steps_per_epoch))
    lrs = [config.lr * lr_factor(step, total, config.warmup, config.schedule) for step in range(total)]
    fig, axes = figure_and_axes(ax, figsize=(7, 3))
    ax = axes[0, 0]
    epochs = [step / max(1, steps_per_epoch) for step in range(total)]
    ax.plot(epochs, lrs, color=COLOURS[0])
    warm = max(1, round(config.warmup * total))
    ax.axvline(warm / max(1, steps_per_epoch), color=COLOURS[1], linestyle=":",
               label=f"예열 끝 / end of warm-up ({config.warmup:.0%})")
    ax.set_xlabel("에포크 / epoch")
    ax.set_ylabel("학습률 / learning rate")
    ax.set_title(f"학습률 스케줄 / learning-rate schedule — {config.schedule}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cms: Union[torch.Tensor, Mapping[str, torch.Tensor]], classes: Sequence[str],
                          normalize: bool = True, ax: Any = None):
    """One or several confusion matrices (row = true class, column = predicted class), side by side.

    ``cms`` is a matrix or ``{name: matrix}``. Colors show each row's share (the fraction of a
    class's images that went to each prediction) when ``normalize``; cells show the counts.
    Returns the figure (one axis per matrix, plus its color bar).
    """
    named = dict(cms) if isinstance(cms, Mapping) else {"": cms}
    n = len(named)
    c = len(classes)
    fig, axes = figure_and_axes(ax, 1, n, figsize=(5.6 * n + 0.6, 5.2))
    labels = [class_label(name) for name in classes]
    for panel, (name, cm) in zip(axes[0], named.items()):
        counts = torch.as_tensor(cm).detach().cpu().double()
        shown = counts / counts.sum(dim=1, keepdim=True).clamp(min=1) if normalize else counts
        im = panel.imshow(shown.numpy(), cmap="Blues", vmin=0, vmax=1 if normalize else None)
        panel.set_xticks(range(c))
        panel.set_yticks(range(c))
        panel.set_xticklabels(labels, rotation=60, ha="right", fontsize=8)
        panel.set_yticklabels(labels, fontsize=8)
        panel.set_xlabel("예측 / predicted")
        panel.set_ylabel("정답 / true")
        panel.set_title("혼동 행렬 / confusion matrix" + (f" — {name}" if name else ""))
        if c <= 12:
            for i in range(c):
                for j in range(c):
                    value = int(counts[i, j])
                    if value:
                        panel.text(j, i, str(value), ha="center", va="center", fontsize=7,
                                color="white" if float(shown[i, j]) > 0.5 * float(shown.max()) else "black")
        fig.colorbar(im, ax=panel, fraction=0.046, pad=0.04,
                     label="행 안의 비율 / share of the row" if normalize else "개수 / count")
    fig.tight_layout()
    return fig


def plot_per_class_accuracy(accuracies: Union[torch.Tensor, Mapping[str, torch.Tensor]], classes: Sequence[str],
                            ax: Any = None):
    """Accuracy of each class as grouped horizontal bars, one color per model. Returns the figure."""
    named = dict(accuracies) if isinstance(accuracies, Mapping) else {"": accuracies}
    c = len(classes)
    fig, axes = figure_and_axes(ax, figsize=(8, 1.5 + 0.3 * c * (1 + 0.5 * (len(named) - 1))))
    ax = axes[0, 0]
    height = 0.8 / max(1, len(named))
    for i, (name, acc) in enumerate(named.items()):
        values = [100 * float(v) for v in torch.as_tensor(acc).detach().cpu().flatten()]
        ys = [c - 1 - j + (len(named) - 1) / 2 * height - i * height for j in range(c)]
        ax.barh(ys, [0 if v != v else v for v in values], height=height, color=COLOURS[i % len(COLOURS)],
                label=name or None)
    ax.set_yticks([c - 1 - j for j in range(c)])
    ax.set_yticklabels([class_label(name) for name in classes])
    ax.set_xlim(0, 100)
    ax.set_xlabel("정확도 (%) / accuracy (%)")
    ax.set_title("클래스별 정확도 / per-class accuracy")
    ax.grid(axis="x", alpha=0.3)
    if any(named):
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


# ---- from vgg_teach.show.predictions (phase-1 merge)
def plot_topk(probs: torch.Tensor, categories: Sequence[str], k: int = 5, image: Any = None,
              title: Optional[str] = None, ax: Any = None):
    """The ``k`` most probable classes of one image as a horizontal bar chart.

    ``probs`` holds one probability per class (softmax output, shape ``(C,)`` or ``(1, C)``);
    ``categories`` their names (``weights.meta["categories"]``). With ``image`` the picture is shown
    on the left (then ``ax`` is two Axes). Returns the figure.
    """
    p = torch.as_tensor(probs).detach().float().cpu().flatten()
    k = max(1, min(int(k), p.numel()))
    top = torch.topk(p, k)
    names = [f"{i + 1}. {categories[int(c)]}" for i, c in enumerate(top.indices)]
    values = [100 * float(v) for v in top.values]
    if image is not None:
        fig, axes = figure_and_axes(ax, 1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1, 1.6]})
        ax_img, ax = axes[0]
        ax_img.imshow(to_image(image))
        ax_img.set_axis_off()
        ax_img.set_title("입력 이미지 / input image")
    else:
        fig, axes = figure_and_axes(ax, figsize=(6.5, 3.6))
        ax = axes[0, 0]
    ax.barh(range(k)[::-1], values, color=COLOURS[0])
    ax.set_yticks(list(range(k))[::-1])
    ax.set_yticklabels(names)
    for y, v in zip(range(k)[::-1], values):
        ax.text(v, y, f" {v:.1f}%", va="center")
    ax.set_xlim(0, max(values) * 1.25 + 1e-9)
    ax.set_xlabel("확률 (%) / probability (%)")
    ax.set_title(title or f"상위 {k}개 예측 / top-{k} predictions")
    fig.tight_layout()
    return fig


def plot_misclassified(pred: Predictions, n: int = 16, ncols: int = 8, title: Optional[str] = None,
                       ax: Any = None):
    """The ``n`` most confident mistakes of ``pred``: image, true name → predicted name. Returns the figure."""
    wrong = torch.nonzero(~pred.correct).flatten()
    if wrong.numel():
        confidence = pred.probs[wrong].max(dim=1).values
        wrong = wrong[torch.argsort(confidence, descending=True)][:n]
    shown = f"{wrong.numel()}/{int((~pred.correct).sum())}"
    title = title or f"가장 자신 있게 틀린 예 {shown} / the most confident mistakes"
    if wrong.numel() == 0:
        fig, axes = figure_and_axes(ax, figsize=(6, 1.2))
        axes[0][0].set_axis_off()
        axes[0][0].text(0.5, 0.5, "틀린 예측이 없습니다 / no mistakes", ha="center", va="center")
        fig.suptitle(title)
        return fig
    return plot_samples(pred.images[wrong], pred.labels[wrong], pred.classes, pred.preds[wrong],
                        ncols=ncols, title=title, ax=ax)


_FILTERS = [("전체 / all", "all"), ("틀린 것 / wrong", "wrong"), ("맞은 것 / correct", "correct")]


def _browser_indices(pred: Predictions, which: str, true_class: int) -> torch.Tensor:
    keep = torch.ones(len(pred), dtype=torch.bool)
    if which == "wrong":
        keep &= ~pred.correct
    elif which == "correct":
        keep &= pred.correct
    if true_class >= 0:
        keep &= pred.labels == true_class
    return torch.nonzero(keep).flatten()


def _browser_figure(pred: Predictions, index: Optional[int], k: int, caption: str):
    from matplotlib.figure import Figure  # not pyplot: widget callbacks must not pile up open figures

    fig = Figure(figsize=(8, 3))
    ax_img, ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
    ax_img.set_axis_off()
    if index is None:
        ax.set_axis_off()
        ax_img.set_title(f"고른 조건에 맞는 이미지가 없습니다 / no image matches — {caption}", loc="left")
        return fig
    true, guess = int(pred.labels[index]), int(pred.preds[index])
    ok = true == guess
    ax_img.imshow(to_image(pred.images[index]), interpolation="nearest")
    ax_img.set_title(f"#{index} — {caption}\n정답 / true: {class_label(pred.classes[true])}",
                     color=RIGHT if ok else WRONG, fontsize=9)
    k = min(k, len(pred.classes))
    top = torch.topk(pred.probs[index].float(), k)
    names = [class_label(pred.classes[int(c)]) for c in top.indices]
    colours = [(RIGHT if int(c) == true else COLOURS[0]) for c in top.indices]
    ys = list(range(k))[::-1]
    ax.barh(ys, [100 * float(v) for v in top.values], color=colours)
    ax.set_yticks(ys)
    ax.set_yticklabels(names)
    ax.set_xlim(0, 100)
    ax.set_xlabel("확률 (%) / probability (%)")
    ax.set_title(f"예측 / predicted: {class_label(pred.classes[guess])} ({'맞음 / right' if ok else '틀림 / wrong'})",
                 fontsize=9)
    fig.tight_layout()
    return fig


def prediction_browser(pred: Predictions, k: int = 3, which: str = "wrong") -> LiveView:
    """Build (without showing) a browser over ``pred``: filter, true class, and image number.

    Controls, in order: a ``Dropdown`` (all / wrong / correct), a ``Dropdown`` of true classes (or
    all), an ``IntSlider`` over the images that match. Each view shows the image and its ``k`` most
    probable classes (the true class in green). Only ipywidgets APIs common to 7.6+ and 8 are used.
    Returns a :class:`~vgg_teach.show.widgets.LiveView`.
    """
    import ipywidgets as widgets

    style = {"description_width": "initial"}
    filt = widgets.Dropdown(options=_FILTERS, value=which, description="보기 / show", style=style)
    cls = widgets.Dropdown(options=[("모든 클래스 / all classes", -1)] +
                           [(class_label(name), i) for i, name in enumerate(pred.classes)],
                           value=-1, description="정답 클래스 / true class", style=style)
    slider = widgets.IntSlider(value=0, min=0, max=0, step=1, description="번호 / item",
                               continuous_update=False, style=style)

    def render() -> dict[str, str]:
        idx = _browser_indices(pred, filt.value, cls.value)
        top = max(0, idx.numel() - 1)
        if slider.max != top:  # changing the filter changes how many items there are
            slider.max = top
        pos = min(slider.value, top)
        caption = f"{pos + 1 if idx.numel() else 0}/{idx.numel()}"
        return figure_bundle(_browser_figure(pred, int(idx[pos]) if idx.numel() else None, k, caption))

    return LiveView([filt, cls, slider], render)


def show_prediction_browser(pred: Predictions, k: int = 3, which: str = "wrong", fallback: str = "separate") -> None:
    """Display the prediction browser, plus its first view as a static figure.

    Viewers that cannot draw widgets (GitHub, nbval) see the static figure (see
    :meth:`vgg_teach.show.widgets.LiveView.show` for ``fallback``).
    """
    prediction_browser(pred, k, which).show(fallback)
