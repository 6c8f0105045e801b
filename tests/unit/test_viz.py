"""Every figure and widget of vgg_teach.plots, headless: the one plotting contract, what each figure draws (with
its Hangul really drawn), and the widgets driven without a frontend, with their static copy for nbval and GitHub."""

from __future__ import annotations

import io
import re

import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch
import torchvision
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from vgg_teach import plots
from vgg_teach.answers import confusion_matrix
from vgg_teach.dense import score_map_geometry
from vgg_teach.env import use_korean_font
from vgg_teach.errors import UsageError
from vgg_teach.models import build_model, conv_layer_names, vgg
from vgg_teach.receptive_field import VGG16_RECEPTIVE_FIELDS, empirical_receptive_field, vgg16_features
from vgg_teach.show import STATIC_CAPTION, LiveView
from vgg_teach.training.data import CIFAR10_CLASSES, ImageTensors
from vgg_teach.training.engine import Predictions, per_class_accuracy, predict
from vgg_teach.training.recipe import TrainConfig

matplotlib.use("Agg")
#: Hangul must really be drawn: a glyph missing from the font is an error here, not a warning.
pytestmark = pytest.mark.filterwarnings("error:Glyph")


def _fake(n: int = 24, seed: int = 0) -> ImageTensors:
    images = torch.randint(0, 256, (n, 3, 32, 32), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)
    return ImageTensors(images, torch.arange(n) % 10, list(CIFAR10_CLASSES))


def _pred(n: int = 24, seed: int = 0) -> Predictions:
    data = _fake(n, seed)
    probs = torch.softmax(torch.randn(n, 10, generator=torch.Generator().manual_seed(seed + 1)) * 3, dim=1)
    return Predictions(data.images, data.labels, probs.argmax(1), probs, data.classes)


def _history(n: int = 3, start: float = 0.5) -> list[dict]:
    return [{"epoch": e, "train_loss": 2 - 0.1 * e, "test_loss": 2.1 - 0.1 * e, "train_acc": start + 0.01 * e,
             "test_acc": start + 0.008 * e} for e in range(1, n + 1)]


def _titles(fig) -> list[str]:
    """The figure's titles, after drawing it to a PNG (so a missing Hangul glyph fails the test)."""
    fig.savefig(io.BytesIO(), format="png")
    return [t for t in [*(ax.get_title() for ax in fig.axes), fig._suptitle and fig._suptitle.get_text()] if t]


@pytest.fixture(autouse=True)
def _no_open_figures():
    assert use_korean_font() is not None
    yield
    assert plt.get_fignums() == [], "a plot_* function left a pyplot figure open (it would be shown twice)"
    plt.close("all")


@pytest.fixture
def notebook(monkeypatch):
    """As if in a notebook: what ``display`` is given."""
    shown = []
    monkeypatch.setattr("IPython.get_ipython", lambda: object())
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.append((objs[0], kw)))
    return shown


# ------------------------------------------------------------------------------------------ the contract
#: plot name → (args, kwargs), number of panels
CASES = {
    "plot_params_vs_compute": (lambda: (("A",), {}), 1),
    "plot_rf_growth": (lambda: ((), {}), 1),
    "plot_rf_boxes": (lambda: ((None, ["conv1_2", "conv2_2"]), {}), 1),
    "plot_gradient_map": (lambda: ((empirical_receptive_field(vgg16_features(), "conv1_2"),), {}), 1),
    "plot_gradient_maps": (lambda: (([empirical_receptive_field(vgg16_features(), i) for i in (0, 1)],), {}), 2),
    "plot_topk": (lambda: ((torch.softmax(torch.randn(10), 0), [str(i) for i in range(10)]), {"k": 3}), 1),
    "plot_samples": (lambda: ((_fake(4).images, [0, 1, 0, 1], ["x", "y"]), {"ncols": 4}), 4),
    "plot_learning_curves": (lambda: (({"run": _history()},), {}), 2),
    "plot_lr_schedule": (lambda: ((TrainConfig(epochs=2), 10), {}), 1),
    "plot_confusion_matrix": (lambda: ((torch.eye(3, dtype=torch.long) * 4, ["a", "b", "c"]), {}), 1),
    "plot_per_class_accuracy": (lambda: ((torch.tensor([0.5, 0.75, 1.0]), ["a", "b", "c"]), {}), 1),
    "plot_misclassified": (lambda: ((_pred(8),), {"n": 4, "ncols": 4}), 4),
    "plot_score_map": (lambda: ((torch.rand(3, 384, 384), torch.rand(6, 6), score_map_geometry(None, 384)), {}), 1),
    "plot_scale_jitter": (lambda: ((torch.rand(3, 300, 260),), {"n": 3}), 4),
    "plot_activation_scales": (lambda: (({"A · x": [1.0, 0.5], "D · x": [1.0, 0.3, 0.1]},), {}), 1),
}


def test_every_plot_function_has_a_contract_case():
    assert {name for name in vars(plots) if name.startswith("plot_")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_plot_returns_a_new_closed_figure_or_draws_into_the_given_axes(name):
    fn, (make, panels) = getattr(plots, name), CASES[name]
    args, kwargs = make()
    assert isinstance(fn(*args, **kwargs), Figure) and plt.get_fignums() == []  # closed: shown once, by the cell
    fig, axes = plt.subplots(1, panels, squeeze=False)
    assert fn(*args, **kwargs, ax=axes[0, 0] if panels == 1 else list(axes.flat)) is fig
    assert any(a.has_data() or a.images or a.patches or a.texts for a in axes.flat)
    plt.close(fig)
    if panels > 1:
        fig, ax = plt.subplots()
        with pytest.raises(UsageError, match=f"(?s)축\\(Axes\\)이 {panels}개.*needs {panels} Axes"):
            fn(*args, **kwargs, ax=ax)
        plt.close(fig)


# -------------------------------------------------------------------------------------- what they draw
def test_parameter_and_receptive_field_figures():
    ax = plots.plot_params_vs_compute("D").axes[0]
    assert len(ax.patches) == 32 and ax.get_xticklabels()[-3].get_text() == "fc6"
    ax = plots.plot_rf_growth().axes[0]
    assert [b.get_height() for b in ax.patches] == list(VGG16_RECEPTIVE_FIELDS)
    assert [t.get_text() for t in ax.get_xticklabels()] == conv_layer_names("D")
    ax = plots.plot_rf_boxes(torch.rand(3, 224, 224), ["conv3_3", "pool5"]).axes[0]
    assert [(b.get_width(), b.get_height()) for b in ax.patches if isinstance(b, Rectangle)] == [(40, 40), (212, 212)]
    assert ax.get_images()[0].get_array().shape == (224, 224, 3)


def test_topk_samples_and_mistakes():
    probs = torch.softmax(torch.randn(1000), 0)
    fig = plots.plot_topk(probs, [f"class {i}" for i in range(1000)], k=5, image=torch.rand(3, 40, 30))
    labels = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert len(fig.axes) == 2 and f"1. class {int(probs.argmax())}" in labels and len(labels) == 5
    assert any(re.search("[가-힣]", t) for t in _titles(fig))
    data = _fake(10)
    assert "비행기 airplane" in _titles(plots.plot_samples(data.images, data.labels, data.classes, ncols=5))
    first = plots.plot_samples(data.images[:2], data.labels[:2], data.classes, [3, 1]).axes[0].title
    assert "→ 고양이 cat" in first.get_text() and first.get_color() == "#cf222e"
    assert plots.class_label("my_class") == "my_class" and set(plots.CIFAR10_KO) == set(CIFAR10_CLASSES)
    pred = _pred(30)
    fig = plots.plot_misclassified(pred, n=4, ncols=4)
    assert len(fig.axes) == 4 and "가장 자신 있게 틀린 예 4/" in fig._suptitle.get_text()
    fig = plots.plot_misclassified(Predictions(pred.images, pred.labels, pred.labels, pred.probs, pred.classes))
    assert "틀린 예측이 없습니다" in fig.axes[0].texts[0].get_text()


def test_training_figures():
    fig = plots.plot_learning_curves({"처음부터 / scratch": _history(4), "사전 학습 / pretrained": [_history(2),
                                                                                            _history(3)]})
    loss, acc = fig.axes
    assert [loss.get_title(), acc.get_title()] == ["손실 / loss", "정확도 / accuracy"]
    assert len(loss.lines) == 2 * 2 + 1  # train and test for each run, and one stage boundary
    stage_run = [line for line in acc.lines if "사전 학습" in line.get_label()]
    assert list(stage_run[0].get_xdata()) == [1, 2, 3, 4, 5]  # the second stage's epochs are numbered on
    fig = plots.plot_lr_schedule(TrainConfig(epochs=3, lr=0.2, warmup=0.2), steps_per_epoch=10)
    y = fig.axes[0].lines[0].get_ydata()
    assert "학습률" in _titles(fig)[0] and len(y) == 30 and max(y) == pytest.approx(0.2) and y[-1] < 0.01
    pred = _pred(40)
    cm = confusion_matrix(pred.preds, pred.labels, 10)
    fig = plots.plot_confusion_matrix({"A": cm, "B": cm.T}, pred.classes)
    assert len(fig.axes) == 4 and "혼동 행렬 / confusion matrix — A" in _titles(fig)  # two matrices, two color bars
    acc = per_class_accuracy(cm)
    fig = plots.plot_per_class_accuracy({"A": acc, "B": acc.flip(0)}, pred.classes)
    assert len(fig.axes[0].patches) == 20 and _titles(fig) == ["클래스별 정확도 / per-class accuracy"]


def test_predict_matches_the_model():
    torch.manual_seed(0)
    model = build_model("vgg_tiny_cifar").eval()
    data = _fake(20)
    pred = predict(model, data, batch_size=8)
    mean = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
    std = torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1)
    with torch.no_grad():
        assert torch.equal(pred.preds, model((data.images.float() / 255 - mean) / std).argmax(1))
    assert pred.probs.sum(1).allclose(torch.ones(20)) and 0.0 <= pred.accuracy <= 1.0 and len(pred) == 20


# ------------------------------------------------------------------------------------------- explorer
def numel(model) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("cfg,bn,size,classes", [("A", False, 224, 1000), ("C", True, 96, 10), ("E", True, 64, 7)])
def test_explorer_table_counts_equal_real_models(cfg, bn, size, classes):
    table = plots.explorer_table(cfg, bn, size, classes, compact=False)
    model = vgg(cfg, bn, classes)  # a real, allocated model
    assert table.total_params == numel(model) and not table.message
    with torch.no_grad():
        features = tuple(model.eval().features(torch.zeros(1, 3, size, size)).shape[1:])
    assert features == next(r.output_shape for r in table if r.name == "pool5") == (512, size // 32, size // 32)
    assert table[-1].output_shape == (classes,) and table[-1].name == "fc8"
    assert (size != 224) == any("AdaptiveAvgPool2d" in n for n in table.notes)
    with torch.device("meta"):
        assert plots.explorer_table("D", True).total_params == numel(torchvision.models.vgg16_bn())


@pytest.mark.parametrize("kwargs,ko,en", [
    ({"input_size": 16}, "32 이상", "at least 32"),
    ({"input_size": 0}, "0×0", "Choose a whole number"),
    ({"cfg": "F"}, "A, B, C, D, E", "There is no configuration 'F'"),
    ({"num_classes": 0}, "1 이상", "at least 1"),
])
def test_bad_explorer_settings_give_a_bilingual_message(kwargs, ko, en):
    table = plots.explorer_table(**kwargs)
    assert len(table) == 0 and ko in table.message and en in table.message
    assert table.message in str(table) and "color:#cf222e" in table._repr_html_()


# -------------------------------------------------------------------------------------------- widgets
def test_explorer_widget_updates_and_shows_a_static_copy(notebook):
    view = plots.explorer()
    config, bn, size, classes = view.controls
    assert [type(c).__name__ for c in view.controls] == ["Dropdown", "Checkbox", "IntSlider", "IntText"]
    assert view.widget.children[-1] is view.output

    def shown() -> dict:
        (out,) = view.output.outputs
        return out["data"]

    assert "138,357,544" in shown()["text/html"] and "138,357,544" in shown()["text/plain"]
    config.value, bn.value = "A", True
    assert "132,868,840" in shown()["text/plain"]  # vgg11_bn
    size.value = 16
    assert "at least 32" in shown()["text/plain"] and "<table>" not in shown()["text/html"]
    size.value, classes.value = 32, 10
    assert f"{numel(vgg('A', True, 10)):,}" in shown()["text/plain"]

    plots.show_explorer("B")
    (widget, _), (caption, kw), (static, _) = notebook
    assert type(widget).__name__ == "VBox" and caption["text/plain"] == STATIC_CAPTION and kw["raw"]
    assert "133,047,848" in static["text/plain"] and "<table>" in static["text/html"]
    notebook.clear()
    view = plots.explorer("B")
    view.show("bundle")  # one output: the widget view for frontends that draw widgets, the table for the others
    ((bundle, kw),) = notebook
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == view.widget.model_id
    assert "133,047,848" in bundle["text/plain"] and "<table>" in bundle["text/html"]
    with pytest.raises(ValueError, match="fallback"):
        view.show("nope")


def test_show_outside_ipython_prints_the_result(capsys):
    plots.show_explorer("A", input_size=16)
    out = capsys.readouterr().out
    assert "at least 32" in out and "VBox" not in out


def test_a_failing_render_shows_a_message_in_the_widget():
    import ipywidgets as widgets

    def broken() -> dict:
        raise RuntimeError("boom")

    text = LiveView([widgets.IntSlider()], broken).output.outputs[0]["data"]["text/plain"]
    assert "boom" in text and "Could not build" in text and "만들지 못했습니다" in text


def test_rf_slider_widget_redraws(notebook):
    view = plots.rf_slider(layer="conv1_1")
    (slider,) = view.controls
    assert (slider.min, slider.max, slider.value) == (0, 17, 0)
    first = view.output.outputs[0]["data"]
    assert "conv1_1" in first["text/plain"] and first["image/png"]
    slider.value = 17
    last = view.output.outputs[0]["data"]
    assert "pool5" in last["text/plain"] and last["image/png"] != first["image/png"]
    plots.show_rf_slider(layer="pool5")
    assert type(notebook[0][0]).__name__ == "VBox" and "pool5" in notebook[-1][0]["text/plain"]


def test_prediction_browser_widget_filters(notebook):
    pred = _pred(30)
    view = plots.prediction_browser(pred, which="wrong")
    filt, cls, slider = view.controls
    assert slider.max == int((~pred.correct).sum()) - 1 and "image/png" in view.bundle
    filt.value = "all"
    assert slider.max == 29
    cls.value = 3
    assert slider.max == int((pred.labels == 3).sum()) - 1
    filt.value, slider.value = "correct", 0
    assert "image/png" in view.bundle and "만들지 못했습니다" not in view.bundle.get("text/plain", "")  # none match
    plots.show_prediction_browser(pred)
    assert type(notebook[0][0]).__name__ == "VBox" and "image/png" in notebook[-1][0]
