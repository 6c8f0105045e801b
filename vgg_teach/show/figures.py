"""The one plotting contract of the course, shared by every ``plot_*`` function.

Every ``plot_*(…, ax=None)``:

- draws into ``ax`` when given — one ``Axes``, or a sequence of as many ``Axes`` as the plot has panels —
  and then returns ``ax``'s ``Figure`` (still open: it is the caller's figure);
- otherwise makes a new figure, closes it in pyplot (so the inline backend does not show it a second
  time) and returns it: a notebook cell that *ends* with the call shows the figure exactly once, and a
  script shows nothing.

So a lesson cell never builds its own subplots for a course figure, and never needs ``plt.show()``.
Text is Korean, then English; the Hangul font comes from ``setup_lesson()`` (:mod:`.font`).
"""

from __future__ import annotations

from typing import Any

from ..errors import UsageError, bilingual

__all__ = ["figure_and_axes"]


def figure_and_axes(ax: Any = None, nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (6, 4),
                    **subplot_kw: Any) -> tuple[Any, Any]:
    """``(figure, axes)`` with ``axes`` a ``nrows × ncols`` NumPy array of ``Axes``, following the contract."""
    import numpy as np

    if ax is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False, **subplot_kw)
        plt.close(fig)  # shown once, by the notebook cell that returns it — not again by the inline backend
        return fig, axes
    items = list(ax.flat) if hasattr(ax, "flat") else list(ax) if isinstance(ax, (list, tuple)) else [ax]
    flat = np.empty(len(items), dtype=object)
    flat[:] = items
    if flat.size != nrows * ncols:
        raise UsageError(bilingual(
            f"이 그림에는 축(Axes)이 {nrows * ncols}개 필요합니다 (받은 것: {flat.size}개). ax를 빼면 새 그림을 "
            "만듭니다.",
            f"This plot needs {nrows * ncols} Axes (got {flat.size}). Leave out ax to get a new figure."))
    return flat[0].figure, flat.reshape(nrows, ncols)
