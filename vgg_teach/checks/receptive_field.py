"""The check of the receptive-field recurrence, written by the learner.

The learner writes ``receptive_fields(layers)``: ``layers`` lists ``(kernel, stride)`` or
``(kernel, stride, dilation)`` tuples, one per convolution or pooling layer, and the function
returns the receptive field after each of them::

    k_eff = dilation·(kernel − 1) + 1;   rf += (k_eff − 1)·jump;   jump *= stride

:func:`check_receptive_fields` compares the answer, layer by layer, with
:func:`vgg_teach.analysis.receptive_field.receptive_field_table` — on VGG16's 18 conv/pool layers and on
random stacks (stride-2 convolutions, kernels 1/5/7, dilation, poolings). A wrong answer is
reported at the first layer where it differs (which stack, which layer, expected, got), with a
hint when it matches a known mistake (jump not multiplied by the stride, ``k`` added instead of
``k − 1``, dilation ignored …). The lesson falls back on :func:`vgg_teach.answers.receptive_fields`.
"""

from __future__ import annotations

import numbers
import random
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..models import CFGS, conv_layer_names, vgg16
from ..receptive_field import receptive_field_table
from . import CheckResult, describe_exception, is_stub, never_raises

# ---- from vgg_teach.checks.receptive_field (phase-1 merge)
#: VGG16's conv/pool layers as ``(kernel, stride)``: every conv is (3, 1), every max pooling (2, 2).
VGG16_LAYERS: list[tuple[int, int]] = [(2, 2) if spec == "M" else (3, 1) for spec in CFGS["D"]]


def _geometry(layer: Sequence[int]) -> tuple[int, int, int]:
    """``(kernel, stride, dilation)`` of one ``(kernel, stride[, dilation])`` entry; bilingual error otherwise."""
    values = tuple(layer) if isinstance(layer, (tuple, list)) else ()
    if len(values) not in (2, 3) or not all(isinstance(v, int) and v >= 1 for v in values):
        raise ValueError("계층은 (커널, 보폭) 또는 (커널, 보폭, 팽창) 꼴의 양의 정수 "
                         f"튜플이어야 합니다 (받은 값: {layer!r}). / "
                         f"A layer must be a tuple of positive ints, (kernel, stride) or (kernel, stride, "
                         f"dilation); got {layer!r}.")
    k, s, d = (*values, 1)[:3]
    return k, s, d


def _stack(layers: Sequence[Sequence[int]], pools: Sequence[bool] = ()) -> nn.Sequential:
    """The layers as real modules on the ``meta`` device: ``MaxPool2d`` where ``pools`` says so, else ``Conv2d``."""
    modules: list[nn.Module] = []
    with torch.device("meta"):
        for i, layer in enumerate(layers):
            k, s, d = _geometry(layer)
            if i < len(pools) and pools[i]:
                modules.append(nn.MaxPool2d(k, s, dilation=d))
            else:
                modules.append(nn.Conv2d(1, 1, k, stride=s, dilation=d))
    return nn.Sequential(*modules)


@dataclass(frozen=True)
class _Stack:
    """A stack to test on: the learner's input, which entries are poolings, and how to name it."""

    layers: list[tuple[int, ...]]
    pools: list[bool]
    name_ko: str
    name_en: str
    layer_names: list[tuple[str, str]]  # (ko, en) per layer


def random_stacks(count: int = 8, seed: int = 2016) -> list[list[tuple[int, ...]]]:
    """The random stacks the check uses, as ``(kernel, stride[, dilation])`` lists (same every call)."""
    return [s.layers for s in _random_stacks(count, seed)]


def _random_stacks(count: int = 8, seed: int = 2016) -> list[_Stack]:
    rng = random.Random(seed)
    stacks = []
    for i in range(count):
        layers, pools = [], []
        for _ in range(rng.randint(3, 7)):
            pool = rng.random() < 0.3
            if pool:
                k, s, d = rng.choice([2, 3]), 2, 1
            else:
                k, s = rng.choice([1, 3, 5, 7]), rng.choice([1, 1, 2])
                d = rng.choice([1, 1, 2, 3]) if k > 1 else 1
            layers.append((k, s) if d == 1 else (k, s, d))
            pools.append(pool)
        names = [(f"{j + 1}번째 {'풀링' if p else '합성곱'}", f"#{j + 1}, a {'pooling' if p else 'conv'}")
                 for j, p in enumerate(pools)]
        stacks.append(_Stack(layers, pools, f"무작위 스택 {i + 1} {layers}", f"random stack {i + 1} {layers}", names))
    return stacks


def _vgg16_stack() -> tuple[_Stack, list[int]]:
    with torch.device("meta"):
        features = vgg16().features
    expected = [r.receptive_field for r in receptive_field_table(features)]
    return _Stack(list(VGG16_LAYERS), [spec == "M" for spec in CFGS["D"]], "VGG16", "VGG16",
                  [(n, n) for n in conv_layer_names("D")]), expected


# ------------------------------------------------------------------------------ known mistakes
def _variant(layers: Sequence[Sequence[int]], *, dilation: bool = True, minus_one: bool = True,
             multiply: bool = True, jump_first: bool = False, start: int = 1, jump_is_stride: bool = False,
             dilation_times_k: bool = False, stride_for_jump: bool = False) -> list[int]:
    """The recurrence with one thing done wrong (all defaults: the right one)."""
    rf, jump, out = start, 1, []
    for layer in layers:
        k, s, d = _geometry(layer)
        k_eff = d * k if dilation_times_k else (d * (k - 1) + 1 if dilation else k)
        if jump_first:
            jump *= s
        rf += (k_eff - (1 if minus_one else 0)) * (s if stride_for_jump else jump)
        if jump_is_stride:
            jump = s
        elif multiply and not jump_first:
            jump *= s
        out.append(rf)
    return out


_MISTAKES: list[tuple[dict[str, Any], str, str]] = [
    ({"multiply": False},
     "점프(jump)에 보폭(stride)을 곱하지 않았습니다: 보폭 2인 계층 뒤에서는 이웃한 유닛이 입력에서 2배 멀리 떨어져 "
     "있으므로 "
     "계층마다 jump *= stride 를 하세요.",
     "The jump is never multiplied by the stride: after a stride-2 layer neighboring units sit twice as far "
     "apart in the input, so do jump *= stride after every layer."),
    ({"stride_for_jump": True},
     "rf에 이 계층의 보폭(stride)을 곱했습니다: (k − 1)·stride가 아니라 (k − 1)·jump입니다. jump는 지금까지 지나온 "
     "모든 보폭의 곱, 즉 이 계층 입력의 이웃한 두 유닛이 원본 이미지에서 떨어진 거리(픽셀)입니다.",
     "You multiplied by this layer's stride: it is (k − 1)·jump, not (k − 1)·stride. The jump is the product of "
     "all strides so far: how many input pixels apart two neighboring units of this layer's input are."),
    ({"minus_one": False},
     "k − 1 대신 k를 더했습니다: 커널 k개 중 하나는 이미 보고 있는 위치이므로, "
     "새로 보게 되는 것은 (k − 1)·jump입니다.",
     "You added k instead of k − 1: one of the k positions is the one already seen, so the field grows by "
     "(k − 1)·jump."),
    ({"dilation": False},
     "팽창(dilation)을 무시했습니다: 팽창 d인 k×k 커널은 d·(k − 1) + 1 칸에 걸쳐 있습니다 (k_eff).",
     "You ignored the dilation: a k×k kernel with dilation d spans d·(k − 1) + 1 positions (k_eff)."),
    ({"dilation_times_k": True},
     "k_eff를 d·k로 계산했습니다: 커널 칸 사이의 간격이 d이므로 k_eff = d·(k − 1) + 1입니다.",
     "You computed k_eff as d·k: the taps are d apart, so k_eff = d·(k − 1) + 1."),
    ({"jump_first": True},
     "jump를 rf보다 먼저 바꿨습니다: 이 계층의 커널은 아직 이전 계층의 간격(jump)으로 놓이므로, rf를 먼저 키우고 "
     "그다음 "
     "jump *= stride 를 하세요.",
     "You updated the jump before the receptive field: this layer's kernel still steps over the previous "
     "layer's jump, so grow rf first, then do jump *= stride."),
    ({"jump_is_stride": True},
     "jump = stride 로 덮어썼습니다: jump는 지금까지 모든 보폭의 곱입니다 (jump *= stride).",
     "You overwrote the jump with jump = stride: the jump is the product of all strides so far (jump *= stride)."),
    ({"start": 0},
     "rf를 0에서 시작했습니다: 입력 픽셀 하나는 자기 자신을 보므로 rf = 1 에서 시작합니다.",
     "You started at rf = 0: an input pixel sees itself, so start at rf = 1."),
]


_RECURRENCE = ("계층마다: k_eff = d·(k − 1) + 1, rf += (k_eff − 1)·jump, jump *= stride (시작: rf = 1, jump = 1).",
               "For every layer: k_eff = d·(k − 1) + 1, rf += (k_eff − 1)·jump, jump *= stride "
               "(start: rf = 1, jump = 1).")


def _values(value: Any, n: int) -> tuple[list[int] | None, tuple[str, str] | None]:
    """The learner's answer as a list of ``n`` ints, or ``None`` and a (ko, en) reason."""
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    if value is None:
        return None, ("None을 돌려줍니다: 계층마다의 수용 영역을 담은 리스트를 return 하세요.",
                      "It returns None: return a list with the receptive field after each layer.")
    if isinstance(value, numbers.Number):
        return None, (f"숫자 하나({value!r})만 돌려줍니다: 마지막 값만이 아니라 계층마다 하나씩, 리스트로 돌려주세요.",
                      f"It returns a single number ({value!r}): return a list with one value per layer, "
                      "not just the last.")
    try:
        items = list(value)
    except TypeError:
        return None, (f"{type(value).__name__}을(를) 돌려줍니다: 리스트를 돌려주세요.",
                      f"It returns a {type(value).__name__}: return a list.")
    if len(items) != n:
        return None, (f"계층이 {n}개인데 값을 {len(items)}개 돌려줍니다: 계층마다 하나씩 append 하세요.",
                      f"It returns {len(items)} values for {n} layers: append one per layer.")
    out = []
    for v in items:
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            v = v.item()
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not float(v).is_integer():
            return None, (f"정수가 아닌 값 {v!r}이(가) 들어 있습니다: 수용 영역은 픽셀 수(정수)입니다.",
                          f"It contains {v!r}, not a whole number: a receptive field is a number of pixels.")
        out.append(int(v))
    return out, None


def _check_stack(result: CheckResult, fn: Callable[..., Any], stack: _Stack, expected: list[int]) -> bool:
    """One stack: ❌ at the first wrong layer (with the matching mistake as a hint); True when all agree."""
    try:
        value = fn([tuple(layer) for layer in stack.layers])
    except Exception as exc:  # noqa: BLE001 - name the stack that made the learner's code fail
        if is_stub(exc):
            raise
        ko, en = describe_exception(exc)
        dilated = any(len(layer) == 3 for layer in stack.layers)
        if dilated and isinstance(exc, (ValueError, TypeError, IndexError)):
            hint = ("(커널, 보폭, 팽창) 세 값짜리 항목도 받아야 합니다: d = layer[2] if len(layer) > 2 else 1",
                    "Entries may have three values, (kernel, stride, dilation): d = layer[2] if len(layer) > 2 else 1")
        else:
            hint = _RECURRENCE
        result.fail(f"{stack.name_ko}에서: {ko}", f"On {stack.name_en}: {en}", *hint)
        return False
    got, problem = _values(value, len(stack.layers))
    if problem is not None:
        result.fail(f"{stack.name_ko}에서: {problem[0]}", f"On {stack.name_en}: {problem[1]}", *_RECURRENCE)
        return False
    if got == expected:
        return True
    i = next(j for j, (a, b) in enumerate(zip(got, expected)) if a != b)
    k, s, d = _geometry(stack.layers[i])
    geometry = f"k={k}, s={s}" + (f", d={d}" if d > 1 else "")
    hint = next(((ko, en) for flags, ko, en in _MISTAKES if _variant(stack.layers, **flags) == got), _RECURRENCE)
    name_ko, name_en = stack.layer_names[i]
    result.fail(f"{stack.name_ko}의 {name_ko} 계층({geometry}): 수용 영역이 {expected[i]}이어야 하는데 "
                f"{got[i]}입니다. 기대 {expected[: i + 1]}, 받은 값 {got[: i + 1]}.",
                f"{stack.name_en}, layer {name_en} ({geometry}): the receptive field should be "
                f"{expected[i]}, got {got[i]}. Expected {expected[: i + 1]}, got {got[: i + 1]}.", *hint)
    return False


@never_raises("check_receptive_fields")
def check_receptive_fields(result: CheckResult, candidate: Callable[..., Any], n_random: int = 8) -> CheckResult:
    """Does ``receptive_fields(layers)`` give the receptive field after each layer?

    ``layers`` is a list of ``(kernel, stride)`` or ``(kernel, stride, dilation)`` tuples; the answer
    must be a list with one value per layer. Compared with ``receptive_field_table`` on VGG16's 18
    conv/pool layers, then on ``n_random`` random stacks (fixed seed).
    """
    if result.not_a_function(candidate):
        return result
    stack, expected = _vgg16_stack()
    if not _check_stack(result, candidate, stack, expected):
        return result
    result.ok(f"VGG16의 18개 계층: {', '.join(map(str, expected))} — receptive_field_table과 같습니다.",
              f"VGG16's 18 layers: {', '.join(map(str, expected))}, the same as receptive_field_table.")
    stacks = _random_stacks(n_random)
    for stack in stacks:
        table = receptive_field_table(_stack(stack.layers, stack.pools))
        if not _check_stack(result, candidate, stack, [r.receptive_field for r in table]):
            return result
    result.ok(f"무작위 스택 {len(stacks)}개(보폭 2 합성곱, 커널 1·5·7, 팽창, 풀링)에서도 "
              "receptive_field_table과 같습니다.",
              f"Also the same as receptive_field_table on {len(stacks)} random stacks (stride-2 convs, kernels "
              f"1, 5 and 7, dilation, pooling).")
    return result
