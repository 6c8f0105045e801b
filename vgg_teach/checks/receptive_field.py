"""Lesson 03's check: the learner's receptive-field recurrence, ``receptive_fields(layers)``.

``layers`` lists ``(kernel, stride[, dilation])`` per conv or pooling layer; the answer is the receptive field
after each. It is compared with :func:`vgg_teach.receptive_field.receptive_field_table` on VGG16's 18 layers and
on random stacks; the first wrong layer is named, with the slip whose numbers it gives (:data:`.questions.RF_SLIPS`).
"""

from __future__ import annotations

import numbers
import random
from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..errors import josa
from ..models import CFGS, conv_layer_names, vgg16
from ..receptive_field import receptive_field_table
from . import CheckResult, describe_exception, is_stub, never_raises
from .questions import RF_SLIPS

#: VGG16's conv/pool layers as ``(kernel, stride)``: every conv is (3, 1), every max pooling (2, 2).
VGG16_LAYERS: list[tuple[int, int]] = [(2, 2) if spec == "M" else (3, 1) for spec in CFGS["D"]]
_RECURRENCE = ("계층마다: k_eff = d·(k − 1) + 1, rf += (k_eff − 1)·jump, jump *= stride (시작: rf = 1, jump = 1).",
               "For every layer: k_eff = d·(k − 1) + 1, rf += (k_eff − 1)·jump, jump *= stride "
               "(start: rf = 1, jump = 1).")


def random_stacks(count: int = 8, seed: int = 2016) -> list[tuple[list[tuple[int, ...]], list[bool]]]:
    """The random stacks the check uses (the same every call): ``(kernel, stride[, dilation])`` entries, and pools."""
    rng, stacks = random.Random(seed), []
    for _ in range(count):
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
        stacks.append((layers, pools))
    return stacks


def variant(layers: Sequence[Sequence[int]], *, dilation: bool = True, minus_one: bool = True, multiply: bool = True,
            jump_first: bool = False, start: int = 1, jump_is_stride: bool = False, dilation_times_k: bool = False,
            stride_for_jump: bool = False) -> list[int]:
    """The recurrence with one thing done wrong, as :data:`.questions.RF_SLIPS` names it (defaults: done right)."""
    rf, jump, out = start, 1, []
    for layer in layers:
        k, s, d = (*layer, 1)[:3]
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


def _values(value: Any, n: int) -> tuple[list[int] | None, tuple[str, str] | None]:
    """The learner's answer as a list of ``n`` ints, or ``None`` and a (ko, en) reason."""
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    if value is None:
        return None, ("None을 돌려줍니다: 계층마다의 수용 영역을 담은 리스트를 return 하세요.",
                      "It returns None: return a list with the receptive field after each layer.")
    if isinstance(value, dict):
        return None, ("딕셔너리를 돌려줍니다: 계층 순서대로 값만 담은 리스트를 돌려주세요(list(d.values())).",
                      "It returns a dict: return a list of the values, in layer order (list(d.values())).")
    if isinstance(value, numbers.Number):
        return None, (f"숫자 하나({value!r})만 돌려줍니다: 마지막 값만이 아니라 계층마다 하나씩, 리스트로 돌려주세요.",
                      f"It returns a single number ({value!r}): return a list with one value per layer, not just "
                      "the last.")
    try:
        items = list(value)
    except TypeError:
        return None, (f"{josa(type(value).__name__, '을')} 돌려줍니다: 리스트를 돌려주세요.",
                      f"It returns a {type(value).__name__}: return a list.")
    if len(items) != n:
        return None, (f"계층이 {n}개인데 값을 {len(items)}개 돌려줍니다: 계층마다 하나씩 append 하세요.",
                      f"It returns {len(items)} values for {n} layers: append one per layer.")
    out = []
    for v in items:
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            v = v.item()
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not float(v).is_integer():
            return None, (f"정수가 아닌 값 {josa(repr(v), '이')} 들어 있습니다: 수용 영역은 픽셀 수(정수)입니다.",
                          f"It contains {v!r}, not a whole number: a receptive field is a number of pixels.")
        out.append(int(v))
    return out, None


def _check_stack(result: CheckResult, fn: Callable[..., Any], layers: list[tuple[int, ...]], expected: list[int],
                 name: tuple[str, str], layer_names: list[tuple[str, str]]) -> bool:
    """One stack: ❌ at the first wrong layer (with the matching slip as a hint); True when all agree."""
    try:
        value = fn([tuple(layer) for layer in layers])
    except Exception as exc:  # noqa: BLE001 - name the stack that made the learner's code fail
        if is_stub(exc):
            raise
        ko, en = describe_exception(exc)
        dilated = any(len(layer) == 3 for layer in layers) and isinstance(exc, (ValueError, TypeError, IndexError))
        result.fail(f"{name[0]}에서: {ko}", f"On {name[1]}: {en}", *(
            ("(커널, 보폭, 팽창) 세 값짜리 항목도 받아야 합니다: d = layer[2] if len(layer) > 2 else 1",
             "Entries may have three values, (kernel, stride, dilation): d = layer[2] if len(layer) > 2 else 1")
            if dilated else _RECURRENCE))
        return False
    got, problem = _values(value, len(layers))
    if problem is not None:
        result.fail(f"{name[0]}에서: {problem[0]}", f"On {name[1]}: {problem[1]}", *_RECURRENCE)
        return False
    if got == expected:
        return True
    i = next(j for j, (a, b) in enumerate(zip(got, expected)) if a != b)
    k, s, d = (*layers[i], 1)[:3]
    geometry = f"k={k}, s={s}" + (f", d={d}" if d > 1 else "")
    hint = next(((ko, en) for slip, (wrong, ko, en) in RF_SLIPS.items() if variant(layers, **{slip: wrong}) == got),
                _RECURRENCE)
    result.fail(f"{name[0]}의 {layer_names[i][0]} 계층({geometry}): 수용 영역이 {expected[i]}이어야 하는데 "
                f"{got[i]}입니다. 기대 {expected[: i + 1]}, 받은 값 {got[: i + 1]}.",
                f"{name[1]}, layer {layer_names[i][1]} ({geometry}): the receptive field should be {expected[i]}, got "
                f"{got[i]}. Expected {expected[: i + 1]}, got {got[: i + 1]}.", *hint)
    return False


@never_raises("check_receptive_fields")
def check_receptive_fields(result: CheckResult, candidate: Callable[..., Any], n_random: int = 8) -> CheckResult:
    """Does ``receptive_fields(layers)`` give the receptive field after each layer, as receptive_field_table does?"""
    if result.not_a_function(candidate, may_yield=True):  # yielding the sizes one by one is a right answer
        return result
    with torch.device("meta"):
        expected = [r.receptive_field for r in receptive_field_table(vgg16().features)]
    if not _check_stack(result, candidate, list(VGG16_LAYERS), expected, ("VGG16", "VGG16"),
                        [(n, n) for n in conv_layer_names("D")]):
        return result
    result.ok(f"VGG16의 18개 계층: {', '.join(map(str, expected))} — receptive_field_table과 같습니다.",
              f"VGG16's 18 layers: {', '.join(map(str, expected))}, the same as receptive_field_table.")
    stacks = random_stacks(n_random)
    for i, (layers, pools) in enumerate(stacks):
        with torch.device("meta"):
            stack = nn.Sequential(*(nn.MaxPool2d(k, s, dilation=d) if pool else nn.Conv2d(1, 1, k, s, dilation=d)
                                    for (k, s, d), pool in zip(((*la, 1)[:3] for la in layers), pools)))
        names = [(f"{j + 1}번째 {'풀링' if p else '합성곱'}", f"#{j + 1}, a {'pooling' if p else 'conv'}")
                 for j, p in enumerate(pools)]
        if not _check_stack(result, candidate, layers, [r.receptive_field for r in receptive_field_table(stack)],
                            (f"무작위 스택 {i + 1} {layers}", f"random stack {i + 1} {layers}"), names):
            return result
    result.ok(f"무작위 스택 {len(stacks)}개(보폭 2 합성곱, 커널 1·5·7, 팽창, 풀링)에서도 "
              "receptive_field_table과 같습니다.",
              f"Also the same as receptive_field_table on {len(stacks)} random stacks (stride-2 convs, kernels 1, 5 "
              "and 7, dilation, pooling).")
    return result
