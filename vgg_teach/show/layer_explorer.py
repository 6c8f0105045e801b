"""The VGG explorer widget: configuration A–E, batch norm, input size and classes → the layer table.

:func:`explorer_table` tables the layers of configuration A–E (batch norm on or off) for an input
size and a number of classes — output shapes, parameter formulas and counts — on PyTorch's ``meta``
device, so no model is allocated. :func:`show_explorer` puts controls in front of it
(a :class:`~vgg_teach.show.widgets.LiveView`, with a static copy of the first table for viewers
without widgets).
"""

from __future__ import annotations

from ..analysis.layers import meta_vgg
from ..analysis.params import LayerTable, layer_table
from ..models import CFGS
from .widgets import LiveView

__all__ = ["explorer_table", "explorer", "show_explorer"]


def _message(text: str) -> LayerTable:
    return LayerTable(message=text)


def explorer_table(cfg: str = "D", batch_norm: bool = False, input_size: int = 224, num_classes: int = 1000,
                   compact: bool = True) -> LayerTable:
    """The layer table of VGG configuration ``cfg`` for one ``input_size``×``input_size`` image.

    Output shapes, parameter formulas and counts, cumulative counts and multiply-adds per layer
    (see :func:`vgg_teach.analysis.params.layer_table`; ``compact`` hides ReLU and Dropout rows). Built on the
    ``meta`` device: instant, no memory. Invalid settings give a table whose ``message`` says, in
    Korean and English, what to change (it has no rows) — never an exception.
    """
    key = str(cfg).upper()
    if key not in CFGS:
        return _message(f"구성 {cfg!r}은(는) 없습니다: A, B, C, D, E 중 하나를 고르세요. / "
                        f"There is no configuration {cfg!r}: choose one of A, B, C, D, E.")
    pools = CFGS[key].count("M")
    smallest = 2 ** pools
    if not isinstance(input_size, int) or isinstance(input_size, bool) or input_size < smallest:
        return _message(f"입력 크기 {input_size!r}은(는) 쓸 수 없습니다: 2×2 풀링(pooling)을 {pools}번 거치면 "
                        f"{smallest}보다 작은 입력은 0×0이 됩니다. {smallest} 이상의 정수를 고르세요. / "
                        f"Input size {input_size!r} cannot be used: {pools} 2×2 poolings shrink anything smaller "
                        f"than {smallest} to 0×0. Choose a whole number of at least {smallest}.")
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        return _message(f"클래스 수 {num_classes!r}은(는) 쓸 수 없습니다: 1 이상의 정수를 고르세요. / "
                        f"Number of classes {num_classes!r} cannot be used: choose a whole number of at least 1.")
    table = layer_table(meta_vgg(key, batch_norm, num_classes), input_size, compact=compact)
    table.title = (f"구성 / Config {key}{' + BN' if batch_norm else ''}, 입력 / input {input_size}×{input_size}, "
                   f"클래스 / classes {num_classes}")
    if input_size != 224:
        table.notes.append("입력이 224가 아니어도 AdaptiveAvgPool2d가 7×7로 맞추므로 분류기 매개변수는 같고, 연산량만 "
                           "달라집니다. / Whatever the input size, AdaptiveAvgPool2d brings the features to 7×7: the "
                           "classifier's parameters stay the same, only the compute changes.")
    return table


def explorer(cfg: str = "D", batch_norm: bool = False, input_size: int = 224, num_classes: int = 1000) -> LiveView:
    """Build (without showing) the explorer: configuration, batch norm, input size, classes.

    Returns a :class:`LiveView`; its ``controls`` are, in order, a ``Dropdown`` (A–E), a
    ``Checkbox`` (batch norm), an ``IntSlider`` (input size 8–512, step 8: sizes under 32 show
    the bilingual message) and an ``IntText`` (number of classes).
    """
    import ipywidgets as widgets

    style = {"description_width": "initial"}
    labels = {"A": "VGG11", "B": "VGG13", "C": "VGG16 (1×1)", "D": "VGG16", "E": "VGG19"}
    config = widgets.Dropdown(options=[(f"{k} — {v}", k) for k, v in labels.items()], value=cfg.upper(),
                              description="구성 / config", style=style)
    bn = widgets.Checkbox(value=batch_norm, description="배치 정규화 / batch norm", style=style)
    size = widgets.IntSlider(value=input_size, min=8, max=512, step=8, description="입력 크기 / input size",
                             continuous_update=False, style=style)
    classes = widgets.IntText(value=num_classes, description="클래스 수 / classes", style=style)
    return LiveView([config, bn, size, classes],
                    lambda: explorer_table(config.value, bn.value, size.value, classes.value).mime_bundle())


def show_explorer(cfg: str = "D", batch_norm: bool = False, input_size: int = 224, num_classes: int = 1000,
                  fallback: str = "separate") -> None:
    """Display the explorer, plus its initial table as a static output (see :meth:`LiveView.show`)."""
    explorer(cfg, batch_norm, input_size, num_classes).show(fallback)
