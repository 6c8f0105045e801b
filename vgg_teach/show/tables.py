"""Tables that show as HTML in Jupyter and as aligned text elsewhere (Hangul counted as two columns)."""

from __future__ import annotations

import html
import unicodedata
from typing import Any, Callable, Iterable, Sequence

__all__ = ["Table", "fmt_int", "fmt_pct"]


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
