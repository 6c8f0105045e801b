"""Pictures of lesson 06: a class score map over its photo, scale jittering, activation scales per initialization.

Every ``plot_*`` follows the course's plotting contract (:mod:`.figures`): an optional ``ax=``, the figure returned.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import torch

from ..analysis.dense import ScoreMap
from ..analysis.jitter import ScaleJitter, image_size
from .figures import figure_and_axes
from .training_plots import COLOURS, to_image

__all__ = ["plot_score_map", "plot_scale_jitter", "plot_activation_scales"]


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
