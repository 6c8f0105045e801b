"""``torchsummary.summary`` that works wherever the model is."""

from __future__ import annotations

import contextlib
import copy
import io
from typing import Sequence

import torch
from torch import nn

from .layers import eval_mode, model_device

__all__ = ["summary", "summary_text"]


def summary(model: nn.Module, input_size: Sequence[int] = (3, 224, 224), batch_size: int = -1,
            device: str | torch.device | None = None) -> None:
    """``torchsummary.summary`` that works wherever the model is.

    ``torchsummary.summary`` defaults to ``device="cuda"``: on a machine with a GPU it feeds CUDA
    inputs to a CPU model and fails, and it knows no other devices. This wrapper uses the model's
    own device (``device=None``), runs in eval mode without gradients (so batch-norm statistics are
    not disturbed by its random batch) and restores the mode; a model on another device (Apple's
    ``mps``, ``meta``) is summarized through an empty CPU copy. Prints torchsummary's own table.
    """
    import torchsummary

    dev = torch.device(device) if device is not None else model_device(model)
    if dev.type not in ("cpu", "cuda"):
        model, dev = copy.deepcopy(model).to_empty(device="cpu"), torch.device("cpu")
    ctx = torch.cuda.device(dev) if dev.type == "cuda" else contextlib.nullcontext()
    with ctx, eval_mode(model), torch.no_grad():
        torchsummary.summary(model, tuple(input_size), batch_size=batch_size, device=dev.type)


def summary_text(model: nn.Module, input_size: Sequence[int] = (3, 224, 224), batch_size: int = -1,
                 device: str | torch.device | None = None) -> str:
    """What :func:`summary` prints, as a string."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        summary(model, input_size, batch_size, device)
    return buffer.getvalue()
