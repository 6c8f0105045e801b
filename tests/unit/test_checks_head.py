"""check_head_swap / check_parameter_count (lesson 04): right answers pass, each usual mistake fails with
its own message, stubs are ⏳, and nothing ever raises."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vgg_teach import answers
from vgg_teach.checks import FAIL, PASS, TODO
from vgg_teach.checks.head import check_head_swap, check_parameter_count, head_swap_counts


# ------------------------------------------------------------------------------ head swap
def swap_loop(model, num_classes):
    for p in model.features.parameters():
        p.requires_grad = False
    model.classifier[6] = nn.Linear(model.classifier[6].in_features, num_classes)
    return model


def swap_copy(model, num_classes):
    """Works on a copy and uses requires_grad_ on the module: also right."""
    import copy
    new = copy.deepcopy(model)
    new.features.requires_grad_(False)
    new.classifier[-1] = nn.Linear(4096, num_classes)
    return new


def swap_to_device(model, num_classes):
    """Moves the new layer with .to(device): right, checked on a real model on the CPU."""
    model.features.requires_grad_(False)
    model.classifier[6] = nn.Linear(4096, num_classes).to(torch.device("cpu"))
    return model


def no_return(model, num_classes):
    swap_loop(model, num_classes)


def returns_layer(model, num_classes):
    swap_loop(model, num_classes)
    return model.classifier[6]


def not_frozen(model, num_classes):
    model.classifier[6] = nn.Linear(4096, num_classes)
    return model


def freeze_everything(model, num_classes):
    model.requires_grad_(False)
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


def appended(model, num_classes):
    model.features.requires_grad_(False)
    model.classifier.append(nn.Linear(1000, num_classes))
    return model


def whole_classifier(model, num_classes):
    model.features.requires_grad_(False)
    model.classifier = nn.Linear(4096, num_classes)
    return model


def attribute_only(model, num_classes):
    model.features.requires_grad_(False)
    model.classifier[6].out_features = num_classes
    return model


def hard_coded_10(model, num_classes):
    return swap_loop(model, 10)


def wrong_in_features(model, num_classes):
    model.features.requires_grad_(False)
    model.classifier[6] = nn.Linear(25088, num_classes)
    return model


def detach_does_not_freeze(model, num_classes):
    for p in model.features.parameters():
        p = p.detach()  # noqa: F841 - the classic no-op
    model.classifier[6] = nn.Linear(4096, num_classes)
    return model


def crashes(model, num_classes):
    raise ValueError("oops")


def stub(model, num_classes):
    raise NotImplementedError("연습 문제를 채워 주세요 / Fill in this exercise")


@pytest.mark.parametrize("fn", [swap_loop, swap_copy, answers.swap_head], ids=lambda f: f.__name__)
def test_right_answers_pass(fn):
    result = check_head_swap(fn)
    assert result.passed, str(result)
    assert "134,309,962" in str(result)


def test_moving_to_a_device_is_checked_on_a_real_model():
    result = check_head_swap(swap_to_device)
    assert result.passed, str(result)
    assert "CPU" in str(result)


@pytest.mark.parametrize("fn, expected", [
    (no_return, "return model"),
    (not_frozen, "features가 얼지 않았습니다"),
    (freeze_everything, "분류기의 매개변수 중 119,545,856개가 얼었습니다"),
    (convs_only, "8,448개가 아직 학습됩니다"),
    (wrong_layer, "엉뚱한 계층"),
    (appended, "덧붙이지 말고 바꾸세요"),
    (whole_classifier, "분류기 전체를 바꿔"),
    (attribute_only, "out_features 속성만"),
    (hard_coded_10, "num_classes=7로 불렀는데 마지막 계층의 출력이 10개"),
    (wrong_in_features, "nn.Linear(4096, 10)이어야 합니다"),
    (detach_does_not_freeze, "features가 얼지 않았습니다"),
    (crashes, "ValueError: oops"),
], ids=lambda v: getattr(v, "__name__", "msg"))
def test_each_mistake_gets_its_own_message(fn, expected):
    result = check_head_swap(fn)
    assert result.status == FAIL, str(result)
    assert expected in str(result), str(result)


def test_returning_something_else_is_explained():
    result = check_head_swap(returns_layer)
    assert result.status == FAIL
    assert "Linear 하나를 돌려줍니다" in str(result) and "return model" in str(result)


def test_stub_is_pending_and_non_functions_fail():
    assert check_head_swap(stub).status == TODO
    assert check_head_swap(42).status == FAIL


def test_other_number_of_classes():
    result = check_head_swap(swap_loop, num_classes=37)
    assert result.passed, str(result)
    assert f"{head_swap_counts(37)[0]:,}" in str(result)


def test_head_swap_counts():
    assert head_swap_counts(10) == (134_309_962, 119_586_826, 14_723_136)
    assert head_swap_counts(1000)[0] == 138_365_992


# ------------------------------------------------------------------------------ counting
def count_right(model):
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable, total - trainable


def count_state_dict(model):
    total = sum(v.numel() for v in model.state_dict().values())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable, total - trainable


def count_tensors(model):
    params = list(model.parameters())
    return len(params), sum(p.requires_grad for p in params), sum(not p.requires_grad for p in params)


def count_swapped(model):
    total, trainable, frozen = count_right(model)
    return total, frozen, trainable


def count_shared_twice(model):
    total = trainable = 0
    for _, p in model.named_parameters(remove_duplicate=False):
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return total, trainable, total - trainable


def count_two_values(model):
    total, trainable, _ = count_right(model)
    return total, trainable


def count_stub(model):
    raise NotImplementedError


@pytest.mark.parametrize("fn", [count_right, answers.count_parameters], ids=lambda f: f.__name__)
def test_counting_right_answers_pass(fn):
    result = check_parameter_count(fn)
    assert result.passed, str(result)
    assert "134,309,962" in str(result)


@pytest.mark.parametrize("fn, expected", [
    (count_state_dict, "버퍼(buffer)"),
    (count_tensors, "p.numel()"),
    (count_swapped, "뒤바뀌었습니다"),
    (count_shared_twice, "두 번 셌습니다"),
    (count_two_values, "세 정수"),
], ids=lambda v: getattr(v, "__name__", "msg"))
def test_counting_mistakes(fn, expected):
    result = check_parameter_count(fn)
    assert result.status == FAIL, str(result)
    assert expected in str(result), str(result)


def test_counting_stub_is_pending():
    assert check_parameter_count(count_stub).status == TODO
    assert check_parameter_count(None).status == FAIL


def test_checks_leave_grad_mode_and_default_device_alone():
    assert check_head_swap(swap_loop).status == PASS
    assert torch.is_grad_enabled()
    assert torch.empty(1).device.type == "cpu"
