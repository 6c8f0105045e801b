"""VGG (Simonyan & Zisserman, 2014): the paper's configurations A–E as data, one builder, one-line constructors.

Module layout and ``state_dict`` keys match ``torchvision.models.vgg`` exactly (``features.N``, ``avgpool``,
``classifier.N``), so torchvision's weights load with ``strict=True``. Configuration C (with 1×1 convolutions) is
not in torchvision; it is built the same way. :func:`vgg_cifar` is the 32×32 variant the training lesson trains.
"""

from __future__ import annotations

from typing import Callable, Sequence, Union

import torch
from torch import nn

from .errors import UsageError, bilingual, josa

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
