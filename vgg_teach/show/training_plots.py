"""Pictures of the data and of training: image grids, learning curves, the schedule, confusion matrices.

Every ``plot_*`` follows the course's plotting contract (:mod:`.figures`): an optional ``ax=``, and the
figure returned.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Union

import torch

from .figures import figure_and_axes

__all__ = ["CIFAR10_KO", "class_label", "to_image", "plot_samples", "plot_learning_curves", "plot_lr_schedule",
           "plot_confusion_matrix", "plot_per_class_accuracy", "COLOURS", "RIGHT", "WRONG"]

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
    from ..training.optim import lr_factor

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
