"""VGG (Simonyan & Zisserman, 2014): the paper's configurations A–E as data, one builder, one-line constructors.

Module layout and ``state_dict`` keys match ``torchvision.models.vgg`` exactly (``features.N``, ``avgpool``,
``classifier.N``), so torchvision's weights load with ``strict=True``. Configuration C (with 1×1 convolutions) is
not in torchvision; it is built the same way. :func:`vgg_cifar` is the 32×32 variant the training lesson trains.

**Pretrained weights** (lesson 04), like torchvision's own ``VGG16_BN_Weights.IMAGENET1K_V1`` (URL, file name,
classes, preprocessing), but read here rather than by torch.hub's loader, which trusts whatever sits in its cache:

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
from typing import Callable, Sequence, Union
from urllib.parse import urlparse

import torch
from torch import nn

from .env import is_smoke
from .errors import PretrainedWeightsError, UsageError, bilingual, cause, josa, particle, smoke_note

#: ``int`` = 3×3 conv with that many output channels, ``(channels, kernel)`` = a conv with another kernel size
#: (configuration C's 1×1 convs), ``"M"`` = 2×2 max pooling with stride 2.
LayerSpec = Union[int, tuple[int, int], str]

#: Table 1 of the paper. A: 11 weight layers, B: 13, C: 16 (with 1×1 convs), D: 16, E: 19.
CFGS: dict[str, list[LayerSpec]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "C": [64, 64, "M", 128, 128, "M", 256, 256, (256, 1), "M", 512, 512, (512, 1), "M", 512, 512, (512, 1), "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
#: Five poolings ending in 512 channels like VGG, tiny: for tests and quick CPU runs only.
TINY_CFG: list[LayerSpec] = [8, "M", 16, "M", 32, "M", 64, "M", 512, "M"]


def _cfg(cfg: Union[str, Sequence[LayerSpec]]) -> list[LayerSpec]:
    if not isinstance(cfg, str):
        return list(cfg)
    if cfg.upper() not in CFGS:
        raise UsageError(bilingual(f"알 수 없는 구성(configuration) '{cfg}'입니다. A, B, C, D, E 중 하나를 고르세요.",
                                   f"Unknown configuration '{cfg}': choose one of A, B, C, D, E."))
    return list(CFGS[cfg.upper()])


def make_layers(cfg: Union[str, Sequence[LayerSpec]], batch_norm: bool = False, in_channels: int = 3) -> nn.Sequential:
    """The convolutional part (``features``) of a VGG: conv (padding ``kernel // 2``) [+ BatchNorm2d] + ReLU per
    number, ``MaxPool2d(2, 2)`` per ``"M"``. Only pooling changes the spatial size."""
    layers: list[nn.Module] = []
    for spec in _cfg(cfg):
        if spec == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        if isinstance(spec, tuple):
            out_channels, kernel = spec
        elif isinstance(spec, int) and not isinstance(spec, bool):
            out_channels, kernel = spec, 3
        else:
            raise UsageError(bilingual(
                f"구성 항목 {josa(repr(spec), '을')} 이해할 수 없습니다: 정수, (채널, 커널) 튜플, 'M' 중 하나여야 "
                "합니다.",
                f"Cannot read configuration entry {spec!r}: use an int, a (channels, kernel) tuple or 'M'."))
        layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=kernel, padding=kernel // 2))
        layers += [nn.BatchNorm2d(out_channels)] if batch_norm else []
        layers.append(nn.ReLU(inplace=True))
        in_channels = out_channels
    return nn.Sequential(*layers)


def init_vgg_weights(model: nn.Module) -> None:
    """torchvision's VGG initialization: Kaiming for convs, N(0, 0.01) for linear layers, BN at 1 and 0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


def init_once(build: Callable[[], nn.Module]) -> nn.Module:
    """``build()`` made on ``meta``, then given CPU memory and :func:`init_vgg_weights`: the distributions of a
    constructor that initializes every layer twice (torchvision's ``vgg16_bn(weights=None)``), in half the time.

    Only convolutions, batch norms and linear layers may hold tensors: anything else would keep uninitialized memory.
    """
    with torch.device("meta"):
        model = build()
    odd = [name for name, m in model.named_modules() if not isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))
           and any(True for _ in [*m.parameters(recurse=False), *m.buffers(recurse=False)])]
    if odd:
        raise TypeError(f"init_once: {odd} hold tensors that init_vgg_weights does not fill")
    model.to_empty(device="cpu")
    init_vgg_weights(model)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
    return model


class VGG(nn.Module):
    """VGG with the paper's head, 512×7×7 → 4096 → 4096 → ``num_classes``; torchvision's attributes and keys.

    ``image_size=32`` (the CIFAR variant) ends the features at 512×1×1, drops the average pooling, and makes the
    head 512 → ``hidden`` → ``hidden`` → ``num_classes``.
    """

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5, image_size: int = 224, hidden: int = 4096) -> None:
        super().__init__()
        if image_size not in (224, 32):
            raise UsageError(bilingual(f"image_size는 224(ImageNet) 또는 32(CIFAR)여야 합니다 (받은 값: {image_size}).",
                                       f"image_size must be 224 (ImageNet) or 32 (CIFAR), got {image_size}."))
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7)) if image_size == 224 else nn.Identity()
        flat = 512 * 7 * 7 if image_size == 224 else 512
        # init_vgg_weights fills these, so they start empty: filling fc6's 103 M weights twice costs ~0.7 s on a CPU.
        # On the device being built on (a `with torch.device("meta"):` build stays on meta).
        where = torch.get_default_device()
        linear = (lambda i, o: nn.utils.skip_init(nn.Linear, i, o, device=where)) if init_weights else nn.Linear
        self.classifier = nn.Sequential(linear(flat, hidden), nn.ReLU(True), nn.Dropout(p=dropout),
                                        linear(hidden, hidden), nn.ReLU(True), nn.Dropout(p=dropout),
                                        linear(hidden, num_classes))
        if init_weights:
            init_vgg_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def vgg(cfg: Union[str, Sequence[LayerSpec]] = "D", batch_norm: bool = False, num_classes: int = 1000, **kw) -> VGG:
    """A VGG of configuration ``cfg`` ("A"–"E" or a list); keyword arguments go to :class:`VGG`."""
    return VGG(make_layers(cfg, batch_norm=batch_norm), num_classes=num_classes, **kw)


def vgg11(num_classes: int = 1000, **kw) -> VGG:
    return vgg("A", False, num_classes, **kw)


def vgg11_bn(num_classes: int = 1000, **kw) -> VGG:
    return vgg("A", True, num_classes, **kw)


def vgg13(num_classes: int = 1000, **kw) -> VGG:
    return vgg("B", False, num_classes, **kw)


def vgg13_bn(num_classes: int = 1000, **kw) -> VGG:
    return vgg("B", True, num_classes, **kw)


def vgg16(num_classes: int = 1000, **kw) -> VGG:
    return vgg("D", False, num_classes, **kw)


def vgg16_bn(num_classes: int = 1000, **kw) -> VGG:
    return vgg("D", True, num_classes, **kw)


def vgg19(num_classes: int = 1000, **kw) -> VGG:
    return vgg("E", False, num_classes, **kw)


def vgg19_bn(num_classes: int = 1000, **kw) -> VGG:
    return vgg("E", True, num_classes, **kw)


def vgg_cifar(cfg: Union[str, Sequence[LayerSpec]] = "D", batch_norm: bool = True, num_classes: int = 10,
              hidden: int = 512, dropout: float = 0.5) -> VGG:
    """VGG for 32×32 images: five halvings leave 512×1×1, so fc6 takes 512 inputs and the hidden width is
    ``hidden``. VGG16-BN goes from 138 M to 15 M parameters, nearly all of the difference in fc6."""
    return VGG(make_layers(cfg, batch_norm=batch_norm), num_classes, dropout=dropout, image_size=32, hidden=hidden)


def conv_layer_names(cfg: Union[str, Sequence[LayerSpec]]) -> list[str]:
    """The paper's names for a configuration's layers: conv1_1, conv1_2, pool1, conv2_1, …"""
    names, block, index = [], 1, 0
    for spec in _cfg(cfg):
        if spec == "M":
            names.append(f"pool{block}")
            block, index = block + 1, 0
        else:
            index += 1
            names.append(f"conv{block}_{index}")
    return names


#: What the training lesson and ``python -m vgg_teach.train --model`` train: name → factory(num_classes).
CIFAR_MODELS: dict[str, Callable[[int], nn.Module]] = {
    "vgg16_bn_cifar": lambda n: vgg_cifar("D", batch_norm=True, num_classes=n),
    "vgg11_bn_cifar": lambda n: vgg_cifar("A", batch_norm=True, num_classes=n),
    "vgg_tiny_cifar": lambda n: vgg_cifar(TINY_CFG, batch_norm=True, num_classes=n, hidden=64),
}


def build_model(name: str = "vgg16_bn_cifar", num_classes: int = 10) -> nn.Module:
    """A fresh model of :data:`CIFAR_MODELS` (``vgg16_bn_cifar`` is VGG16-BN for 32×32 images)."""
    if name not in CIFAR_MODELS:
        raise UsageError(bilingual(f"알 수 없는 모델 '{name}'입니다. 다음 중 하나를 고르세요: "
                                   f"{', '.join(CIFAR_MODELS)}",
                                   f"Unknown model '{name}'. Choose one of: {', '.join(CIFAR_MODELS)}"))
    return CIFAR_MODELS[name](num_classes)


# -- torchvision's ImageNet-pretrained VGG16-BN (lesson 04), hash-checked, or a loud stand-in -------------------------


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
                "점검(smoke) 모드에서는 가중치를 내려받지 않는데, 이 호출은 대체 모델을 요청하지 "
                "않았습니다(stand_in=True가 아님). 이대로라면 인터넷이 없는 학습자의 노트북도 여기서 멈춥니다: "
                "레슨에서는 load_vgg16_bn_pretrained(stand_in=True)를 쓰세요.",
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
        why_ko, why_en = ((f"저장된 파일의 체크섬(SHA-256)이 파일 이름에 적힌 해시 앞자리 "
                           f"{prefix}{particle(prefix, '와')} 맞지 않아 쓰지 않았고, 새로 내려받지도 못했습니다",
                           f"the saved file's checksum (SHA-256) does not match the "
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
