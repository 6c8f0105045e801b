"""Hangul in matplotlib figures: the NanumGothic font that koreanize-matplotlib ships, without importing it.

Colab's matplotlib has no Hangul font, so Korean labels show as empty boxes. The course ships one
through ``koreanize-matplotlib`` (it bundles NanumGothic); :func:`use_korean_font` registers it and
makes it the default sans-serif font. Every lesson's setup cell calls it via ``setup_lesson``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["use_korean_font", "KOREAN_FONT"]

KOREAN_FONT = "NanumGothic"


def _bundled_font_files() -> list[Path]:
    # Locate the package's fonts without importing it: its module imports ``distutils``, which
    # Python 3.12 (Colab's) no longer has.
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return []
    font_dir = Path(list(spec.submodule_search_locations)[0]) / "fonts"
    return sorted(font_dir.glob("*.ttf"))


def use_korean_font() -> str | None:
    """Register the bundled NanumGothic and use it for all text; return its family name.

    Returns ``None`` (and prints a bilingual hint) when no Hangul font can be found, so that a
    notebook still runs — figures then show boxes instead of Korean.
    """
    import matplotlib
    from matplotlib import font_manager

    files = _bundled_font_files()
    for path in files:
        font_manager.fontManager.addfont(str(path))
    names = {f.name for f in font_manager.fontManager.ttflist}
    if KOREAN_FONT not in names:
        print("한글 글꼴을 찾지 못했습니다: `pip install koreanize-matplotlib` 후 다시 실행하세요. / "
              "No Hangul font found: run `pip install koreanize-matplotlib` and re-run this cell.")
        return None
    matplotlib.rcParams["font.family"] = "sans-serif"
    sans = [n for n in matplotlib.rcParams["font.sans-serif"] if n != KOREAN_FONT]
    matplotlib.rcParams["font.sans-serif"] = [KOREAN_FONT, *sans]
    matplotlib.rcParams["axes.unicode_minus"] = False  # NanumGothic has no U+2212 minus sign
    return KOREAN_FONT
