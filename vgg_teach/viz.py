"""Lessons 04–05: pictures of predictions and of training, out of the learner's way.

Lesson 04 — :func:`plot_topk`: an image and its top-k ImageNet classes as a bar chart.

Lesson 05 —

- :func:`plot_samples`: a grid of images with their class names (true, and predicted when given);
- :func:`predict`: a model's predictions on a whole :class:`~vgg_teach.data.ImageTensors` data set,
  preprocessed exactly as in training (:class:`~vgg_teach.data.DeviceLoader`, the engine's precision);
- :func:`confusion_matrix` (the reference answer of lesson 05's exercise) and
  :func:`per_class_accuracy`, and their plots :func:`plot_confusion_matrix`,
  :func:`plot_per_class_accuracy`;
- :func:`plot_learning_curves`: loss and accuracy per epoch of several runs (a run may have stages,
  e.g. "head only, then fine-tuning"), in one figure;
- :func:`plot_misclassified`: the most confident mistakes, with true and predicted names;
- :func:`prediction_browser` / :func:`show_prediction_browser`: an ipywidgets browser over the test
  predictions (``Dropdown``, ``IntSlider``, ``Output`` in a ``VBox`` — ipywidgets 7.6+ and 8), which
  also displays a static figure for viewers without widgets (GitHub, nbval).

Every ``plot_*`` function returns a matplotlib ``Figure`` made with ``pyplot`` and already closed, so a
notebook cell that ends with the call shows it exactly once (and a script shows nothing). Text is
Korean, then English; the Hangul font comes from ``setup_lesson()`` (:func:`vgg_teach.plotting.use_korean_font`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Union

import torch

from .display import LiveView, figure_bundle
from .data import DeviceLoader, ImageTensors

__all__ = [
    "CIFAR10_KO",
    "class_label",
    "Predictions",
    "predict",
    "confusion_matrix",
    "per_class_accuracy",
    "plot_topk",
    "plot_samples",
    "plot_learning_curves",
    "plot_lr_schedule",
    "plot_confusion_matrix",
    "plot_per_class_accuracy",
    "plot_misclassified",
    "prediction_browser",
    "show_prediction_browser",
]

#: Korean names of the CIFAR-10 classes (for figure labels; the data keep torchvision's English names).
CIFAR10_KO = {"airplane": "비행기", "automobile": "자동차", "bird": "새", "cat": "고양이", "deer": "사슴",
              "dog": "개", "frog": "개구리", "horse": "말", "ship": "배", "truck": "트럭"}

_RIGHT, _WRONG = "#1a7f37", "#cf222e"
_COLOURS = ["#00798c", "#d1495b", "#edae49", "#66a182", "#2e4057", "#8d96a3"]


def class_label(name: str) -> str:
    """``"고양이 cat"`` for a CIFAR-10 class, the name itself for any other class."""
    ko = CIFAR10_KO.get(name)
    return f"{ko} {name}" if ko else name


def _figure(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (6, 4), **kw: Any):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False, **kw)
    plt.close(fig)  # shown once, by the notebook cell that returns it — not again by the inline backend
    return fig, axes


def _hwc(image: Any):
    """A uint8 C×H×W tensor, a float tensor in [0, 1], a PIL image or an H×W×C array → something imshow takes."""
    if isinstance(image, torch.Tensor):
        img = image.detach().cpu()
        if img.ndim == 3 and img.shape[0] in (1, 3):
            img = img.permute(1, 2, 0)
        if img.dtype.is_floating_point:
            img = img.clamp(0, 1)
        return img.squeeze(-1).numpy() if img.shape[-1] == 1 else img.numpy()
    return image


# --------------------------------------------------------------------------------------- lesson 04
def plot_topk(probs: torch.Tensor, categories: Sequence[str], k: int = 5, image: Any = None,
              title: Optional[str] = None):
    """Lesson 04: the ``k`` most probable classes of one image as a horizontal bar chart.

    ``probs`` holds one probability per class (softmax output, shape ``(C,)`` or ``(1, C)``);
    ``categories`` their names (``weights.meta["categories"]``). With ``image`` the picture is shown
    on the left. Returns the figure.
    """
    p = torch.as_tensor(probs).detach().float().cpu().flatten()
    k = max(1, min(int(k), p.numel()))
    top = torch.topk(p, k)
    names = [f"{i + 1}. {categories[int(c)]}" for i, c in enumerate(top.indices)]
    values = [100 * float(v) for v in top.values]
    if image is not None:
        fig, axes = _figure(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1, 1.6]})
        ax_img, ax = axes[0]
        ax_img.imshow(_hwc(image))
        ax_img.set_axis_off()
        ax_img.set_title("입력 이미지 / input image")
    else:
        fig, axes = _figure(1, 1, figsize=(6.5, 3.6))
        ax = axes[0][0]
    ax.barh(range(k)[::-1], values, color=_COLOURS[0])
    ax.set_yticks(list(range(k))[::-1])
    ax.set_yticklabels(names)
    for y, v in zip(range(k)[::-1], values):
        ax.text(v, y, f" {v:.1f}%", va="center")
    ax.set_xlim(0, max(values) * 1.25 + 1e-9)
    ax.set_xlabel("확률 (%) / probability (%)")
    ax.set_title(title or f"상위 {k}개 예측 / top-{k} predictions")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------- image grids
def plot_samples(images: torch.Tensor, labels: Optional[Sequence[int]] = None,
                 classes: Optional[Sequence[str]] = None, preds: Optional[Sequence[int]] = None,
                 ncols: int = 8, title: Optional[str] = None, size: float = 1.35):
    """A grid of images (uint8 N×3×H×W) with their class names.

    With ``preds`` every image is titled "정답/true → 예측/pred", green when right and red when
    wrong. Returns the figure.
    """
    n = int(images.shape[0])
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    title_room = 0.55 if preds is not None else 0.3  # inches above each image for its one- or two-line title
    fig, axes = _figure(nrows, ncols, figsize=(size * ncols, (size + title_room) * nrows + (0.4 if title else 0)))
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= n:
            continue
        ax.imshow(_hwc(images[i]), interpolation="nearest")
        if labels is None or classes is None:
            continue
        true = classes[int(labels[i])]
        if preds is None:
            ax.set_title(class_label(true), fontsize=8)
        else:
            guess = classes[int(preds[i])]
            ax.set_title(f"{class_label(true)}\n→ {class_label(guess)}", fontsize=7,
                         color=_RIGHT if guess == true else _WRONG)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------- predictions
@dataclass
class Predictions:
    """A model's predictions on a data set: ``images`` (uint8, CPU), ``labels``, ``preds``, ``probs``."""

    images: torch.Tensor
    labels: torch.Tensor
    preds: torch.Tensor
    probs: torch.Tensor
    classes: list[str]

    def __len__(self) -> int:
        return int(self.labels.numel())

    @property
    def correct(self) -> torch.Tensor:
        return self.preds == self.labels

    @property
    def accuracy(self) -> float:
        return float(self.correct.float().mean()) if len(self) else float("nan")


@torch.no_grad()
def predict(model: torch.nn.Module, data: ImageTensors, batch_size: int = 512,
            device: Union[str, torch.device, None] = None) -> Predictions:
    """Run ``model`` over every image of ``data`` (no augmentation, CIFAR-10 normalisation, eval mode).

    The batches come from :class:`~vgg_teach.data.DeviceLoader` and the forward pass runs under the
    engine's :class:`~vgg_teach.engine.Precision`, exactly as the engine's ``evaluate`` sees them.
    Runs on the model's device unless ``device`` is given. Everything returned is on the CPU.
    """
    from .engine import Precision, eval_logits

    device = torch.device(device) if device is not None else next(model.parameters()).device
    precision = Precision.for_device(device)
    loader = DeviceLoader(data, batch_size, device, train=False)
    preds, probs = [], []
    for logits, _ in eval_logits(model, loader, precision):
        p = torch.softmax(logits.float(), dim=1)
        probs.append(p.cpu())
        preds.append(p.argmax(1).cpu())
    num_classes = len(data.classes)
    return Predictions(data.images.cpu(), data.labels.cpu(),
                       torch.cat(preds) if preds else torch.empty(0, dtype=torch.int64),
                       torch.cat(probs) if probs else torch.empty(0, num_classes),
                       list(data.classes))


def confusion_matrix(preds: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``num_classes × num_classes`` counts: row = true class, column = predicted class (int64).

    Reference answer of lesson 05's exercise: one ``bincount`` over ``true · C + predicted``.
    """
    preds = torch.as_tensor(preds).flatten().long().cpu()
    labels = torch.as_tensor(labels).flatten().long().cpu()
    index = labels * num_classes + preds
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_accuracy(cm: torch.Tensor) -> torch.Tensor:
    """The accuracy of each true class: diagonal / row sum (NaN for a class with no images)."""
    cm = torch.as_tensor(cm).double()
    return (cm.diagonal() / cm.sum(dim=1)).float()


# ------------------------------------------------------------------------------------ training
def _stages(history: Any) -> list[list[Mapping[str, float]]]:
    """A history (list of epoch records) or a list of histories (stages) → list of stages."""
    history = list(history)
    if history and isinstance(history[0], Mapping):
        return [history]
    return [list(h) for h in history]


def plot_learning_curves(runs: Mapping[str, Any]):
    """Loss and accuracy per epoch, train (dashed) and test (solid), for each run, in one figure.

    ``runs`` maps a name to a history — the ``history`` list that :func:`vgg_teach.engine.fit`
    returns — or to a list of histories trained one after the other (e.g. head only, then
    fine-tuning): their epochs are numbered on, and a dotted line marks where a stage begins.
    Returns the figure (two axes: loss, accuracy).
    """
    fig, axes = _figure(1, 2, figsize=(11, 4))
    ax_loss, ax_acc = axes[0]
    for i, (name, history) in enumerate(runs.items()):
        colour = _COLOURS[i % len(_COLOURS)]
        records: list[Mapping[str, float]] = []
        for s, stage in enumerate(_stages(history)):
            if s > 0 and records:
                for ax in (ax_loss, ax_acc):
                    ax.axvline(len(records) + 0.5, color=colour, linestyle=":", alpha=0.7)
            records += stage
        x = list(range(1, len(records) + 1))
        marker = "o" if len(records) <= 30 else None
        for ax, key, scale in ((ax_loss, "loss", 1.0), (ax_acc, "acc", 100.0)):
            ax.plot(x, [scale * r[f"train_{key}"] for r in records], linestyle="--", color=colour,
                    marker=marker, markersize=3, label=f"{name} — 학습 / train")
            ax.plot(x, [scale * r[f"test_{key}"] for r in records], linestyle="-", color=colour,
                    marker=marker, markersize=3, label=f"{name} — 시험 / test")
    ax_loss.set_title("손실 / loss")
    ax_loss.set_ylabel("교차 엔트로피 / cross-entropy")
    ax_acc.set_title("정확도 / accuracy")
    ax_acc.set_ylabel("정확도 (%) / accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("에포크 / epoch")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.xaxis.get_major_locator().set_params(integer=True)
    if runs:
        ax_acc.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def plot_lr_schedule(config: Any, steps_per_epoch: int):
    """The learning rate of every step of a run of ``config`` (a :class:`~vgg_teach.engine.TrainConfig`).

    Uses the engine's own :func:`~vgg_teach.engine.lr_factor`, so the curve is the schedule the
    training follows. Returns the figure.
    """
    from .engine import lr_factor

    total = max(1, int(config.epochs) * int(steps_per_epoch))
    lrs = [config.lr * lr_factor(step, total, config.warmup, config.schedule) for step in range(total)]
    fig, axes = _figure(1, 1, figsize=(7, 3))
    ax = axes[0][0]
    epochs = [step / max(1, steps_per_epoch) for step in range(total)]
    ax.plot(epochs, lrs, color=_COLOURS[0])
    warm = max(1, round(config.warmup * total))
    ax.axvline(warm / max(1, steps_per_epoch), color=_COLOURS[1], linestyle=":",
               label=f"예열 끝 / end of warm-up ({config.warmup:.0%})")
    ax.set_xlabel("에포크 / epoch")
    ax.set_ylabel("학습률 / learning rate")
    ax.set_title(f"학습률 일정 / learning-rate schedule — {config.schedule}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cms: Union[torch.Tensor, Mapping[str, torch.Tensor]], classes: Sequence[str],
                          normalize: bool = True):
    """One or several confusion matrices (row = true class, column = predicted class), side by side.

    ``cms`` is a matrix or ``{name: matrix}``. Colours show each row's share (the fraction of a
    class's images that went to each prediction) when ``normalize``; cells show the counts.
    Returns the figure (one axis per matrix, plus its colour bar).
    """
    named = dict(cms) if isinstance(cms, Mapping) else {"": cms}
    n = len(named)
    c = len(classes)
    fig, axes = _figure(1, n, figsize=(5.6 * n + 0.6, 5.2))
    labels = [class_label(name) for name in classes]
    for ax, (name, cm) in zip(axes[0], named.items()):
        counts = torch.as_tensor(cm).detach().cpu().double()
        shown = counts / counts.sum(dim=1, keepdim=True).clamp(min=1) if normalize else counts
        im = ax.imshow(shown.numpy(), cmap="Blues", vmin=0, vmax=1 if normalize else None)
        ax.set_xticks(range(c))
        ax.set_yticks(range(c))
        ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=8)
        ax.set_yticklabels(labels, fontsize=8)
        ax.set_xlabel("예측 / predicted")
        ax.set_ylabel("정답 / true")
        ax.set_title("혼동 행렬 / confusion matrix" + (f" — {name}" if name else ""))
        if c <= 12:
            for i in range(c):
                for j in range(c):
                    value = int(counts[i, j])
                    if value:
                        ax.text(j, i, str(value), ha="center", va="center", fontsize=7,
                                color="white" if float(shown[i, j]) > 0.5 * float(shown.max()) else "black")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04,
                     label="행 안의 비율 / share of the row" if normalize else "개수 / count")
    fig.tight_layout()
    return fig


def plot_per_class_accuracy(accuracies: Union[torch.Tensor, Mapping[str, torch.Tensor]], classes: Sequence[str]):
    """Accuracy of each class as grouped horizontal bars, one colour per model. Returns the figure."""
    named = dict(accuracies) if isinstance(accuracies, Mapping) else {"": accuracies}
    c = len(classes)
    fig, axes = _figure(1, 1, figsize=(8, 1.5 + 0.3 * c * (1 + 0.5 * (len(named) - 1))))
    ax = axes[0][0]
    height = 0.8 / max(1, len(named))
    for i, (name, acc) in enumerate(named.items()):
        values = [100 * float(v) for v in torch.as_tensor(acc).detach().cpu().flatten()]
        ys = [c - 1 - j + (len(named) - 1) / 2 * height - i * height for j in range(c)]
        ax.barh(ys, [0 if v != v else v for v in values], height=height, color=_COLOURS[i % len(_COLOURS)],
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


def plot_misclassified(pred: Predictions, n: int = 16, ncols: int = 8, title: Optional[str] = None):
    """The ``n`` most confident mistakes of ``pred``: image, true name → predicted name. Returns the figure."""
    wrong = torch.nonzero(~pred.correct).flatten()
    if wrong.numel():
        confidence = pred.probs[wrong].max(dim=1).values
        wrong = wrong[torch.argsort(confidence, descending=True)][:n]
    shown = f"{wrong.numel()}/{int((~pred.correct).sum())}"
    title = title or f"가장 자신 있게 틀린 예 {shown} / the most confident mistakes"
    if wrong.numel() == 0:
        fig, axes = _figure(1, 1, figsize=(6, 1.2))
        axes[0][0].set_axis_off()
        axes[0][0].text(0.5, 0.5, "틀린 예측이 없습니다 / no mistakes", ha="center", va="center")
        fig.suptitle(title)
        return fig
    return plot_samples(pred.images[wrong], pred.labels[wrong], pred.classes, pred.preds[wrong],
                        ncols=ncols, title=title)


# ------------------------------------------------------------------------------------ widget
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
    ax_img.imshow(_hwc(pred.images[index]), interpolation="nearest")
    ax_img.set_title(f"#{index} — {caption}\n정답 / true: {class_label(pred.classes[true])}",
                     color=_RIGHT if ok else _WRONG, fontsize=9)
    k = min(k, len(pred.classes))
    top = torch.topk(pred.probs[index].float(), k)
    names = [class_label(pred.classes[int(c)]) for c in top.indices]
    colours = [(_RIGHT if int(c) == true else _COLOURS[0]) for c in top.indices]
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
    Returns a :class:`~vgg_teach.display.LiveView`.
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
    """Lesson 05: display the prediction browser, plus its first view as a static figure.

    Viewers that cannot draw widgets (GitHub, nbval) see the static figure (see
    :meth:`vgg_teach.display.LiveView.show` for ``fallback``).
    """
    prediction_browser(pred, k, which).show(fallback)
