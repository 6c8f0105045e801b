"""check_confusion_matrix (lesson 05): right answers pass, each usual mistake fails with its own message,
the stub is ⏳, nothing raises — and the reference it compares with is the one the plots use."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vgg_teach import answers
from vgg_teach.checks import FAIL, INFO, TODO
from vgg_teach.checks.training import check_confusion_matrix
from vgg_teach.training import engine as viz


def cm_loop(preds, labels, num_classes):
    cm = torch.zeros(num_classes, num_classes, dtype=torch.long)
    for t, p in zip(labels.tolist(), preds.tolist()):
        cm[t, p] += 1
    return cm


def cm_index_put(preds, labels, num_classes):
    cm = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    cm.index_put_((labels, preds), torch.ones_like(labels), accumulate=True)
    return cm


def cm_numpy(preds, labels, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (labels.numpy(), preds.numpy()), 1)
    return cm


def cm_transposed(preds, labels, num_classes):
    return cm_loop(labels, preds, num_classes)


def cm_max_plus_one(preds, labels, num_classes):
    n = int(max(labels.max(), preds.max())) + 1
    return cm_loop(preds, labels, n)


def cm_float(preds, labels, num_classes):
    cm = torch.zeros(num_classes, num_classes)
    for t, p in zip(labels.tolist(), preds.tolist()):
        cm[t, p] += 1
    return cm


def cm_double_counts(preds, labels, num_classes):
    return cm_loop(preds, labels, num_classes) * 2


def cm_only_diagonal(preds, labels, num_classes):
    cm = torch.zeros(num_classes, num_classes, dtype=torch.long)
    for t, p in zip(labels.tolist(), preds.tolist()):
        if t == p:
            cm[t, p] += 1
        else:
            cm[t, t] += 0
            cm[p, p] += 1  # counts a mistake on the predicted class's diagonal
    return cm


def cm_mutates(preds, labels, num_classes):
    labels *= num_classes  # in place
    labels += preds
    return torch.bincount(labels, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def cm_list(preds, labels, num_classes):
    return cm_loop(preds, labels, num_classes).tolist()


def cm_stub(preds, labels, num_classes):
    raise NotImplementedError("연습 문제를 채워 주세요 / Fill in this exercise")


@pytest.mark.parametrize("fn", [cm_loop, cm_index_put, answers.confusion_matrix], ids=lambda f: f.__name__)
def test_right_answers_pass(fn):
    result = check_confusion_matrix(fn)
    assert result.passed, str(result)


def test_numpy_is_accepted_with_a_note():
    result = check_confusion_matrix(cm_numpy)
    assert result.passed, str(result)
    assert any(i.status == INFO and "NumPy" in i.ko for i in result.items)


@pytest.mark.parametrize("fn, expected", [
    (cm_transposed, "행과 열이 뒤바뀌었습니다"),
    (cm_max_plus_one, "num_classes로 정하세요"),
    (cm_float, "자료형이 torch.float32입니다 (값은 맞음)"),
    (cm_double_counts, "칸의 합이 12입니다"),
    (cm_only_diagonal, "cm[i, j]"),
    (cm_mutates, "입력 preds 또는 labels를 바꿔"),
    (cm_list, "텐서가 아니라 list"),
], ids=lambda v: getattr(v, "__name__", "msg"))
def test_each_mistake_gets_its_own_message(fn, expected):
    result = check_confusion_matrix(fn)
    assert result.status == FAIL, str(result)
    assert expected in str(result), str(result)


def test_empty_input_crash_gets_a_hint():
    def uses_max(preds, labels, num_classes):
        assert int(labels.max()) < num_classes
        return cm_loop(preds, labels, num_classes)

    result = check_confusion_matrix(uses_max)
    assert result.status == FAIL
    assert "빈 텐서" in str(result)


def test_stub_is_pending_and_non_functions_fail():
    assert check_confusion_matrix(cm_stub).status == TODO
    assert check_confusion_matrix("cm").status == FAIL


def test_reference_matches_a_loop_and_per_class_accuracy():
    gen = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 7, (500,), generator=gen)
    preds = torch.randint(0, 7, (500,), generator=gen)
    cm = answers.confusion_matrix(preds, labels, 7)
    assert torch.equal(cm, cm_loop(preds, labels, 7)) and cm.dtype == torch.int64
    acc = viz.per_class_accuracy(cm)
    for c in range(7):
        mask = labels == c
        assert abs(float(acc[c]) - float((preds[mask] == c).float().mean())) < 1e-6
    empty = viz.per_class_accuracy(torch.zeros(3, 3, dtype=torch.long))
    assert torch.isnan(empty).all()
