"""The training and prediction figures (vgg_teach.show) run headless on small fake data: figures have the
expected axes and Hangul titles, predictions match the model, and the prediction browser builds without a frontend and
displays a static figure too."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vgg_teach.answers import confusion_matrix
from vgg_teach.env import use_korean_font
from vgg_teach.models import build_model
from vgg_teach.plots import (
    CIFAR10_KO,
    class_label,
    plot_confusion_matrix,
    plot_learning_curves,
    plot_lr_schedule,
    plot_misclassified,
    plot_per_class_accuracy,
    plot_samples,
    plot_topk,
    prediction_browser,
    show_prediction_browser,
)
from vgg_teach.training.data import CIFAR10_CLASSES, ImageTensors
from vgg_teach.training.engine import Predictions, per_class_accuracy, predict

HANGUL = re.compile(r"[\uac00-\ud7a3]")
#: Hangul must really be drawn: a glyph missing from the font is an error here, not a warning.
pytestmark = pytest.mark.filterwarnings("error:Glyph")


def _fake(n: int = 24, seed: int = 0) -> ImageTensors:
    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 32, 32), generator=gen, dtype=torch.uint8)
    return ImageTensors(images, torch.arange(n) % 10, list(CIFAR10_CLASSES))


def _pred(n: int = 24, seed: int = 0) -> Predictions:
    data = _fake(n, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    probs = torch.softmax(torch.randn(n, 10, generator=gen) * 3, dim=1)
    return Predictions(data.images, data.labels, probs.argmax(1), probs, data.classes)


def _titles(fig) -> list[str]:
    """The figure's titles — after drawing it to a PNG, so a missing Hangul glyph would fail the test."""
    import io
    fig.savefig(io.BytesIO(), format="png")
    titles = [ax.get_title() for ax in fig.axes]
    if fig._suptitle is not None:
        titles.append(fig._suptitle.get_text())
    return [t for t in titles if t]


@pytest.fixture(autouse=True)
def _no_open_figures():
    assert use_korean_font() is not None
    yield
    assert plt.get_fignums() == [], "a plot_* function left a pyplot figure open (it would be shown twice)"
    plt.close("all")


def test_class_label():
    assert class_label("cat") == "고양이 cat"
    assert class_label("my_class") == "my_class"
    assert set(CIFAR10_KO) == set(CIFAR10_CLASSES)


def test_plot_topk_with_and_without_image():
    probs = torch.softmax(torch.randn(1000), 0)
    names = [f"class {i}" for i in range(1000)]
    fig = plot_topk(probs, names, k=5, image=torch.rand(3, 40, 30))
    assert len(fig.axes) == 2
    assert any(HANGUL.search(t) for t in _titles(fig))
    labels = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    best = int(probs.argmax())
    assert f"1. class {best}" in labels and len(labels) == 5
    assert len(plot_topk(probs[None], names, k=3).axes) == 1


def test_plot_samples_with_names_and_predictions():
    data = _fake(10)
    fig = plot_samples(data.images, data.labels, data.classes, ncols=5, title="표본 / samples")
    assert len(fig.axes) == 10
    assert "비행기 airplane" in _titles(fig)
    preds = data.labels.clone()
    preds[0] = 3
    fig = plot_samples(data.images[:2], data.labels[:2], data.classes, preds[:2])
    first = fig.axes[0].title
    assert "→ 고양이 cat" in first.get_text() and first.get_color() == "#cf222e"


def test_learning_curves_with_stages():
    def history(n, start=0.5):
        return [{"epoch": e, "train_loss": 2 - 0.1 * e, "test_loss": 2.1 - 0.1 * e,
                 "train_acc": start + 0.01 * e, "test_acc": start + 0.008 * e} for e in range(1, n + 1)]

    fig = plot_learning_curves({"처음부터 / scratch": history(4), "사전 학습 / pretrained": [history(2), history(3)]})
    assert len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["손실 / loss", "정확도 / accuracy"]
    loss, acc = fig.axes
    assert len(loss.lines) == 2 * 2 + 1  # train + test for each of the two runs, plus one stage boundary
    stage_run = [line for line in acc.lines if "사전 학습" in line.get_label()]
    assert list(stage_run[0].get_xdata()) == [1, 2, 3, 4, 5]
    assert stage_run[1].get_ydata()[0] == pytest.approx(100 * (0.5 + 0.008))


def test_lr_schedule_follows_the_engine():
    from vgg_teach.training.recipe import TrainConfig

    config = TrainConfig(epochs=3, lr=0.2, warmup=0.2)
    fig = plot_lr_schedule(config, steps_per_epoch=10)
    assert len(fig.axes) == 1 and "학습률" in _titles(fig)[0]
    y = fig.axes[0].lines[0].get_ydata()
    assert len(y) == 30 and max(y) == pytest.approx(0.2) and y[-1] < 0.01


def test_confusion_matrix_and_per_class_plots():
    pred = _pred(40)
    cm = confusion_matrix(pred.preds, pred.labels, 10)
    assert int(cm.sum()) == 40
    fig = plot_confusion_matrix({"A": cm, "B": cm.T}, pred.classes)
    assert len(fig.axes) == 4  # two matrices and their colour bars
    assert "혼동 행렬 / confusion matrix — A" in _titles(fig)
    assert len(plot_confusion_matrix(cm, pred.classes).axes) == 2
    acc = per_class_accuracy(cm)
    fig = plot_per_class_accuracy({"A": acc, "B": acc.flip(0)}, pred.classes)
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == "클래스별 정확도 / per-class accuracy"
    assert len(fig.axes[0].patches) == 20


def test_misclassified_most_confident_first():
    pred = _pred(30)
    fig = plot_misclassified(pred, n=4, ncols=4)
    assert len(fig.axes) == 4
    assert "가장 자신 있게 틀린 예 4/" in fig._suptitle.get_text()
    perfect = Predictions(pred.images, pred.labels, pred.labels, pred.probs, pred.classes)
    fig = plot_misclassified(perfect)
    assert "틀린 예측이 없습니다" in fig.axes[0].texts[0].get_text()


def test_predict_matches_the_model():
    torch.manual_seed(0)
    model = build_model("vgg_tiny_cifar").eval()
    data = _fake(20)
    pred = predict(model, data, batch_size=8)
    assert pred.preds.shape == (20,) and pred.probs.shape == (20, 10) and len(pred) == 20
    mean = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
    std = torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = model((data.images.float() / 255 - mean) / std).argmax(1)
    assert torch.equal(pred.preds, expected)
    assert pred.probs.sum(1).allclose(torch.ones(20))
    assert 0.0 <= pred.accuracy <= 1.0


def test_browser_builds_filters_and_shows_a_static_figure(monkeypatch):
    pred = _pred(30)
    view = prediction_browser(pred, which="wrong")
    filt, cls, slider = view.controls
    n_wrong = int((~pred.correct).sum())
    assert slider.max == n_wrong - 1
    assert "image/png" in view.bundle
    filt.value = "all"
    assert slider.max == 29
    cls.value = 3
    assert slider.max == int((pred.labels == 3).sum()) - 1
    filt.value = "correct"
    slider.value = 0
    assert "image/png" in view.bundle  # also when nothing matches: a message, not an error
    assert "결과를 만들지 못했습니다" not in view.bundle.get("text/plain", "")

    shown = []
    import IPython
    import IPython.display

    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    assert show_prediction_browser(pred) is None
    kinds = [type(o).__name__ for o in shown]
    assert kinds[0] == "VBox"
    assert any(isinstance(o, dict) and "image/png" in o for o in shown), kinds


def test_widget_uses_only_common_ipywidgets_api():
    import inspect

    from vgg_teach import plots as predictions

    source = inspect.getsource(predictions)
    used = set(re.findall(r"(?<![\w.])widgets\.(\w+)", source))
    assert used <= {"IntSlider", "Dropdown", "Checkbox", "IntText", "Output", "VBox", "HBox", "interactive"}, used
