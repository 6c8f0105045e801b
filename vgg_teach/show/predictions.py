"""Pictures of predictions: the top-k classes of one photo, the most confident mistakes, a prediction browser."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import torch

from ..training.metrics import Predictions
from .figures import figure_and_axes
from .training_plots import COLOURS, RIGHT, WRONG, class_label, plot_samples, to_image
from .widgets import LiveView, figure_bundle

__all__ = ["plot_topk", "plot_misclassified", "prediction_browser", "show_prediction_browser"]


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
