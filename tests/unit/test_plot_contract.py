"""Every ``plot_*`` of the package follows the one contract of vgg_teach.show.figures.

Without ``ax`` it returns a new, already closed Figure; with ``ax`` (one Axes, or as many as it has
panels) it draws there and returns that Axes' Figure. A new ``plot_*`` without a case here fails the
discovery test, so none can slip past the contract.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import vgg_teach  # noqa: E402
from vgg_teach.env import use_korean_font
from vgg_teach.errors import UsageError

use_korean_font()


def _all_plot_functions() -> dict[str, object]:
    found = {}
    for info in pkgutil.walk_packages(vgg_teach.__path__, "vgg_teach."):
        module = importlib.import_module(info.name)
        for name, fn in vars(module).items():
            if name.startswith("plot_") and inspect.isfunction(fn) and fn.__module__ == info.name:
                found[name] = fn
    return found


def _measurement():
    from vgg_teach.receptive_field import empirical_receptive_field, vgg16_features

    return empirical_receptive_field(vgg16_features(), "conv1_2")


def _predictions(n_wrong: int = 4):
    from vgg_teach.training.engine import Predictions

    labels = torch.arange(8) % 4
    preds = labels.clone()
    preds[:n_wrong] = (labels[:n_wrong] + 1) % 4
    probs = torch.nn.functional.one_hot(preds, 4).float() * 0.7 + 0.075
    images = torch.randint(0, 256, (8, 3, 8, 8), dtype=torch.uint8)
    return Predictions(images, labels, preds, probs, ["a", "b", "c", "d"])


def _score_map_geometry():
    from vgg_teach.dense import score_map_geometry

    return score_map_geometry(None, 384)


def _history():
    return [{"epoch": e, "train_loss": 1.0 / e, "train_acc": 0.1 * e, "test_loss": 1.2 / e, "test_acc": 0.09 * e}
            for e in (1, 2, 3)]


#: plot name → (args, kwargs, number of panels)
CASES = {
    "plot_params_vs_compute": (lambda: (("A",), {}), 1),
    "plot_rf_growth": (lambda: ((), {}), 1),
    "plot_rf_boxes": (lambda: ((None, ["conv1_2", "conv2_2"]), {}), 1),
    "plot_gradient_map": (lambda: ((_measurement(),), {}), 1),
    "plot_gradient_maps": (lambda: (([_measurement(), _measurement()],), {}), 2),
    "plot_samples": (lambda: ((torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8), [0, 1, 0, 1], ["x", "y"]),
                              {"ncols": 4}), 4),
    "plot_learning_curves": (lambda: (({"run": _history()},), {}), 2),
    "plot_lr_schedule": (lambda: ((__import__("vgg_teach.training.recipe", fromlist=["TrainConfig"])
                                   .TrainConfig(epochs=2), 10), {}), 1),
    "plot_confusion_matrix": (lambda: ((torch.eye(3, dtype=torch.long) * 4, ["a", "b", "c"]), {}), 1),
    "plot_per_class_accuracy": (lambda: ((torch.tensor([0.5, 0.75, 1.0]), ["a", "b", "c"]), {}), 1),
    "plot_topk": (lambda: ((torch.softmax(torch.randn(10), 0), [str(i) for i in range(10)]), {"k": 3}), 1),
    "plot_misclassified": (lambda: ((_predictions(),), {"n": 4, "ncols": 4}), 4),
    "plot_score_map": (lambda: ((torch.rand(3, 384, 384), torch.rand(6, 6), _score_map_geometry()), {"label": "x"}), 1),
    "plot_scale_jitter": (lambda: ((torch.rand(3, 300, 260),), {"n": 3}), 4),
    "plot_activation_scales": (lambda: (({"A · x": [1.0, 0.5], "D · x": [1.0, 0.3, 0.1]},), {}), 1),
}


def test_every_plot_function_has_a_contract_case():
    assert set(_all_plot_functions()) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_without_ax_a_new_closed_figure_is_returned(name):
    fn = _all_plot_functions()[name]
    assert "ax" in inspect.signature(fn).parameters and inspect.signature(fn).parameters["ax"].default is None
    plt.close("all")
    args, kwargs = CASES[name][0]()
    fig = fn(*args, **kwargs)
    assert isinstance(fig, Figure)
    assert fig.number not in plt.get_fignums() if hasattr(fig, "number") else True  # closed in pyplot
    assert plt.get_fignums() == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_with_ax_it_draws_there_and_returns_that_figure(name):
    fn = _all_plot_functions()[name]
    args, kwargs = CASES[name][0]()
    panels = CASES[name][1]
    fig, axes = plt.subplots(1, panels, squeeze=False)
    given = axes[0, 0] if panels == 1 else list(axes.flat)
    assert fn(*args, **kwargs, ax=given) is fig
    assert any(a.has_data() or a.images or a.patches or a.texts for a in axes.flat)
    plt.close(fig)


def test_the_wrong_number_of_axes_is_a_clear_error():
    from vgg_teach.plots import plot_learning_curves

    fig, ax = plt.subplots()
    with pytest.raises(UsageError, match="(?s)축\\(Axes\\)이 2개.*needs 2 Axes"):
        plot_learning_curves({"run": _history()}, ax=ax)
    plt.close(fig)
