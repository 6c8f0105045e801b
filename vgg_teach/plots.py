"""Every figure and widget of the lessons, in lesson order.

Each ``plot_*`` follows the plotting contract of :mod:`vgg_teach.show` (an optional ``ax=``, the figure returned);
each ``show_*`` displays a :class:`~vgg_teach.show.LiveView` with a static copy for viewers without widgets.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import torch
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter
from torch import nn

from .counting import LayerTable, layer_table, meta_vgg, params_vs_compute
from .dense import ScaleJitter
from .errors import UsageError, bilingual, josa
from .models import CFGS
from .receptive_field import RFTable, centre_box, receptive_field_table, rf_tables, vgg16_features
from .show import LiveView, Table, figure_and_axes, figure_bundle

if TYPE_CHECKING:  # only for annotations: plotting needs no training code
    from .dense import ScoreMap
    from .receptive_field import RFMeasurement
    from .training.engine import Predictions

COLOURS = ["#00798c", "#d1495b", "#edae49", "#66a182", "#2e4057", "#8d96a3"]
RIGHT, WRONG = "#1a7f37", "#cf222e"
CIFAR10_KO = {"airplane": "비행기", "automobile": "자동차", "bird": "새", "cat": "고양이", "deer": "사슴",
              "dog": "개", "frog": "개구리", "horse": "말", "ship": "배", "truck": "트럭"}
_STYLE = {"description_width": "initial"}


def class_label(name: str) -> str:
    """``"고양이 cat"`` for a CIFAR-10 class, the name itself for any other class."""
    return f"{CIFAR10_KO[name]} {name}" if name in CIFAR10_KO else name


def _image_array(image: Any) -> Any:
    """An ``(H, W)`` or ``(H, W, 3)`` array in [0, 1] from a tensor, array or PIL image (``None``: a gray board)."""
    if image is None:
        yy, xx = np.mgrid[:224, :224]
        return 0.55 + 0.15 * (((yy // 16) + (xx // 16)) % 2)
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu()
        image = image[0] if image.ndim == 4 else image
        if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):
            image = image.permute(1, 2, 0)
        image = image.numpy() if image.dtype == torch.uint8 else image.float().numpy()
    arr = np.asarray(image)
    arr = arr / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float64)
    arr = arr[..., 0] if arr.ndim == 3 and arr.shape[-1] == 1 else arr
    if arr.ndim not in (2, 3):
        raise UsageError(f"이미지는 (H, W), (H, W, 3) 또는 (3, H, W) 모양이어야 합니다 (받은 모양: {arr.shape}). / "
                         f"The image must have shape (H, W), (H, W, 3) or (3, H, W), got {arr.shape}.")
    lo, hi = float(arr.min()), float(arr.max())
    return (arr - lo) / (hi - lo) if hi > 1 or lo < 0 else arr


def _box(ax: Any, top: float, left: float, height: float, width: float, colour: str, label: str = "",
         ls: str = "-", text: bool = False) -> None:
    """A rectangle over pixels; ``label`` goes to the legend, or beside the box with ``text``."""
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), width, height, fill=False, edgecolor=colour, lw=2, ls=ls,
                           label=None if text else label,
                           path_effects=[patheffects.withStroke(linewidth=3.5, foreground="white")]))
    if text and label:
        ax.text(left, top - 2, label, color=colour, fontsize=8, va="bottom",
                bbox={"fc": "white", "ec": "none", "alpha": 0.7, "pad": 1})


def _field(ax: Any, box: tuple[int, int, int, int], colour: str, label: str, ls: str = "-") -> None:
    """An inclusive ``(top, left, bottom, right)`` box, with its label in the legend."""
    _box(ax, box[0], box[1], box[2] - box[0] + 1, box[3] - box[1] + 1, colour, label, ls)


# ---------------------------------------------------------------------------------------------- lesson 02
def plot_params_vs_compute(model: nn.Module | str | Table = "D", input_size: int = 224, ax: Any = None) -> Any:
    """Each weight layer's share of all parameters and of all multiply-adds (``model``: also a
    :func:`~vgg_teach.counting.params_vs_compute` table)."""
    rows = model if isinstance(model, Table) else params_vs_compute(model, input_size)
    fig, [[ax]] = figure_and_axes(ax, figsize=(11, 4))
    x = range(len(rows))
    ax.bar([i - 0.2 for i in x], [100 * r.params_share for r in rows], width=0.4,
           label="매개변수 / parameters", color="#d1495b")
    ax.bar([i + 0.2 for i in x], [100 * r.macs_share for r in rows], width=0.4,
           label="연산(곱셈-덧셈) / compute (MACs)", color="#00798c")
    ax.set_xticks(x, [r.name for r in rows], rotation=60, ha="right")
    ax.set(ylabel="전체 대비 비율 (%) / share of total (%)",
           title="매개변수는 fc6에, 연산은 합성곱에 / Parameters in fc6, compute in the convolutions")
    ax.legend()
    return fig


def explorer_table(cfg: str = "D", batch_norm: bool = False, input_size: int = 224, num_classes: int = 1000,
                   compact: bool = True) -> LayerTable:
    """The layer table of configuration ``cfg`` for one image, on ``meta``; bad settings give a table whose
    ``message`` says what to change (no rows), never an exception."""
    key = str(cfg).upper()
    pools = CFGS[key].count("M") if key in CFGS else 0
    smallest = 2 ** pools
    if key not in CFGS:
        message = (f"구성 {josa(repr(cfg), '은')} 없습니다: A, B, C, D, E 중 하나를 고르세요. / "
                   f"There is no configuration {cfg!r}: choose one of A, B, C, D, E.")
    elif not isinstance(input_size, int) or isinstance(input_size, bool) or input_size < smallest:
        message = (f"입력 크기 {josa(repr(input_size), '은')} 쓸 수 없습니다: 2×2 풀링(pooling)을 {pools}번 거치면 "
                   f"{smallest}보다 작은 입력은 0×0이 됩니다. {smallest} 이상의 정수를 고르세요. / "
                   f"Input size {input_size!r} cannot be used: {pools} 2×2 poolings shrink anything smaller "
                   f"than {smallest} to 0×0. Choose a whole number of at least {smallest}.")
    elif not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        message = (f"클래스 수 {josa(repr(num_classes), '은')} 쓸 수 없습니다: 1 이상의 정수를 고르세요. / "
                   f"Number of classes {num_classes!r} cannot be used: choose a whole number of at least 1.")
    else:
        table = layer_table(meta_vgg(key, batch_norm, num_classes), input_size, compact=compact)
        table.title = (f"구성 / Config {key}{' + BN' if batch_norm else ''}, 입력 / input {input_size}×{input_size}, "
                       f"클래스 / classes {num_classes}")
        if input_size != 224:
            table.notes.append("입력이 224가 아니어도 AdaptiveAvgPool2d가 7×7로 맞추므로 분류기 매개변수는 같고, "
                               "연산량만 달라집니다. / Whatever the input size, AdaptiveAvgPool2d brings the features "
                               "to 7×7: the classifier's parameters stay the same, only the compute changes.")
        return table
    return LayerTable(message=message)


def explorer(cfg: str = "D", batch_norm: bool = False, input_size: int = 224, num_classes: int = 1000) -> LiveView:
    """The explorer, not shown: configuration ``Dropdown``, batch-norm ``Checkbox``, input-size ``IntSlider``
    (8–512, step 8) and classes ``IntText`` in front of :func:`explorer_table`."""
    import ipywidgets as widgets  # optional: only the widgets need it
    labels = {"A": "VGG11", "B": "VGG13", "C": "VGG16 (1×1)", "D": "VGG16", "E": "VGG19"}
    config = widgets.Dropdown(options=[(f"{k} — {v}", k) for k, v in labels.items()], value=cfg.upper(),
                              description="구성 / config", style=_STYLE)
    bn = widgets.Checkbox(value=batch_norm, description="배치 정규화 / batch norm", style=_STYLE)
    size = widgets.IntSlider(value=input_size, min=8, max=512, step=8, description="입력 크기 / input size",
                             continuous_update=False, style=_STYLE)
    classes = widgets.IntText(value=num_classes, description="클래스 수 / classes", style=_STYLE)
    return LiveView([config, bn, size, classes],
                    lambda: explorer_table(config.value, bn.value, size.value, classes.value).mime_bundle())


def show_explorer(cfg: str = "D", batch_norm: bool = False, input_size: int = 224, num_classes: int = 1000,
                  fallback: str = "separate") -> None:
    """Display the explorer and a static copy of its first table (see :meth:`LiveView.show`)."""
    explorer(cfg, batch_norm, input_size, num_classes).show(fallback)


# ---------------------------------------------------------------------------------------------- lesson 03
def plot_rf_growth(table: RFTable | nn.Module | None = None, input_size: int = 224, ax: Any = None) -> Any:
    """The receptive field per layer (of a table or a module; VGG16's by default), with the jump as a line."""
    rows = table if isinstance(table, RFTable) else receptive_field_table(table or vgg16_features())
    fig, [[ax]] = figure_and_axes(ax, figsize=(11, 4))
    x = range(len(rows))
    bars = ax.bar(x, [r.receptive_field for r in rows],
                  color=["#00798c" if r.type == "Conv2d" else "#edae49" for r in rows])
    ax.bar_label(bars, fontsize=8)
    ax.axhline(input_size, ls="--", color="gray")
    ax.text(0, input_size, f" 입력 크기 / input {input_size}", va="bottom", color="gray", fontsize=8)
    ax.set_xticks(x, [r.layer for r in rows], rotation=60, ha="right")
    ax.set(ylabel="수용 영역 (픽셀) / receptive field (pixels)",
           title="계층마다 커지는 수용 영역 / Receptive field grows layer by layer "
                 "(파랑 합성곱 / blue conv, 노랑 풀링 / yellow pooling)")
    twin = ax.twinx()
    twin.step(x, [r.jump for r in rows], where="mid", color="#d1495b", label="점프 / jump")
    twin.set_ylabel("점프 (누적 보폭) / jump (stride product)", color="#d1495b")
    return fig


def plot_rf_boxes(image: Any = None,
                  layers: Sequence[int | str] = ("conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3"),
                  module: nn.Module | None = None, ax: Any = None) -> Any:
    """The field of the center unit of each of ``layers`` of ``module`` (VGG16's ``features``) over ``image``
    (``None``: a gray 224×224 board); the image frame cuts what reaches past it."""
    img = _image_array(image)
    size = img.shape[:2]
    t0, t1 = rf_tables(module or vgg16_features(), size)
    fig, [[ax]] = figure_and_axes(ax, figsize=(5, 5))
    ax.imshow(img, cmap="gray", vmin=0, vmax=1)
    for i, layer in enumerate(layers):
        r0 = t0.row(layer)
        r1 = t1[r0.index]
        _field(ax, centre_box((r0, r1)), COLOURS[i % len(COLOURS)],
               f"{r0.layer}: {r0.receptive_field}×{r1.receptive_field}")
    ax.set(xlim=(-0.5, size[1] - 0.5), ylim=(size[0] - 0.5, -0.5),
           title="가운데 유닛의 수용 영역 / Receptive field of the center unit")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.8)
    return fig


def plot_gradient_map(result: RFMeasurement, ax: Any = None, title: str | None = None, log: bool | None = None) -> Any:
    """``result.gradient`` with the measured box (solid) and the analytic field (dashed).

    ``log`` (default: on, except for the effective receptive field) draws ``log10`` of the gradient with zeros
    blank, so the whole support shows even where the gradient is tiny.
    """
    fig, [[ax]] = figure_and_axes(ax, figsize=(5, 5))
    g = result.gradient.double().numpy()
    if log if log is not None else result.method != "erf":
        shown = np.ma.masked_less_equal(g, 0)
        shown = np.ma.log10(shown) if shown.count() else shown
    else:
        shown = g / g.max() if g.max() > 0 else g
    ax.imshow(shown, cmap="magma")
    if result.measured_box is not None:
        h, w = result.measured
        _field(ax, result.measured_box, "#00b4d8", f"측정 / measured {h}×{w}")
    _field(ax, result.analytic_box, "#66a182", f"이론 / analytic {result.analytic[0]}×{result.analytic[1]}", "--")
    if result.method == "erf":
        s, (top, left, bottom, right) = result.effective_size(0.95), result.analytic_box
        cy, cx = (top + bottom - s + 1) / 2, (left + right - s + 1) / 2
        _field(ax, (round(cy), round(cx), round(cy + s - 1), round(cx + s - 1)), "#edae49",
               f"기울기의 95% / 95% of the gradient {s}×{s}")
    ax.set(xlim=(-0.5, result.input_size[1] - 0.5), ylim=(result.input_size[0] - 0.5, -0.5),
           title=title or f"{result.layer} — {result.method}")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.8)
    return fig


def plot_gradient_maps(results: Sequence[RFMeasurement], titles: Sequence[str] | None = None, ax: Any = None) -> Any:
    """Several :func:`plot_gradient_map` panels side by side (e.g. the linear and the naive measurement)."""
    fig, axes = figure_and_axes(ax, 1, len(results), figsize=(5 * len(results), 5))
    for i, (result, panel) in enumerate(zip(results, axes[0])):
        plot_gradient_map(result, ax=panel, title=titles[i] if titles else None)
    return fig


def rf_slider(image: Any = None, module: nn.Module | None = None, layer: int | str = "conv3_3") -> LiveView:
    """A slider over the conv/pool layers that redraws the center unit's field, not shown."""
    import ipywidgets as widgets  # optional: only the widgets need it
    net = module or vgg16_features()
    rows = receptive_field_table(net, None, axis=0)
    slider = widgets.IntSlider(value=rows.row(layer).index, min=0, max=len(rows) - 1, step=1,
                               description="계층 / layer", continuous_update=False, style=_STYLE)

    def render() -> dict[str, str]:
        r = rows[slider.value]  # drawn outside pyplot, as widget callbacks need: nothing to close
        fig = plot_rf_boxes(image, [slider.value], net, ax=Figure(figsize=(5, 5)).subplots())
        fig.axes[0].set_title(f"{r.layer}: 수용 영역 / RF {r.receptive_field}, 점프 / jump {r.jump}")
        return figure_bundle(fig)

    return LiveView([slider], render)


def show_rf_slider(image: Any = None, module: nn.Module | None = None, layer: int | str = "conv3_3",
                   fallback: str = "separate") -> None:
    """Display the receptive-field slider and a static figure (see :meth:`LiveView.show`)."""
    rf_slider(image, module, layer).show(fallback)


# ---------------------------------------------------------------------------------------------- lesson 04
def plot_topk(probs: torch.Tensor, categories: Sequence[str], k: int = 5, image: Any = None,
              title: str | None = None, ax: Any = None) -> Any:
    """The ``k`` most probable classes of one image (``probs``: ``(C,)`` or ``(1, C)``) as bars; with ``image``
    the picture on the left (then ``ax`` is two Axes)."""
    p = torch.as_tensor(probs).detach().float().cpu().flatten()
    if p.numel() != len(categories):
        raise UsageError(bilingual(
            f"확률이 {p.numel()}개인데 클래스 이름은 {len(categories)}개입니다: 모델의 출력 계층(헤드)을 바꾼 뒤가 "
            "아닌가요? ImageNet의 이름으로 분류하려면 사전 학습된 모델을 불러오는 셀을 다시 실행하세요.",
            f"{p.numel()} probabilities but {len(categories)} class names: was the model's output layer (its head) "
            "swapped? To classify with ImageNet's names, run the cell that loads the pretrained model again."))
    k = max(1, min(int(k), p.numel()))
    top = torch.topk(p, k)
    values = [100 * float(v) for v in top.values]
    if image is not None:
        fig, [[ax_img, ax]] = figure_and_axes(ax, 1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1, 1.6]})
        ax_img.imshow(_image_array(image))
        ax_img.set_axis_off()
        ax_img.set_title("입력 이미지 / input image")
    else:
        fig, [[ax]] = figure_and_axes(ax, figsize=(6.5, 3.6))
    ys = range(k)[::-1]
    ax.barh(ys, values, color=COLOURS[0])
    ax.set_yticks(ys, [f"{i + 1}. {categories[int(c)]}" for i, c in enumerate(top.indices)])
    for y, v in zip(ys, values):
        ax.text(v, y, f" {v:.1f}%", va="center")
    ax.set(xlim=(0, max(values) * 1.25 + 1e-9), xlabel="확률 (%) / probability (%)",
           title=title or f"상위 {k}개 예측 / top-{k} predictions")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------- lesson 05
def plot_samples(images: torch.Tensor, labels: Sequence[int] | None = None, classes: Sequence[str] | None = None,
                 preds: Sequence[int] | None = None, ncols: int = 8, title: str | None = None, size: float = 1.35,
                 ax: Any = None) -> Any:
    """A grid of images (uint8 N×3×H×W) with their class names; with ``preds`` "true → predicted", green when
    right, red when wrong. ``ax``: one Axes per grid cell (``ceil(N / ncols) × ncols``)."""
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
        cell.imshow(_image_array(images[i]), interpolation="nearest")
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


def plot_learning_curves(runs: Mapping[str, Any], ax: Any = None) -> Any:
    """Loss and accuracy per epoch, train (dashed) and test (solid), for each run (two Axes).

    ``runs`` maps a name to the ``history`` that ``fit`` returns, or to a list of histories trained one after the
    other (head only, then fine-tuning): their epochs are numbered on, a dotted line marks each new stage.
    """
    fig, [[ax_loss, ax_acc]] = figure_and_axes(ax, 1, 2, figsize=(11, 4))
    for i, (name, history) in enumerate(runs.items()):
        colour = COLOURS[i % len(COLOURS)]
        history = list(history)
        records: list[Mapping[str, float]] = []
        for stage in [history] if not history or isinstance(history[0], Mapping) else history:
            if records:
                for panel in (ax_loss, ax_acc):
                    panel.axvline(len(records) + 0.5, color=colour, linestyle=":", alpha=0.7)
            records += stage
        x = range(1, len(records) + 1)
        marker = "o" if len(records) <= 30 else None
        for panel, key, scale in ((ax_loss, "loss", 1.0), (ax_acc, "acc", 100.0)):
            for part, style, ko in (("train", "--", "학습"), ("test", "-", "시험")):
                panel.plot(x, [scale * r[f"{part}_{key}"] for r in records], linestyle=style, color=colour,
                           marker=marker, markersize=3, label=f"{name} — {ko} / {part}")
    ax_loss.set(title="손실 / loss", ylabel="교차 엔트로피 / cross-entropy")
    ax_acc.set(title="정확도 / accuracy", ylabel="정확도 (%) / accuracy (%)")
    for panel in (ax_loss, ax_acc):
        panel.set_xlabel("에포크 / epoch")
        panel.grid(alpha=0.3)
        if panel.lines:
            panel.xaxis.get_major_locator().set_params(integer=True)
    if runs:
        ax_acc.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def plot_lr_schedule(config: Any, steps_per_epoch: int, ax: Any = None) -> Any:
    """The learning rate of every step of a run of ``config`` (a ``TrainConfig``), from the engine's own schedule."""
    from .training.recipe import lr_factor  # the engine's schedule: only this plot needs training code
    total = max(1, int(config.epochs) * int(steps_per_epoch))
    per_epoch = max(1, steps_per_epoch)
    fig, [[ax]] = figure_and_axes(ax, figsize=(7, 3))
    ax.plot([step / per_epoch for step in range(total)],
            [config.lr * lr_factor(step, total, config.warmup, config.schedule) for step in range(total)],
            color=COLOURS[0])
    ax.axvline(max(1, round(config.warmup * total)) / per_epoch, color=COLOURS[1], linestyle=":",
               label=f"웜업 끝 / end of warm-up ({config.warmup:.0%})")
    ax.set(xlabel="에포크 / epoch", ylabel="학습률 / learning rate",
           title=f"학습률 스케줄 / learning-rate schedule — {config.schedule}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cms: torch.Tensor | Mapping[str, torch.Tensor], classes: Sequence[str],
                          normalize: bool = True, ax: Any = None) -> Any:
    """One or several (``{name: matrix}``) confusion matrices side by side, row = true class, with the counts;
    with ``normalize`` the colors show each row's shares (where a class's images went)."""
    named = dict(cms) if isinstance(cms, Mapping) else {"": cms}
    n, c = len(named), len(classes)
    fig, axes = figure_and_axes(ax, 1, n, figsize=(5.6 * n + 0.6, 5.2))
    labels = [class_label(name) for name in classes]
    for panel, (name, cm) in zip(axes[0], named.items()):
        counts = torch.as_tensor(cm).detach().cpu().double()
        shown = counts / counts.sum(dim=1, keepdim=True).clamp(min=1) if normalize else counts
        im = panel.imshow(shown.numpy(), cmap="Blues", vmin=0, vmax=1 if normalize else None)
        panel.set_xticks(range(c), labels, rotation=60, ha="right", fontsize=8)
        panel.set_yticks(range(c), labels, fontsize=8)
        panel.set(xlabel="예측 / predicted", ylabel="정답 / true",
                  title="혼동 행렬 / confusion matrix" + (f" — {name}" if name else ""))
        for i in range(c) if c <= 12 else ():
            for j in range(c):
                if value := int(counts[i, j]):
                    panel.text(j, i, str(value), ha="center", va="center", fontsize=7,
                               color="white" if float(shown[i, j]) > 0.5 * float(shown.max()) else "black")
        fig.colorbar(im, ax=panel, fraction=0.046, pad=0.04,
                     label="행 안의 비율 / share of the row" if normalize else "개수 / count")
    fig.tight_layout()
    return fig


def plot_per_class_accuracy(accuracies: torch.Tensor | Mapping[str, torch.Tensor], classes: Sequence[str],
                            ax: Any = None) -> Any:
    """Accuracy of each class as grouped horizontal bars, one color per model."""
    named = dict(accuracies) if isinstance(accuracies, Mapping) else {"": accuracies}
    c = len(classes)
    fig, [[ax]] = figure_and_axes(ax, figsize=(8, 1.5 + 0.3 * c * (1 + 0.5 * (len(named) - 1))))
    height = 0.8 / max(1, len(named))
    for i, (name, acc) in enumerate(named.items()):
        values = [100 * float(v) for v in torch.as_tensor(acc).detach().cpu().flatten()]
        ys = [c - 1 - j + (len(named) - 1) / 2 * height - i * height for j in range(c)]
        ax.barh(ys, [0 if v != v else v for v in values], height=height, color=COLOURS[i % len(COLOURS)],
                label=name or None)
    ax.set_yticks([c - 1 - j for j in range(c)], [class_label(name) for name in classes])
    ax.set(xlim=(0, 100), xlabel="정확도 (%) / accuracy (%)", title="클래스별 정확도 / per-class accuracy")
    ax.grid(axis="x", alpha=0.3)
    if any(named):
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_misclassified(pred: Predictions, n: int = 16, ncols: int = 8, title: str | None = None,
                       ax: Any = None) -> Any:
    """The ``n`` most confident mistakes of ``pred``: image, true name → predicted name."""
    wrong = torch.nonzero(~pred.correct).flatten()
    if wrong.numel():
        wrong = wrong[torch.argsort(pred.probs[wrong].max(dim=1).values, descending=True)][:n]
    shown = f"{wrong.numel()}/{int((~pred.correct).sum())}"
    title = title or f"가장 자신 있게 틀린 예 {shown} / the most confident mistakes"
    if wrong.numel():
        return plot_samples(pred.images[wrong], pred.labels[wrong], pred.classes, pred.preds[wrong],
                            ncols=ncols, title=title, ax=ax)
    fig, [[ax]] = figure_and_axes(ax, figsize=(6, 1.2))
    ax.set_axis_off()
    ax.text(0.5, 0.5, "틀린 예측이 없습니다 / no mistakes", ha="center", va="center")
    fig.suptitle(title)
    return fig


def _browser_figure(pred: Predictions, index: int | None, k: int, caption: str) -> Any:
    fig = Figure(figsize=(8, 3))  # outside pyplot, as widget callbacks need: nothing to close
    if index is None:
        ax = fig.subplots()
        ax.set_axis_off()
        ax.set_title(f"고른 조건에 맞는 이미지가 없습니다 / no image matches — {caption}", loc="left")
        return fig
    true, guess = int(pred.labels[index]), int(pred.preds[index])
    names = [class_label(c) for c in pred.classes]
    plot_topk(pred.probs[index], names, k, pred.images[index],
              f"예측 / predicted: {names[guess]} ({'맞음 / right' if true == guess else '틀림 / wrong'})",
              ax=fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]}))
    ax_img, ax = fig.axes
    ax_img.set_title(f"#{index} — {caption}\n정답 / true: {names[true]}", color=RIGHT if true == guess else WRONG)
    for bar, c in zip(ax.patches, torch.topk(pred.probs[index].float(), min(k, len(names))).indices):
        bar.set_color(RIGHT if int(c) == true else COLOURS[0])
    return fig


def prediction_browser(pred: Predictions, k: int = 3, which: str = "wrong") -> LiveView:
    """A browser over ``pred``, not shown: a filter (all / wrong / correct), a true class and an image slider;
    each view shows the image and its ``k`` most probable classes (the true one in green)."""
    import ipywidgets as widgets  # optional: only the widgets need it
    filt = widgets.Dropdown(options=[("전체 / all", "all"), ("틀린 것 / wrong", "wrong"),
                                     ("맞은 것 / correct", "correct")],
                            value=which, description="보기 / show", style=_STYLE)
    cls = widgets.Dropdown(options=[("모든 클래스 / all classes", -1)] +
                           [(class_label(name), i) for i, name in enumerate(pred.classes)],
                           value=-1, description="정답 클래스 / true class", style=_STYLE)
    slider = widgets.IntSlider(value=0, min=0, max=0, step=1, description="번호 / item",
                               continuous_update=False, style=_STYLE)

    def render() -> dict[str, str]:
        keep = {"all": torch.ones(len(pred), dtype=torch.bool), "wrong": ~pred.correct, "correct": pred.correct}
        idx = torch.nonzero(keep[filt.value] & ((pred.labels == cls.value) if cls.value >= 0 else True)).flatten()
        top = max(0, idx.numel() - 1)
        if slider.max != top:  # changing the filter changes how many items there are
            slider.max = top
        pos = min(slider.value, top)
        caption = f"{pos + 1 if idx.numel() else 0}/{idx.numel()}"
        return figure_bundle(_browser_figure(pred, int(idx[pos]) if idx.numel() else None, k, caption))

    return LiveView([filt, cls, slider], render)


def show_prediction_browser(pred: Predictions, k: int = 3, which: str = "wrong", fallback: str = "separate") -> None:
    """Display the prediction browser and a static figure of its first view (see :meth:`LiveView.show`)."""
    prediction_browser(pred, k, which).show(fallback)


# ---------------------------------------------------------------------------------------------- lesson 06
def plot_score_map(image: Any, scores: torch.Tensor, geometry: ScoreMap, label: str = "",
                   crop: int = 224, ax: Any = None) -> Any:
    """One class's score map ``(h, w)`` over the ``image`` it was computed from, one ``stride × stride`` cell per
    score; dashed: the ``crop × crop`` window of score (0, 0), dotted: its whole receptive field."""
    fig, [[ax]] = figure_and_axes(ax, figsize=(6, 6))
    values = torch.as_tensor(scores).detach().float().cpu()
    h, w = values.shape[-2:]
    s, (y0, x0), rf = geometry.stride, geometry.start, geometry.receptive_field
    img = _image_array(image)
    ax.imshow(img)
    shown = ax.imshow(values.reshape(h, w).numpy(), cmap="magma", alpha=0.55, interpolation="nearest",
                      extent=(x0 - s / 2, x0 + (w - 0.5) * s, y0 + (h - 0.5) * s, y0 - s / 2))
    fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    cy, cx = geometry.centre(0, 0)
    _box(ax, cy - crop / 2 + 0.5, cx - crop / 2 + 0.5, crop, crop, COLOURS[2],
         f"점수 (0,0)의 {crop}×{crop} 창 / window of score (0,0)", ls="--", text=True)
    top, left = cy - rf / 2 + 0.5, cx - rf / 2 + 0.5
    _box(ax, top, left, rf, rf, COLOURS[3], ls=":")
    ax.text(left + 4, top + 4, f"점수 (0,0)의 수용 영역 / receptive field of score (0,0): {rf}", color=COLOURS[3],
            fontsize=8, va="top", bbox={"fc": "white", "ec": "none", "alpha": 0.7, "pad": 1})
    (ih, iw), margin = img.shape[:2], 8
    ax.set(xlim=(min(-0.5, left - 0.5) - margin, max(iw - 0.5, left + rf) + margin),
           ylim=(max(ih - 0.5, top + rf) + margin, min(-0.5, top - 0.5) - margin),
           title=f"점수 맵 / score map {h}×{w}, 간격 / stride {s}px" + (f"\n{label}" if label else ""))
    ax.set_axis_off()
    return fig


def plot_scale_jitter(image: Any, n: int = 6, jitter: ScaleJitter | None = None, ax: Any = None) -> Any:
    """The original image with the windows of ``n`` scale-jittered crops, then the crops (``n + 1`` Axes);
    ``jitter`` defaults to ``ScaleJitter(256, 512, 224, seed=0)``."""
    jitter = jitter or ScaleJitter(seed=0)
    ncols = min(4, n + 1)
    nrows = math.ceil((n + 1) / ncols)
    fig, axes = figure_and_axes(ax, nrows, ncols, figsize=(3.2 * ncols, 3.3 * nrows))
    first, *rest = axes.flat
    first.imshow(_image_array(image))
    for k, panel in enumerate(rest[:n]):
        sample, colour = jitter.sample(image), COLOURS[k % len(COLOURS)]
        _box(first, *sample.box_in_original, colour, f"S={sample.scale}", text=True)
        panel.imshow(_image_array(sample.image))
        panel.set_title(f"S = {sample.scale}", color=colour)
    first.set_title("원본과 잘라 낸 창 / original and the crops")
    for a in axes.flat:
        a.set_axis_off()
    fig.suptitle(f"스케일 지터링 / scale jittering: S ∈ [{jitter.s_min}, {jitter.s_max}], "
                 f"{jitter.crop}×{jitter.crop} 무작위 잘라 내기 / random crop")
    fig.tight_layout()
    return fig


def plot_activation_scales(scales: Mapping[str, Sequence[float]], ax: Any = None) -> Any:
    """Activation spread per convolution (log scale) of :func:`~vgg_teach.dense.activation_scales` results, one line
    per ``"D · Kaiming (He)"``-style label: a color per initialization, configuration A dashed."""
    fig, [[ax]] = figure_and_axes(ax, figsize=(8, 4.5))
    schemes = list(dict.fromkeys(label.partition(" · ")[2] for label in scales))
    for label, values in scales.items():
        config, _, scheme = label.partition(" · ")
        ax.plot(range(1, len(values) + 1), values, marker="o", ms=3, ls="--" if config.strip() == "A" else "-",
                color=COLOURS[schemes.index(scheme) % len(COLOURS)], label=label)
    ax.axhline(1.0, color="gray", lw=0.8)
    ax.set_yscale("log")
    # plain "1e-4" labels: the Hangul font has no U+2212, which the default log labels (mathtext) use
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e")
                                               .replace("e+", "e")))
    ax.set(xlabel="합성곱 계층 (순서) / convolution (in order)", ylabel="출력의 표준편차 / std of the output",
           title="초기화에 따라 깊이를 지나는 신호의 크기 / Signal size through depth, per initialization")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig
