"""Every figure and widget of vgg_teach.plots, headless: the one plotting contract, what each figure draws, and the
widgets driven without a frontend, with their static copy for nbval and GitHub (Hangul in figures: test_env.py)."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from tests.fakes import korean_first
from vgg_teach import plots
from vgg_teach.dense import score_map_geometry
from vgg_teach.env import use_korean_font
from vgg_teach.errors import UsageError
from vgg_teach.models import build_model, conv_layer_names, vgg
from vgg_teach.receptive_field import VGG16_RECEPTIVE_FIELDS, empirical_receptive_field, vgg16_features
from vgg_teach.show import STATIC_CAPTION, LiveView
from vgg_teach.training.data import CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD, ImageTensors
from vgg_teach.training.engine import Predictions, predict
from vgg_teach.training.recipe import TrainConfig

matplotlib.use("Agg")


def _fake(n: int = 24, seed: int = 0) -> ImageTensors:
    images = torch.randint(0, 256, (n, 3, 32, 32), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)
    return ImageTensors(images, torch.arange(n) % 10, list(CIFAR10_CLASSES))


def _pred(n: int = 24, seed: int = 0) -> Predictions:
    data = _fake(n, seed)
    probs = torch.softmax(torch.randn(n, 10, generator=torch.Generator().manual_seed(seed + 1)) * 3, dim=1)
    return Predictions(data.images, data.labels, probs.argmax(1), probs, data.classes)


def _history(n: int) -> list[dict]:
    return [{"epoch": e, "train_loss": 2 - 0.1 * e, "test_loss": 2.1 - 0.1 * e, "train_acc": 0.5 + 0.01 * e,
             "test_acc": 0.5 + 0.008 * e} for e in range(1, n + 1)]


@pytest.fixture(autouse=True)
def _no_open_figures():
    use_korean_font()  # as the lessons' setup cell does
    yield
    assert plt.get_fignums() == [], "a plot_* function left a pyplot figure open (it would be shown twice)"


@pytest.fixture
def notebook(monkeypatch):
    """As if in a notebook: what ``display`` is given."""
    shown = []
    monkeypatch.setattr("IPython.get_ipython", lambda: object())
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.append((objs[0], kw)))
    return shown


# ------------------------------------------------------------------------------------------ the contract
#: plot name → (args, kwargs), number of panels, what the new figure's axes show
CASES = {
    "plot_params_vs_compute": (lambda: (("D",), {}), 1,  # 16 layers × (params, compute)
                               lambda a: len(a[0].patches) == 32 and a[0].get_xticklabels()[-3].get_text() == "fc6"),
    "plot_rf_growth": (lambda: ((), {}), 1,
                       lambda a: [b.get_height() for b in a[0].patches] == list(VGG16_RECEPTIVE_FIELDS)
                       and [t.get_text() for t in a[0].get_xticklabels()] == conv_layer_names("D")),
    "plot_rf_boxes": (lambda: ((torch.rand(3, 224, 224), ["conv3_3", "pool5"]), {}), 1,
                      lambda a: a[0].images and [(b.get_width(), b.get_height()) for b in a[0].patches
                                                 if isinstance(b, Rectangle)] == [(40, 40), (212, 212)]),
    "plot_gradient_map": (lambda: ((empirical_receptive_field(vgg16_features(), "conv1_2"),), {}), 1, None),
    "plot_gradient_maps": (lambda: (([empirical_receptive_field(vgg16_features(), i) for i in (0, 1)],), {}), 2, None),
    "plot_topk": (lambda: ((torch.arange(10.0).softmax(0), [f"c{i}" for i in range(10)]),
                           {"k": 3, "image": torch.rand(3, 40, 30)}), 2,
                  lambda a: [t.get_text() for t in a[1].get_yticklabels()] == ["1. c9", "2. c8", "3. c7"]),
    "plot_samples": (lambda: ((_fake(4).images, [0, 2, 0, 2], ["airplane", "x", "my_class", "cat"], [0, 3, 0, 2]),
                              {"ncols": 4}), 4,  # Korean CIFAR-10 names; a wrong prediction in red
                     lambda a: (a[0].get_title(), a[1].get_title()) == ("비행기 airplane\n→ 비행기 airplane",
                                                                       "my_class\n→ 고양이 cat")
                     and a[1].title.get_color() == "#cf222e" != a[0].title.get_color()),
    "plot_learning_curves": (lambda: (({"a": _history(4), "b": [_history(2), _history(3)]},), {}), 2,
                             lambda a: len(a[0].lines) == 2 * 2 + 1  # train, test of each run; a stage boundary
                             and list(a[1].lines[-1].get_xdata()) == [1, 2, 3, 4, 5]),  # stage 2 numbered on
    "plot_lr_schedule": (lambda: ((TrainConfig(epochs=3, lr=0.2, warmup=0.2), 10), {}), 1,
                         lambda a: (y := a[0].lines[0].get_ydata()).size == 30 and max(y) == pytest.approx(0.2)
                         and y[-1] < 0.01),
    "plot_confusion_matrix": (lambda: (({"A": torch.eye(3) * 4, "B": torch.ones(3, 3)}, ["a", "b", "c"]), {}), 2,
                              lambda a: len(a) == 4 and [t.get_text() for t in a[0].texts] == ["4"] * 3),  # 2 bars
    "plot_per_class_accuracy": (lambda: (({"A": torch.tensor([0.5, 0.75, 1.0]), "B": torch.ones(3)}, ["a", "b", "c"]),
                                         {}), 1, lambda a: len(a[0].patches) == 6),
    "plot_misclassified": (lambda: ((_pred(8),), {"n": 4, "ncols": 4}), 4,
                           lambda a: "가장 자신 있게 틀린 예 4/" in a[0].figure.get_suptitle()),
    "plot_score_map": (lambda: ((torch.rand(3, 384, 384), torch.rand(6, 6), score_map_geometry(None, 384)), {}), 1,
                       None),
    "plot_scale_jitter": (lambda: ((torch.rand(3, 300, 260),), {"n": 3}), 4, None),
    "plot_activation_scales": (lambda: (({"A · x": [1.0, 0.5], "D · x": [1.0, 0.3, 0.1]},), {}), 1, None),
}


def test_every_plot_function_has_a_contract_case():
    assert {name for name in vars(plots) if name.startswith("plot_")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_plot_returns_a_new_closed_figure_or_draws_into_the_given_axes(name):
    fn, (make, panels, check) = getattr(plots, name), CASES[name]
    args, kwargs = make()
    fig = fn(*args, **kwargs)
    assert isinstance(fig, Figure) and plt.get_fignums() == []  # closed: shown once, by the cell
    assert check is None or check(fig.axes)
    fig, axes = plt.subplots(1, panels, squeeze=False)
    assert fn(*args, **kwargs, ax=axes[0, 0] if panels == 1 else list(axes.flat)) is fig
    assert any(a.has_data() or a.images or a.patches or a.texts for a in axes.flat)
    plt.close(fig)
    if panels > 1:
        fig, ax = plt.subplots()
        with pytest.raises(UsageError, match=f"(?s)축\\(Axes\\)이 {panels}개.*needs {panels} Axes"):
            fn(*args, **kwargs, ax=ax)
        plt.close(fig)


def test_a_model_without_mistakes_says_so():
    pred = _pred(8)
    fig = plots.plot_misclassified(Predictions(pred.images, pred.labels, pred.labels, pred.probs, pred.classes))
    assert "틀린 예측이 없습니다" in fig.axes[0].texts[0].get_text()


def test_predict_matches_the_model():
    torch.manual_seed(0)
    model = build_model("vgg_tiny_cifar").eval()
    data = _fake(20)
    pred = predict(model, data, batch_size=8)
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (CIFAR10_MEAN, CIFAR10_STD))
    with torch.no_grad():
        assert torch.equal(pred.preds, model((data.images.float() / 255 - mean) / std).argmax(1))
    assert pred.probs.sum(1).allclose(torch.ones(20)) and 0.0 <= pred.accuracy <= 1.0 and len(pred) == 20


# ------------------------------------------------------------------------------------------- explorer
@pytest.mark.parametrize("cfg,bn,size,classes", [("A", False, 224, 1000), ("C", True, 96, 10), ("E", True, 64, 7)])
def test_explorer_table_counts_equal_the_models(cfg, bn, size, classes):
    table = plots.explorer_table(cfg, bn, size, classes, compact=False)
    with torch.device("meta"):  # the same shapes and numbers as an allocated model, without the allocation
        model = vgg(cfg, bn, classes)
        features = tuple(model.eval().features(torch.zeros(1, 3, size, size)).shape[1:])
    assert table.total_params == sum(p.numel() for p in model.parameters()) and not table.message
    assert features == next(r.output_shape for r in table if r.name == "pool5") == (512, size // 32, size // 32)
    assert table[-1].output_shape == (classes,) and table[-1].name == "fc8"
    assert (size != 224) == any("AdaptiveAvgPool2d" in n for n in table.notes)


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
# test_ipywidgets7.py runs the tests named "widget" or "show" again on ipywidgets 7.
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
    assert "128,812,810" in shown()["text/plain"]  # vgg11_bn, 10 classes

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


def test_show_outside_ipython_prints_the_result_and_a_failing_widget_says_why(capsys):
    plots.show_explorer("A", input_size=16)
    out = capsys.readouterr().out
    assert "at least 32" in out and "VBox" not in out
    import ipywidgets as widgets  # the version under test (7 or 8)
    text = LiveView([widgets.IntSlider()], lambda: 1 / 0).output.outputs[0]["data"]["text/plain"]
    assert "ZeroDivisionError" in text and "Could not build" in text and "만들지 못했습니다" in text


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


def test_top_k_of_a_swapped_head_with_imagenet_names_says_why_instead_of_naming_wrong_classes():
    """Lesson 04 run back to its first section after the head swap: 10 CIFAR scores, 1,000 ImageNet names."""
    with pytest.raises(UsageError) as refused:
        plots.plot_topk(torch.rand(1, 10).softmax(1), [f"imagenet{i}" for i in range(1000)])
    korean_first(str(refused.value), "헤드", "was the model's output layer (its head) swapped?")
