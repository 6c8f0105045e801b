"""Lesson 04: check_head_swap and check_parameter_count pass right answers and name each usual mistake."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from vgg_teach import answers
from vgg_teach.checks import FAIL, PASS, TODO
from vgg_teach.checks.head import check_head_swap, check_parameter_count


def swap_loop(model, num_classes):
    for p in model.features.parameters():
        p.requires_grad = False
    model.classifier[6] = nn.Linear(model.classifier[6].in_features, num_classes)
    return model


def swap_copy(model, num_classes):
    new = copy.deepcopy(model)
    new.features.requires_grad_(False)
    new.classifier[-1] = nn.Linear(4096, num_classes)
    return new


def detach_does_not_freeze(model, num_classes):
    for p in model.features.parameters():
        p = p.detach()  # noqa: F841 - the classic no-op
    model.classifier[6] = nn.Linear(4096, num_classes)
    return model


def attribute_freeze(model, num_classes):
    model.features.requires_grad = False  # a plain attribute: freezes nothing
    model.classifier[6] = nn.Linear(4096, num_classes)
    return model


def not_frozen(model, num_classes):
    model.classifier[6] = nn.Linear(4096, num_classes)
    return model


def convs_only(model, num_classes):
    for m in model.features:
        if isinstance(m, nn.Conv2d):
            m.requires_grad_(False)
    model.classifier[6] = nn.Linear(4096, num_classes)
    return model


def wrong_layer(model, num_classes):
    model.features.requires_grad_(False)
    model.classifier[3] = nn.Linear(4096, num_classes)
    return model


def whole_classifier(model, num_classes):
    model.features.requires_grad_(False)
    model.classifier = nn.Linear(4096, num_classes)
    return model


def attribute_only(model, num_classes):
    model.features.requires_grad_(False)
    model.classifier[6].out_features = num_classes
    return model


def wrong_in_features(model, num_classes):
    model.features.requires_grad_(False)
    model.classifier[6] = nn.Linear(25088, num_classes)
    return model


@pytest.mark.parametrize("fn", [swap_loop, swap_copy, answers.swap_head], ids=["loop", "copy", "reference"])
def test_right_swaps_pass(fn):
    result = check_head_swap(fn)
    assert result.passed and "134,309,962" in str(result), str(result)


def test_moving_to_a_device_is_checked_on_a_real_model_and_other_class_counts_work():
    def to_device(model, num_classes):
        model.features.requires_grad_(False)
        model.classifier[6] = nn.Linear(4096, num_classes).to(torch.device("cpu"))
        return model

    result = check_head_swap(to_device)
    assert result.passed and "CPU" in str(result), str(result)
    assert "134,420,581" in str(check_head_swap(swap_loop, num_classes=37))


@pytest.mark.parametrize("fn, expected", [
    (lambda model, n: swap_loop(model, n) and None, "return model"),
    (lambda model, n: swap_loop(model, n).classifier[6], "Linear 하나를 돌려줍니다"),
    (not_frozen, "features가 얼지 않았습니다"),
    (detach_does_not_freeze, "features가 얼지 않았습니다"),
    (attribute_freeze, "model.features.requires_grad = False only sets a new attribute"),
    (lambda model, n: not_frozen(model.requires_grad_(False), n), "분류기의 매개변수 중 119,545,856개가 얼었습니다"),
    (convs_only, "8,448개가 아직 학습됩니다"),
    (wrong_layer, "엉뚱한 계층"),
    (lambda model, n: model.features.requires_grad_(False) and model.classifier.append(nn.Linear(1000, n)) and model,
     "덧붙이지 말고 바꾸세요"),
    (whole_classifier, "분류기 전체를 바꿔"),
    (attribute_only, "out_features 속성만"),
    (lambda model, n: swap_loop(model, 10), "num_classes=7로 불렀는데 마지막 계층의 출력이 10개"),
    (wrong_in_features, "nn.Linear(4096, 10)이어야 합니다"),
    (lambda model, n: 1 / 0, "ZeroDivisionError"),
], ids=["no-return", "returns-layer", "not-frozen", "detach", "attribute", "all-frozen", "convs-only", "wrong-layer",
        "appended", "whole-classifier", "attribute-only", "hard-coded-10", "in-features", "crash"])
def test_each_swap_mistake_gets_its_own_message(fn, expected):
    result = check_head_swap(fn)
    assert result.status == FAIL and expected in str(result), str(result)
    assert "does not require grad" not in str(result)  # a raw autograd error never reaches the learner


def test_swap_stub_is_pending_and_the_check_leaves_grad_mode_and_the_device_alone():
    def stub(model, num_classes):
        raise NotImplementedError("연습 문제를 채워 주세요 / Fill in this exercise")

    assert check_head_swap(stub).status == TODO
    assert check_head_swap(swap_loop).status == PASS
    assert torch.is_grad_enabled() and torch.empty(1).device.type == "cpu"


def count_right(model):
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable, total - trainable


def count_shared_twice(model):
    params = [p for _, p in model.named_parameters(remove_duplicate=False)]
    total, trainable = sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)
    return total, trainable, total - trainable


@pytest.mark.parametrize("fn", [count_right, answers.count_parameters])
def test_counting_right_answers_pass(fn):
    result = check_parameter_count(fn)
    assert result.passed and "134,309,962" in str(result), str(result)


@pytest.mark.parametrize("fn, expected", [
    (lambda m: (sum(v.numel() for v in m.state_dict().values()), *count_right(m)[1:]), "버퍼(buffer)"),
    (lambda m: (len(list(m.parameters())), sum(p.requires_grad for p in m.parameters()), 0), "p.numel()"),
    (lambda m: (count_right(m)[0], count_right(m)[2], count_right(m)[1]), "뒤바뀌었습니다"),
    (count_shared_twice, "두 번 셌습니다"),
    (lambda m: count_right(m)[:2], "세 정수"),
    (lambda m: (5, 7, 9), "전체 = 학습 + 고정"),
], ids=["state-dict", "tensors", "swapped", "shared-twice", "two-values", "sum"])
def test_counting_mistakes(fn, expected):
    result = check_parameter_count(fn)
    assert result.status == FAIL and expected in str(result), str(result)


def test_counting_stub_is_pending():
    def stub(model):
        raise NotImplementedError

    assert check_parameter_count(stub).status == TODO
    assert check_parameter_count(None).status == FAIL
