"""Lesson 02's checks: the learner's parameter formulas, judged against numel() for every layer of A–E.

Right formulas (written several ways) pass; each common mistake fails at the first layer it gets
wrong, naming the layer, the numbers and the mistake; a stub is pending; nothing ever raises. The
layer table then really counts with the learner's functions.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vgg_teach import answers
from vgg_teach import counting as params
from vgg_teach.checks import FAIL, PASS, TODO
from vgg_teach.checks.counting import check_conv_params, check_linear_params


# ------------------------------------------------------------------------------------- conv
def conv_learner(in_channels, out_channels, kernel_size):
    return (kernel_size ** 2 * in_channels + 1) * out_channels


CONV_OK = ("All 60 convolutions of configurations A–E", "conv1_1 = (3·3·3 + 1)·64 = 1,792",
           "5×5, 7×7 and 1×1 convs outside VGG")
LINEAR_OK = ("All 15 linear layers of configurations A–E", "(25088 + 1)·4096 = 102,764,544",
             "CIFAR classifier (512 → 512 → 512 → 10)")


@pytest.mark.parametrize("check, fn, needles", [
    (check_conv_params, params.conv_params, CONV_OK),
    (check_conv_params, conv_learner, CONV_OK),
    (check_conv_params, lambda c_in, c_out, k: k * k * c_in * c_out + c_out, CONV_OK),
    (check_conv_params, lambda c_in, c_out, k: np.int64((k * k * c_in + 1) * c_out), CONV_OK),  # numpy ints are fine
    (check_conv_params, lambda c_in, c_out, k: torch.tensor((k * k * c_in + 1) * c_out), CONV_OK),  # 1-element tensor
    (check_conv_params, lambda c_in, c_out, k: float((k * k * c_in + 1) * c_out), CONV_OK),  # a whole float
    (check_linear_params, params.linear_params, LINEAR_OK),
    (check_linear_params, lambda n_in, n_out: n_in * n_out + n_out, LINEAR_OK),
])
def test_right_formulas_pass(check, fn, needles):
    result = check(fn)
    assert result.status == PASS, str(result)
    assert all(n in str(result) for n in needles), str(result)


@pytest.mark.parametrize("fn, where, hint", [
    (lambda c_in, c_out, k: k * k * c_in * c_out,
     "configuration A, conv1_1: conv_params(3, 64, 3) = 1,728, but its numel() is 1,792 (off by -64)",
     "You forgot the bias"),
    (lambda c_in, c_out, k: (k * c_in + 1) * c_out, "configuration A, conv1_1", "You used k instead of k·k"),
    (lambda c_in, c_out, k: (2 * k * c_in + 1) * c_out, "configuration A, conv1_1", "k + k (or 2·k)"),
    (lambda c_in, c_out, k: (9 * c_in + 1) * c_out,
     "configuration C, conv3_3: conv_params(256, 256, 1) = 590,080, but its numel() is 65,792",
     "You fixed the kernel at 3×3"),
    (lambda c_in, c_out, k: k * k * c_in * c_out + 1, "configuration A, conv1_1", "one bias for the whole layer"),
    (lambda c_in, c_out, k: (k * k + 1) * c_in * c_out, "configuration A, conv1_1", "per (input, output) channel pair"),
    (lambda c_in, c_out, k: (k * k * c_out + 1) * c_in, "configuration A, conv1_1", "You swapped C_in and C_out"),
    (lambda c_in, c_out, k: k * k * c_in + 1, "configuration A, conv1_1", "You counted a single filter"),
    (lambda c_in, c_out, k: (k * k * c_in + 1) * c_out + 7, "(off by +7)",
     "per output channel one k×k×C_in filter and one bias"),  # no known mistake: the formula itself
])
def test_conv_mistakes_are_named(fn, where, hint):
    result = check_conv_params(fn)
    assert result.status == FAIL
    text = result.failures[0].text()
    assert where in text and hint in text, str(result)
    assert all(i.ko and i.en for i in result.items)  # bilingual, every line


def test_a_formula_right_only_for_3x3_fails_outside_vgg():
    # Right for every VGG layer (3×3 and the square 256→256 / 512→512 1×1 convs)…
    def only_vgg(c_in, c_out, k):
        return (k * k * c_in + 1) * c_out if k in (1, 3) else (9 * c_in + 1) * c_out

    result = check_conv_params(only_vgg)
    assert result.status == FAIL
    assert [i.status for i in result.items] == [PASS, FAIL]
    assert "a 5×5 conv (not in VGG)" in result.failures[0].text()


def test_conv_answers_that_are_not_numbers():
    none = check_conv_params(lambda c_in, c_out, k: None)
    assert none.status == FAIL and "It returns None: return the number you computed" in none.failures[0].text()
    half = check_conv_params(lambda c_in, c_out, k: (k * k * c_in + 1) * c_out / 3)
    assert half.status == FAIL and "not a whole number" in half.failures[0].text()
    arity = check_conv_params(lambda c_in, c_out: 0)
    assert arity.status == FAIL
    text = arity.failures[0].text()
    assert "TypeError" in text and "takes the integers in_channels, out_channels, kernel_size" in text
    crash = check_conv_params(lambda c_in, c_out, k: 1 // 0)
    assert crash.status == FAIL and "ZeroDivisionError" in crash.failures[0].text()
    assert check_conv_params(42).status == FAIL


def test_stubs_are_pending():
    def stub(*args):
        raise NotImplementedError("연습 문제를 채워 주세요 / Fill in this exercise")

    for check in (check_conv_params, check_linear_params):
        result = check(stub)
        assert result.status == TODO and not result
        assert "Not written yet" in str(result)


# ----------------------------------------------------------------------------------- linear
@pytest.mark.parametrize("fn, where, hint", [
    (lambda n_in, n_out: n_in * n_out,
     "configuration A, fc6: linear_params(25088, 4096) = 102,760,448, but its numel() is 102,764,544 (off by -4,096)",
     "You forgot the bias"),
    (lambda n_in, n_out: n_in * n_out + 1, "configuration A, fc6", "one bias for the whole layer"),
    (lambda n_in, n_out: (n_out + 1) * n_in, "configuration A, fc6", "a bias per input"),
    (lambda n_in, n_out: n_in + n_out + 1, "configuration A, fc6", "Multiply, don't add"),
    # right for the ImageNet head, wrong for the CIFAR one
    (lambda n_in, n_out: (n_in + 1) * n_out if n_in > 512 else n_in * n_out, "the CIFAR VGG's fc6", "forgot the bias"),
])
def test_linear_mistakes_are_named(fn, where, hint):
    result = check_linear_params(fn)
    assert result.status == FAIL
    text = result.failures[0].text()
    assert where in text and hint in text, str(result)


# ------------------------------------------------------------------------------ what follows
def test_use_continues_with_the_learners_formula_only_when_it_passes(capsys):
    wrong = lambda c_in, c_out, k: k * k * c_in * c_out  # noqa: E731
    assert check_conv_params(conv_learner).use(conv_learner, params.conv_params) is conv_learner
    assert check_conv_params(wrong).use(wrong, params.conv_params) is params.conv_params
    assert "vgg_teach.answers.conv_params" in capsys.readouterr().out


def test_layer_table_counts_with_the_learners_formulas():
    calls = []

    def conv(c_in, c_out, k):
        calls.append(("conv", c_in, c_out, k))
        return conv_learner(c_in, c_out, k)

    def linear(n_in, n_out):
        calls.append(("linear", n_in, n_out))
        return (n_in + 1) * n_out

    with torch.device("meta"):
        model = answers.MyVGG16()
    table = params.layer_table(model, 224, compact=True, conv_formula=conv, linear_formula=linear)
    assert table.total_params == 138_357_544
    assert [c[0] for c in calls].count("conv") == 13 and [c[0] for c in calls].count("linear") == 3
    # …and a wrong formula really shows in the table (it is not recomputed behind the learner's back)
    wrong = params.layer_table(model, 224, conv_formula=lambda c_in, c_out, k: 0)
    assert wrong.total_params == 138_357_544 - 14_714_688
