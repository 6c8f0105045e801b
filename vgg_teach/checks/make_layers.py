"""The check of the config-driven builder ``make_layers(cfg, batch_norm=False)``.

Judged by *behavior*, not by ``repr``: the learner's ``features`` for configurations A–E, with and
without batch norm, are run on the ``meta`` device (shapes only, instant) and the ops they compute
are compared with those of :func:`vgg_teach.models.make_layers` (torchvision's layout), op by op
(:func:`~vgg_teach.checks.trace.op_signature`: ``padding="same"`` is ``padding=1``, ``F.relu`` is
``nn.ReLU``, a ReLU module shared by every layer is fine); then the ``state_dict`` keys, so that
torchvision's weights load. A builder returning something that cannot be called (``nn.ModuleList``,
a list) is refused. The first difference is named by where it is — ``features[16]`` (conv3_3) — and,
when it matches a known slip, by the slip: batch norm after the ReLU, ``batch_norm=True`` ignored,
configuration C's 1×1 convolutions dropped, read as 3×3 or as pooling, or its ``(channels, kernel)``
tuples read as ``(kernel, channels)``, ``MaxPool2d(3)`` (kernel 3 also means stride 3).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

import torch
from torch import nn

from ..models import CFGS, LayerSpec, conv_layer_names
from ..models import make_layers as reference_make_layers
from .feedback import CheckResult, describe_exception, exception_hint, is_stub, never_raises
from .trace import OpEvent, Recording, conv_geometry, describe_op, op_signature, pool_geometry, record_ops

__all__ = ["check_make_layers"]

_RULE = ("'M'은 MaxPool2d(2, 2), 정수는 3×3 합성곱(padding=1) + [BN] + ReLU, (채널, 커널) 튜플은 그 커널 크기의 "
         "합성곱(padding=커널//2) + [BN] + ReLU입니다.",
         "'M' is MaxPool2d(2, 2); an int is a 3×3 conv (padding=1) + [BN] + ReLU; a (channels, kernel) tuple is a "
         "conv of that kernel size (padding=kernel//2) + [BN] + ReLU.")
_TUPLES = ("구성 C에는 (256, 1) 같은 튜플이 있습니다: (채널, 커널) 순서로, 출력 채널 256개에 1×1 커널인 합성곱입니다. "
           "out_channels, kernel = spec으로 풀어서 nn.Conv2d(in_channels, out_channels, kernel_size=kernel, "
           "padding=kernel // 2)를 만드세요.",
           "Configuration C has tuples like (256, 1): (channels, kernel), a conv with 256 output channels and a 1×1 "
           "kernel. Unpack it with out_channels, kernel = spec and build nn.Conv2d(in_channels, out_channels, "
           "kernel_size=kernel, padding=kernel // 2).")


def _meta_input() -> torch.Tensor:
    return torch.empty(1, 3, 224, 224, device="meta")


@lru_cache(maxsize=None)
def _reference(key: str, batch_norm: bool) -> tuple[tuple[OpEvent, ...], tuple[str, ...], tuple[Any, ...]]:
    """(ops, paper names, the configuration entry of each op) of the reference features."""
    with torch.device("meta"):
        ref = reference_make_layers(CFGS[key], batch_norm=batch_norm)
    events = record_ops(ref, _meta_input(), root="features").events
    names, specs = [], []
    for spec, name in zip(CFGS[key], conv_layer_names(key)):
        n_ops = 1 if spec == "M" else (3 if batch_norm else 2)
        names += [name] + ([f"bn{name[4:]}"] if n_ops == 3 else []) + ([f"relu{name[4:]}"] if n_ops > 1 else [])
        specs += [spec] * n_ops
    return tuple(events), tuple(names), tuple(specs)


def _build(result: CheckResult, make_layers: Callable[..., Any], key: str, batch_norm: bool,
           label: tuple[str, str]) -> nn.Module | None:
    cfg: list[LayerSpec] = list(CFGS[key])
    try:
        with torch.device("meta"):
            ours = make_layers(cfg, batch_norm=True) if batch_norm else make_layers(cfg)
    except Exception as exc:  # noqa: BLE001 - explained below, never raised
        if is_stub(exc):
            raise
        if isinstance(exc, TypeError) and batch_norm and "batch_norm" in str(exc):
            result.fail("make_layers가 batch_norm 인자를 받지 않습니다.",
                        "make_layers does not take a batch_norm argument.",
                        "def make_layers(cfg, batch_norm=False): 로 정의하세요.",
                        "Define it as def make_layers(cfg, batch_norm=False):.")
            return None
        ko, en = describe_exception(exc)
        hint = _TUPLES if any(isinstance(s, tuple) for s in cfg) else exception_hint(exc)
        result.fail(f"{label[0]}을(를) 만들다가 실패했습니다. {ko}", f"Building {label[1]} failed. {en}", *hint)
        return None
    if isinstance(ours, nn.ModuleList):
        result.fail("make_layers가 nn.ModuleList를 돌려줍니다: 계층을 담고 있지만 호출할 수 없어서(forward가 없음) "
                    "model.features(x)가 실패합니다.",
                    "make_layers returns an nn.ModuleList: it holds the layers but cannot be called (it has no "
                    "forward), so model.features(x) fails.",
                    "계층 리스트를 nn.Sequential(*layers)로 감싸서 돌려주세요.", "Return nn.Sequential(*layers).")
        return None
    if not isinstance(ours, nn.Module):
        result.fail(f"make_layers가 nn.Module이 아니라 {type(ours).__name__}을(를) 돌려줍니다.",
                    f"make_layers returns a {type(ours).__name__}, not an nn.Module.",
                    "계층 리스트를 nn.Sequential(*layers)로 감싸서 돌려주세요.", "Return nn.Sequential(*layers).")
        return None
    return ours


def _slip(mine: list[OpEvent], i: int, ref_sigs: tuple[tuple[Any, ...], ...], spec: Any) -> tuple[str, str] | None:
    """A (ko, en) hint naming the known slip behind the first difference at op ``i``, if it is one."""
    a = mine[i] if i < len(mine) else None
    b = ref_sigs[i]
    count = (lambda sigs, name: sum(s[0] == name for s in sigs))
    my_sigs = [op_signature(e) for e in mine]
    if b[0] == "batch_norm" and a is not None and a.name == "relu":
        if i + 1 < len(mine) and mine[i + 1].name == "batch_norm":
            return ("배치 정규화를 ReLU 뒤에 두었습니다: torchvision의 vgg16_bn(과 논문의 BN 변형)은 합성곱 → "
                    "BatchNorm2d → ReLU 순서입니다.",
                    "Batch norm comes after the ReLU: torchvision's vgg16_bn (and the paper's BN variant) is conv → "
                    "BatchNorm2d → ReLU.")
        if count(my_sigs, "batch_norm") == 0:
            return ("batch_norm=True인데 BatchNorm2d가 하나도 없습니다: 합성곱마다 뒤에 nn.BatchNorm2d(출력 채널)을 "
                    "넣으세요.",
                    "batch_norm=True but there is no BatchNorm2d at all: put nn.BatchNorm2d(out_channels) after "
                    "every conv.")
    if isinstance(spec, tuple) and b[0] == "conv2d":
        channels, kernel = spec
        if a is not None and a.name == "conv2d":
            g = conv_geometry(a)
            if (g["out"], g["kernel"]) == (kernel, (channels, channels)):
                return (f"튜플 {spec}을(를) (커널, 채널)로 읽었습니다: 이 강좌의 튜플은 (채널, 커널)입니다 — 출력 채널 "
                        f"{channels}개, {kernel}×{kernel} 커널.",
                        f"The tuple {spec} was read as (kernel, channels): the course's tuples are (channels, "
                        f"kernel) — {channels} output channels, a {kernel}×{kernel} kernel.")
            if g["out"] == channels and g["kernel"] != (kernel, kernel):
                return (f"튜플 {spec}의 커널 크기({kernel})를 쓰지 않고 {g['kernel'][0]}×{g['kernel'][1]} 합성곱을 "
                        "만들었습니다: 튜플의 둘째 값이 커널 크기입니다.",
                        f"The kernel size of the tuple {spec} ({kernel}) is ignored: a {g['kernel'][0]}×"
                        f"{g['kernel'][1]} conv was built. The tuple's second value is the kernel size.")
        if count(my_sigs, "max_pool2d") > count(ref_sigs, "max_pool2d"):
            return (f"튜플 {spec}이(가) 풀링이 되었습니다: 풀링은 'M'뿐이고, 튜플은 (채널, 커널) 합성곱입니다.",
                    f"The tuple {spec} became a pooling layer: only 'M' is pooling; a tuple is a (channels, kernel) "
                    "conv.")
        if count(my_sigs, "conv2d") < count(ref_sigs, "conv2d"):
            return (f"구성 C의 1×1 합성곱({spec} 같은 튜플)이 빠졌습니다: 튜플도 (채널, 커널) 합성곱입니다.",
                    f"Configuration C's 1×1 convs (tuples like {spec}) are missing: a tuple is a (channels, kernel) "
                    "conv too.")
    if b[0] == "max_pool2d" and a is not None and a.name == "max_pool2d":
        g = pool_geometry(a)
        k = g["kernel"][0]
        if g["stride"] == g["kernel"] and k != 2:
            return (f"MaxPool2d({k})는 커널 {k}, 보폭 {k}입니다(보폭을 주지 않으면 커널 크기와 같음): "
                    f"크기가 반이 아니라 1/{k}로 줄어듭니다. nn.MaxPool2d(kernel_size=2, stride=2)를 쓰세요.",
                    f"MaxPool2d({k}) means kernel {k} and stride {k} (the stride defaults to the kernel size): it "
                    f"divides the size by {k}, not 2. Use nn.MaxPool2d(kernel_size=2, stride=2).")
    if b[0] == "conv2d" and a is not None and a.name == "conv2d":
        g, want_pad = conv_geometry(a), b[5]
        if g["padding"] != want_pad and g["kernel"] == b[3]:
            return (f"패딩이 {g['padding']}입니다: 크기를 유지하려면 padding = 커널 // 2 (3×3이면 1, 1×1이면 0; "
                    "padding='same'도 됩니다)여야 합니다.",
                    f"The padding is {g['padding']}: to keep the size it must be kernel // 2 (1 for 3×3, 0 for 1×1; "
                    "padding='same' works too).")
    return None


def _compare(result: CheckResult, rec: Recording, key: str, batch_norm: bool, label: tuple[str, str]) -> bool:
    """Op by op against the reference; ❌ at the first difference, or at the crash. True when all agree."""
    ref_events, names, specs = _reference(key, batch_norm)
    ref_sigs = tuple(op_signature(e) for e in ref_events)
    mine = rec.events
    for i, want in enumerate(ref_sigs):
        if i >= len(mine):
            if rec.error is not None:  # it crashed before this op: explain with what it was about to do
                ko, en = describe_exception(rec.error)
                at = rec.failed.module if rec.failed is not None else "?"
                result.fail(f"{label[0]}: {at}에서 실패했습니다 ({names[i]} 자리). {ko}",
                            f"{label[1]}: failed at {at} (where {names[i]} goes). {en}", *_RULE)
            else:
                result.fail(f"{label[0]}: {names[i]}부터 계층이 없습니다 "
                            f"(연산 {len(mine)}개, {len(ref_sigs)}개여야 함).",
                            f"{label[1]}: the layers stop before {names[i]} ({len(mine)} ops, expected "
                            f"{len(ref_sigs)}).", *_RULE)
            return False
        if op_signature(mine[i]) != want:
            a, ref_event = mine[i], ref_events[i]
            hint = _slip(mine, i, ref_sigs, specs[i]) or _RULE
            result.fail(f"{label[0]}: {a.module}({names[i]} 자리)이 {describe_op(a)}입니다. "
                        f"{describe_op(ref_event)}이어야 합니다.",
                        f"{label[1]}: {a.module} (where {names[i]} goes) is {describe_op(a)}, expected "
                        f"{describe_op(ref_event)}.", *hint)
            return False
    if len(mine) > len(ref_sigs):
        extra = mine[len(ref_sigs)]
        result.fail(f"{label[0]}: pool5 뒤에 계층이 더 있습니다: {extra.module} {describe_op(extra)}.",
                    f"{label[1]}: there are more layers after pool5: {extra.module} {describe_op(extra)}.", *_RULE)
        return False
    return True


@never_raises("check_make_layers")
def check_make_layers(result: CheckResult, make_layers: Callable[..., nn.Module]) -> CheckResult:
    """Does the learner's ``make_layers(cfg, batch_norm=False)`` build configurations A–E right?

    Compared by behavior with :func:`vgg_teach.models.make_layers` (torchvision's layout), with and
    without batch norm, then by ``state_dict`` keys; everything runs on the ``meta`` device.
    """
    if result.not_a_function(make_layers):
        return result
    for batch_norm in (False, True):
        for key in "ABCDE":
            bn = " + BN" if batch_norm else ""
            label = (f"구성 {key}{bn}", f"configuration {key}{bn}")
            ours = _build(result, make_layers, key, batch_norm, label)
            if ours is None:
                return result
            rec = record_ops(ours, _meta_input(), root="features")
            if rec.error is not None and is_stub(rec.error):
                raise rec.error
            if not _compare(result, rec, key, batch_norm, label):
                return result
            with torch.device("meta"):
                ref_keys = list(reference_make_layers(CFGS[key], batch_norm=batch_norm).state_dict())
            my_keys = list(ours.state_dict())
            if my_keys != ref_keys:
                first = next((i for i, (a, b) in enumerate(zip(my_keys, ref_keys)) if a != b), min(len(my_keys),
                                                                                                    len(ref_keys)))
                mine_k = my_keys[first] if first < len(my_keys) else "—"
                ref_k = ref_keys[first] if first < len(ref_keys) else "—"
                result.fail(f"{label[0]}: 계산은 같지만 state_dict 키가 torchvision과 다릅니다 (여러분: {mine_k}, "
                            f"torchvision: {ref_k}).",
                            f"{label[1]}: it computes the same, but the state_dict keys differ from torchvision's "
                            f"(yours: {mine_k}, torchvision's: {ref_k}).",
                            "층을 하나의 nn.Sequential에 순서대로 담으면 키가 0.weight, 2.weight … 처럼 맞습니다.",
                            "Put the layers in one flat nn.Sequential, in order, so keys match torchvision's "
                            "(0.weight, 2.weight …).")
                return result
    result.ok("구성 A–E 모두 배치 정규화가 있든 없든 torchvision과 계층 하나하나가 같은 계산을 하고 "
              "state_dict 키도 같습니다.",
              "Configurations A–E, with and without batch norm, compute what torchvision's do, layer by layer, with "
              "the same state_dict keys.")
    return result
