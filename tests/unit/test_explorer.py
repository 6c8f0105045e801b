"""Lesson 02's explorer: the table it shows (numbers equal real models' numel), bilingual messages
for bad settings, and the widget working without any frontend (controls → Output, static fallback)."""

from __future__ import annotations

import pytest
import torch
import torchvision

from vgg_teach import plots as E
from vgg_teach.models import vgg
from vgg_teach.show import STATIC_CAPTION, LiveView


def numel(model) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("cfg,bn,size,classes", [("A", False, 224, 1000), ("C", True, 96, 10), ("E", True, 64, 7)])
def test_table_counts_equal_real_models(cfg, bn, size, classes):
    table = E.explorer_table(cfg, bn, size, classes, compact=False)
    model = vgg(cfg, bn, classes)  # a real, allocated model
    assert table.total_params == numel(model) and not table.message
    with torch.no_grad():
        features = tuple(model.eval().features(torch.zeros(1, 3, size, size)).shape[1:])
    assert features == next(r.output_shape for r in table if r.name == "pool5") == (512, size // 32, size // 32)
    assert table[-1].output_shape == (classes,) and table[-1].name == "fc8"
    assert (size != 224) == any("AdaptiveAvgPool2d" in n for n in table.notes)


def test_table_agrees_with_torchvision():
    with torch.device("meta"):
        assert E.explorer_table("D", True).total_params == numel(torchvision.models.vgg16_bn()) == 138_365_992
    compact = E.explorer_table("D")
    assert [r.type for r in compact].count("ReLU") == 0 and len(compact) == 22
    assert "pool5" in str(compact) and "512×7×7" in compact._repr_html_()


@pytest.mark.parametrize("kwargs,ko,en", [
    ({"input_size": 16}, "32 이상", "at least 32"),
    ({"input_size": 0}, "0×0", "Choose a whole number"),
    ({"cfg": "F"}, "A, B, C, D, E", "There is no configuration 'F'"),
    ({"num_classes": 0}, "1 이상", "at least 1"),
])
def test_bad_settings_give_a_bilingual_message(kwargs, ko, en):
    table = E.explorer_table(**kwargs)
    assert len(table) == 0 and ko in table.message and en in table.message
    assert table.message in str(table) and "color:#cf222e" in table._repr_html_()


def test_explorer_widget_updates_without_a_frontend():
    view = E.explorer()
    config, bn, size, classes = view.controls
    assert [type(c).__name__ for c in view.controls] == ["Dropdown", "Checkbox", "IntSlider", "IntText"]
    assert view.widget.children[-1] is view.output

    def shown() -> dict:
        (out,) = view.output.outputs
        assert out["output_type"] == "display_data"
        return out["data"]

    assert "138,357,544" in shown()["text/html"] and "138,357,544" in shown()["text/plain"]
    config.value = "A"
    bn.value = True
    assert "132,868,840" in shown()["text/plain"]  # vgg11_bn
    size.value = 16
    assert "at least 32" in shown()["text/plain"] and "<table>" not in shown()["text/html"]
    size.value, classes.value = 32, 10
    assert f"{numel(vgg('A', True, 10)):,}" in shown()["text/plain"]


def test_a_failing_render_shows_a_message_instead_of_raising():
    import ipywidgets as widgets

    def broken() -> dict:
        raise RuntimeError("boom")

    view = LiveView([widgets.IntSlider()], broken)
    text = view.output.outputs[0]["data"]["text/plain"]
    assert "boom" in text and "Could not build" in text and "만들지 못했습니다" in text


def test_show_displays_the_widget_and_a_static_copy(monkeypatch):
    calls = []
    monkeypatch.setattr("IPython.get_ipython", lambda: object())  # as if in a notebook
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: calls.append((objs, kw)))
    E.show_explorer("B")
    widget, caption, static = (c[0][0] for c in calls)
    assert type(widget).__name__ == "VBox" and caption["text/plain"] == STATIC_CAPTION
    assert "133,047,848" in static["text/plain"] and "<table>" in static["text/html"]
    assert all(c[1].get("raw") for c in calls[1:])

    calls.clear()
    view = E.explorer("B")
    view.show("bundle")
    ((bundle,), kw), = calls
    assert kw["raw"] and bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == view.widget.model_id
    assert "133,047,848" in bundle["text/plain"] and "<table>" in bundle["text/html"]
    with pytest.raises(ValueError, match="fallback"):
        view.show("nope")


def test_show_outside_ipython_prints_the_table(capsys):
    E.show_explorer("A", input_size=16)
    out = capsys.readouterr().out
    assert "at least 32" in out and "VBox" not in out
