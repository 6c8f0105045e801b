"""Live widgets that also read well without a frontend, and figures as MIME bundles.

- :class:`LiveView`: ipywidgets controls plus an ``Output`` recomputed on every change, working on
  ipywidgets 7.6+ (Colab's 7.7) and 8, with a static copy of the first result for viewers that cannot
  draw widgets (nbval, GitHub);
- :func:`figure_bundle`: a matplotlib figure as a PNG MIME bundle.

Only ``Dropdown``, ``Checkbox``, ``IntSlider``, ``IntText``, ``VBox`` and ``Output`` are used, with
``observe(…, names="value")`` — the same API in ipywidgets 7 and 8. The result is written into the
``Output`` by setting its ``outputs`` directly, which works from widget callbacks in every frontend.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any, Callable, Sequence

__all__ = ["LiveView", "figure_bundle", "STATIC_CAPTION", "Bundle"]


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
