"""Prediction cells and numeric quiz answers: every truth agrees with an independent count, every known
mistake is named, wrong shapes and stubs are reported, and nothing raises."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from vgg_teach import answers
from vgg_teach.checks import FAIL, PASS, TODO
from vgg_teach.checks.questions import QUESTIONS, QUIZZES, check_prediction, check_quiz, fmt_answer
from vgg_teach.receptive_field import VGG16_RECEPTIVE_FIELDS
from vgg_teach.training.recipe import TrainConfig


def _meta(factory):
    with torch.device("meta"):
        return factory()


def _numel(module: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def _flops(module: nn.Module, shape: tuple[int, ...]) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module.eval()(torch.empty(*shape, device="meta"))
    return counter.get_total_flops()


def _first_unit(features: nn.Module) -> tuple[float, float]:
    """Center and first pixel of the last layer's first unit, by the recurrence written out here."""
    rf, jump, start = 1, 1, 0.0
    for m in features:
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d)):
            k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
            s = m.stride if isinstance(m.stride, int) else m.stride[0]
            p = m.padding if isinstance(m.padding, int) else m.padding[0]
            rf += (k - 1) * jump
            start += ((k - 1) / 2 - p) * jump
            jump *= s
    return start, start - (rf - 1) / 2


def _swapped():
    return answers.swap_head(_meta(lambda: torchvision.models.vgg16_bn(weights=None)), 10)


def _rf(*layers: tuple[int, int, int]) -> int:
    rf, jump = 1, 1
    for k, s, d in layers:
        rf += d * (k - 1) * jump
        jump *= s
    return rf


#: every question → its truth computed another way (torchvision models, FlopCounterMode, the formulas)
ORACLES = {
    "vgg16_convs": lambda: sum(isinstance(m, nn.Conv2d) for m in torchvision.models.vgg16().features),
    "vgg16_out_224": lambda: _meta(torchvision.models.vgg16).features(torch.empty(1, 3, 224, 224, device="meta")
                                                                       ).shape[-1],
    "vgg16_bn_modules": lambda: len(_meta(torchvision.models.vgg16_bn).features),
    "conv_out_56": lambda: (56 + 2 * 1 - 3) // 1 + 1,
    "vgg16_out_32": lambda: tuple(_meta(torchvision.models.vgg16).features(
        torch.empty(1, 3, 32, 32, device="meta")).shape[1:]),
    "conv1_1_params": lambda: _numel(nn.Conv2d(3, 64, 3)),
    "initial_loss": lambda: math.log(10),  # −ln(1/10): equal scores for CIFAR-10's 10 classes
    "fc6_params": lambda: _numel(nn.Linear(25088, 4096, device="meta")),
    "conv3_3_1x1_params": lambda: _numel(nn.Conv2d(256, 256, 1)),
    "conv1_2_macs": lambda: _flops(nn.Conv2d(64, 64, 3, padding=1, device="meta"), (1, 64, 224, 224)) // 2,
    "vgg16_params_448": lambda: _numel(_meta(torchvision.models.vgg16)),
    "bn_extra_params": lambda: _numel(_meta(torchvision.models.vgg16_bn)) - _numel(_meta(torchvision.models.vgg16)),
    "conv2_1_rf": lambda: VGG16_RECEPTIVE_FIELDS[3],
    "pool5_first_unit": lambda: _first_unit(_meta(torchvision.models.vgg16).features),
    "rf_four_convs": lambda: (_rf(*[(3, 1, 1)] * 4), _rf((3, 2, 1), *[(3, 1, 1)] * 3)),
    "rf_dilated": lambda: _rf((3, 1, 2)),
    "flops_224_vs_32": lambda: (_flops(_meta(torchvision.models.vgg16_bn), (1, 3, 224, 224))
                                / _flops(_meta(torchvision.models.vgg16_bn), (1, 3, 32, 32))),
    "trainable_after_swap": lambda: answers.count_parameters(_swapped())[1],
    "head_flops": lambda: _flops(nn.Linear(4096, 10, device="meta"), (1, 4096)),
    "new_head_params": lambda: _numel(nn.Linear(4096, 10)),
    "swapped_total": lambda: answers.count_parameters(_swapped())[0],
    # lesson 07: the global-batch rule written out, and the CIFAR VGG16-BN as torchvision's features + a 512 head
    "ddp_local_batch": lambda: TrainConfig().batch_size // 2,
    "ddp_steps_per_epoch": lambda: 50_000 // TrainConfig().batch_size,
    "ddp_allreduce_numbers": lambda: (_numel(_meta(torchvision.models.vgg16_bn).features)
                                      + 2 * _numel(nn.Linear(512, 512)) + _numel(nn.Linear(512, 10))),
}
KEYS = sorted(QUESTIONS)


def test_every_question_has_an_oracle():
    assert set(ORACLES) == set(QUESTIONS)


@pytest.mark.parametrize("key", KEYS)
def test_truth_agrees_with_an_independent_count(key: str):
    truth = QUESTIONS[key].truth()
    want = ORACLES[key]()
    if isinstance(want, tuple):
        assert truth.value == pytest.approx(want)
    else:
        assert math.isclose(truth.value, want, rel_tol=1e-12)


@pytest.mark.parametrize("key", KEYS)
def test_the_truth_passes_and_says_how_it_comes_out(key: str):
    truth = QUESTIONS[key].truth()
    result = check_prediction(key, lambda: truth.value)
    assert result.passed, str(result)
    assert truth.why_en in str(result) and fmt_answer(truth.value) in str(result)


@pytest.mark.parametrize("key", KEYS)
def test_each_known_mistake_is_named(key: str):
    truth = QUESTIONS[key].truth()
    for mistake, ko, en in truth.mistakes:
        if callable(mistake):
            assert not mistake(truth.value), f"{key}: a mistake predicate accepts the truth ({en})"
            continue
        assert mistake != truth.value, f"{key}: a listed mistake equals the truth ({en})"
        result = check_prediction(key, mistake)
        assert result.status == FAIL
        # the first mistake giving this number is named (two mistakes may give the same number)
        first = next(e for m, _, e in truth.mistakes if not callable(m) and m == mistake)
        assert first in str(result), str(result)


@pytest.mark.parametrize("key", KEYS)
def test_an_unexplained_wrong_answer_gets_the_question_hint(key: str):
    question = QUESTIONS[key]
    truth = question.truth()
    wrong = tuple(v * 3 + 7 for v in truth.value) if isinstance(truth.value, tuple) else truth.value * 3 + 7
    result = check_prediction(key, wrong)
    assert result.status == FAIL and question.hint_en in str(result)
    told = "\n".join(item.text() for item in result.failures)
    assert fmt_answer(truth.value) not in told.replace(fmt_answer(wrong), ""), "a wrong guess is not told the answer"


def test_wrong_numbers_say_which_way_they_are_off():
    truth = QUESTIONS["fc6_params"].truth().value
    assert "too small" in str(check_prediction("fc6_params", truth - 12345))
    assert "too large" in str(check_prediction("fc6_params", truth + 12345))


def test_estimates_pass_within_their_tolerance_and_exact_answers_need_to_be_exact():
    ratio = QUESTIONS["flops_224_vs_32"].truth()
    assert ratio.rel_tol > 0
    assert check_prediction("flops_224_vs_32", ratio.value * (1 + ratio.rel_tol / 2)).passed
    assert not check_prediction("flops_224_vs_32", ratio.value * (1 + 2 * ratio.rel_tol)).passed
    exact = QUESTIONS["conv1_1_params"].truth().value
    assert not check_prediction("conv1_1_params", exact + 1).passed


def _stub():
    raise NotImplementedError


@pytest.mark.parametrize("guess, status", [
    (_stub, TODO), (lambda: ..., TODO), (None, TODO),
    ("1,792", PASS), (1792.0, PASS), (torch.tensor(1792), PASS),
    ("lots", FAIL), (object(), FAIL), ((1792, 1), FAIL), (lambda: 1 / 0, FAIL),
])
def test_what_a_learner_may_return(guess, status: str):
    result = check_prediction("conv1_1_params", guess)
    assert result.status == status, str(result)


def test_shapes_must_match_and_unknown_questions_are_named():
    result = check_prediction("pool5_first_unit", 15.5)
    assert result.status == FAIL and "2 numbers" in str(result)
    assert check_prediction("vgg16_out_32", [512, 1, 1]).passed
    assert check_prediction("vgg16_out_32", torch.Size([512, 1, 1])).passed
    unknown = check_prediction("no_such_question", 3)
    assert unknown.status == FAIL and "conv1_1_params" in str(unknown)


def test_the_report_restates_the_question_and_renders_a_status_box():
    result = check_prediction("conv2_1_rf", _stub)
    assert QUESTIONS["conv2_1_rf"].en in str(result)
    assert "data-status='todo'" in result._repr_html_()


def _right_answers(lesson: str) -> dict:
    return {label: QUESTIONS[key].truth().value for label, key in QUIZZES[lesson].items()}


def test_every_quiz_question_exists():
    for lesson, quiz in QUIZZES.items():
        assert quiz and set(quiz.values()) <= set(QUESTIONS), lesson


@pytest.mark.parametrize("lesson", sorted(QUIZZES))
def test_a_quiz_passes_only_when_every_numeric_answer_is_right(lesson: str):
    right = _right_answers(lesson)
    assert check_quiz(lesson, lambda: right).passed
    first = next(iter(right))
    partial = check_quiz(lesson, {**right, first: ...})
    assert partial.status == TODO and first in str(partial)
    wrong = dict(right)
    value = wrong[first]
    wrong[first] = tuple(v + 1 for v in value) if isinstance(value, tuple) else value + 1
    assert check_quiz(lesson, wrong).status == FAIL


def test_quiz_input_problems_are_reported_not_raised():
    assert check_quiz("01", _stub).status == TODO
    assert check_quiz("01", [56]).status == FAIL
    assert check_quiz("99", {}).status == FAIL
    noted = check_quiz("01", {**_right_answers("01"), "Q3": "because"})
    assert noted.passed and "Q3" in str(noted)
