"""The checks of the parameter formulas of a convolution and of a linear layer.

The learner writes ``conv_params(in_channels, out_channels, kernel_size)`` = ``(k·k·C_in + 1)·C_out``
and ``linear_params(in_features, out_features)`` = ``(in + 1)·out``. Each check calls the learner's
function for every layer of every VGG configuration A–E (built on the ``meta`` device: no memory)
and compares it with the real ``numel()`` of that layer's parameters, then with a few layers from
outside VGG. A wrong answer is reported at the first layer where it differs — which layer, what
was expected, what came back — with a hint named after the mistake it matches (the bias forgotten,
``k`` instead of ``k·k``, inputs and outputs swapped …). Checks never raise.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from ..counting import layer_names, leaf_layers
from ..models import CFGS, vgg, vgg_cifar
from . import CheckResult, describe_exception, is_stub, never_raises


# ---- from vgg_teach.checks.params (phase-1 merge)
@dataclass(frozen=True)
class _Case:
    """One layer to count: where it is (ko, en), its shape arguments, and its real ``numel()``."""

    where_ko: str
    where_en: str
    args: tuple[int, ...]
    numel: int


def _numel(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _vgg_cases(kind: type[nn.Module]) -> list[_Case]:
    """Every layer of type ``kind`` in configurations A–E (1000 classes), with its paper-style name."""
    cases = []
    for key in CFGS:
        with torch.device("meta"):
            model = vgg(key)
        leaves = leaf_layers(model)
        for (_, m), name in zip(leaves, layer_names(leaves)):
            if isinstance(m, kind):
                cases.append(_Case(f"구성 {key}의 {name}", f"configuration {key}, {name}", _shape(m), _numel(m)))
    return cases


def _shape(m: nn.Module) -> tuple[int, ...]:
    if isinstance(m, nn.Conv2d):
        return m.in_channels, m.out_channels, m.kernel_size[0]
    return m.in_features, m.out_features


def _extra_conv_cases() -> list[_Case]:
    """Convolutions from outside VGG: the 5×5 and 7×7 that the "why 3×3" comparison uses."""
    specs = [((64, 64, 5), "5×5 합성곱 (VGG 밖)", "a 5×5 conv (not in VGG)"),
             ((3, 64, 7), "7×7 합성곱 (ResNet의 첫 계층)", "a 7×7 conv (ResNet's first layer)"),
             ((16, 8, 1), "1×1 합성곱 (채널을 줄이는)", "a 1×1 conv that reduces channels")]
    cases = []
    for (c_in, c_out, k), ko, en in specs:
        with torch.device("meta"):
            m = nn.Conv2d(c_in, c_out, k)
        cases.append(_Case(ko, en, (c_in, c_out, k), _numel(m)))
    return cases


def _extra_linear_cases() -> list[_Case]:
    """The CIFAR head: 512 → 512 → 512 → 10."""
    with torch.device("meta"):
        model = vgg_cifar("D", num_classes=10)
    linears = [m for m in model.classifier if isinstance(m, nn.Linear)]
    return [_Case(f"CIFAR VGG의 fc{6 + i}", f"the CIFAR VGG's fc{6 + i}", _shape(m), _numel(m))
            for i, m in enumerate(linears)]


def _as_count(value: Any) -> tuple[int | None, tuple[str, str] | None]:
    """``value`` as an int, or ``None`` and a (ko, en) reason it is not a whole number."""
    if isinstance(value, bool) or value is None:
        what = "None" if value is None else repr(value)
        return None, (f"{what}을(를) 돌려줍니다. 계산한 값을 return 하세요.",
                      f"It returns {what}: return the number you computed.")
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, numbers.Integral):
        return int(value), None
    if isinstance(value, numbers.Real) and float(value).is_integer():
        return int(value), None
    return None, (f"정수가 아닌 {value!r}({type(value).__name__})을(를) 돌려줍니다.",
                  f"It returns {value!r} ({type(value).__name__}), not a whole number.")


#: (predicate on (got, *args), ko hint, en hint) — the first that matches a wrong answer names the mistake.
_Diagnosis = tuple[Callable[..., bool], str, str]


_CONV_MISTAKES: list[_Diagnosis] = [
    (lambda got, ci, co, k: got == k * k * ci * co,
     "편향(bias)을 빠뜨렸습니다: 출력 채널마다 편향이 하나씩 있으니 C_out개가 모자랍니다. (k·k·C_in + 1)·C_out입니다.",
     "You forgot the bias: each output channel has one, so you are C_out short. It is (k·k·C_in + 1)·C_out."),
    (lambda got, ci, co, k: k != 1 and got == (k * ci + 1) * co,
     "k·k 대신 k를 썼습니다: 커널은 k×k 정사각형이므로 필터 한 장에 k·k·C_in개의 가중치가 있습니다.",
     "You used k instead of k·k: the kernel is a k×k square, so one filter has k·k·C_in weights."),
    (lambda got, ci, co, k: k != 1 and got == (2 * k * ci + 1) * co,
     "k·k 대신 k + k(또는 2·k)를 썼습니다: 커널의 넓이는 k·k입니다.",
     "You used k + k (or 2·k) instead of k·k: the kernel's area is k·k."),
    (lambda got, ci, co, k: k == 1 and got == (9 * ci + 1) * co,
     "kernel_size를 쓰지 않고 3×3으로 고정했습니다: 구성 C의 1×1 합성곱에서는 k = 1입니다.",
     "You fixed the kernel at 3×3 instead of using kernel_size: configuration C's 1×1 convs have k = 1."),
    (lambda got, ci, co, k: got == k * k * ci * co + 1,
     "편향을 계층 전체에 하나만 더했습니다: 편향은 출력 채널마다 하나, 모두 C_out개입니다.",
     "You added one bias for the whole layer: there is one per output channel, C_out in all."),
    (lambda got, ci, co, k: got == (k * k + 1) * ci * co,
     "편향을 (입력, 출력) 채널 쌍마다 더했습니다: 편향은 출력 채널마다 하나입니다.",
     "You added a bias per (input, output) channel pair: there is one bias per output channel."),
    (lambda got, ci, co, k: ci != co and got == (k * k * co + 1) * ci,
     "C_in과 C_out을 바꿨습니다: 필터는 C_out개이고, 필터 한 장은 k·k·C_in개의 가중치와 편향 1개입니다.",
     "You swapped C_in and C_out: there are C_out filters, each with k·k·C_in weights and one bias."),
    (lambda got, ci, co, k: got == (k * k * ci + 1) * (co + 1),
     "출력 채널 수에도 1을 더했습니다((k·k·C_in + 1)·(C_out + 1)): 편향은 필터마다 1개이지, 출력 채널이 하나 더 "
     "있는 것이 아닙니다. (k·k·C_in + 1)·C_out입니다.",
     "You added 1 to the output channels too, (k·k·C_in + 1)·(C_out + 1): the bias is one per filter, not an extra "
     "output channel. It is (k·k·C_in + 1)·C_out."),
    (lambda got, ci, co, k: got == k * k * ci + 1 or got == k * k * ci + co,
     "필터 한 장만 셌습니다: 필터(출력 채널)가 C_out개 있으니 C_out을 곱하세요.",
     "You counted a single filter: there are C_out filters (output channels), so multiply by C_out."),
]


_LINEAR_MISTAKES: list[_Diagnosis] = [
    (lambda got, n_in, n_out: got == n_in * n_out,
     "편향(bias)을 빠뜨렸습니다: 출력마다 편향이 하나씩, out개가 모자랍니다. (in + 1)·out입니다.",
     "You forgot the bias: one per output, so you are `out` short. It is (in + 1)·out."),
    (lambda got, n_in, n_out: got == n_in * n_out + 1,
     "편향을 계층 전체에 하나만 더했습니다: 편향은 출력마다 하나, 모두 out개입니다.",
     "You added one bias for the whole layer: there is one per output, `out` in all."),
    (lambda got, n_in, n_out: n_in != n_out and got == (n_out + 1) * n_in,
     "편향을 입력마다 더했습니다(in·out + in): 편향은 출력마다 하나이므로 (in + 1)·out입니다.",
     "You added a bias per input (in·out + in): there is one bias per output, so it is (in + 1)·out."),
    (lambda got, n_in, n_out: got == (n_in + 1) * (n_out + 1),
     "출력 수에도 1을 더했습니다((in + 1)·(out + 1)): 출력 out개마다 가중치 in개와 편향 1개가 있을 뿐, 출력이 "
     "하나 더 생기지는 않습니다. (in + 1)·out입니다.",
     "You added 1 to the outputs too, (in + 1)·(out + 1): each of the `out` outputs has `in` weights and one "
     "bias, and there is no extra output. It is (in + 1)·out."),
    (lambda got, n_in, n_out: got in (n_in + n_out, n_in + n_out + 1, n_in + 1),
     "더하기가 아니라 곱하기입니다: 출력 하나하나가 입력 전부와 연결되어 있어서 가중치는 in·out개입니다.",
     "Multiply, don't add: every output is connected to every input, so there are in·out weights."),
]


_CONV_FORMULA = ("합성곱의 매개변수: 출력 채널마다 k×k×C_in 필터 한 장과 편향 1개 → (k·k·C_in + 1)·C_out.",
                 "A conv's parameters: per output channel one k×k×C_in filter and one bias → (k·k·C_in + 1)·C_out.")


_LINEAR_FORMULA = ("완전 연결 계층의 매개변수: 출력마다 입력 수만큼의 가중치와 편향 1개 → (in + 1)·out.",
                   "A linear layer's parameters: per output one weight per input and one bias → (in + 1)·out.")


def _check_formula(result: CheckResult, fn: Callable[..., Any], name: str, arg_names: str,
                   groups: list[tuple[list[_Case], tuple[str, str]]], mistakes: list[_Diagnosis],
                   formula: tuple[str, str]) -> CheckResult:
    """Call ``fn`` on every case of every group; one ✅ per group, or ❌ at the first wrong layer."""
    if result.not_a_function(fn, name):
        return result
    for cases, (ok_ko, ok_en) in groups:
        for case in cases:
            call = f"{name}({', '.join(map(str, case.args))})"
            try:
                value = fn(*case.args)
            except Exception as exc:  # noqa: BLE001 - say which layer made the learner's code fail
                if is_stub(exc):
                    raise
                ko, en = describe_exception(exc)
                result.fail(f"{case.where_ko}: {call} — {ko}", f"{case.where_en}: {call} — {en}",
                            f"함수는 정수 {arg_names}을(를) 받아 정수 하나를 돌려주어야 합니다.",
                            f"The function takes the integers {arg_names} and returns one integer.")
                return result
            got, problem = _as_count(value)
            if problem is not None:
                result.fail(f"{case.where_ko}: {call} — {problem[0]}", f"{case.where_en}: {call} — {problem[1]}",
                            *formula)
                return result
            if got != case.numel:
                hint = next(((ko, en) for test, ko, en in mistakes if test(got, *case.args)), formula)
                result.fail(f"{case.where_ko}: {call} = {got:,}이지만 실제 numel()은 {case.numel:,}입니다 "
                            f"(차이 {got - case.numel:+,}).",
                            f"{case.where_en}: {call} = {got:,}, but its numel() is {case.numel:,} "
                            f"(off by {got - case.numel:+,}).", *hint)
                return result
        result.ok(ok_ko, ok_en)
    return result


@never_raises("check_conv_params")
def check_conv_params(result: CheckResult, conv_params: Callable[[int, int, int], int]) -> CheckResult:
    """Is ``conv_params(in_channels, out_channels, kernel_size)`` the parameter count of ``nn.Conv2d``?

    Compared with ``numel()`` for every convolution of configurations A–E (3×3 and configuration C's
    1×1), then for a 5×5, a 7×7 and a channel-reducing 1×1 conv from outside VGG.
    """
    vgg_cases = _vgg_cases(nn.Conv2d)
    shapes = len({c.args for c in vgg_cases})
    first = vgg_cases[0]
    return _check_formula(result, conv_params, "conv_params", "in_channels, out_channels, kernel_size", [
        (vgg_cases, (f"구성 A–E의 합성곱 {len(vgg_cases)}개(서로 다른 모양 {shapes}가지)가 모두 numel()과 같습니다 — "
                     f"예: conv1_1 = (3·3·3 + 1)·64 = {first.numel:,}.",
                     f"All {len(vgg_cases)} convolutions of configurations A–E ({shapes} different shapes) equal "
                     f"their numel(), e.g. conv1_1 = (3·3·3 + 1)·64 = {first.numel:,}.")),
        (_extra_conv_cases(), ("VGG 밖의 5×5, 7×7, 1×1 합성곱도 맞습니다: 어떤 커널 크기에도 통하는 식입니다.",
                               "Also right for 5×5, 7×7 and 1×1 convs outside VGG: the formula works for any kernel.")),
    ], _CONV_MISTAKES, _CONV_FORMULA)


@never_raises("check_linear_params")
def check_linear_params(result: CheckResult, linear_params: Callable[[int, int], int]) -> CheckResult:
    """Is ``linear_params(in_features, out_features)`` the parameter count of ``nn.Linear``?

    Compared with ``numel()`` for fc6, fc7 and fc8 of configurations A–E, then for the CIFAR head.
    """
    vgg_cases = _vgg_cases(nn.Linear)
    fc6 = vgg_cases[0]
    return _check_formula(result, linear_params, "linear_params", "in_features, out_features", [
        (vgg_cases, (f"구성 A–E의 완전 연결 계층 {len(vgg_cases)}개(fc6, fc7, fc8)가 모두 numel()과 같습니다 — "
                     f"fc6 하나가 (25088 + 1)·4096 = {fc6.numel:,}.",
                     f"All {len(vgg_cases)} linear layers of configurations A–E (fc6, fc7, fc8) equal their numel(); "
                     f"fc6 alone is (25088 + 1)·4096 = {fc6.numel:,}.")),
        (_extra_linear_cases(), ("CIFAR용 분류기(512 → 512 → 512 → 10)도 맞습니다.",
                                 "Also right for the CIFAR classifier (512 → 512 → 512 → 10).")),
    ], _LINEAR_MISTAKES, _LINEAR_FORMULA)
