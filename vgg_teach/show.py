"""How the course shows results: :class:`Table` (HTML in Jupyter, aligned text elsewhere), :class:`LiveView`
widgets (ipywidgets 7.6+ and 8, with a static copy for viewers without widgets), and the plotting contract.

Every ``plot_*(…, ax=None)`` draws into ``ax`` when given (one ``Axes``, or one per panel) and returns its figure;
otherwise it makes a new figure, closes it in pyplot and returns it, so a cell that ends with the call shows it
exactly once, without ``plt.show()`` (:func:`figure_and_axes`). The Hangul font comes from ``setup_lesson()``.
"""

from __future__ import annotations

import base64
import html
import io
import unicodedata
from typing import Any, Callable, Iterable, Sequence

from .errors import UsageError, bilingual


def _text_width(text: str) -> int:
    """Columns a string takes in a monospace font: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


class Table(list):
    """A list of rows shown as a table: ``columns`` are ``(header, cell(row) → text, numeric)``, ``footer`` one more
    row of texts (totals), ``message`` replaces the table (bad input), ``notes`` follow it."""

    def __init__(self, rows: Iterable[Any] = (), columns: Sequence[tuple[str, Callable[[Any], str], bool]] = (),
                 title: str = "", footer: Sequence[str] | None = None, notes: Sequence[str] = (),
                 message: str = "") -> None:
        super().__init__(rows)
        self.columns = list(columns)
        self.title = title
        self.footer = list(footer) if footer is not None else None
        self.notes = list(notes)
        self.message = message

    def _grid(self) -> list[list[str]]:  # the header, every row and the footer as texts
        rows = [[cell(row) for _, cell, _ in self.columns] for row in self]
        return [[h for h, _, _ in self.columns], *rows, *([self.footer] if self.footer is not None else [])]

    def to_text(self) -> str:
        lines = [self.title] if self.title else []
        if self.message:
            return "\n".join([*lines, self.message, *self.notes])
        grid = self._grid()
        widths = [max(_text_width(r[i]) for r in grid) for i in range(len(self.columns))]

        def line(cells: list[str]) -> str:
            return "  ".join(" " * (w - _text_width(c)) + c if n else c + " " * (w - _text_width(c))
                             for c, w, (_, _, n) in zip(cells, widths, self.columns)).rstrip()

        rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
        lines += [line(grid[0]), rule, *(line(r) for r in grid[1:len(self) + 1])]
        if self.footer is not None:
            lines += [rule, line(grid[-1])]
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
                return "<tr>" + "".join(f'<{tag} style="text-align:{"right" if n else "left"}">{esc(c)}</{tag}>'
                                        for c, (_, _, n) in zip(cells, self.columns)) + "</tr>"

            grid = self._grid()
            parts += ["<table>", "<thead>" + row(grid[0], "th") + "</thead><tbody>",
                      *(row(r, "td") for r in grid[1:len(self) + 1]), "</tbody>"]
            if self.footer is not None:
                parts.append("<tfoot>" + row(grid[-1], "th") + "</tfoot>")
            parts.append("</table>")
        parts += [f"<p><small>{esc(n)}</small></p>" for n in self.notes] + ["</div>"]
        return "".join(parts)

    def mime_bundle(self) -> dict[str, str]:
        """``{"text/html": …, "text/plain": …}``, as Jupyter stores a displayed table."""
        return {"text/html": self._repr_html_(), "text/plain": self.to_text()}


#: Shown above the static copy of a widget's first result.
STATIC_CAPTION = ("▲ 위젯 / widget — ▼ 처음 값의 정적 미리보기: "
                  "위젯을 그리지 못하는 곳(GitHub, nbval)을 위한 것입니다. / "
                  "static preview of the initial values, for viewers that cannot draw widgets (GitHub, nbval).")


def figure_bundle(fig: Any) -> dict[str, str]:
    """A matplotlib figure as a PNG MIME bundle, rendered here so that the notebook's backend does not matter."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    title = fig.axes[0].get_title() if fig.axes else ""
    return {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
            "text/plain": f"<그림 / Figure: {title}>"}


class LiveView:
    """Controls and an ``Output`` (together ``widget``) showing ``render()``, a MIME bundle (``bundle``), recomputed
    whenever a control changes; an exception in ``render`` is shown, not lost in the callback. Only
    ``observe(…, names="value")`` and ``Output.outputs`` are used: the same in ipywidgets 7 and 8."""

    def __init__(self, controls: Sequence[Any], render: Callable[[], dict[str, str]]) -> None:
        import ipywidgets as widgets  # optional: only the widgets need it
        self.controls = list(controls)
        self.render = render
        self.output = widgets.Output()
        self.widget = widgets.VBox([*self.controls, self.output])
        self.bundle: dict[str, str] = {}
        for control in self.controls:
            control.observe(lambda _change: self.refresh(), names="value")
        self.refresh()

    def refresh(self) -> dict[str, str]:
        """Recompute the result and put it into the ``Output``; return its MIME bundle."""
        try:
            self.bundle = self.render()
        except Exception as exc:  # shown in the widget, never a silent failure in a callback
            text = f"결과를 만들지 못했습니다 / Could not build the result — {type(exc).__name__}: {exc}"
            self.bundle = {"text/plain": text, "text/html": f'<p style="color:#cf222e">{html.escape(text)}</p>'}
        self.output.outputs = ({"output_type": "display_data", "data": self.bundle, "metadata": {}},)
        return self.bundle

    def show(self, fallback: str = "separate") -> None:
        """Display the widget and, for viewers without widgets, the current result.

        ``fallback``: ``"separate"``: the widget, then a caption and a static copy; ``"bundle"``: one output whose
        MIME bundle holds the widget view and the result; ``"none"``: the widget only. Outside IPython the
        result's text is printed.
        """
        from IPython import get_ipython  # optional: only a notebook displays
        from IPython.display import display
        if fallback not in ("none", "separate", "bundle"):
            raise ValueError(f"fallback은 'separate', 'bundle', 'none' 중 하나입니다 (받은 값: {fallback!r}). / "
                             f"fallback must be 'separate', 'bundle' or 'none', got {fallback!r}.")
        if get_ipython() is None:
            print(self.bundle.get("text/plain", ""))
        elif fallback == "bundle":
            view = {"version_major": 2, "version_minor": 0, "model_id": self.widget.model_id}
            display({**self.bundle, "application/vnd.jupyter.widget-view+json": view}, raw=True)
        else:
            display(self.widget)
            if fallback == "separate":
                display({"text/plain": STATIC_CAPTION, "text/html": f"<small>{STATIC_CAPTION}</small>"}, raw=True)
                display(self.bundle, raw=True)


def figure_and_axes(ax: Any = None, nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (6, 4),
                    **subplot_kw: Any) -> tuple[Any, Any]:
    """``(figure, axes)``, ``axes`` an ``nrows × ncols`` array: the given ``ax``, or a new figure closed in pyplot."""
    import numpy as np  # optional: only figures need it
    if ax is None:
        import matplotlib.pyplot as plt  # optional: only figures need it
        fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False, **subplot_kw)
        plt.close(fig)  # shown once, by the notebook cell that returns it — not again by the inline backend
        return fig, axes
    flat = np.asarray(ax, dtype=object).ravel()  # one Axes, a list of them, or an array from plt.subplots
    if flat.size != nrows * ncols:
        raise UsageError(bilingual(
            f"이 그림에는 축(Axes)이 {nrows * ncols}개 필요합니다 (받은 것: {flat.size}개). ax를 빼면 새 그림을 "
            "만듭니다.",
            f"This plot needs {nrows * ncols} Axes (got {flat.size}). Leave out ax to get a new figure."))
    return flat[0].figure, flat.reshape(nrows, ncols)
