"""The check of the config-driven builder ``make_layers(cfg, batch_norm=False)``."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..models import CFGS
from ..models import make_layers as reference_make_layers
from .feedback import CheckResult, never_raises

__all__ = ["check_make_layers"]


def _describe_layer(m: nn.Module) -> str:
    if isinstance(m, nn.Conv2d):
        return (f"Conv2d({m.in_channels}, {m.out_channels}, kernel_size={m.kernel_size}, "
                f"stride={m.stride}, padding={m.padding}, bias={m.bias is not None})")
    if isinstance(m, nn.MaxPool2d):
        return f"MaxPool2d(kernel_size={m.kernel_size}, stride={m.stride}, padding={m.padding})"
    if isinstance(m, nn.BatchNorm2d):
        return f"BatchNorm2d({m.num_features})"
    return type(m).__name__


@never_raises("check_make_layers")
def check_make_layers(result: CheckResult, make_layers: Callable[..., nn.Module]) -> CheckResult:
    """Does the learner's ``make_layers(cfg, batch_norm=False)`` build configurations A–E right?

    Compares, layer by layer, with :func:`vgg_teach.models.make_layers` (the same layout as
    torchvision's), with and without batch norm; models are built on the "meta" device, so the
    check is instant.
    """
    for batch_norm in (False, True):
        for key in "ABCDE":
            with torch.device("meta"):
                try:
                    cfg = list(CFGS[key])
                    ours = make_layers(cfg, batch_norm=True) if batch_norm else make_layers(cfg)
                except NotImplementedError:
                    raise
                except TypeError as exc:
                    if batch_norm and "batch_norm" in str(exc):
                        result.fail("make_layers가 batch_norm 인자를 받지 않습니다.",
                                    "make_layers does not take a batch_norm argument.",
                                    "def make_layers(cfg, batch_norm=False): 로 정의하세요.",
                                    "Define it as def make_layers(cfg, batch_norm=False):.")
                        return result
                    raise
                ref = reference_make_layers(CFGS[key], batch_norm=batch_norm)
            if not isinstance(ours, nn.Module):
                result.fail(f"make_layers가 nn.Module이 아니라 {type(ours).__name__}을(를) 돌려줍니다.",
                            f"make_layers returns a {type(ours).__name__}, not an nn.Module.",
                            "층 리스트를 nn.Sequential(*layers)로 감싸서 돌려주세요.",
                            "Return nn.Sequential(*layers).")
                return result
            mine = [m for m in ours.modules() if not list(m.children())]
            theirs = [m for m in ref.modules() if not list(m.children())]
            label = f"구성 {key}{' + BN' if batch_norm else ''}", f"configuration {key}{' + BN' if batch_norm else ''}"
            for idx, (a, b) in enumerate(zip(mine, theirs)):
                if _describe_layer(a) != _describe_layer(b):
                    result.fail(f"{label[0]}: {idx}번째 계층이 {_describe_layer(a)}입니다. "
                                f"{_describe_layer(b)}이어야 합니다.",
                                f"{label[1]}: layer {idx} is {_describe_layer(a)}, expected {_describe_layer(b)}.",
                                "'M'은 MaxPool2d(2, 2), 정수는 3×3 합성곱(padding=1) + [BN] + ReLU, "
                                "(채널, 커널) 튜플은 그 커널 크기의 합성곱(padding=커널//2)입니다.",
                                "'M' is MaxPool2d(2, 2); an int is a 3×3 conv (padding=1) + [BN] + ReLU; "
                                "a (channels, kernel) tuple is a conv of that kernel size (padding=kernel//2).")
                    return result
            if len(mine) != len(theirs):
                result.fail(f"{label[0]}: 계층이 {len(mine)}개입니다 ({len(theirs)}개여야 함).",
                            f"{label[1]}: {len(mine)} layers, expected {len(theirs)}.")
                return result
            keys_ok = list(ours.state_dict().keys()) == list(ref.state_dict().keys())
            if not keys_ok:
                result.fail(f"{label[0]}: state_dict 키가 torchvision과 다릅니다.",
                            f"{label[1]}: state_dict keys differ from torchvision's.",
                            "층을 하나의 nn.Sequential에 순서대로 담으면 키가 features.0, features.2 … 처럼 맞습니다.",
                            "Put the layers in one flat nn.Sequential so keys match torchvision's.")
                return result
    result.ok("구성 A–E 모두, 배치 정규화 있이/없이, torchvision과 계층 하나하나가 같습니다.",
              "Configurations A–E, with and without batch norm, match torchvision layer by layer.")
    return result
