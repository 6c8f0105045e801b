"""Record what a model really computes, op by op, whatever way its code is written.

Used by :mod:`vgg_teach.checks` to judge a learner's VGG16 by behaviour: ``nn.ReLU``,
``F.relu`` and ``x.relu()`` all show up as one ``relu`` event, ``nn.MaxPool2d`` and
``F.max_pool2d`` as one ``max_pool2d`` event, whether the layers sit in one ``nn.Sequential``, in
nested blocks or in ``forward``. The recorder is a :class:`torch.overrides.TorchFunctionMode`, so it
sees the functional calls that modules make, with their real arguments and output shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["OpEvent", "record_ops", "SIGNIFICANT"]

# Argument names of the functional ops we read, in positional order.
_SIGNATURES: dict[str, tuple[str, ...]] = {
    "conv2d": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "max_pool2d": ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
    "avg_pool2d": ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                   "divisor_override"),
    "adaptive_avg_pool2d": ("input", "output_size"),
    "adaptive_max_pool2d": ("input", "output_size", "return_indices"),
    "linear": ("input", "weight", "bias"),
    "dropout": ("input", "p", "training", "inplace"),
    "batch_norm": ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps"),
}

# Ops that change values in a way that matters for VGG16's structure. Everything else (view,
# flatten, size, contiguous …) is recorded but treated as bookkeeping.
SIGNIFICANT = {
    "conv2d", "relu", "relu_", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
    "adaptive_max_pool2d", "linear", "softmax", "log_softmax", "sigmoid", "tanh", "batch_norm",
    "leaky_relu", "gelu", "elu", "hardtanh", "clamp", "clamp_", "clamp_min", "clamp_min_",
    "dropout",
}

_NORMALISE = {"relu_": "relu", "clamp_": "clamp", "clamp_min_": "clamp_min", "_max_pool2d": "max_pool2d",
              "max_pool2d_with_indices": "max_pool2d", "_adaptive_max_pool2d": "adaptive_max_pool2d"}


@dataclass
class OpEvent:
    """One functional call seen during the forward pass."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    in_shape: tuple[int, ...] | None = None
    out_shape: tuple[int, ...] | None = None

    def arg(self, key: str, default: Any = None) -> Any:
        return self.args.get(key, default)


def _shape(x: Any) -> tuple[int, ...] | None:
    if isinstance(x, torch.Tensor):
        return tuple(x.shape)
    if isinstance(x, (tuple, list)) and x and isinstance(x[0], torch.Tensor):
        return tuple(x[0].shape)
    return None


class _Recorder(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[OpEvent] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        raw = getattr(func, "__name__", str(func))
        name = _NORMALISE.get(raw, raw)
        if name in SIGNIFICANT:
            names = _SIGNATURES.get(name, ("input",))
            bound = dict(zip(names, args))
            bound.update(kwargs)
            self.events.append(OpEvent(name, bound, _shape(args[0]) if args else None, _shape(out)))
        return out


def record_ops(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[OpEvent]]:
    """Run ``model(x)`` in eval mode without gradients and return its output and the ops it called.

    The model's train/eval mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    recorder = _Recorder()
    try:
        with torch.no_grad(), recorder:
            out = model(x)
    finally:
        model.train(was_training)
    return out, recorder.events
