"""The feedback every check shares: ✅/❌/⏳ in both languages, a stub is ⏳ and never an error, nothing raises."""

from __future__ import annotations

import importlib

import pytest
import torch
from torch import nn

from vgg_teach.checks import FAIL, PASSED_MARK, PENDING_MARK, TODO, CheckResult, is_stub, never_raises

CHECKS = ["vgg16.check_make_layers", "counting.check_conv_params",
          "counting.check_linear_params", "receptive_field.check_receptive_fields", "head.check_head_swap",
          "head.check_parameter_count", "training.check_train_step", "training.check_evaluate",
          "training.check_confusion_matrix", "dense.check_fully_convolutional"]


def _check(name):
    module, _, check = name.partition(".")
    return getattr(importlib.import_module(f"vgg_teach.checks.{module}"), check)


@pytest.mark.parametrize("name", CHECKS)
def test_every_check_handed_a_value_instead_of_a_function_says_so(name):
    result = _check(name)(42)  # check(fn()) instead of check(fn)
    assert result.status == FAIL and "함수를 넘겨 주세요" in str(result) and "Pass a function" in str(result)
    assert "int" in str(result)


@pytest.mark.parametrize("name", CHECKS)
def test_a_stub_is_pending_and_says_to_run_the_exercise_cell_first(name):
    def stub(*_args):
        raise NotImplementedError("연습 문제를 채워 주세요 / Fill in this exercise")

    result = _check(name)(stub)
    assert result.status == TODO and not result and str(result).startswith(PENDING_MARK)
    item = result.failures[0]
    assert "run that cell, then run this one again" in item.en and "Already filled it in?" in item.en
    assert "연습 셀부터 다시 실행하세요" in item.ko


def test_not_implemented_raised_by_torch_inside_learner_code_is_an_error_not_pending():
    result = _check("training.check_confusion_matrix")(lambda preds, labels, c: nn.ModuleList([nn.Identity()])(preds))
    assert result.status == FAIL and "ModuleList" in str(result)

    @never_raises("demo")
    def check(result: CheckResult, fn):
        fn()
        return result

    modlist = check(lambda: nn.ModuleList()(1))
    assert modlist.status == FAIL and "nn.Sequential(*layers)" in modlist.failures[0].hint_en


def _raised(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001
        return exc


def _own_stub():
    raise NotImplementedError


@pytest.mark.parametrize("fn, stub", [(_own_stub, True), (lambda: torch.empty(1, device="meta").item(), False),
                                      (lambda: nn.ModuleList()(1), False)])
def test_is_stub_tells_a_stub_from_torch(fn, stub):
    assert is_stub(_raised(fn)) is stub


def test_a_result_is_truthy_only_when_everything_passed_and_renders_in_both_languages():
    result = CheckResult("demo")
    assert result.status == TODO  # nothing checked yet
    result.expect(True, ("좋습니다", "good"), ("나쁩니다", "bad"))
    assert result and str(result).startswith(PASSED_MARK) and "✅ 좋습니다\n   good" in str(result)
    result.expect(False, ("좋습니다", "good"), ("나쁩니다", "bad"), ("힌트", "a hint"))
    assert not result and "💡 힌트" in str(result) and "data-status='fail'" in result._repr_html_()
