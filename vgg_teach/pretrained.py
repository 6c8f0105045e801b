"""torchvision's ImageNet-pretrained VGG16-BN (lesson 04), loaded safely, or a loud stand-in with random weights.

torchvision's own weights (``VGG16_BN_Weights.IMAGENET1K_V1``: URL, file name, classes, preprocessing), but read
here rather than by torch.hub's loader, which trusts whatever sits in its cache:

- the file's SHA-256 must start with the 8 hex digits in its name (``vgg16_bn-6c64b313.pth``), checked for a cached
  file too; a file that does not match is never used: downloaded afresh, or (offline) refused with what to do;
- it is read with ``torch.load(weights_only=True)`` (nothing in it can run) into ``vgg16_bn(weights=None)``,
  ``strict=True``.

Without a usable file, smoke mode (the test suite) and ``stand_in=True`` (a lesson offline) give the same model
with random weights and say so in a box that is hard to miss; :func:`is_stand_in` tells it apart.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import urlparse

import torch

from .env import is_smoke
from .errors import PretrainedWeightsError, bilingual, cause, particle, smoke_note
from .models import init_once


def _default_weights():
    from torchvision.models import VGG16_BN_Weights  # torchvision is heavy: only when weights are asked for

    return VGG16_BN_Weights.IMAGENET1K_V1


def weights_path(weights=None) -> Path:
    """Where torch.hub keeps ``weights`` (default VGG16-BN's): ``<hub dir>/checkpoints/<file>``."""
    weights = weights or _default_weights()
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(weights.url).path)


def weights_cached(weights=None) -> bool:
    """True when the weights file is already on this machine (not yet checked)."""
    return weights_path(weights).is_file()


def expected_sha256_prefix(path: Path) -> str:
    """The start of the SHA-256 a weights file's name promises: ``vgg16_bn-6c64b313.pth`` → ``6c64b313``."""
    found = torch.hub.HASH_REGEX.search(Path(path).name)
    return found.group(1) if found else ""


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read in 1 MiB pieces (about 0.4 s for VGG16-BN's 528 MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while piece := f.read(1 << 20):
            digest.update(piece)
    return digest.hexdigest()


def is_stand_in(model) -> bool:
    """True for a model :func:`load_vgg16_bn_pretrained` gave random weights."""
    return bool(getattr(model, "_vgg_teach_stand_in", False))


def load_vgg16_bn_pretrained(progress: bool = True, stand_in: bool = False):
    """``(model, weights)``: VGG16-BN with ImageNet weights, and their description.

    ``weights.meta["categories"]`` holds the 1,000 class names, ``weights.meta["_metrics"]`` the published accuracy,
    ``weights.transforms()`` the matching preprocessing. Raises :class:`PretrainedWeightsError` when the weights
    can be neither downloaded nor read, unless ``stand_in`` (then random weights, with the reason in a box).
    """
    weights = _default_weights()
    path = weights_path(weights)
    prefix = expected_sha256_prefix(path)
    mismatch = path.is_file() and not sha256_of(path).startswith(prefix)
    if is_smoke() and (mismatch or not path.is_file()):  # never downloads: like offline, only a stand-in goes on
        if not stand_in:
            raise PretrainedWeightsError(bilingual(
                "점검(smoke) 모드에서는 가중치를 내려받지 않는데, 이 호출은 대체 모델(stand_in=True)을 청하지 "
                "않았습니다. "
                "인터넷이 없는 학습자도 여기서 멈춥니다: 레슨에서는 load_vgg16_bn_pretrained(stand_in=True)를 쓰세요.",
                "Smoke mode never downloads the weights, and this call did not ask for a stand-in (stand_in=True): "
                "an offline learner would stop here too. In a lesson use load_vgg16_bn_pretrained(stand_in=True)."))
        ko = (f"점검(smoke) 모드: 사전 학습된 가중치 파일이 없어 내려받지 않고 무작위 가중치로 대신합니다. 아래 예측과 "
              f"정확도는 의미가 없습니다. 실제 가중치는 {path} 에 저장됩니다.")
        en = ("Smoke mode: no pretrained weights file, so instead of downloading it the model gets RANDOM weights. "
              f"The predictions and accuracies below mean nothing. Real weights live at {path}.")
        if mismatch:
            ko += f" ({path} 에 파일이 있지만 체크섬(SHA-256)이 맞지 않아 쓰지 않았습니다.)"
            en += f" (A file is at {path}, but its checksum (SHA-256) does not match, so it is not used.)"
        print(smoke_note(ko, en), flush=True)
        return _random_weights(), weights
    try:
        if mismatch or not path.is_file():
            _download(weights.url, path, prefix, progress, mismatch)
        return _read(path), weights
    except PretrainedWeightsError as err:
        if not stand_in:
            raise
        why_ko, _, why_en = str(err).partition("\n")
        print(smoke_note(
            "대체 모델: 사전 학습된 가중치를 쓸 수 없어 무작위 가중치로 레슨을 이어 갑니다. 아래 예측과 정확도는 "
            "의미가 없지만, 모양·매개변수 수·연산량은 실제 모델과 같습니다. 실제 가중치가 내는 결과는 '기대 결과' 표에 "
            f"있습니다. 이유: {why_ko}",
            "Stand-in: the pretrained weights cannot be used, so the lesson goes on with RANDOM weights. The "
            "predictions and accuracies below mean nothing; shapes, parameter counts and FLOPs are the real model's. "
            f"The expected-results table says what the real weights give. Why: {why_en or why_ko}"), flush=True)
        return _random_weights(), weights


def _random_weights():
    import torchvision

    model = init_once(lambda: torchvision.models.vgg16_bn(weights=None))  # torchvision's init, filled once
    model._vgg_teach_stand_in = True
    return model


def _read(path: Path):
    """The verified file read with ``weights_only=True`` into VGG16-BN, every key present."""
    import torchvision

    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
        with torch.device("meta"):  # no random numbers that the file replaces at once (about 1 s on a CPU)
            model = torchvision.models.vgg16_bn(weights=None)
        model.load_state_dict(state_dict, strict=True, assign=True)
    except Exception as err:  # a broken file can make the weights-only unpickler fail in any way (IndexError …)
        raise PretrainedWeightsError(bilingual(
            f"저장된 가중치 파일 {path} {particle(path, '을')} 읽지 못했습니다 ({cause(err)}). VGG16-BN의 가중치만 "
            "담은 파일이 "
            "아닙니다(코드가 든 파일은 열지 않습니다). 이 파일을 지우고 셀을 다시 실행하면 새로 내려받습니다.",
            f"Could not read the saved weights file {path} ({cause(err)}). It does not hold VGG16-BN's "
            "weights only (a file with code in it is never opened). Delete this file and run the cell again "
            "to download it afresh.")) from None  # the message says everything; torch's internals would bury it
    return model


def _download(url: str, path: Path, prefix: str, progress: bool, mismatch: bool) -> None:
    """Download through torch.hub, which checks the SHA-256 prefix before the file is put in place."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(path), hash_prefix=prefix, progress=progress)
    except (OSError, RuntimeError, ValueError) as err:  # URLError is an OSError; a wrong hash a RuntimeError
        why_ko, why_en = ((f"저장된 파일의 체크섬(SHA-256)이 파일 이름의 {prefix} 와 맞지 않아 쓰지 않았고, 새로 "
                           "내려받지도 못했습니다", f"the saved file's checksum (SHA-256) does not match the "
                           f"{prefix} in its name, so it was not used, and downloading it afresh failed")
                          if mismatch else ("내려받지 못했습니다", "could not be downloaded"))
        raise PretrainedWeightsError(bilingual(
            f"사전 학습된 VGG16-BN 가중치(528 MB): {why_ko} ({cause(err)}). 인터넷 연결을 확인하고 다시 실행하세요. "
            f"인터넷이 막혀 있다면 다른 컴퓨터에서 {url} {particle(url, '을')} 받아 정확히 이 경로에 두세요: {path} "
            "(체크섬을 "
            "확인합니다). Colab이라면 런타임을 다시 연결한 뒤 이 셀을 다시 실행하세요.",
            f"The pretrained VGG16-BN weights (528 MB) {why_en} ({cause(err)}). Check the internet connection and "
            f"run again. Without internet access, download {url} on another computer and put it at exactly this "
            f"path: {path} (its checksum is checked). On Colab, reconnect the runtime and re-run this cell.",
        )) from None
