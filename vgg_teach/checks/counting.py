"""Lesson 02's checks: the learner's parameter formulas of a convolution and of a linear layer.

Each formula is called for every layer of configurations A–E (built on ``meta``: no memory), then for a few
layers from outside VGG, and compared with the real ``numel()``; the first wrong layer is named with the slip
it matches (:data:`.questions.CONV_SLIPS`, :data:`.questions.LINEAR_SLIPS`).
"""

from __future__ import annotations

import numbers
from typing import Any, Callable

import torch
from torch import nn

from ..counting import layer_names, leaf_layers
from ..errors import josa, particle
from ..models import CFGS, vgg, vgg_cifar
from . import CheckResult, describe_exception, is_stub, never_raises
from .questions import CONV_SLIPS, LINEAR_SLIPS

#: One layer to count: where it is (ko, en), the formula's arguments, its real ``numel()``.
_Case = tuple[str, str, tuple[int, ...], int]


def _args(m: nn.Module) -> tuple[int, ...]:
    return (m.in_channels, m.out_channels, m.kernel_size[0]) if isinstance(m, nn.Conv2d) else \
        (m.in_features, m.out_features)


def _numel(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def _as_count(value: Any) -> tuple[int | None, tuple[str, str] | None]:
    """``value`` as an int, or ``None`` and a (ko, en) reason it is not a whole number."""
    if value is None or isinstance(value, bool):
        return None, (f"{josa(repr(value), '을')} 돌려줍니다. 계산한 값을 return 하세요.",
                      f"It returns {value!r}: return the number you computed.")
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, numbers.Integral) or (isinstance(value, numbers.Real) and float(value).is_integer()):
        return int(value), None
    return None, (f"정수가 아닌 {value!r}({type(value).__name__}){particle(type(value).__name__, '을')} 돌려줍니다.",
                  f"It returns {value!r} ({type(value).__name__}), not a whole number.")


def _vgg_cases(kind: type[nn.Module]) -> list[_Case]:
    """Every layer of type ``kind`` in configurations A–E (1000 classes), with its paper-style name."""
    cases = []
    for key in CFGS:
        with torch.device("meta"):
            leaves = leaf_layers(vgg(key))
        cases += [(f"구성 {key}의 {name}", f"configuration {key}, {name}", _args(m), _numel(m))
                  for (_, m), name in zip(leaves, layer_names(leaves)) if isinstance(m, kind)]
    return cases


def _slip(fn: Callable[..., Any], cases: list[_Case], slips: list, got: int, args: tuple[int, ...]
          ) -> tuple[str, str] | None:
    """The slip behind a wrong count: the one that explains the learner's number at every layer it gets wrong
    (at conv1_1 k = C_in = 3, so "k instead of k·k" and "no C_in" give the same 640 there), else the first that
    explains this layer's."""
    wrong = []
    for _, _, other, numel in cases:
        try:
            value = _as_count(fn(*other))[0]
        except Exception:  # noqa: BLE001 - that layer's error is not the one being explained
            continue
        if value is not None and value != numel:
            wrong.append((value, other))
    fits = [(test, ko, en) for test, ko, en in slips if test(got, *args)]
    return next(((ko, en) for test, ko, en in fits if all(test(v, *a) for v, a in wrong)),
                fits[0][1:] if fits else None)


def _check_formula(result: CheckResult, fn: Callable[..., Any], name: str, arg_names: str,
                   groups: list[tuple[list[_Case], tuple[str, str]]], slips: list, formula: tuple[str, str]) -> None:
    """Call ``fn`` on every case of every group; one ✅ per group, or ❌ at the first wrong layer."""
    for cases, ok in groups:
        for where_ko, where_en, args, numel in cases:
            call = f"{name}({', '.join(map(str, args))})"
            try:
                value = fn(*args)
            except Exception as exc:  # noqa: BLE001 - say which layer made the learner's code fail
                if is_stub(exc):
                    raise
                ko, en = describe_exception(exc)
                result.fail(f"{where_ko}: {call} — {ko}", f"{where_en}: {call} — {en}",
                            f"함수는 정수 {josa(arg_names, '을')} 받아 정수 하나를 돌려주어야 합니다.",
                            f"The function takes the integers {arg_names} and returns one integer.")
                return
            got, problem = _as_count(value)
            if problem is not None:
                result.fail(f"{where_ko}: {call} — {problem[0]}", f"{where_en}: {call} — {problem[1]}", *formula)
                return
            if got != numel:
                hint = _slip(fn, cases, slips, got, args) or formula
                result.fail(f"{where_ko}: {call} = {got:,}이지만 실제 numel()은 {numel:,}입니다 "
                            f"(차이 {got - numel:+,}).",
                            f"{where_en}: {call} = {got:,}, but its numel() is {numel:,} (off by {got - numel:+,}).",
                            *hint)
                return
        result.ok(*ok)


@never_raises("check_conv_params")
def check_conv_params(result: CheckResult, conv_params: Callable[[int, int, int], int]) -> CheckResult:
    """Is ``conv_params(in_channels, out_channels, kernel_size)`` the parameter count of ``nn.Conv2d``?"""
    if result.not_a_function(conv_params, "conv_params"):
        return result
    cases = _vgg_cases(nn.Conv2d)
    shapes, first = len({c[2] for c in cases}), cases[0][3]
    extra = [(ko, en, args, _numel(nn.Conv2d(*args, device="meta"))) for args, ko, en in [
        ((64, 64, 5), "5×5 합성곱 (VGG 밖)", "a 5×5 conv (not in VGG)"),
        ((3, 64, 7), "7×7 합성곱 (ResNet의 첫 계층)", "a 7×7 conv (ResNet's first layer)"),
        ((16, 8, 1), "채널을 줄이는 1×1 합성곱", "a 1×1 conv that reduces channels")]]
    _check_formula(result, conv_params, "conv_params", "in_channels, out_channels, kernel_size", [
        (cases, (f"구성 A–E의 합성곱 {len(cases)}개(서로 다른 모양 {shapes}가지)가 모두 numel()과 같습니다 — "
                 f"예: conv1_1 = (3·3·3 + 1)·64 = {first:,}.",
                 f"All {len(cases)} convolutions of configurations A–E ({shapes} different shapes) equal their "
                 f"numel(), e.g. conv1_1 = (3·3·3 + 1)·64 = {first:,}.")),
        (extra, ("VGG 밖의 5×5, 7×7, 1×1 합성곱도 맞습니다: 어떤 커널 크기에도 통하는 식입니다.",
                 "Also right for 5×5, 7×7 and 1×1 convs outside VGG: the formula works for any kernel."))],
        CONV_SLIPS, ("합성곱의 매개변수: 출력 채널마다 k×k×C_in 필터 한 장과 편향 1개 → (k·k·C_in + 1)·C_out.",
                     "A conv's parameters: per output channel one k×k×C_in filter and one bias → "
                     "(k·k·C_in + 1)·C_out."))
    return result


@never_raises("check_linear_params")
def check_linear_params(result: CheckResult, linear_params: Callable[[int, int], int]) -> CheckResult:
    """Is ``linear_params(in_features, out_features)`` the parameter count of ``nn.Linear``?"""
    if result.not_a_function(linear_params, "linear_params"):
        return result
    cases = _vgg_cases(nn.Linear)
    with torch.device("meta"):
        cifar = [m for m in vgg_cifar("D", num_classes=10).classifier if isinstance(m, nn.Linear)]
    extra = [(f"CIFAR VGG의 fc{6 + i}", f"the CIFAR VGG's fc{6 + i}", _args(m), _numel(m)) for i, m in enumerate(cifar)]
    _check_formula(result, linear_params, "linear_params", "in_features, out_features", [
        (cases, (f"구성 A–E의 완전 연결 계층 {len(cases)}개(fc6, fc7, fc8)가 모두 numel()과 같습니다 — "
                 f"fc6 하나가 (25088 + 1)·4096 = {cases[0][3]:,}.",
                 f"All {len(cases)} linear layers of configurations A–E (fc6, fc7, fc8) equal their numel(); "
                 f"fc6 alone is (25088 + 1)·4096 = {cases[0][3]:,}.")),
        (extra, ("CIFAR용 분류기(512 → 512 → 512 → 10)도 맞습니다.",
                 "Also right for the CIFAR classifier (512 → 512 → 512 → 10)."))],
        LINEAR_SLIPS, ("완전 연결 계층의 매개변수: 출력마다 입력 수만큼의 가중치와 편향 1개 → (in + 1)·out.",
                       "A linear layer's parameters: per output one weight per input and one bias → (in + 1)·out."))
    return result
