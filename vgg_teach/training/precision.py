"""Mixed precision: bf16 on Ampere/Hopper GPUs, fp16 with a gradient scaler on a T4 or older, fp32 on the CPU."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch

from ..errors import UsageError, bilingual

__all__ = ["amp_dtype", "Precision", "use_channels_last"]


def amp_dtype(device: torch.device, precision: str = "auto",
              capability: Optional[tuple[int, int]] = None) -> Optional[torch.dtype]:
    """The autocast dtype for ``device``: bf16, fp16, or ``None`` for plain fp32.

    ``auto``: bf16 on CUDA GPUs of compute capability ≥ 8 (A100, H100, RTX 30xx+), fp16 on older
    ones (T4, V100: no fast bf16), fp32 on the CPU and on Apple's MPS.
    """
    choices = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}
    if precision != "auto":
        if precision not in choices:
            raise UsageError(bilingual(f"precision은 auto, bf16, fp16, fp32 중 하나여야 합니다 (받은 값: {precision}).",
                                       f"precision must be auto, bf16, fp16 or fp32 (got {precision})."))
        if device.type == "cpu" and precision == "fp16":
            return None  # the CPU has no useful fp16 autocast: plain fp32
        return choices[precision]
    if device.type != "cuda":
        return None
    major, _ = capability or torch.cuda.get_device_capability(device)
    return torch.bfloat16 if major >= 8 else torch.float16


def _grad_scaler(enabled: bool):
    try:
        return torch.amp.GradScaler("cuda", enabled=enabled)
    except (AttributeError, TypeError):  # torch < 2.3
        return torch.cuda.amp.GradScaler(enabled=enabled)


@dataclass
class Precision:
    """Mixed-precision settings: ``autocast()`` for the forward pass and a gradient ``scaler``.

    The scaler only does something for fp16 (whose small range would let gradients underflow to
    zero); for bf16 and fp32 it is disabled and ``scaler.step(opt)`` is just ``opt.step()``.
    """

    device_type: str
    dtype: Optional[torch.dtype]
    scaler: object = field(repr=False)

    @classmethod
    def for_device(cls, device: torch.device, precision: str = "auto") -> "Precision":
        dtype = amp_dtype(device, precision)
        return cls(device.type, dtype, _grad_scaler(enabled=dtype == torch.float16))

    @property
    def name(self) -> str:
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.dtype, "fp32")

    def autocast(self):
        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.dtype is not None)


def use_channels_last(device: torch.device, setting: Optional[bool] = None) -> bool:
    """Whether images and weights use the ``channels_last`` memory format: ``setting``, or on for CUDA.

    The one place this is decided; training, evaluation and prediction all ask here.
    """
    return device.type == "cuda" if setting is None else bool(setting)
