"""Exercise feedback shared by every lesson's check cells.

A check function returns a :class:`CheckResult`: a list of :class:`CheckItem` lines, each with a
status (✅ pass, ❌ fail, ⏳ not written yet, ℹ️ note) and a Korean and an English sentence. The result
renders as HTML in Jupyter/Colab and as plain text elsewhere, is truthy only when every item passed,
and :meth:`CheckResult.use` lets the lesson go on with the learner's code once it passes — or with
the course's reference implementation, saying so plainly, while it does not.

:func:`never_raises` turns any exception raised by the learner's code into a ❌ (or ⏳ for
``NotImplementedError``) so that "Run all" never stops at a check cell.
"""

from __future__ import annotations

import functools
import html
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

__all__ = ["PASS", "FAIL", "TODO", "INFO", "CheckItem", "CheckResult", "never_raises",
           "describe_exception", "PASSED_MARK", "PENDING_MARK"]

PASS, FAIL, TODO, INFO = "pass", "fail", "todo", "info"
_ICONS = {PASS: "✅", FAIL: "❌", TODO: "⏳", INFO: "ℹ️"}
_COLOURS = {PASS: "#1a7f37", FAIL: "#cf222e", TODO: "#9a6700", INFO: "#0969da"}

#: The first line of a check's text starts with one of these; the test suite reads them.
PASSED_MARK = "✅ 통과(passed)"
PENDING_MARK = "⏳ 아직(not yet)"
FAILED_MARK = "❌ 다시(try again)"

T = TypeVar("T")


@dataclass
class CheckItem:
    """One line of feedback: a status, a Korean sentence and its English counterpart."""

    status: str
    ko: str
    en: str
    hint_ko: str = ""
    hint_en: str = ""

    def text(self) -> str:
        lines = [f"{_ICONS[self.status]} {self.ko}", f"   {self.en}"]
        if self.hint_ko or self.hint_en:
            lines.append(f"   💡 {self.hint_ko}")
            lines.append(f"      {self.hint_en}")
        return "\n".join(lines)


@dataclass
class CheckResult:
    """The outcome of one exercise check; truthy only when nothing failed or is missing."""

    name: str
    items: list[CheckItem] = field(default_factory=list)

    # -- building ---------------------------------------------------------------------------
    def add(self, status: str, ko: str, en: str, hint_ko: str = "", hint_en: str = "") -> CheckItem:
        item = CheckItem(status, ko, en, hint_ko, hint_en)
        self.items.append(item)
        return item

    def ok(self, ko: str, en: str) -> None:
        self.add(PASS, ko, en)

    def fail(self, ko: str, en: str, hint_ko: str = "", hint_en: str = "") -> None:
        self.add(FAIL, ko, en, hint_ko, hint_en)

    def todo(self, ko: str, en: str) -> None:
        self.add(TODO, ko, en)

    def note(self, ko: str, en: str) -> None:
        self.add(INFO, ko, en)

    def expect(self, condition: bool, ok: tuple[str, str], bad: tuple[str, str],
               hint: tuple[str, str] = ("", "")) -> bool:
        """Add a ✅ line with ``ok`` when ``condition`` holds, else a ❌ line with ``bad``."""
        if condition:
            self.ok(*ok)
        else:
            self.fail(*bad, *hint)
        return bool(condition)

    # -- reading ----------------------------------------------------------------------------
    @property
    def status(self) -> str:
        statuses = {i.status for i in self.items}
        if FAIL in statuses:
            return FAIL
        if TODO in statuses or PASS not in statuses:
            return TODO
        return PASS

    @property
    def passed(self) -> bool:
        return self.status == PASS

    def __bool__(self) -> bool:
        return self.passed

    @property
    def failures(self) -> list[CheckItem]:
        return [i for i in self.items if i.status in (FAIL, TODO)]

    def headline(self) -> str:
        mark = {PASS: PASSED_MARK, TODO: PENDING_MARK, FAIL: FAILED_MARK}[self.status]
        return f"{mark} — {self.name}"

    def __str__(self) -> str:
        return "\n".join([self.headline(), *(i.text() for i in self.items)])

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython's text/plain
        p.text(str(self))

    def _repr_html_(self) -> str:
        colour = _COLOURS[self.status]
        rows = []
        for i in self.items:
            hint = ""
            if i.hint_ko or i.hint_en:
                hint = (f"<div style='margin-top:2px;color:#57606a'>💡 {html.escape(i.hint_ko)}<br>"
                        f"<i>{html.escape(i.hint_en)}</i></div>")
            rows.append(
                f"<tr><td style='vertical-align:top;padding:2px 6px'>{_ICONS[i.status]}</td>"
                f"<td style='text-align:left;padding:2px 6px'>{html.escape(i.ko)}<br>"
                f"<i style='color:#57606a'>{html.escape(i.en)}</i>{hint}</td></tr>"
            )
        return (
            f"<div class='vgg-teach-check' data-status='{self.status}' "
            f"style='border-left:4px solid {colour};padding:4px 10px;margin:4px 0'>"
            f"<b style='color:{colour}'>{html.escape(self.headline())}</b>"
            f"<table style='border:none;margin-top:4px'>{''.join(rows)}</table></div>"
        )

    # -- continuing the lesson --------------------------------------------------------------
    def use(self, learner: T, reference: T, what: str | None = None) -> T:
        """Show this report, then return ``learner`` if the check passed, else ``reference``.

        Says in both languages which one the rest of the lesson uses.
        """
        _show(self)
        label = what or getattr(learner, "__name__", None) or type(learner).__name__
        if self.passed:
            print(f"▶ 여러분이 작성한 {label}(으)로 레슨을 이어 갑니다. / "
                  f"Continuing the lesson with your {label}.")
            return learner
        ref_name = getattr(reference, "__qualname__", None) or type(reference).__name__
        module = getattr(reference, "__module__", "vgg_teach")
        print(f"▶ 아직 통과하지 못해서 참고 구현 {module}.{ref_name}(으)로 레슨을 이어 갑니다. "
              f"위 연습을 고친 뒤 이 셀을 다시 실행하세요. / Not passing yet, so the lesson continues with the "
              f"reference {module}.{ref_name}. Fix the exercise above and re-run this cell.")
        return reference


def _show(obj: Any) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        print(obj)
        return
    if get_ipython() is None:
        print(obj)
    else:
        display(obj)


def describe_exception(exc: BaseException, limit: int = 2) -> tuple[str, str]:
    """A short (ko, en) description of an exception raised by learner code, with its last frames."""
    package = str(Path(__file__).resolve().parent)
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith(package) and "/torch/" not in f.filename][-limit:]
    where = "; ".join(f"{f.name}() line {f.lineno}: {f.line}" for f in frames if f.line)
    msg = f"{type(exc).__name__}: {exc}".strip()
    tail = f" — {where}" if where else ""
    return (f"코드를 실행하다가 오류가 났습니다 — {msg}{tail}",
            f"Your code raised an error — {msg}{tail}")


def never_raises(name: str) -> Callable[[Callable[..., CheckResult]], Callable[..., CheckResult]]:
    """Decorator for check functions: whatever the learner's code raises becomes a ⏳/❌ line.

    ``NotImplementedError`` (the stub of an exercise not yet written) becomes ⏳; any other exception
    becomes ❌ with its message and the lines where it happened.
    """

    def wrap(check: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
        @functools.wraps(check)
        def run(*args: Any, **kwargs: Any) -> CheckResult:
            result = CheckResult(name)
            try:
                return check(result, *args, **kwargs)
            except NotImplementedError:
                result.todo("아직 작성하지 않았습니다: TODO 부분을 채운 뒤 이 셀을 다시 실행하세요.",
                            "Not written yet: fill in the TODO part, then re-run this cell.")
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - the whole point is to never raise
                result.fail(*describe_exception(exc))
            return result

        return run

    return wrap
