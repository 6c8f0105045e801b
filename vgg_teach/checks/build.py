"""Building a learner's model class for a check: cheaply, deterministically, once.

Filling 138 million parameters with random numbers costs as much as a forward pass, so a check
does not let the learner's ``__init__`` do it for real. :func:`build_for_check` runs the learner's
``__init__`` on PyTorch's ``meta`` device (every line of it runs, shapes only), lets lazy modules
(``nn.LazyConv2d``, ``nn.LazyLinear``) infer their shapes with a ``meta`` forward pass, then gives
the model real memory and fills it from a fixed pattern (:func:`fill_deterministic`): the same
numbers every run, so a verdict never depends on the random state. A class that cannot be built
that way (its ``__init__`` needs real tensors, or it keeps buffers of its own whose values we
cannot know) is built for real instead, seeded. :func:`built_on_meta` builds another copy on
``meta`` only (to see that ``num_classes`` is honored): no memory, no time.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import torch
from torch import nn
from torch.nn.parameter import UninitializedTensorMixin

from .feedback import is_stub
from .trace import seeded

__all__ = ["build_for_check", "built_on_meta", "fill_deterministic", "has_uninitialized", "dry_run"]

_PATTERN_LENGTH = 1_000_003  # a prime, so no two layers line up with the same stretch of it


@lru_cache(maxsize=1)
def _pattern() -> torch.Tensor:
    """Uniform numbers in [−1, 1) from a fixed seed, twice over (any window of the pattern is one slice)."""
    gen = torch.Generator().manual_seed(2014)
    once = torch.rand(_PATTERN_LENGTH, generator=gen).mul_(2).sub_(1)
    return torch.cat([once, once])


def has_uninitialized(model: nn.Module) -> bool:
    """Does the model still hold lazy parameters or buffers whose shape is not known yet?"""
    return any(isinstance(t, UninitializedTensorMixin) for t in [*model.parameters(), *model.buffers()])


def built_on_meta(candidate: Any, num_classes: int) -> nn.Module:
    """``candidate(num_classes=...)`` built on the ``meta`` device (may raise what the learner's code raises)."""
    with torch.device("meta"):
        return candidate(num_classes=num_classes)


def dry_run(model: nn.Module, channels: int = 3, size: int = 224) -> Any:
    """One forward pass on a ``meta`` batch of two: shapes only (lazy modules learn theirs)."""
    with torch.no_grad():
        return model.eval()(torch.empty(2, channels, size, size, device="meta"))


def _tile(t: torch.Tensor, scale: float, offset: int) -> int:
    """Fill ``t`` with ``scale`` × the pattern from ``offset`` on, in two big ops; returns the next offset.

    Few large ops, not many small ones: on a busy machine every op's thread start costs time.
    """
    window = _pattern()[offset:offset + _PATTERN_LENGTH]
    n = t.numel()
    rows, tail = divmod(n, _PATTERN_LENGTH)
    flat = torch.empty(n, dtype=torch.float32) if t.dtype != torch.float32 or not t.is_contiguous() else t.view(-1)
    if rows:
        torch.mul(window.expand(rows, _PATTERN_LENGTH), scale, out=flat[:rows * _PATTERN_LENGTH].view(rows, -1))
    if tail:
        torch.mul(window[:tail], scale, out=flat[rows * _PATTERN_LENGTH:])
    if flat.data_ptr() != t.data_ptr():
        t.copy_(flat.view(t.shape))
    return (offset + n) % _PATTERN_LENGTH


def fill_deterministic(model: nn.Module) -> nn.Module:
    """Give every parameter fixed, well-scaled values (He-uniform from the fixed pattern); batch norm starts fresh.

    Weights get ``√(6 / fan_in)`` × the pattern (activations keep their size through 16 layers), other
    parameters (biases) 0.05 × the pattern; batch norm gets weight 1, bias 0, running mean 0, variance 1.
    """
    offset = 0
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.reset_parameters()
                continue
            for t in m.parameters(recurse=False):
                if t.is_floating_point():
                    scale = math.sqrt(6.0 / max(1, t[0].numel())) if t.dim() > 1 else 0.05
                    offset = _tile(t, scale, offset)
    return model


def _own_buffers(model: nn.Module) -> bool:
    """Buffers other than batch norm's: their values come from the learner's code, which ran on ``meta``."""
    return any(True for m in model.modules() if not isinstance(m, nn.modules.batchnorm._BatchNorm)
               for _ in m.buffers(recurse=False))


def _real(candidate: Any, num_classes: int) -> nn.Module:
    with seeded():
        return candidate(num_classes=num_classes)


def build_for_check(candidate: Any, num_classes: int, real: bool = False) -> nn.Module:
    """The learner's class as a real model on the CPU with deterministic weights (see the module docstring).

    ``real=True`` skips the ``meta`` route: the learner's ``__init__`` runs for real, seeded. Raises what
    the learner's ``__init__`` raises when it cannot be built for real either; a stub's
    ``NotImplementedError`` is raised at once.
    """
    if real:
        return _real(candidate, num_classes)
    try:
        model = built_on_meta(candidate, num_classes)
    except NotImplementedError as exc:
        if is_stub(exc):
            raise
        return _real(candidate, num_classes)
    except Exception:  # noqa: BLE001 - maybe only "meta" is the problem: build it for real (raises if not)
        return _real(candidate, num_classes)
    if not isinstance(model, nn.Module):
        return _real(candidate, num_classes)
    if has_uninitialized(model):
        try:
            dry_run(model)
        except NotImplementedError as exc:
            if is_stub(exc):
                raise
        except Exception:  # noqa: BLE001 - the real forward pass fails the same way, and is explained
            pass
    if has_uninitialized(model) or _own_buffers(model):
        return _real(candidate, num_classes)
    try:
        model.to_empty(device="cpu")
    except Exception:  # noqa: BLE001
        return _real(candidate, num_classes)
    return fill_deterministic(model)
