"""Hangul in figures: after ``use_korean_font()`` no glyph of a Korean title, label, tick, legend or
annotation is missing (matplotlib warns "Glyph … missing from font(s) …" when it draws an empty box).

The second test proves the check can fail: the same figure drawn with DejaVu Sans only must warn.
"""

from __future__ import annotations

import re
import warnings

import matplotlib
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from vgg_teach.env import KOREAN_FONT, use_korean_font

MISSING = re.compile(r"Glyph .* missing from font")


def _draw_korean_figure() -> list[str]:
    """Draw a figure full of Hangul (and negative ticks) on Agg; return the missing-glyph warnings."""
    fig = Figure(figsize=(4, 3))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([-2, -1, 0, 1, 2], [-1.5, 0.5, 0.0, 1.0, -0.5], label="학습 손실 / training loss")
    ax.set_title("합성곱 계층의 특징 맵 (Feature maps)")
    ax.set_xlabel("에포크 (epoch)")
    ax.set_ylabel("손실 함수 값 (loss)")
    ax.set_xticks([-2, -1, 0, 1, 2], ["가", "나", "다", "라", "마"])
    ax.annotate("과적합 시작 ↑", xy=(1, 1.0))
    ax.legend(title="범례")
    fig.suptitle("한글 글꼴 검사: 가나다라마바사 아야자차카타파하 똠방각하 펲")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return [str(w.message) for w in caught if MISSING.search(str(w.message))]


def test_korean_font_draws_every_hangul_glyph():
    with matplotlib.rc_context():
        assert use_korean_font() == KOREAN_FONT
        missing = _draw_korean_figure()
    assert not missing, "Hangul glyphs missing after use_korean_font():\n" + "\n".join(missing)


def test_without_korean_font_glyphs_are_reported_missing():
    """The check above is real: with DejaVu Sans only, matplotlib reports the Hangul glyphs missing."""
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}):
        missing = _draw_korean_figure()
    if not missing:
        pytest.fail("no missing-glyph warning without a Korean font: the check could never fail")
    assert any("DejaVu Sans" in m for m in missing)
