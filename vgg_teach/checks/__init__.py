"""Exercise feedback: every check returns a :class:`CheckResult` and never raises.

A result is a list of lines, each ✅ pass, ❌ fail, ⏳ not written yet or ℹ️ note, in Korean and English; it
renders as HTML in Jupyter and as text elsewhere, is truthy only when everything passed, and
:meth:`CheckResult.use` continues the lesson with the learner's code or, while it fails, the reference answer.
:func:`never_raises` turns what the learner's code raises into ❌ (⏳ for an exercise's stub, :func:`is_stub`).
"""

from __future__ import annotations

import ast
import builtins
import functools
import html
import inspect
import os
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import torch

from ..env import get_device
from ..errors import did_you_mean, josa, meant_name, particle

PASS, FAIL, TODO, INFO = "pass", "fail", "todo", "info"
_ICONS = {PASS: "✅", FAIL: "❌", TODO: "⏳", INFO: "ℹ️"}
_COLOURS = {PASS: "#1a7f37", FAIL: "#cf222e", TODO: "#9a6700", INFO: "#0969da"}

#: The first line of a check's text starts with one of these; the test suite reads them.
PASSED_MARK, PENDING_MARK, FAILED_MARK = "✅ 통과(passed)", "⏳ 아직(not yet)", "❌ 다시(try again)"

T = TypeVar("T")


@dataclass
class CheckItem:
    """One line of feedback: a status, a Korean sentence and its English counterpart, maybe a hint."""

    status: str
    ko: str
    en: str
    hint_ko: str = ""
    hint_en: str = ""

    def text(self) -> str:
        hint = [f"   💡 {self.hint_ko}", f"      {self.hint_en}"] if self.hint_ko or self.hint_en else []
        return "\n".join([f"{_ICONS[self.status]} {self.ko}", f"   {self.en}", *hint])


@dataclass
class CheckResult:
    """The outcome of one exercise check; truthy only when nothing failed or is missing."""

    name: str
    items: list[CheckItem] = field(default_factory=list)

    def add(self, status: str, ko: str, en: str, hint_ko: str = "", hint_en: str = "") -> None:
        self.items.append(CheckItem(status, ko, en, hint_ko, hint_en))

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
        """A ✅ line with ``ok`` when ``condition`` holds, else a ❌ line with ``bad`` and ``hint``."""
        if condition:
            self.ok(*ok)
        else:
            self.fail(*bad, *hint)
        return bool(condition)

    def not_a_function(self, value: Any, name: str = "", may_yield: bool = False) -> bool:
        """A ❌ line and True when ``value`` cannot be called (a check handed the result, not the function), or is
        a generator function where one value is wanted (a stray ``yield``: calling it runs none of its body)."""
        if inspect.isgeneratorfunction(value) and not may_yield:
            name = getattr(value, "__name__", None)
            fn = (name, name) if name else ("이 함수", "This function")
            self.fail(f"{fn[0]}에 yield가 있어서 제너레이터(generator) 함수가 되었습니다: 부르면 본문을 "
                      "하나도 실행하지 않고 제너레이터 객체만 돌려줍니다.",
                      f"{fn[-1]} contains a yield, which makes it a generator function: calling it runs none "
                      "of its body and only returns a generator.",
                      "yield를 지우고, 결과는 마지막에 return으로 돌려주세요.",
                      "Remove the yield and hand the result back with return at the end.")
            return True
        if callable(value):
            return False
        got = type(value).__name__
        if name:
            self.fail(f"{name}에 함수를 넘겨 주세요 (받은 것: {got}).", f"Pass a function as {name} (got {got}).")
        else:
            self.fail(f"함수를 넘겨 주세요 (받은 것: {got}).", f"Pass a function (got a {got}).")
        return True

    @property
    def status(self) -> str:
        statuses = {i.status for i in self.items}
        if FAIL in statuses:
            return FAIL
        return TODO if TODO in statuses or PASS not in statuses else PASS

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

    __repr__ = __str__  # also IPython's text/plain

    def _repr_html_(self) -> str:
        color, rows = _COLOURS[self.status], []
        for i in self.items:
            hint = (f"<div style='margin-top:2px;color:#57606a'>💡 {html.escape(i.hint_ko)}<br>"
                    f"<i>{html.escape(i.hint_en)}</i></div>") if i.hint_ko or i.hint_en else ""
            rows.append(f"<tr><td style='vertical-align:top;padding:2px 6px'>{_ICONS[i.status]}</td>"
                        f"<td style='text-align:left;padding:2px 6px'>{html.escape(i.ko)}<br>"
                        f"<i style='color:#57606a'>{html.escape(i.en)}</i>{hint}</td></tr>")
        return (f"<div class='vgg-teach-check' data-status='{self.status}' "
                f"style='border-left:4px solid {color};padding:4px 10px;margin:4px 0'>"
                f"<b style='color:{color}'>{html.escape(self.headline())}</b>"
                f"<table style='border:none;margin-top:4px'>{''.join(rows)}</table></div>")

    def use(self, learner: T, reference: T, what: str | None = None) -> T:
        """Show this report, then return ``learner`` if the check passed, else ``reference``, saying which."""
        try:  # optional: IPython is there in Jupyter, Colab and Kaggle; elsewhere the report is printed
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:  # pragma: no cover - IPython comes with Jupyter
            get_ipython = None
        if get_ipython is not None and get_ipython() is not None:
            display(self)
        else:
            print(self)
        label = what or getattr(learner, "__name__", None) or type(learner).__name__
        if self.passed:
            print(f"▶ 여러분이 작성한 {josa(label, '로')} 레슨을 이어 갑니다. / Continuing the lesson with your "
                  f"{label}.")
            return learner
        ref = f"{reference.__module__}.{reference.__qualname__}" if hasattr(reference, "__qualname__") else \
            getattr(reference, "name", None) or str(reference)  # a function or class; a script's path
        print(f"▶ 아직 통과하지 못해서 참고 구현 {josa(ref, '로')} 레슨을 이어 갑니다. 위 연습을 고친 뒤 이 셀을 다시 "
              f"실행하세요. / Not passing yet, so the lesson continues with the reference {ref}. Fix the exercise "
              "above and re-run this cell.")
        return reference


#: The ⏳ line of an exercise whose stub still runs — also when the learner filled in the TODO but
#: re-ran only the check cell, so that Python still holds the old function.
NOT_WRITTEN = ("아직 작성하지 않았습니다: 위 연습 셀의 TODO를 채우고 그 셀을 실행한 다음 이 셀을 다시 실행하세요. "
               "이미 채웠다면 연습 셀부터 다시 실행하세요: 그 전까지 파이썬은 예전 코드(빈 칸)를 씁니다.",
               "Not written yet: fill in the TODO in the exercise cell above, run that cell, then run this one again. "
               "Already filled it in? Run the exercise cell first: until you do, Python still has the old stub.")

_PACKAGE = str(Path(__file__).resolve().parent.parent)
#: torch's message when a module without ``forward`` (an ``nn.ModuleList``, a bare ``nn.Module``) is called.
_NO_FORWARD = 'missing the required "forward" function'


def _outside(filename: str) -> bool:
    """A frame of the learner's code: neither torch's nor this package's."""
    return not filename.startswith(_PACKAGE) and "/torch/" not in filename and "\\torch\\" not in filename


def printable(value: Any) -> str:
    """``str(value)``, even for a learner's object whose ``__str__`` itself raises."""
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - the learner's __str__ is broken: say so instead of failing with it
        return "<출력할 수 없음 / cannot be printed>"


def is_stub(exc: BaseException) -> bool:
    """Is ``exc`` an exercise's unwritten stub: a ``raise NotImplementedError`` in the learner's code?

    One that torch raises (calling an ``nn.ModuleList``, an op the ``meta`` device lacks) is an error instead.
    """
    if not isinstance(exc, NotImplementedError) or _NO_FORWARD in printable(exc):
        return False
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return True  # raised straight at us: we cannot tell, so believe it is the stub
    last = frames[-1]
    return _outside(last.filename) and (not last.line or last.line.lstrip().startswith("raise"))


def describe_exception(exc: BaseException, limit: int = 2) -> tuple[str, str]:
    """A short (ko, en) description of an exception raised by learner code, with its last frames."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _outside(f.filename)][-limit:]
    where = "; ".join(f"{f.name}() line {f.lineno}: {f.line}" for f in frames if f.line)
    msg = f"{type(exc).__name__}: {printable(exc)}".strip()
    tail = f" — {where}" if where else ""
    return f"코드를 실행하다가 오류가 났습니다 — {msg}{tail}", f"Your code raised an error — {msg}{tail}"


#: torch's words for an error with one well-known cause in an exercise → (ko, en) what it means and what to do.
_KNOWN_ERRORS = (
    (re.escape(_NO_FORWARD),
     "nn.ModuleList나 forward가 없는 nn.Module은 계층을 담아 두기만 할 뿐 호출할 수 없습니다. "
     "nn.Sequential(*layers)을 "
     "쓰거나, forward에서 for layer in self.layers: x = layer(x) 처럼 차례로 부르세요.",
     "An nn.ModuleList (or an nn.Module without forward) only holds layers; it cannot be called. Use "
     "nn.Sequential(*layers), or call them in turn in forward: for layer in self.layers: x = layer(x)."),
    (r"list is not a Module subclass",
     "nn.Sequential에는 계층을 리스트째가 아니라 하나씩 넘깁니다: 리스트라면 nn.Sequential(*layers)처럼 풀어서 "
     "넘기세요.",
     "nn.Sequential takes the layers one by one, not a list: unpack it, nn.Sequential(*layers)."),
    (r"leaf Variable that requires grad is being used in an in-place operation",
     "매개변수에 값을 옮겨 넣는 copy_ 같은 제자리(in-place) 연산은 autograd가 기록하면 안 됩니다: "
     "with torch.no_grad(): 블록 안에서 하세요.",
     "Copying values into a parameter (copy_ and other in-place operations) must not be recorded by autograd: "
     "do it inside a with torch.no_grad(): block."),
    (r"does not support the context manager protocol",
     "with 문에는 괄호를 붙여 만든 객체를 씁니다(예: with torch.no_grad():). 괄호 없는 torch.no_grad는 클래스일 "
     "뿐입니다.",
     "A with statement needs the object the parentheses make: with torch.no_grad(): — without them, torch.no_grad "
     "is only the class."),
    (r"The size of tensor a \(\d+\) must match the size of tensor b \(\d+\)|doesn't match the broadcast shape",
     "두 텐서의 모양이 맞지 않습니다: 오류가 난 줄의 양쪽 텐서 모양(.shape)을 print해 비교하세요.",
     "The two tensors' shapes do not fit together: print the .shape of both sides on the line that failed."),
    (r"(Input|input) type \((float|double|c10::Half|c10::BFloat16)\) and (bias|weight) type \((float|double|"
     r"c10::Half|c10::BFloat16)\) should be the same|to have the same dtype|must have the same dtype",
     "입력과 계층의 매개변수가 서로 다른 자료형(dtype)입니다: model.double()이나 .half()는 매개변수만 바꾸고 "
     "입력은 그대로 둡니다. 모델은 float32로 두세요(.double()을 빼세요).",
     "The input and the layer's parameters have different dtypes: model.double() or .half() changes the parameters, "
     "not the input. Keep the model in float32 (remove .double())."),
    (r"'torch\.dtype' object is not callable|range\(\) missing 1 required positional arguments?: \"end\"|"
     r"(sum|max|min|abs|round|pow)\(\): argument 'input' \(position 1\) must be Tensor, not (generator|list|int|float"
     r"|map|tuple)",
     "파이썬의 float, int, range, sum, max … 자리에 torch의 것이 불렸습니다: 숫자에 torch.sum(…) 같은 torch 함수를 "
     "썼거나, `from torch import *`가 파이썬의 것을 덮어썼습니다. 그 import라면 지우고 커널을 다시 시작하세요.",
     "torch's version ran where Python's float, int, range, sum, max … was meant: torch.sum(…) on plain numbers, "
     "or a `from torch import *` that replaced Python's. If it is that import, delete it and restart the kernel."),
    (r"Found no NVIDIA driver|Torch not compiled with CUDA enabled|No CUDA GPUs are available",
     "GPU가 없는 곳에서 CUDA를 불렀습니다(.cuda(), device=\"cuda\" …): 장치는 device = \"cuda\" if "
     "torch.cuda.is_available() else \"cpu\"로 고르고 .to(device)로 옮기세요.",
     "CUDA was called where there is no GPU (.cuda(), device=\"cuda\" …): choose the device with device = \"cuda\" "
     "if torch.cuda.is_available() else \"cpu\", and move things with .to(device)."),
    (r"Expected all tensors to be on the same device|is not on the expected device|Input type \(.*\) and weight "
     r"type \(.*\) should be the same",
     "텐서와 모델이 서로 다른 장치(또는 자료형)에 있습니다. 엔진이 넘기는 배치는 이미 모델의 장치에 있으니 "
     ".to(device)는 필요 없습니다(검사는 CPU에서 작은 모델로 실행됩니다). 옮겨야 한다면 모델의 장치로 옮기세요: "
     "images.to(next(model.parameters()).device).",
     "The tensors and the model are on different devices (or of different dtypes). The batches the engine hands "
     "over already sit on the model's device, so no .to(device) is needed (the check runs a tiny model on the CPU); "
     "if you must move them, move them to the model's: images.to(next(model.parameters()).device)."),
    (r"step must be greater than zero|negative strides?|stride in the given numpy array is negative",
     "torch 텐서는 [..., ::-1] 같은 음수 보폭의 슬라이싱을 받지 않습니다(np.flip의 결과도 음수 보폭입니다): "
     "좌우로 뒤집을 때는 images.flip(-1)을 쓰세요.",
     "torch tensors take no negative-step slicing such as [..., ::-1] (np.flip's result has negative strides too): "
     "flip left to right with images.flip(-1)."),
    (r"shape '\[[-\d, ]+\]' is invalid for input of size \d+",
     "view(또는 reshape)의 모양에 담기는 원소 수가 원래 텐서와 다릅니다. fc6의 가중치 (4096, 25088)는 25,088 = "
     "512·7·7이므로 (4096, 512, 7, 7)로 볼 수 있습니다.",
     "The shape given to view (or reshape) holds another number of elements than the tensor. fc6's (4096, 25088) "
     "weight is (4096, 512, 7, 7), since 25,088 = 512·7·7."),
)


def _lesson_device_only(*args: Any, **kwargs: Any) -> dict[str, Any] | None:
    """For ``.to(*args, **kwargs)`` onto the lesson's device (``fit``'s: a GPU on Colab): the rest of the call (a
    dtype, a memory format), which is all it changes for a tensor or model already there; else ``None``."""
    device, dtype, _, memory_format = torch._C._nn._parse_to(*args, **kwargs)
    if device is None or device.type != get_device().type:
        return None
    return {k: v for k, v in (("dtype", dtype), ("memory_format", memory_format)) if v is not None}


class _OnTheDevice(torch.Tensor):
    """A tensor the lesson hands over already on its device: see :func:`on_the_device`."""

    __torch_function__ = torch._C._disabled_torch_function_impl  # what is computed from it is a plain tensor

    def to(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        rest = _lesson_device_only(*args, **kwargs)
        return super().to(*args, **kwargs) if rest is None else super().to(**rest) if rest else self

    def cuda(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return self if get_device().type == "cuda" else super().cuda(*args, **kwargs)


M = TypeVar("M", torch.Tensor, torch.nn.Module)


def on_the_device(thing: M) -> M:
    """A tensor or model as the learner's code meets it in the lesson: already on the lesson's device (a GPU on
    Colab). The checks run on the CPU, so ``.to(device)`` or ``.cuda()`` onto that device leaves it where it is, as
    it leaves the lesson's; any other move or cast is done."""
    if isinstance(thing, torch.Tensor):
        return thing.as_subclass(_OnTheDevice)
    to, cuda = thing.to, thing.cuda

    def stay(*args: Any, **kwargs: Any) -> torch.nn.Module:
        rest = _lesson_device_only(*args, **kwargs)
        return to(*args, **kwargs) if rest is None else to(**rest) if rest else thing

    thing.to = stay
    thing.cuda = lambda *args, **kwargs: thing if get_device().type == "cuda" else cuda(*args, **kwargs)
    return thing


def _cwd_exists() -> bool:
    try:
        os.getcwd()
    except FileNotFoundError:
        return False
    return True


def exception_hint(exc: BaseException) -> tuple[str, str]:
    """A (ko, en) hint for errors that have one well-known cause, else ``("", "")``."""
    if isinstance(exc, FileNotFoundError) and not _cwd_exists():  # the notebook's folder was deleted
        return ("노트북이 일하던 폴더(현재 작업 디렉터리)가 지워졌습니다: 파이썬이 파일을 찾지 못합니다. "
                "os.chdir(\"/content\")처럼 있는 폴더로 옮긴 뒤 다시 실행하세요.",
                "The folder the notebook was working in (the current directory) was deleted, so Python finds no "
                "files: move to a folder that exists, os.chdir(\"/content\") for example, and run it again.")
    if isinstance(exc, (AttributeError, NameError)) and isinstance(getattr(exc, "name", None), str):
        close = _close_name(exc)  # a typo: nn.Conv2D, nn.Relu, num_clases …
        if close:
            return did_you_mean(exc.name, close)
    text = printable(exc)
    return next(((ko, en) for pattern, ko, en in _KNOWN_ERRORS if re.search(pattern, text)), ("", ""))


def _close_name(exc: AttributeError | NameError) -> str | None:
    """The attribute of the object (AttributeError), or the local or builtin name (NameError; not the notebook's
    globals: a global not defined is most often a cell not run yet), that the missing name was probably meant to be."""
    try:
        if isinstance(exc, AttributeError):
            names = dir(exc.obj) if getattr(exc, "obj", None) is not None else []
        else:
            tb = exc.__traceback__
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            names = [*(tb.tb_frame.f_locals if tb is not None else ()), *dir(builtins)]
        return meant_name(exc.name, names)
    except Exception:  # noqa: BLE001 - an object whose dir() fails: no suggestion
        return None


_LEAKS = {
    "grad": ("코드가 기울기 계산을 끄고(torch.set_grad_enabled(False)) 다시 켜지 않았습니다. 그대로 두면 다음 학습이 "
             "'element 0 of tensors does not require grad'로 멈춥니다(검사가 다시 켜 두었습니다).",
             "Your code turned gradients off (torch.set_grad_enabled(False)) and never back on: the next training "
             "would stop with 'element 0 of tensors does not require grad' (the check turned them back on).",
             "기울기가 필요 없는 부분만 with torch.no_grad(): 블록에 넣으세요. 블록이 끝나면 저절로 다시 켜집니다.",
             "Put only the part that needs no gradients in a with torch.no_grad(): block: it turns them back on "
             "when it ends."),
    "dtype": ("코드가 기본 dtype을 {dtype_ro} 바꾸고(torch.set_default_dtype) 되돌리지 않았습니다. 그대로 두면 다음 "
              "셀의 새 텐서와 모델이 모두 {dtype} 자료형이 됩니다(검사가 되돌려 두었습니다).",
              "Your code set the default dtype to {dtype} (torch.set_default_dtype) and never back: every new tensor "
              "and model of the next cells would be {dtype} (the check set it back).",
              "기본값을 바꾸지 말고 필요한 텐서에만 dtype=…을 주거나 .to(…)를 쓰세요.",
              "Leave the default alone: pass dtype=… to the tensors that need it, or use .to(…)."),
    "device": ("코드가 기본 장치를 {device}{ro} 바꾸고(torch.set_default_device) 되돌리지 않았습니다. 그대로 두면 다음 "
               "셀의 새 텐서와 모델이 모두 {device}에 만들어집니다(검사가 되돌려 두었습니다).",
               "Your code set the default device to {device} (torch.set_default_device) and never back: every new "
               "tensor and model of the next cells would be made on {device} (the check set it back).",
               "기본값을 바꾸지 말고 필요한 텐서와 모델만 .to(device)로 옮기세요.",
               "Leave the default alone: move the tensors and models that need it with .to(device)."),
    "anomaly": ("코드가 torch.autograd.set_detect_anomaly(True)로 이상 탐지를 켠 뒤 끄지 않았습니다. 켜 두면 "
                "역전파마다 모든 연산을 검사해서 엔진의 학습이 몇 배 느려집니다(검사가 꺼 두었습니다).",
                "Your code turned anomaly detection on (torch.autograd.set_detect_anomaly(True)) and never off: every "
                "backward pass then checks every operation, and the engine's training runs several times slower "
                "(the check turned it off).",
                "이상 탐지는 with torch.autograd.detect_anomaly(): 블록 안에서만 쓰세요.",
                "Use anomaly detection inside a with torch.autograd.detect_anomaly(): block only."),
    "deterministic": ("코드가 torch.use_deterministic_algorithms(True)를 켠 뒤 끄지 않았습니다. 그대로 두면 결정적 "
                      "구현이 없는 연산이 엔진의 학습에서 오류를 내거나 GPU에서 느려집니다(검사가 되돌려 두었습니다).",
                      "Your code turned on torch.use_deterministic_algorithms(True) and never off: in the engine's "
                      "training, ops without a deterministic implementation would then fail, or run slower on a GPU "
                      "(the check set it back).",
                      "재현성은 엔진의 시드(seed)에 맡기고, 연습 코드에서는 전역 설정을 바꾸지 마세요.",
                      "Leave reproducibility to the engine's seed: exercise code changes no global setting."),
    "cudnn": ("코드가 torch.backends.cudnn.{flag} 값을 {value}로 바꾸고 되돌리지 않았습니다. 그대로 두면 엔진의 "
              "학습 전체가 그 설정으로 돌아 GPU에서 느려지거나 결과가 달라집니다(검사가 되돌려 두었습니다).",
              "Your code set torch.backends.cudnn.{flag} to {value} and never back: the engine's whole training would "
              "run that way, slower on a GPU or with other results (the check set it back).",
              "cuDNN 설정은 엔진에 맡기고(엔진이 GPU에서 benchmark를 켭니다) 연습 코드에서는 건드리지 마세요.",
              "Leave the cuDNN settings to the engine (it turns benchmark on for a GPU), not to the exercise code."),
}


def _cudnn() -> dict[str, bool]:
    return {flag: getattr(torch.backends.cudnn, flag) for flag in ("benchmark", "deterministic")}


def _switches() -> dict[str, bool]:
    """The global switches a learner's code may turn on and forget: anomaly detection, deterministic algorithms."""
    return {"anomaly": torch.is_anomaly_enabled(), "deterministic": torch.are_deterministic_algorithms_enabled()}


def _leaks(cudnn: dict[str, bool], switches: dict[str, bool]) -> list[tuple[str, ...]]:
    """The slips of :data:`_LEAKS` that the global state shows now (gradients off, another default dtype, cuDNN
    flags other than ``cudnn``, switches other than ``switches``, which are set back)."""
    dtype = torch.get_default_dtype()
    found = [_LEAKS["grad"]] if not torch.is_grad_enabled() else []
    if dtype != torch.float32:
        found.append(tuple(t.format(dtype=dtype, dtype_ro=josa(dtype, "로")) for t in _LEAKS["dtype"]))
    device = torch.get_default_device()
    if device != torch.device("cpu"):
        found.append(tuple(t.format(device=device, ro=particle(device, "로")) for t in _LEAKS["device"]))
    for flag, value in _cudnn().items():
        if value != cudnn[flag]:
            found.append(tuple(t.format(flag=flag, value=value) for t in _LEAKS["cudnn"]))
            setattr(torch.backends.cudnn, flag, cudnn[flag])
    now = _switches()
    for switch in now:
        if now[switch] != switches[switch]:
            found.append(_LEAKS[switch])
    torch.autograd.set_detect_anomaly(switches["anomaly"])
    torch.use_deterministic_algorithms(switches["deterministic"])
    return found


def _not_compiled(thing: Any) -> tuple[str, SyntaxError] | None:
    """The learner's function or class (a model: its class) whose latest cell in this notebook did not compile, and
    the error: Python still holds the definition made before, which a check would judge instead. ``None`` outside a
    notebook, and for what the notebook did not define."""
    target = thing if inspect.isfunction(thing) or inspect.isclass(thing) else type(thing)
    if getattr(target, "__module__", None) != "__main__" or not isinstance(getattr(target, "__name__", None), str):
        return None
    try:  # optional: IPython is there in Jupyter, Colab and Kaggle
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return None
    shell = get_ipython()
    cells = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None) or []
    defines = re.compile(rf"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+{re.escape(target.__name__)}\b", re.M)
    source = next((cell for cell in reversed(cells) if defines.search(cell)), None)
    if source is None:
        return None
    try:
        source = shell.transform_cell(source)  # %magics and !commands become Python, as when the cell ran
    except Exception:  # noqa: BLE001 - what IPython cannot transform, it ran as it was
        pass
    try:
        ast.parse(source)
    except SyntaxError as exc:
        return target.__name__, exc
    return None


def _syntax_error_lines(name: str, exc: SyntaxError) -> tuple[str, str, str, str]:
    line = f" `{exc.text.strip()}`" if exc.text and exc.text.strip() else ""
    where = (f"{exc.lineno}번째 줄{line} — ", f"line {exc.lineno}{line} — ") if exc.lineno else ("", "")
    what = f"{type(exc).__name__}: {exc.msg}"
    return (f"{josa(name, '을')} 정의하는 셀을 마지막으로 실행했을 때 문법 오류로 셀 전체가 실행되지 않았습니다 "
            f"({where[0]}{what}). 파이썬에는 그 전에 정의한 {josa(name, '이')} 아직 남아 있지만, 예전 코드이므로 "
            "채점하지 않았습니다.",
            f"The last time you ran the cell that defines {name}, a syntax error kept the whole cell from running "
            f"({where[1]}{what}). Python still holds the {name} defined before it, so that one was "
            "not judged.",
            "그 줄을 고쳐 연습 셀을 다시 실행한 뒤 이 셀을 실행하세요. IndentationError라면 한 블록의 줄들이 같은 "
            "칸에서 시작하는지, 콜론(:) 다음 줄이 들여쓰였는지 보세요.",
            "Fix that line, run the exercise cell again, then this one. An IndentationError: the lines of one block "
            "must start in the same column, and the line after a colon (:) must be indented.")


def never_raises(name: str) -> Callable[[Callable[..., CheckResult]], Callable[..., CheckResult]]:
    """Decorator for a check ``check(result, *args)``: whatever the learner's code raises becomes a ⏳/❌ line.

    The check runs in a clean state (gradients on, float32 on the CPU, its own random stream) and leaves the
    notebook's as it found it: the random generators, the default dtype and device, grad mode and the train/eval mode
    of the models it was given. A change the learner's code would have leaked (gradients left off, another default
    dtype or device) is named as a slip.
    """

    def wrap(check: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
        @functools.wraps(check)
        def run(*args: Any, **kwargs: Any) -> CheckResult:
            result, leaks = CheckResult(name), []
            unrun = next(filter(None, map(_not_compiled, (*args, *kwargs.values()))), None)
            if unrun:
                result.fail(*_syntax_error_lines(*unrun))
                return result
            dtype, device, cudnn, switches = torch.get_default_dtype(), torch.get_default_device(), _cudnn(), \
                _switches()
            modes = [(m, m.training) for a in (*args, *kwargs.values()) if isinstance(a, torch.nn.Module)
                     for m in a.modules()]
            devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
            try:
                # inference mode and anomaly detection off too: left on by a notebook cell, they would make the
                # check's own backward passes fail (on the meta device) and look like the learner's mistake
                with torch.random.fork_rng(devices=devices), torch.inference_mode(False), torch.enable_grad():
                    torch.set_default_dtype(torch.float32)
                    torch.set_default_device(None)
                    torch.autograd.set_detect_anomaly(False)
                    try:
                        check(result, *args, **kwargs)
                    finally:  # still inside: what the learner's code changed shows before it is undone
                        leaks = _leaks(cudnn, {**switches, "anomaly": False})
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - the whole point is to never raise
                if is_stub(exc):
                    result.todo(*NOT_WRITTEN)
                else:
                    result.fail(*describe_exception(exc), *exception_hint(exc))
            finally:
                torch.autograd.set_detect_anomaly(switches["anomaly"])
                torch.set_default_dtype(dtype)
                torch.set_default_device(None if device == torch.device("cpu") else device)
                for module, training in modes:
                    module.training = training
            for leak in leaks:
                result.fail(*leak)
            return result

        return run

    return wrap
