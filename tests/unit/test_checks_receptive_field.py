"""Lesson 03's check: the learner's receptive-field recurrence against receptive_field_table.

A right recurrence (written several ways) passes on VGG16 and on the random stacks; each common
mistake fails at the first layer it gets wrong, naming the stack, the layer, expected and got, and
the mistake; answers of the wrong shape are explained; a stub is pending; nothing ever raises.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from vgg_teach.answers import receptive_fields
from vgg_teach.checks import FAIL, PASS, TODO
from vgg_teach.checks.receptive_field import (
    _MISTAKES,
    VGG16_LAYERS,
    _random_stacks,
    _stack,
    _variant,
    check_receptive_fields,
    random_stacks,
)
from vgg_teach.receptive_field import VGG16_RECEPTIVE_FIELDS, receptive_field_table


def learner(layers):
    rf, jump, out = 1, 1, []
    for layer in layers:
        k, s = layer[0], layer[1]
        d = layer[2] if len(layer) > 2 else 1
        rf += (d * (k - 1) + 1 - 1) * jump
        jump *= s
        out.append(rf)
    return out


def learner_generator(layers):
    rf, jump = 1, 1
    for k, s, *rest in layers:
        rf += (rest[0] if rest else 1) * (k - 1) * jump  # d·(k − 1): the same thing
        jump *= s
        yield rf


def learner_backwards(layers):
    """The other textbook form: r_{l-1} = s·r_l + (k_eff − s), from the last layer down, for each prefix."""
    out = []
    for n in range(1, len(layers) + 1):
        r = 1
        for layer in reversed(layers[:n]):
            k, s, d = (*layer, 1)[:3]
            r = s * r + (d * (k - 1) + 1 - s)
        out.append(r)
    return out


# -------------------------------------------------------------------------------- reference
def test_reference_and_vgg16_layers():
    assert receptive_fields(VGG16_LAYERS) == list(VGG16_RECEPTIVE_FIELDS)
    assert receptive_fields([]) == []
    for stack in random_stacks():
        assert receptive_fields(stack) == learner(stack)
    for bad in ([(3,)], [(3, 1, 1, 1)], [(0, 1)], [(3.0, 1)], [3]):
        with pytest.raises(ValueError, match="kernel, stride.*양의 정수|양의 정수.*kernel, stride"):
            _stack(bad)


def test_random_stacks_are_fixed_and_cover_what_the_lesson_promises():
    stacks = random_stacks()
    assert stacks == random_stacks() and len(stacks) == 8
    entries = [layer for stack in stacks for layer in stack]
    assert {1, 5, 7} <= {layer[0] for layer in entries}                 # kernels 1, 5, 7
    assert any(len(layer) == 3 and layer[2] > 1 for layer in entries)  # dilation
    assert any(layer[0] > 2 and layer[1] == 2 for layer in entries)    # stride-2 convs
    assert any(pool for stack in _random_stacks() for pool in stack.pools)          # poolings
    modules = [m for stack in _random_stacks() for m in _stack(stack.layers, stack.pools)]
    assert any(isinstance(m, nn.MaxPool2d) for m in modules) and any(isinstance(m, nn.Conv2d) for m in modules)


def test_the_check_compares_with_receptive_field_table_on_real_modules():
    with torch.device("meta"):
        stack = nn.Sequential(nn.Conv2d(3, 8, 7, stride=2, padding=3), nn.ReLU(), nn.MaxPool2d(3, 2, padding=1),
                              nn.Conv2d(8, 8, 3, dilation=2, padding=2), nn.Conv2d(8, 8, 1))
    table = receptive_field_table(stack)
    # 7, + 2·2, + 4·(2·2 + 1 − 1), + 0
    expected = [r.receptive_field for r in table]
    assert receptive_fields([(7, 2), (3, 2), (3, 1, 2), (1, 1)]) == expected == [7, 11, 27, 27]


# ------------------------------------------------------------------------------------ check
@pytest.mark.parametrize("fn", [learner, learner_generator, learner_backwards, receptive_fields,
                                lambda layers: np.array(learner(layers)),
                                lambda layers: torch.tensor(learner(layers))])
def test_right_recurrences_pass(fn):
    result = check_receptive_fields(fn)
    assert result.status == PASS, str(result)
    text = str(result)
    assert "VGG16's 18 layers: 3, 5, 6, 10, 14, 16, 24, 32, 40, 44, 60, 76, 92, 100, 132, 164, 196, 212" in text
    assert "8 random stacks" in text


@pytest.mark.parametrize("flags, where, hint", [
    ({"multiply": False}, "VGG16, layer conv2_1 (k=3, s=1): the receptive field should be 10, got 8",
     "The jump is never multiplied by the stride"),
    ({"minus_one": False}, "VGG16, layer conv1_1 (k=3, s=1): the receptive field should be 3, got 4",
     "You added k instead of k − 1"),
    ({"dilation": False}, "random stack 1", "You ignored the dilation"),
    ({"dilation_times_k": True}, "random stack 1", "k_eff as d·k"),
    ({"jump_first": True}, "VGG16, layer pool1 (k=2, s=2): the receptive field should be 6, got 7",
     "You updated the jump before the receptive field"),
    ({"jump_is_stride": True}, "VGG16, layer conv2_2", "overwrote the jump with jump = stride"),
    ({"start": 0}, "Expected [3], got [2]", "You started at rf = 0"),
])
def test_mistakes_are_named_at_the_first_wrong_layer(flags, where, hint):
    result = check_receptive_fields(lambda layers: _variant(layers, **flags))
    assert result.status == FAIL
    text = result.failures[0].text()
    assert where in text and hint in text, str(result)
    assert all(i.ko and i.en for i in result.items)


def test_every_known_mistake_is_caught_and_named():
    for flags, _, hint_en in _MISTAKES:
        result = check_receptive_fields(lambda layers, f=flags: _variant(layers, **f))
        assert result.status == FAIL and result.failures[0].hint_en == hint_en, (flags, str(result))


def test_dilation_mistakes_pass_vgg16_first():
    """VGG16 has no dilation: the ✅ for VGG16 stays, the random stacks find the mistake."""
    result = check_receptive_fields(lambda layers: _variant(layers, dilation=False))
    assert [i.status for i in result.items] == [PASS, FAIL]
    assert "layer #2, a conv (k=3, s=1, d=3)" in result.failures[0].text()


def test_no_dilation_support_gets_a_hint():
    def two_values_only(layers):
        rf, jump, out = 1, 1, []
        for k, s in layers:
            rf += (k - 1) * jump
            jump *= s
            out.append(rf)
        return out

    result = check_receptive_fields(two_values_only)
    assert result.status == FAIL
    text = result.failures[0].text()
    assert "ValueError" in text and "Entries may have three values, (kernel, stride, dilation)" in text


@pytest.mark.parametrize("fn, needle", [
    (lambda layers: learner(layers)[-1], "It returns a single number (212)"),
    (lambda layers: learner(layers)[1:], "It returns 17 values for 18 layers"),
    (lambda layers: None, "It returns None"),
    (lambda layers: [x + 0.5 for x in learner(layers)], "not a whole number"),
    (lambda layers: {"rf": learner(layers)}, "It returns 1 values for 18 layers"),
    (lambda layers: 1 / 0, "ZeroDivisionError"),
])
def test_answers_of_the_wrong_shape_are_explained(fn, needle):
    result = check_receptive_fields(fn)
    assert result.status == FAIL and needle in result.failures[0].text(), str(result)


def test_stub_is_pending_and_nothing_raises():
    def stub(layers):
        raise NotImplementedError("연습 문제를 채워 주세요 / Fill in this exercise")

    result = check_receptive_fields(stub)
    assert result.status == TODO and "Not written yet" in str(result)
    assert check_receptive_fields("not a function").status == FAIL


def test_the_learners_list_is_not_shared_between_calls():
    def destructive(layers):
        out = learner(layers)
        layers.clear()  # a learner who empties the list must not break the next comparison
        return out

    assert check_receptive_fields(destructive).status == PASS
