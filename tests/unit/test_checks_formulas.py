"""Lessons 02 and 03: the learner's parameter formulas and receptive-field recurrence, judged layer by layer.

Right answers written several ways pass; each known slip fails at the first layer it gets wrong, naming the
layer, the numbers and the slip; answers that are not numbers are explained.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vgg_teach import answers
from vgg_teach.checks import FAIL, PASS
from vgg_teach.checks.counting import check_conv_params as conv
from vgg_teach.checks.counting import check_linear_params as linear
from vgg_teach.checks.questions import RF_SLIPS
from vgg_teach.checks.receptive_field import check_receptive_fields, random_stacks, variant

CONV_OK = ("All 60 convolutions of configurations A–E", "conv1_1 = (3·3·3 + 1)·64 = 1,792",
           "5×5, 7×7 and 1×1 convs outside VGG")
LINEAR_OK = ("All 15 linear layers of configurations A–E", "(25088 + 1)·4096 = 102,764,544",
             "CIFAR classifier (512 → 512 → 512 → 10)")


@pytest.mark.parametrize("check, fn, needles", [
    (conv, answers.conv_params, CONV_OK),
    (conv, lambda c_in, c_out, k: k * k * c_in * c_out + c_out, CONV_OK),
    (conv, lambda c_in, c_out, k: np.int64((k * k * c_in + 1) * c_out), CONV_OK),
    (conv, lambda c_in, c_out, k: torch.tensor((k * k * c_in + 1) * c_out), CONV_OK),
    (conv, lambda c_in, c_out, k: float((k * k * c_in + 1) * c_out), CONV_OK),
    (linear, answers.linear_params, LINEAR_OK),
    (linear, lambda n_in, n_out: n_in * n_out + n_out, LINEAR_OK),
])
def test_right_formulas_pass(check, fn, needles):
    result = check(fn)
    assert result.status == PASS and all(n in str(result) for n in needles), str(result)


@pytest.mark.parametrize("check, fn, where, hint", [
    (conv, lambda ci, co, k: k * k * ci * co, "conv1_1: conv_params(3, 64, 3) = 1,728, but its numel() is 1,792",
     "You forgot the bias"),
    (conv, lambda ci, co, k: (k * ci + 1) * co, "configuration A, conv1_1", "You used k instead of k·k"),
    (conv, lambda ci, co, k: (2 * k * ci + 1) * co, "configuration A, conv1_1", "k + k (or 2·k)"),
    (conv, lambda ci, co, k: (9 * ci + 1) * co, "configuration C, conv3_3: conv_params(256, 256, 1) = 590,080",
     "You fixed the kernel at 3×3"),
    (conv, lambda ci, co, k: k * k * ci * co + 1, "conv1_1", "one bias for the whole layer"),
    (conv, lambda ci, co, k: (k * k + 1) * ci * co, "conv1_1", "per (input, output) channel pair"),
    (conv, lambda ci, co, k: (k * k * co + 1) * ci, "conv1_1", "You swapped C_in and C_out"),
    (conv, lambda ci, co, k: k * k * ci * co + ci, "conv1_1", "or added a bias per input channel"),
    (conv, lambda ci, co, k: (k * k + 1) * co, "conv1_1: conv_params(3, 64, 3) = 640",  # k = C_in there: the
     "You left out the input channels C_in"),  # other layers tell it from "k instead of k·k"
    (conv, lambda ci, co, k: (k * k * ci + 1) * (co + 1), "conv1_1", "the bias is one per filter"),
    (conv, lambda ci, co, k: k * k * ci + 1, "conv1_1", "You counted a single filter"),
    (conv, lambda ci, co, k: (k * k * ci + 1) * co + 7, "(off by +7)",
     "per output channel one k×k×C_in filter and one bias"),  # no known slip: the formula itself
    (conv, lambda ci, co, k: (k * k * ci + 1) * co if k in (1, 3) else 0, "a 5×5 conv (not in VGG)",
     "per output channel one k×k×C_in filter"),  # right for every VGG layer only
    (conv, lambda ci, co, k: None, "conv1_1", "It returns None: return the number you computed"),
    (conv, lambda ci, co, k: (k * k * ci + 1) * co / 3, "conv1_1", "not a whole number"),
    (conv, lambda ci, co: 0, "TypeError", "takes the integers in_channels, out_channels, kernel_size"),
    (conv, lambda ci, co, k: 1 // 0, "conv1_1", "ZeroDivisionError"),
    (linear, lambda n_in, n_out: n_in * n_out, "fc6: linear_params(25088, 4096) = 102,760,448, but its numel() is "
     "102,764,544 (off by -4,096)", "You forgot the bias"),
    (linear, lambda n_in, n_out: n_in * n_out + 1, "fc6", "one bias for the whole layer"),
    (linear, lambda n_in, n_out: (n_out + 1) * n_in, "fc6", "a bias per input"),
    (linear, lambda n_in, n_out: (n_in + 1) * (n_out + 1), "fc6", "there is no extra output"),
    (linear, lambda n_in, n_out: n_in + n_out + 1, "fc6", "Multiply, don't add"),
    (linear, lambda n_in, n_out: (n_in + 1) * n_out if n_in > 512 else n_in * n_out, "the CIFAR VGG's fc6",
     "forgot the bias"),
])
def test_each_formula_slip_is_named_at_the_first_wrong_layer(check, fn, where, hint):
    result = check(fn)
    assert result.status == FAIL, str(result)
    assert where in result.failures[0].text() and hint in result.failures[0].text(), str(result)
    assert all(i.ko and i.en for i in result.items)


# ------------------------------------------------------------------------------ the receptive-field recurrence
def learner(layers, stride_for_jump=False):
    rf, jump, out = 1, 1, []
    for k, s, *d in layers:
        rf += (d or [1])[0] * (k - 1) * (s if stride_for_jump else jump)
        jump *= s
        out.append(rf)
    return out


def learner_generator(layers):
    rf, jump = 1, 1
    for k, s, *rest in layers:
        rf += (rest[0] if rest else 1) * (k - 1) * jump
        jump *= s
        yield rf


def learner_backwards(layers):
    """The other textbook form: r_{l-1} = s·r_l + (k_eff − s), from the last layer down, for each prefix."""
    out = []
    for n in range(1, len(layers) + 1):
        r = 1
        for k, s, *d in reversed(layers[:n]):
            r = s * r + ((d or [1])[0] * (k - 1) + 1 - s)
        out.append(r)
    return out


@pytest.mark.parametrize("fn", [learner, learner_generator, learner_backwards, answers.receptive_fields,
                                lambda layers: (learner(layers), layers.clear())[0],  # emptying the list is harmless
                                lambda layers: np.array(learner(layers)), lambda layers: torch.tensor(learner(layers))])
def test_right_recurrences_pass(fn):
    result = check_receptive_fields(fn)
    assert result.status == PASS, str(result)
    assert "VGG16's 18 layers: 3, 5, 6, 10, 14, 16, 24, 32, 40, 44, 60, 76, 92, 100, 132, 164, 196, 212" in str(result)
    assert "8 random stacks (stride-2 convs, kernels 1, 5 and 7, dilation, pooling)" in str(result)


def test_the_random_stacks_cover_what_the_check_says():
    stacks = random_stacks()
    assert stacks == random_stacks() and len(stacks) == 8
    entries = [layer for layers, _ in stacks for layer in layers]
    assert {1, 5, 7} <= {layer[0] for layer in entries} and any(len(la) == 3 and la[2] > 1 for la in entries)
    assert any(la[0] > 2 and la[1] == 2 for la in entries) and any(p for _, pools in stacks for p in pools)


@pytest.mark.parametrize("slip, where", [
    ("multiply", "VGG16, layer conv2_1 (k=3, s=1): the receptive field should be 10, got 8"),
    ("stride_for_jump", "VGG16, layer pool1"),
    ("minus_one", "VGG16, layer conv1_1 (k=3, s=1): the receptive field should be 3, got 4"),
    ("dilation", "layer #2, a conv (k=3, s=1, d=3)"),
    ("dilation_times_k", "random stack 1"),
    ("jump_first", "VGG16, layer pool1 (k=2, s=2): the receptive field should be 6, got 7"),
    ("jump_is_stride", "VGG16, layer conv2_2"),
    ("start", "Expected [3], got [2]"),
])
def test_each_recurrence_slip_is_named_at_the_first_wrong_layer(slip, where):
    result = check_receptive_fields(lambda layers: variant(layers, **{slip: RF_SLIPS[slip][0]}))
    assert result.status == FAIL and where in result.failures[0].text(), str(result)
    assert result.failures[0].hint_en == RF_SLIPS[slip][2] and result.failures[0].hint_ko == RF_SLIPS[slip][1]
    if slip.startswith("dilation"):  # VGG16 has no dilation: its ✅ stays, the random stacks find the slip
        assert [i.status for i in result.items] == [PASS, FAIL]


@pytest.mark.parametrize("fn, needle", [
    (lambda layers: learner(layers, stride_for_jump=True), "it is (k − 1)·jump, not (k − 1)·stride"),
    (lambda layers: learner(layers)[-1], "It returns a single number (212)"),
    (lambda layers: learner(layers)[1:], "It returns 17 values for 18 layers"),
    (lambda layers: None, "It returns None"),
    (lambda layers: [x + 0.5 for x in learner(layers)], "not a whole number"),
    (lambda layers: dict(enumerate(learner(layers))), "It returns a dict: return a list of the values"),
    (lambda layers: 1 / 0, "ZeroDivisionError"),
    (lambda layers: learner([(k, s) for k, s in layers]), "Entries may have three values, (kernel, stride, dilation)"),
], ids=["stride-for-jump", "last-only", "one-short", "none", "float", "dict", "crash", "two-values-only"])
def test_wrong_recurrences_and_answers_of_the_wrong_shape_are_explained(fn, needle):
    result = check_receptive_fields(fn)
    assert result.status == FAIL and needle in result.failures[0].text(), str(result)
