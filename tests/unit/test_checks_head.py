"""Lesson 04: check_head_swap and check_parameter_count pass right answers and name each usual mistake."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from vgg_teach import answers
from vgg_teach.checks import FAIL
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


def swap(freeze=lambda m: m.features.requires_grad_(False), index=6, layer=lambda n, old: nn.Linear(4096, n)):
    """A swap_head that freezes with ``freeze`` and puts ``layer(num_classes, old layer)`` at classifier[index]."""
    def swap_head(model, num_classes):
        freeze(model)
        model.classifier[index] = layer(num_classes, model.classifier[index])
        return model
    return swap_head


@pytest.mark.parametrize("fn", [swap_loop, swap_copy, answers.swap_head], ids=["loop", "copy", "reference"])
def test_right_swaps_pass_and_the_check_leaves_grad_mode_and_the_device_alone(fn):
    result = check_head_swap(fn)
    assert result.passed and "134,309,962" in str(result), str(result)
    assert torch.is_grad_enabled() and torch.empty(1).device.type == "cpu"


def test_moving_to_a_device_is_checked_on_a_real_model_and_other_class_counts_work():
    result = check_head_swap(swap(layer=lambda n, old: nn.Linear(4096, n).to(torch.device("cpu"))))
    assert result.passed and "CPU" in str(result), str(result)
    assert "134,420,581" in str(check_head_swap(swap_loop, num_classes=37))


@pytest.mark.parametrize("fn, expected", [
    (lambda model, n: swap_loop(model, n) and None, "return model"),
    (lambda model, n: swap_loop(model, n).classifier[6], "Linear 하나를 돌려줍니다"),
    (swap(freeze=lambda m: None), "features가 고정되지 않았습니다"),
    (swap(freeze=lambda m: [p.detach() for p in m.features.parameters()]), "features가 고정되지 않았습니다"),
    (swap(freeze=lambda m: setattr(m.features, "requires_grad", False)),
     "model.features.requires_grad = False only sets a new attribute"),
    (swap(freeze=lambda m: m.requires_grad_(False)), "분류기의 매개변수 중 119,545,856개가 고정되었습니다"),
    (swap(freeze=lambda m: [c.requires_grad_(False) for c in m.features if isinstance(c, nn.Conv2d)]),
     "8,448개가 아직 학습됩니다"),
    (swap(index=3), "엉뚱한 계층"),
    (lambda model, n: model.features.requires_grad_(False) and model.classifier.append(nn.Linear(1000, n)) and model,
     "덧붙이지 말고 바꾸세요"),
    (lambda model, n: setattr(swap()(model, n), "classifier", nn.Linear(4096, n)) or model, "분류기 전체를 바꿔"),
    (swap(layer=lambda n, old: setattr(old, "out_features", n) or old), "out_features 속성만"),
    (swap(layer=lambda n, old: nn.Linear(4096, 10)), "num_classes=7로 불렀는데 마지막 계층의 출력이 10개"),
    (swap(layer=lambda n, old: nn.Linear(25088, n)), "nn.Linear(4096, 10)이어야 합니다"),
    (lambda model, n: 1 / 0, "ZeroDivisionError"),
    (swap(index=0, layer=lambda n, old: nn.Linear(25088, 4096)), "threw away fc6's weights learned on ImageNet"),
    (swap(layer=lambda n, old: nn.Sequential(nn.Linear(4096, n), nn.Softmax(1))), "classifier[6] ends in Softmax"),
    (lambda model, n: setattr(swap_loop(model, n), "avgpool", nn.Identity()) or model,
     "model.avgpool was replaced by Identity"),
    (lambda model, n: setattr(swap_loop(model, n).classifier, "5", nn.Identity()) or model,
     "The ReLU and Dropout after fc6 and fc7 changed"),
    (swap(layer=lambda n, old: nn.Linear(4096, n, bias=False)), "no bias (bias=False)"),
    (swap(layer=lambda n, old: nn.LazyLinear(n)), "classifier[6] is an nn.LazyLinear"),
    (lambda model, n: swap_loop(model, n).requires_grad_(False), "freezes the new layer with it"),
    (lambda model, n: swap_loop(model, n).classifier[6].requires_grad_(False) and model,
     "The new last layer is frozen: it is the one layer"),
], ids=["no-return", "returns-layer", "not-frozen", "detach", "attribute", "all-frozen", "convs-only", "wrong-layer",
        "appended", "whole-classifier", "attribute-only", "hard-coded-10", "in-features", "crash", "new-fc6",
        "softmax", "avgpool", "dropout-removed", "no-bias", "lazy", "frozen-after-swap", "new-layer-frozen"])
def test_each_swap_mistake_gets_its_own_message(fn, expected):
    result = check_head_swap(fn)
    assert result.status == FAIL and expected in str(result), str(result)
    assert "does not require grad" not in str(result)  # a raw autograd error never reaches the learner


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
    (lambda m: (count_right(m)[0], *(sum(p.numel() for p in m.parameters() if p.grad is not None),) * 2),
     "is None for all of them before a backward pass"),
    (lambda m: (n := sum(p.numel() for name, p in m.named_parameters() if name.endswith("weight")), n, 0),
     "Only the weights were counted"),
], ids=["state-dict", "tensors", "swapped", "shared-twice", "two-values", "sum", "grad", "weights-only"])
def test_counting_mistakes(fn, expected):
    result = check_parameter_count(fn)
    assert result.status == FAIL and expected in str(result), str(result)
