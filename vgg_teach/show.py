"""Tables that show as HTML in Jupyter and as aligned text elsewhere (Hangul counted as two columns).

Live widgets that also read well without a frontend, and figures as MIME bundles.

- :class:`LiveView`: ipywidgets controls plus an ``Output`` recomputed on every change, working on
  ipywidgets 7.6+ (Colab's 7.7) and 8, with a static copy of the first result for viewers that cannot
  draw widgets (nbval, GitHub);
- :func:`figure_bundle`: a matplotlib figure as a PNG MIME bundle.

Only ``Dropdown``, ``Checkbox``, ``IntSlider``, ``IntText``, ``VBox`` and ``Output`` are used, with
``observe(…, names="value")`` — the same API in ipywidgets 7 and 8. The result is written into the
``Output`` by setting its ``outputs`` directly, which works from widget callbacks in every frontend.

The one plotting contract of the course, shared by every ``plot_*`` function.

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

import base64
import html
import io
import unicodedata
from typing import Any, Callable, Iterable, Sequence

from .errors import UsageError, bilingual


# ---- from vgg_teach.show.tables (phase-1 merge)
def _text_width(text: str) -> int:
    """Columns a string takes in a monospace font: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * (width - _text_width(text))
    return fill + text if right else text + fill


class Table(list):
    """A list of row objects that shows itself as an HTML table in Jupyter and as text elsewhere.

    ``columns`` is a list of ``(header, cell, numeric)``: ``cell(row)`` gives the text of a cell,
    numeric columns are right-aligned. ``footer`` is one more row of texts (e.g. totals);
    ``message`` replaces the table when there is nothing to show (bad input), ``notes`` follow it.
    Headers and messages are Korean first, then English.
    """

    def __init__(self, rows: Iterable[Any] = (), columns: Sequence[tuple[str, Callable[[Any], str], bool]] = (),
                 title: str = "", footer: Sequence[str] | None = None, notes: Sequence[str] = (),
                 message: str = "") -> None:
        super().__init__(rows)
        self.columns = list(columns)
        self.title = title
        self.footer = list(footer) if footer is not None else None
        self.notes = list(notes)
        self.message = message

    def cells(self) -> list[list[str]]:
        """Every row as a list of cell texts (header row not included)."""
        return [[cell(row) for _, cell, _ in self.columns] for row in self]

    def to_text(self) -> str:
        lines = [self.title] if self.title else []
        if self.message:
            return "\n".join([*lines, self.message, *self.notes])
        grid = [[h for h, _, _ in self.columns], *self.cells()]
        if self.footer is not None:
            grid.append(self.footer)
        widths = [max(_text_width(r[i]) for r in grid) for i in range(len(self.columns))]
        numeric = [n for _, _, n in self.columns]

        def line(r: list[str]) -> str:
            return "  ".join(_pad(c, w, n) for c, w, n in zip(r, widths, numeric)).rstrip()

        rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
        lines += [line(grid[0]), rule, *(line(r) for r in grid[1:len(self) + 1])]
        if self.footer is not None:
            lines += [rule, line(self.footer)]
        return "\n".join([*lines, *self.notes])

    def __repr__(self) -> str:
        return self.to_text()

    __str__ = __repr__

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = ['<div class="vgg-teach-table">']
        if self.title:
            parts.append(f"<p><b>{esc(self.title)}</b></p>")
        if self.message:
            parts.append(f'<p style="color:#cf222e"><b>{esc(self.message)}</b></p>')
        else:
            def row(cells: Sequence[str], tag: str) -> str:
                tds = "".join(
                    f'<{tag} style="text-align:{"right" if n else "left"}">{esc(c)}</{tag}>'
                    for c, (_, _, n) in zip(cells, self.columns))
                return f"<tr>{tds}</tr>"

            parts.append("<table>")
            parts.append("<thead>" + row([h for h, _, _ in self.columns], "th") + "</thead><tbody>")
            parts.extend(row(r, "td") for r in self.cells())
            parts.append("</tbody>")
            if self.footer is not None:
                parts.append("<tfoot>" + row(self.footer, "th") + "</tfoot>")
            parts.append("</table>")
        parts.extend(f"<p><small>{esc(n)}</small></p>" for n in self.notes)
        parts.append("</div>")
        return "".join(parts)

    def mime_bundle(self) -> dict[str, str]:
        """``{"text/html": …, "text/plain": …}``, as Jupyter stores a displayed table."""
        return {"text/html": self._repr_html_(), "text/plain": self.to_text()}


def fmt_int(n: int) -> str:
    """``138357544`` → ``"138,357,544"``."""
    return f"{n:,}"


def fmt_pct(x: float) -> str:
    """``0.743`` → ``"74.3%"``."""
    return f"{100 * x:.1f}%"


# ---- from vgg_teach.show.widgets (phase-1 merge)
#: Shown above the static copy of a widget's first result.
STATIC_CAPTION = ("▲ 위젯 / widget — ▼ 처음 값의 정적 미리보기: "
                  "위젯을 그리지 못하는 곳(GitHub, nbval)을 위한 것입니다. / "
                  "static preview of the initial values, for viewers that cannot draw widgets (GitHub, nbval).")


Bundle = dict[str, str]


def figure_bundle(fig: Any) -> Bundle:
    """A matplotlib figure as a display MIME bundle: ``image/png`` (base64) and ``text/plain``.

    Rendering the PNG ourselves keeps it independent of the notebook's matplotlib backend.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    title = fig.axes[0].get_title() if fig.axes else ""
    return {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
            "text/plain": f"<그림 / Figure: {title}>"}


def _error_bundle(exc: BaseException) -> Bundle:
    text = f"결과를 만들지 못했습니다 / Could not build the result — {type(exc).__name__}: {exc}"
    return {"text/plain": text, "text/html": f'<p style="color:#cf222e">{html.escape(text)}</p>'}


class LiveView:
    """Controls plus an ``Output`` whose content ``render()`` recomputes whenever a control changes.

    ``render`` returns a MIME bundle (see :func:`figure_bundle`, :meth:`vgg_teach.show.tables.Table.mime_bundle`);
    an exception in it is shown as a bilingual message instead of being lost in the widget's callback.
    ``widget`` is the ``ipywidgets.VBox`` to display; ``bundle`` is the last result.
    """

    def __init__(self, controls: Sequence[Any], render: Callable[[], Bundle]) -> None:
        import ipywidgets as widgets

        self.controls = list(controls)
        self.render = render
        self.output = widgets.Output()
        self.widget = widgets.VBox([*self.controls, self.output])
        self.bundle: Bundle = {}
        for control in self.controls:
            control.observe(self._changed, names="value")
        self.refresh()

    def _changed(self, _change: Any) -> None:
        self.refresh()

    def refresh(self) -> Bundle:
        """Recompute the result and put it into the ``Output``; return its MIME bundle."""
        try:
            self.bundle = self.render()
        except Exception as exc:  # shown in the widget, never a silent failure in a callback
            self.bundle = _error_bundle(exc)
        self.output.outputs = ({"output_type": "display_data", "data": self.bundle, "metadata": {}},)
        return self.bundle

    def show(self, fallback: str = "separate") -> None:
        """Display the widget and, for viewers without widgets, the current result as a plain output.

        ``fallback``: ``"separate"`` — the widget, then a caption and a static copy of the result;
        ``"bundle"`` — one output whose MIME bundle holds the widget view and the static result
        (widget-capable frontends draw the widget, others the result); ``"none"`` — the widget only.
        """
        from IPython import get_ipython
        from IPython.display import display

        if fallback not in ("none", "separate", "bundle"):
            raise ValueError(f"fallback은 'separate', 'bundle', 'none' 중 하나입니다 (받은 값: {fallback!r}). / "
                             f"fallback must be 'separate', 'bundle' or 'none', got {fallback!r}.")
        if get_ipython() is None:  # a plain Python script: no widgets, print the result's text
            print(self.bundle.get("text/plain", ""))
        elif fallback == "none":
            display(self.widget)
        elif fallback == "separate":
            display(self.widget)
            display({"text/plain": STATIC_CAPTION, "text/html": f"<small>{STATIC_CAPTION}</small>"}, raw=True)
            display(self.bundle, raw=True)
        elif fallback == "bundle":
            view = {"version_major": 2, "version_minor": 0, "model_id": self.widget.model_id}
            display({**self.bundle, "application/vnd.jupyter.widget-view+json": view}, raw=True)


# ---- from vgg_teach.show.figures (phase-1 merge)
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
