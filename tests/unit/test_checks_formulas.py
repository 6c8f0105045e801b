"""Lessons 02 and 03: the learner's parameter formulas and receptive-field recurrence, judged layer by layer.

Right answers written several ways pass; each known slip fails at the first layer it gets wrong, naming the
layer, the numbers and the slip; answers that are not numbers are explained.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vgg_teach import answers, counting
from vgg_teach.checks import FAIL, PASS, TODO
from vgg_teach.checks.counting import check_conv_params, check_linear_params
from vgg_teach.checks.questions import RF_SLIPS
from vgg_teach.checks.receptive_field import check_receptive_fields, random_stacks, variant

CONV_OK = ("All 60 convolutions of configurations A–E", "conv1_1 = (3·3·3 + 1)·64 = 1,792",
           "5×5, 7×7 and 1×1 convs outside VGG")
LINEAR_OK = ("All 15 linear layers of configurations A–E", "(25088 + 1)·4096 = 102,764,544",
             "CIFAR classifier (512 → 512 → 512 → 10)")


def conv_learner(in_channels, out_channels, kernel_size):
    return (kernel_size ** 2 * in_channels + 1) * out_channels


@pytest.mark.parametrize("check, fn, needles", [
    (check_conv_params, answers.conv_params, CONV_OK),
    (check_conv_params, conv_learner, CONV_OK),
    (check_conv_params, lambda c_in, c_out, k: k * k * c_in * c_out + c_out, CONV_OK),
    (check_conv_params, lambda c_in, c_out, k: np.int64((k * k * c_in + 1) * c_out), CONV_OK),
    (check_conv_params, lambda c_in, c_out, k: torch.tensor((k * k * c_in + 1) * c_out), CONV_OK),
    (check_conv_params, lambda c_in, c_out, k: float((k * k * c_in + 1) * c_out), CONV_OK),
    (check_linear_params, answers.linear_params, LINEAR_OK),
    (check_linear_params, lambda n_in, n_out: n_in * n_out + n_out, LINEAR_OK),
])
def test_right_formulas_pass(check, fn, needles):
    result = check(fn)
    assert result.status == PASS and all(n in str(result) for n in needles), str(result)


@pytest.mark.parametrize("check, fn, where, hint", [
    (check_conv_params, lambda ci, co, k: k * k * ci * co,
     "configuration A, conv1_1: conv_params(3, 64, 3) = 1,728, but its numel() is 1,792 (off by -64)",
     "You forgot the bias"),
    (check_conv_params, lambda ci, co, k: (k * ci + 1) * co, "configuration A, conv1_1", "You used k instead of k·k"),
    (check_conv_params, lambda ci, co, k: (2 * k * ci + 1) * co, "configuration A, conv1_1", "k + k (or 2·k)"),
    (check_conv_params, lambda ci, co, k: (9 * ci + 1) * co,
     "configuration C, conv3_3: conv_params(256, 256, 1) = 590,080, but its numel() is 65,792",
     "You fixed the kernel at 3×3"),
    (check_conv_params, lambda ci, co, k: k * k * ci * co + 1, "conv1_1", "one bias for the whole layer"),
    (check_conv_params, lambda ci, co, k: (k * k + 1) * ci * co, "conv1_1", "per (input, output) channel pair"),
    (check_conv_params, lambda ci, co, k: (k * k * co + 1) * ci, "conv1_1", "You swapped C_in and C_out"),
    (check_conv_params, lambda ci, co, k: (k * k * ci + 1) * (co + 1), "conv1_1", "(k·k·C_in + 1)·(C_out + 1): the "
     "bias is one per filter"),
    (check_conv_params, lambda ci, co, k: k * k * ci + 1, "conv1_1", "You counted a single filter"),
    (check_conv_params, lambda ci, co, k: (k * k * ci + 1) * co + 7, "(off by +7)",
     "per output channel one k×k×C_in filter and one bias"),  # no known slip: the formula itself
    (check_conv_params, lambda ci, co, k: (k * k * ci + 1) * co if k in (1, 3) else 0, "a 5×5 conv (not in VGG)",
     "per output channel one k×k×C_in filter"),  # right for every VGG layer only
    (check_linear_params, lambda n_in, n_out: n_in * n_out,
     "configuration A, fc6: linear_params(25088, 4096) = 102,760,448, but its numel() is 102,764,544 (off by -4,096)",
     "You forgot the bias"),
    (check_linear_params, lambda n_in, n_out: n_in * n_out + 1, "fc6", "one bias for the whole layer"),
    (check_linear_params, lambda n_in, n_out: (n_out + 1) * n_in, "fc6", "a bias per input"),
    (check_linear_params, lambda n_in, n_out: (n_in + 1) * (n_out + 1), "fc6", "there is no extra output"),
    (check_linear_params, lambda n_in, n_out: n_in + n_out + 1, "fc6", "Multiply, don't add"),
    (check_linear_params, lambda n_in, n_out: (n_in + 1) * n_out if n_in > 512 else n_in * n_out,
     "the CIFAR VGG's fc6", "forgot the bias"),
    (check_conv_params, lambda ci, co, k: None, "conv1_1", "It returns None: return the number you computed"),
    (check_conv_params, lambda ci, co, k: (k * k * ci + 1) * co / 3, "conv1_1", "not a whole number"),
    (check_conv_params, lambda ci, co: 0, "TypeError", "takes the integers in_channels, out_channels, kernel_size"),
    (check_conv_params, lambda ci, co, k: 1 // 0, "conv1_1", "ZeroDivisionError"),
])
def test_each_formula_slip_is_named_at_the_first_wrong_layer(check, fn, where, hint):
    result = check(fn)
    assert result.status == FAIL, str(result)
    text = result.failures[0].text()
    assert where in text and hint in text, str(result)
    assert all(i.ko and i.en for i in result.items)


def test_the_layer_table_counts_with_the_learners_formulas(capsys):
    calls = []

    def conv(c_in, c_out, k):
        calls.append("conv")
        return conv_learner(c_in, c_out, k)

    with torch.device("meta"):
        model = answers.MyVGG16()
    table = counting.layer_table(model, 224, compact=True, conv_formula=conv,
                                 linear_formula=lambda n_in, n_out: calls.append("linear") or (n_in + 1) * n_out)
    assert table.total_params == 138_357_544 and calls.count("conv") == 13 and calls.count("linear") == 3
    wrong = counting.layer_table(model, 224, conv_formula=lambda c_in, c_out, k: 0)  # not recomputed behind its back
    assert wrong.total_params == 138_357_544 - 14_714_688
    assert check_conv_params(conv_learner).use(conv_learner, answers.conv_params) is conv_learner


# ------------------------------------------------------------------------------ the receptive-field recurrence
def learner(layers):
    rf, jump, out = 1, 1, []
    for layer in layers:
        k, s, d = layer[0], layer[1], layer[2] if len(layer) > 2 else 1
        rf += (d * (k - 1) + 1 - 1) * jump
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


def destructive(layers):
    out = learner(layers)
    layers.clear()  # a learner who empties the list must not break the next comparison
    return out


@pytest.mark.parametrize("fn", [learner, learner_generator, learner_backwards, answers.receptive_fields, destructive,
                                lambda layers: np.array(learner(layers)), lambda layers: torch.tensor(learner(layers))])
def test_right_recurrences_pass(fn):
    result = check_receptive_fields(fn)
    assert result.status == PASS, str(result)
    assert "VGG16's 18 layers: 3, 5, 6, 10, 14, 16, 24, 32, 40, 44, 60, 76, 92, 100, 132, 164, 196, 212" in str(result)
    assert "8 random stacks" in str(result)


def test_the_random_stacks_cover_what_the_check_promises():
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


def test_a_stride_in_place_of_the_jump_is_explained_in_both_languages():
    def stride_not_jump(layers):
        rf, out = 1, []
        for k, s, *_ in layers:
            rf += (k - 1) * s
            out.append(rf)
        return out

    failure = check_receptive_fields(stride_not_jump).failures[0]
    assert "it is (k − 1)·jump, not (k − 1)·stride" in failure.hint_en and "(k − 1)·jump" in failure.hint_ko


def two_values_only(layers):
    rf, jump, out = 1, 1, []
    for k, s in layers:
        rf, jump = rf + (k - 1) * jump, jump * s
        out.append(rf)
    return out


@pytest.mark.parametrize("fn, needle", [
    (lambda layers: learner(layers)[-1], "It returns a single number (212)"),
    (lambda layers: learner(layers)[1:], "It returns 17 values for 18 layers"),
    (lambda layers: None, "It returns None"),
    (lambda layers: [x + 0.5 for x in learner(layers)], "not a whole number"),
    (lambda layers: {"rf": learner(layers)}, "It returns 1 values for 18 layers"),
    (lambda layers: 1 / 0, "ZeroDivisionError"),
    (two_values_only, "Entries may have three values, (kernel, stride, dilation)"),
    ("not a function", "Pass a function"),
])
def test_answers_of_the_wrong_shape_are_explained(fn, needle):
    result = check_receptive_fields(fn)
    assert result.status == FAIL and needle in result.failures[0].text(), str(result)


@pytest.mark.parametrize("check", [check_conv_params, check_linear_params, check_receptive_fields])
def test_stubs_are_pending(check):
    def stub(*args):
        raise NotImplementedError("연습 문제를 채워 주세요 / Fill in this exercise")

    result = check(stub)
    assert result.status == TODO and not result and "Not written yet" in str(result)
