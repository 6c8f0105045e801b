"""Record what a model really computes, op by op, and build a learner's model class cheaply for a check.

:func:`record_ops` runs the model under a :class:`~torch.overrides.TorchFunctionMode`: ``nn.ReLU``, ``F.relu``
and ``x.relu()`` are all one ``relu`` event, with its real arguments, shapes and the module it ran in
(``features[3]``). It never raises for the model's sake, and on real tensors it *links* the events: each op
must get exactly what the op before it produced, so an add or a scaling hidden between layers shows.

:func:`build_for_check` runs the learner's ``__init__`` on the ``meta`` device (shapes only; lazy modules
learn theirs), then fills real memory from a fixed pattern: as cheap as can be, and the same numbers every run.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterator

import torch
from torch import nn
from torch.nn.modules import module as _module
from torch.nn.parameter import UninitializedTensorMixin
from torch.overrides import TorchFunctionMode

from . import is_stub

# Argument names of the functional ops we read, in positional order.
_SIGNATURES: dict[str, tuple[str, ...]] = {
    "conv2d": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "max_pool2d": ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
    "avg_pool2d": ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
    "adaptive_avg_pool2d": ("input", "output_size"),
    "adaptive_max_pool2d": ("input", "output_size", "return_indices"),
    "linear": ("input", "weight", "bias"),
    "pad": ("input", "pad", "mode", "value"),
    "dropout": ("input", "p", "training", "inplace"),
    "clamp": ("input", "min", "max"),
    "clamp_min": ("input", "min"),
    "batch_norm": ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps"),
}
# Ops that change values in a way that matters for VGG's structure. Everything else (view, flatten, size …)
# is bookkeeping: not recorded, but the links see what it did to the values.
SIGNIFICANT = {"conv2d", "relu", "relu_", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
               "linear", "softmax", "log_softmax", "sigmoid", "tanh", "batch_norm", "leaky_relu", "gelu", "elu",
               "hardtanh", "clamp", "clamp_", "clamp_min", "clamp_min_", "dropout", "pad"}
_NORMALISE = {"relu_": "relu", "clamp_": "clamp", "clamp_min_": "clamp_min", "_max_pool2d": "max_pool2d",
              "max_pool2d_with_indices": "max_pool2d", "_adaptive_max_pool2d": "adaptive_max_pool2d"}


@dataclass
class OpEvent:
    """One functional call seen during the forward pass (its input tensor is not kept, only its shape)."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    in_shape: tuple[int, ...] | None = None
    out_shape: tuple[int, ...] | None = None
    module: str = ""  #: where it ran: ``features[3]``, ``classifier[0]``, ``MyVGG16.forward``
    linked: bool | None = None  #: its input was exactly the previous op's output (None: not compared)
    link_diff: float | None = None  #: the largest difference when it was not (None: sizes differ)

    def arg(self, key: str, default: Any = None) -> Any:
        return self.args.get(key, default)


@dataclass
class Recording:
    """What :func:`record_ops` saw. Unpacks as ``out, events`` like a pair."""

    out: Any
    events: list[OpEvent]
    error: BaseException | None = None  #: what the forward pass raised (None: it finished)
    failed: OpEvent | None = None  #: the op that raised, with its arguments' shapes
    out_linked: bool | None = None  #: ``forward`` returned the last op's output unchanged
    out_diff: float | None = None
    used: set[int] = field(default_factory=set)  #: ids of the parameters and buffers some op read

    def __iter__(self) -> Iterator[Any]:
        yield self.out
        yield self.events


def module_label(path: str, root: str = "") -> str:
    """``"features.3"`` → ``"features[3]"``; ``"blocks.0.conv"`` → ``"blocks[0].conv"``; ``""`` → ``root``."""
    out = root
    for part in path.split(".") if path else []:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def _first_tensor(x: Any) -> torch.Tensor | None:
    if isinstance(x, (tuple, list)) and x:
        x = x[0]
    return x if isinstance(x, torch.Tensor) else None


def _shape(x: Any) -> tuple[int, ...] | None:
    t = _first_tensor(x)
    return None if t is None else tuple(t.shape)


def _compare(got: Any, want: torch.Tensor | None) -> tuple[bool | None, float | None]:
    """Is ``got`` exactly ``want`` (same numbers in the same order, whatever the shape)? And the largest gap."""
    if want is None or not isinstance(got, torch.Tensor):
        return None, None
    if got.numel() != want.numel():
        return False, None
    a, b = got.detach().reshape(-1), want.reshape(-1)
    if torch.equal(a, b) or (a.is_floating_point() and b.is_floating_point() and torch.equal(a.double(), b.double())):
        return True, 0.0  # the same numbers (a lossless cast, x.double(), changes none)
    return False, float((a.double() - b.double()).abs().max()) if a.numel() else 0.0


class ForwardTooCostly(RuntimeError):
    """Raised inside :func:`record_ops` before the convolution that would take the pass over ``max_macs``."""


class _Recorder(TorchFunctionMode):
    def __init__(self, labels: dict[int, str], link: torch.Tensor | None, max_macs: float | None = None) -> None:
        super().__init__()
        self.events: list[OpEvent] = []
        self.failed: OpEvent | None = None
        self.labels, self.stack, self.used = labels, [], set()
        self.link, self.last = link is not None, link  # a copy of the last op's output (first: the model's input)
        self.macs, self.max_macs = 0, max_macs

    def where(self) -> str:
        return next((self.labels[id(m)] for m in reversed(self.stack) if id(m) in self.labels), "")

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        kwargs = kwargs or {}
        raw = getattr(func, "__name__", str(func))
        name = _NORMALISE.get(raw, raw)
        self.used.update(id(a) for a in (*args, *kwargs.values()) if isinstance(a, nn.Parameter))
        event = None
        if name in SIGNIFICANT:
            bound = {**dict(zip(_SIGNATURES.get(name, ("input",)), args)), **kwargs}
            if "train" in bound:  # torch.dropout(input, p, train)
                bound["training"] = bound.pop("train")
            inp = bound.pop("input", None)
            if name in ("clamp", "clamp_min") and bound.get("max") is None and \
                    isinstance(bound.get("min"), (int, float)) and bound["min"] == 0:
                name = "relu"  # clamp(min=0): a ReLU written another way
            event = OpEvent(name, bound, _shape(inp), None, self.where())
            if self.link:
                event.linked, event.link_diff = _compare(inp, self.last)
        try:
            if self.max_macs is not None and name == "conv2d":
                self._count(event)
            out = func(*args, **kwargs)
        except BaseException:
            if self.failed is None:
                shapes = {f"arg{i}": _shape(a) or a for i, a in enumerate(args)}
                self.failed = event or OpEvent(name, shapes, _shape(args[0]) if args else None, None, self.where())
            raise
        if event is not None:
            event.out_shape = _shape(out)
            self.events.append(event)
            first = _first_tensor(out)
            if self.link and first is not None:
                self.last = first.detach().clone()
        return out

    def _count(self, e: OpEvent) -> None:
        """Add this convolution's multiply-adds (about: output size from the stride alone) before it runs."""
        weight, stride = e.arg("weight"), _pair(e.arg("stride"), 1)
        if isinstance(weight, torch.Tensor) and e.in_shape and len(e.in_shape) == 4 and isinstance(stride, tuple):
            n, _, h, w = e.in_shape
            self.macs += n * weight.numel() * (h // max(1, stride[0])) * (w // max(1, stride[1]))
            if self.macs > self.max_macs:
                raise ForwardTooCostly(f"more than {self.max_macs:.3g} multiply-adds by {e.module}")


@contextlib.contextmanager
def seeded(seed: int = 0) -> Iterator[None]:
    """Run the block with every random generator seeded, restoring the learner's generators afterwards."""
    with torch.random.fork_rng(devices=list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []):
        torch.manual_seed(seed)
        yield


def record_ops(model: nn.Module, x: torch.Tensor, root: str | None = None,
               max_macs: float | None = None) -> Recording:
    """Run ``model(x)`` in eval mode, without gradients and seeded, and return what it computed.

    A failed forward pass leaves the exception in ``.error``, the op that raised in ``.failed`` and the events
    before it. ``root`` names the model itself (default ``ClassName.forward``); the model's mode is restored.
    ``max_macs``: stop with :class:`ForwardTooCostly` before a convolution that would pass that many multiply-adds
    (a model whose feature maps never shrink would take minutes on a CPU).
    """
    labels = {id(model): root if root is not None else f"{type(model).__name__}.forward"}
    for path, m in model.named_modules(remove_duplicate=False):
        labels.setdefault(id(m), module_label(path, root or ""))
    recorder = _Recorder(labels, None if x.device.type == "meta" else x.detach().clone(), max_macs)

    def pop(m: nn.Module, *_: Any) -> None:
        if recorder.stack and recorder.stack[-1] is m:
            recorder.stack.pop()

    was_training = model.training
    handles = [_module.register_module_forward_pre_hook(lambda m, *_: recorder.stack.append(m)),
               _module.register_module_forward_hook(pop, always_call=True)]
    out, error = None, None
    try:
        with torch.no_grad(), seeded(), recorder:
            out = model.eval()(x)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - the caller explains it with what was recorded
        error = exc
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    rec = Recording(out, _fold_pads(recorder.events), error, recorder.failed)
    rec.used = recorder.used | {id(t) for e in recorder.events for t in e.args.values() if isinstance(t, torch.Tensor)}
    if error is None and recorder.link and recorder.events:
        rec.out_linked, rec.out_diff = _compare(out, recorder.last)
    return rec


def _fold_pads(events: list[OpEvent]) -> list[OpEvent]:
    """A pad right before a conv becomes that conv's padding: ``nn.ZeroPad2d(1)`` + ``Conv2d(…, padding=0)`` (as
    Keras ports write it) is one ``Conv2d(…, padding=1)`` event, and the pad that ``padding_mode="reflect"`` makes
    is kept as the conv's ``padding_mode``. A pad not followed by a conv stays an event of its own."""
    out: list[OpEvent] = []
    for e in events:
        pad = out[-1] if out and out[-1].name == "pad" else None
        p, own = (pad.arg("pad"), _pair(e.arg("padding"), 0)) if pad is not None else (None, None)
        if (e.name == "conv2d" and pad is not None and pad.out_shape == e.in_shape and isinstance(p, (list, tuple))
                and len(p) == 4 and p[0] == p[1] and p[2] == p[3] and own != "same"):
            own = (0, 0) if own == "valid" else own
            e.args["padding"] = (own[0] + int(p[2]), own[1] + int(p[0]))
            mode, value = pad.arg("mode") or "constant", pad.arg("value") or 0
            if (mode, value) != ("constant", 0):
                e.args["padding_mode"] = mode if mode != "constant" else f"constant, value={value}"
            e.in_shape, e.linked, e.link_diff = pad.in_shape, pad.linked, pad.link_diff
            out[-1] = e
        else:
            out.append(e)
    return out


# ------------------------------------------------------------------------ reading the events
def _pair(value: Any, default: Any = None) -> tuple[int, int] | str | None:
    """A kernel/stride/padding argument as a pair (``2`` → ``(2, 2)``); ``None``/``[]`` → ``default``."""
    if value is None or (isinstance(value, (list, tuple)) and len(value) == 0):
        value = default
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value, value
    a, b = (tuple(value) * 2)[:2] if len(value) == 1 else tuple(value)[:2]
    return int(a), int(b)


def conv_geometry(e: OpEvent) -> dict[str, Any]:
    """A ``conv2d`` event's kernel, stride, padding (``"same"``/``"valid"`` resolved), channels and bias."""
    w = e.arg("weight")
    real = isinstance(w, torch.Tensor)
    kernel = tuple(int(k) for k in w.shape[-2:]) if real else None
    dilation, padding, groups = _pair(e.arg("dilation"), 1), _pair(e.arg("padding"), 0), int(e.arg("groups", 1) or 1)
    if padding == "valid":
        padding = (0, 0)
    elif padding == "same" and kernel and all(d * (k - 1) % 2 == 0 for d, k in zip(dilation, kernel)):
        padding = tuple(d * (k - 1) // 2 for d, k in zip(dilation, kernel))
    return {"kernel": kernel, "stride": _pair(e.arg("stride"), 1), "padding": padding, "dilation": dilation,
            "groups": groups, "in": int(w.shape[1]) * groups if real else None,
            "out": int(w.shape[0]) if real else None, "bias": e.arg("bias") is not None,
            "padding_mode": e.arg("padding_mode")}


def pool_geometry(e: OpEvent) -> dict[str, Any]:
    """A pooling event's kernel, stride (``None`` means the kernel size, as in PyTorch), padding …"""
    kernel = _pair(e.arg("kernel_size"))
    return {"kernel": kernel, "stride": _pair(e.arg("stride"), kernel), "padding": _pair(e.arg("padding"), 0),
            "dilation": _pair(e.arg("dilation"), 1), "ceil_mode": bool(e.arg("ceil_mode", False))}


def dropout_active(e: OpEvent) -> bool:
    """A ``dropout`` event that really dropped values (``training`` is True; ``F.dropout``'s default)."""
    return e.name == "dropout" and bool(e.arg("training", True)) and float(e.arg("p", 0.5) or 0) > 0


def op_signature(e: OpEvent) -> tuple[Any, ...]:
    """What an event computes, for comparing two models op by op (``padding="same"`` equals ``padding=1``)."""
    if e.name == "conv2d":
        g = conv_geometry(e)
        return ("conv2d", *(g[k] for k in ("in", "out", "kernel", "stride", "padding", "dilation", "groups", "bias",
                                           "padding_mode")))
    if e.name in ("max_pool2d", "avg_pool2d"):
        g = pool_geometry(e)
        return (e.name, *(g[k] for k in ("kernel", "stride", "padding", "dilation", "ceil_mode")))
    if e.name in ("batch_norm", "linear"):
        shaped, flag = ("running_mean", "weight") if e.name == "batch_norm" else ("weight", "bias")
        t = e.arg(shaped)
        return e.name, tuple(t.shape) if isinstance(t, torch.Tensor) else None, e.arg(flag) is not None
    if e.name == "dropout":
        return "dropout", e.arg("p", 0.5), dropout_active(e)
    return (e.name,)


def _one(v: Any) -> Any:
    """``(3, 3)`` → ``3``; anything else as it is."""
    return v[0] if isinstance(v, tuple) and len(v) == 2 and v[0] == v[1] else v


def describe_op(e: OpEvent | None) -> str:
    """The layer an event stands for, written as PyTorch code: ``Conv2d(3, 64, kernel_size=3, padding=1)``."""
    if e is None:
        return "—"
    if e.name == "conv2d":
        g = conv_geometry(e)
        mode = f", padding_mode={g['padding_mode']!r}" if g["padding_mode"] else ""
        return (f"Conv2d({g['in']}, {g['out']}, kernel_size={_one(g['kernel'])}, stride={_one(g['stride'])}, "
                f"padding={_one(g['padding'])}{'' if g['bias'] else ', bias=False'}{mode})")
    if e.name == "max_pool2d":
        g = pool_geometry(e)
        extra = "".join(f", {k}={_one(g[k])}" for k, default in (("dilation", (1, 1)), ("ceil_mode", False))
                        if g[k] != default)
        return f"MaxPool2d(kernel_size={g['kernel'][0]}, stride={g['stride'][0]}, padding={g['padding'][0]}{extra})"
    if e.name == "batch_norm":
        shape = op_signature(e)[1]
        return f"BatchNorm2d({shape[0] if shape else '?'})"
    if e.name == "linear":
        w = e.arg("weight")
        return f"Linear({w.shape[1]}, {w.shape[0]})" if isinstance(w, torch.Tensor) else "Linear"
    return {"relu": "ReLU", "dropout": "Dropout", "avg_pool2d": "AvgPool2d"}.get(e.name, e.name)


# ------------------------------------------------------------------------ building a class for a check
_PATTERN_LENGTH = 1_000_003  # a prime, so no two layers line up with the same stretch of it


@lru_cache(maxsize=1)
def _pattern() -> torch.Tensor:
    """Uniform numbers in [−1, 1) from a fixed seed, twice over (any window of the pattern is one slice)."""
    once = torch.rand(_PATTERN_LENGTH, generator=torch.Generator().manual_seed(2014)).mul_(2).sub_(1)
    return torch.cat([once, once])


def has_uninitialized(model: nn.Module) -> bool:
    """Does the model still hold lazy parameters or buffers whose shape is not known yet?"""
    return any(isinstance(t, UninitializedTensorMixin) for t in [*model.parameters(), *model.buffers()])


def built_on_meta(candidate: Any, num_classes: int) -> nn.Module:
    """``candidate(num_classes=...)`` built on the ``meta`` device (may raise what the learner's code raises)."""
    with torch.device("meta"):
        return candidate(num_classes=num_classes)


def dry_run(model: nn.Module) -> Any:
    """One forward pass on a ``meta`` batch of two 224×224 images: shapes only (lazy modules learn theirs)."""
    with torch.no_grad():
        return model.eval()(torch.empty(2, 3, 224, 224, device="meta"))


def fill_deterministic(model: nn.Module) -> nn.Module:
    """Fill every parameter from the fixed pattern, He-uniform (``√(6 / fan_in)``; biases 0.05); fresh batch norm.

    Few large ops, not many small ones: on a busy machine every op's thread start costs time.
    """
    offset = 0
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.reset_parameters()
                continue
            for t in m.parameters(recurse=False):
                if not t.is_floating_point():
                    continue
                scale = math.sqrt(6.0 / max(1, t[0].numel())) if t.dim() > 1 else 0.05
                window, n = _pattern()[offset:offset + _PATTERN_LENGTH], t.numel()
                rows, tail = divmod(n, _PATTERN_LENGTH)
                direct = t.dtype == torch.float32 and t.is_contiguous()
                flat = t.view(-1) if direct else torch.empty(n, dtype=torch.float32)
                if rows:
                    torch.mul(window.expand(rows, -1), scale, out=flat[:rows * _PATTERN_LENGTH].view(rows, -1))
                if tail:
                    torch.mul(window[:tail], scale, out=flat[rows * _PATTERN_LENGTH:])
                if not direct:
                    t.copy_(flat.view(t.shape))
                offset = (offset + n) % _PATTERN_LENGTH
    return model


def _real(candidate: Any, num_classes: int) -> nn.Module:
    with seeded():
        return candidate(num_classes=num_classes)


def build_for_check(candidate: Any, num_classes: int, real: bool = False) -> nn.Module:
    """The learner's class as a real CPU model with deterministic weights, built on ``meta`` first when it can be.

    ``real=True``, an ``__init__`` that needs real tensors, or buffers of the learner's own (their values come
    from code that ran on ``meta``): built for real, seeded. A stub's ``NotImplementedError`` is raised at once.
    """
    if real:
        return _real(candidate, num_classes)
    try:
        model = built_on_meta(candidate, num_classes)
    except Exception as exc:  # noqa: BLE001 - maybe only "meta" is the problem: build it for real (raises if not)
        if is_stub(exc):
            raise
        return _real(candidate, num_classes)
    if not isinstance(model, nn.Module):
        return _real(candidate, num_classes)
    if has_uninitialized(model):
        try:
            dry_run(model)
        except Exception as exc:  # noqa: BLE001 - the real forward pass fails the same way, and is explained
            if is_stub(exc):
                raise
    own_buffers = any(True for m in model.modules() if not isinstance(m, nn.modules.batchnorm._BatchNorm)
                      for _ in m.buffers(recurse=False))
    if has_uninitialized(model) or own_buffers:
        return _real(candidate, num_classes)
    try:
        model.to_empty(device="cpu")
    except Exception:  # noqa: BLE001
        return _real(candidate, num_classes)
    return fill_deterministic(model)
