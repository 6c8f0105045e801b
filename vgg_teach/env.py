"""Environment helpers shared by every lesson's setup cell.

- :func:`get_device` picks cuda → mps → cpu and can say so in Korean and English;
- :func:`seed_everything` makes runs repeatable;
- :func:`is_smoke` reads ``VGG_TEACH_SMOKE=1`` (set by the test suite): later lessons shrink data
  and epochs with :func:`smoke_or` but run the same code path;
- :func:`is_colab` tells whether the notebook runs on Google Colab (:mod:`.platforms` knows Kaggle too, and
  where runs are kept on each);
- :func:`setup_lesson` does all of the above in one call, checks the package's requirements, and returns
  the device.
"""

from __future__ import annotations

import os
import random
from typing import TypeVar

import torch

from .errors import UsageError, bilingual
from .platforms import KAGGLE_GPU_NOTE, check_requirements, is_colab, is_kaggle

__all__ = ["get_device", "describe_device", "seed_everything", "is_smoke", "smoke_or", "is_colab",
           "setup_lesson", "SMOKE_ENV"]

SMOKE_ENV = "VGG_TEACH_SMOKE"
T = TypeVar("T")


def is_smoke() -> bool:
    """True when ``VGG_TEACH_SMOKE`` is set to 1/true/yes (the test suite sets it)."""
    return os.environ.get(SMOKE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def smoke_or(smoke_value: T, full_value: T) -> T:
    """``smoke_value`` in smoke mode, ``full_value`` otherwise: ``epochs = smoke_or(1, 30)``."""
    return smoke_value if is_smoke() else full_value


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """The best available device: CUDA, then Apple's MPS, then the CPU.

    ``prefer`` ("cuda", "mps", "cpu", or a ``torch.device``) forces a choice; an unavailable one raises a
    bilingual :class:`~vgg_teach.errors.UsageError` that says what to do instead.
    """
    if isinstance(prefer, torch.device):
        return prefer
    if prefer is not None:
        prefer = str(prefer).lower()
        ok = {
            "cuda": torch.cuda.is_available(),
            "mps": _mps_available(),
            "cpu": True,
        }
        kind = prefer.split(":")[0]  # "cuda:1" is a cuda device
        if kind not in ok:
            raise UsageError(bilingual(f"알 수 없는 장치(device) '{prefer}' — 'cuda', 'mps', 'cpu' 중 하나를 쓰세요.",
                                       f"Unknown device '{prefer}': use 'cuda', 'mps' or 'cpu'."))
        if not ok[kind]:
            raise UsageError(bilingual(
                f"'{prefer}' 장치를 쓸 수 없습니다. Colab이라면 [런타임 → 런타임 유형 변경]에서 GPU를 고르거나, "
                "get_device()로 자동 선택하세요.",
                f"The '{prefer}' device is not available. On Colab choose Runtime → Change runtime type → GPU, "
                "or call get_device() to pick automatically."))
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def describe_device(device: torch.device) -> str:
    """A one-line bilingual description of ``device`` for the setup cell."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        return f"장치(device): cuda — {name} (GPU를 사용합니다 / using the GPU)"
    if device.type == "mps":
        return "장치(device): mps — Apple GPU를 사용합니다 / using the Apple GPU"
    return ("장치(device): cpu — GPU가 없어 CPU로 실행합니다. 학습 레슨은 Colab의 GPU 런타임을 권합니다. / "
            "no GPU found, running on the CPU; for the training lesson use a Colab GPU runtime.")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy (if installed) and PyTorch on every device."""
    random.seed(seed)
    try:
        import numpy as np
        np.random.seed(seed)
    except ImportError:  # pragma: no cover - numpy ships with torch's usual installs
        pass
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def setup_lesson(seed: int = 0, prefer: str | None = None, korean_font: bool = True,
                 verbose: bool = True) -> torch.device:
    """Everything a lesson's setup cell needs: seeds, the device, Hangul in plots, smoke-mode notice."""
    check_requirements()
    seed_everything(seed)
    device = get_device(prefer)
    if korean_font:
        from .show.font import use_korean_font
        use_korean_font()
    if verbose:
        print(describe_device(device))
        if is_kaggle() and (device.type != "cuda" or torch.cuda.device_count() > 1):
            print(KAGGLE_GPU_NOTE)
        if is_smoke():
            print(f"{SMOKE_ENV}=1: 데이터와 에포크를 줄인 점검(smoke) 모드입니다 — 코드 경로는 같습니다. / "
                  "smoke mode: less data and fewer epochs, same code path.")
    return device
