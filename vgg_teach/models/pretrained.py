"""ImageNet-pretrained VGG16-BN from torchvision, with learner-sized errors and a loud smoke-mode stand-in.

:func:`load_vgg16_bn_pretrained` always goes through torchvision's own call,
``torchvision.models.vgg16_bn(weights=VGG16_BN_Weights.IMAGENET1K_V1)``, which downloads the weights
(528 MB) once into ``torch.hub.get_dir()/checkpoints/vgg16_bn-6c64b313.pth`` and afterwards loads
them from there. What it adds is for learners:

- in smoke mode (``VGG_TEACH_SMOKE=1``, the test suite) with no cached file it does not download:
  it builds the same model with random weights and says so loudly;
- otherwise a failed download or a broken cached file becomes one clear Korean/English message
  saying what happened and what to do, instead of a long traceback from inside torch.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from urllib.parse import urlparse

import torch

from ..env import is_smoke
from ..errors import PretrainedWeightsError, bilingual, smoke_note

__all__ = ["PretrainedWeightsError", "weights_path", "weights_cached", "load_vgg16_bn_pretrained"]


def _default_weights():
    from torchvision.models import VGG16_BN_Weights
    return VGG16_BN_Weights.IMAGENET1K_V1


def weights_path(weights=None) -> Path:
    """Where torchvision keeps ``weights`` (default VGG16-BN ImageNet): ``<hub dir>/checkpoints/<file>``."""
    weights = weights or _default_weights()
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(weights.url).path)


def weights_cached(weights=None) -> bool:
    """True when the weights file is already on this machine (no download needed)."""
    return weights_path(weights).is_file()


def load_vgg16_bn_pretrained(progress: bool = True):
    """``(model, weights)``: torchvision's VGG16-BN with ImageNet weights, and the weights' description.

    ``weights.meta["categories"]`` holds the 1,000 class names, ``weights.meta["_metrics"]`` the
    published accuracy (acc@1 73.36 %), ``weights.transforms()`` the matching preprocessing.
    In smoke mode without a cached file the model has random weights (a note says so).
    Raises :class:`PretrainedWeightsError` when the weights can neither be downloaded nor read.
    """
    import torchvision

    weights = _default_weights()
    path = weights_path(weights)
    if is_smoke() and not path.is_file():
        print(smoke_note(*(text.format(path=path) for text in _SMOKE_NOTE)), flush=True)
        return torchvision.models.vgg16_bn(weights=None), weights
    was_cached = path.is_file()
    try:
        model = torchvision.models.vgg16_bn(weights=weights, progress=progress)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as err:  # URLError is an OSError
        # ``from None``: the message below says everything; torch's internals would only bury it.
        raise PretrainedWeightsError(_failure_message(err, path, weights.url, was_cached)) from None
    return model, weights


_SMOKE_NOTE = (
    "점검(smoke) 모드: 사전 학습된 가중치 파일이 없어 내려받지 않고 무작위 가중치로 대신합니다. 아래 예측과 "
    "정확도는 의미가 없습니다. 실제 가중치는 {path} 에 저장됩니다.",
    "Smoke mode: no pretrained weights file, so instead of downloading it the model gets RANDOM weights. "
    "The predictions and accuracies below mean nothing. Real weights live at {path}.",
)


def _failure_message(err: BaseException, path: Path, url: str, was_cached: bool) -> str:
    cause = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
    if was_cached:
        return bilingual(
            f"저장된 가중치 파일 {path} 을(를) 읽지 못했습니다 ({cause}). 내려받다 끊겼거나 손상된 파일입니다. "
            "이 파일을 지우고 셀을 다시 실행하면 새로 내려받습니다.",
            f"Could not read the saved weights file {path} ({cause}). It is broken or an interrupted "
            "download. Delete this file and run the cell again to download it afresh.",
        )
    return bilingual(
        f"사전 학습된 VGG16-BN 가중치(528 MB)를 내려받지 못했습니다 ({cause}). 인터넷 연결을 확인하고 다시 "
        f"실행하세요. 인터넷이 막혀 있다면 다른 컴퓨터에서 {url} 을(를) 받아 정확히 이 경로에 두세요: {path} . "
        "Colab이라면 런타임을 다시 연결한 뒤 이 셀을 다시 실행하세요.",
        f"Could not download the pretrained VGG16-BN weights (528 MB) ({cause}). Check the internet "
        f"connection and run again. Without internet access, download {url} on another computer and put "
        f"it at exactly this path: {path} . On Colab, reconnect the runtime and re-run this cell.",
    )
