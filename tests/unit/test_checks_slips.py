"""Issue 10's realistic mistakes in lessons 02–05, and the ⏳ / ❌ wording shared by every check.

Each case asserts the verdict and a keyword of the reason, in both languages where it matters.
"""

from __future__ import annotations

import torch
from torch import nn

from vgg_teach.checks import FAIL, TODO, CheckResult, is_stub, never_raises
from vgg_teach.checks.counting import check_conv_params, check_linear_params
from vgg_teach.checks.head import check_head_swap
from vgg_teach.checks.receptive_field import check_receptive_fields
from vgg_teach.checks.training import check_confusion_matrix


def _failure(result):
    assert result.status == FAIL, str(result)
    item = result.failures[0]
    return f"{item.en} {item.hint_en}", f"{item.ko} {item.hint_ko}"


# ------------------------------------------------------------------------------ lesson 02
def test_linear_params_with_one_added_to_the_outputs_too():
    en, ko = _failure(check_linear_params(lambda n_in, n_out: (n_in + 1) * (n_out + 1)))
    assert "(in + 1)·(out + 1)" in en and "there is no extra output" in en
    assert "(in + 1)·(out + 1)" in ko


def test_conv_params_with_one_added_to_the_output_channels_too():
    en, _ = _failure(check_conv_params(lambda c_in, c_out, k: (k * k * c_in + 1) * (c_out + 1)))
    assert "(k·k·C_in + 1)·(C_out + 1)" in en and "one per filter" in en


# ------------------------------------------------------------------------------ lesson 03
def test_receptive_field_grown_by_the_stride_instead_of_the_jump():
    def stride_not_jump(layers):
        rf, out = 1, []
        for k, s, *_ in layers:
            rf += (k - 1) * s
            out.append(rf)
        return out

    en, ko = _failure(check_receptive_fields(stride_not_jump))
    assert "VGG16, layer pool1" in en  # where it first goes wrong
    assert "it is (k − 1)·jump, not (k − 1)·stride" in en and "product of all strides" in en
    assert "(k − 1)·jump" in ko


# ------------------------------------------------------------------------------ lesson 04
def freeze_all_after_the_swap(model, num_classes):
    model.classifier[6] = nn.Linear(4096, num_classes)
    for p in model.parameters():
        p.requires_grad = False
    return model


def attribute_freeze(model, num_classes):
    model.features.requires_grad = False  # a plain attribute: freezes nothing
    model.classifier[6] = nn.Linear(4096, num_classes)
    return model


def test_freezing_the_whole_model_reaches_the_tailored_hint_not_a_raw_autograd_error():
    result = check_head_swap(freeze_all_after_the_swap)
    en, _ = _failure(result)
    assert "does not require grad" not in str(result)
    assert "parameters of the classifier are frozen" in en and "If you froze the whole model" in en


def test_setting_requires_grad_on_the_module_is_explained():
    en, ko = _failure(check_head_swap(attribute_freeze))
    assert "features is not frozen" in en
    assert "model.features.requires_grad = False only sets a new attribute" in en and "requires_grad_(False)" in en
    assert "모듈 객체에 새 속성" in ko


# ------------------------------------------------------------------------------ lesson 05
def cm_sized_by_labels(preds, labels, num_classes):
    n = int(labels.max()) + 1
    return torch.bincount(labels * n + preds, minlength=n * n).reshape(n, n)


def cm_fancy_index(preds, labels, num_classes):
    cm = torch.zeros(num_classes, num_classes, dtype=torch.long)
    cm[labels, preds] += 1  # repeated (label, pred) pairs count once
    return cm


def cm_loop_sized_by_labels(preds, labels, num_classes):
    n = int(labels.max()) + 1
    cm = torch.zeros(n, n, dtype=torch.long)
    for t, p in zip(labels.tolist(), preds.tolist()):
        cm[t, p] += 1  # a prediction ≥ n has no column
    return cm


def cm_sized_by_what_it_sees(preds, labels, num_classes):
    n = int(max(labels.max(), preds.max())) + 1
    cm = torch.zeros(n, n, dtype=torch.long)
    for t, p in zip(labels.tolist(), preds.tolist()):
        cm[t, p] += 1
    return cm


def test_a_confusion_matrix_sized_by_labels_max_is_named():
    for fn in (cm_sized_by_labels, cm_loop_sized_by_labels):  # the raw reshape / index error, explained
        result = check_confusion_matrix(fn)
        en, ko = _failure(result)
        assert "one prediction is 4" in en and "Size the matrix with num_classes (5)" in en
        assert "labels.max()+1" in en and "labels.max()+1" in ko
    en, _ = _failure(check_confusion_matrix(cm_sized_by_what_it_sees))
    assert "shape (3, 3), expected (5, 5)" in en and "not labels.max()+1" in en


def test_fancy_index_plus_equals_that_does_not_accumulate_is_named():
    en, ko = _failure(check_confusion_matrix(cm_fancy_index))
    assert "counted once" in en and "does not accumulate repeated indices" in en and "accumulate=True" in en
    assert "누적하지 않습니다" in ko


# ------------------------------------------------------------------------------ ⏳ and ❌, every check
def test_the_pending_message_says_to_run_the_exercise_cell_first():
    def stub(*_args):
        raise NotImplementedError("연습 문제를 채워 주세요 / Fill in this exercise")

    for check in (check_conv_params, check_receptive_fields, check_confusion_matrix):
        result = check(stub)
        assert result.status == TODO
        item = result.failures[0]
        assert "run that cell, then run this one again" in item.en and "Already filled it in?" in item.en
        assert "연습 셀부터 다시 실행하세요" in item.ko


def test_not_implemented_raised_by_torch_inside_learner_code_is_an_error_not_pending():
    def calls_a_module_list(preds, labels, num_classes):
        layers = nn.ModuleList([nn.Identity()])
        return layers(preds)

    result = check_confusion_matrix(calls_a_module_list)
    assert result.status == FAIL
    assert "ModuleList" in str(result)

    @never_raises("demo")
    def check(result: CheckResult, fn):
        fn()
        return result

    modlist = check(lambda: nn.ModuleList()(1))
    assert modlist.status == FAIL and "nn.Sequential(*layers)" in modlist.failures[0].hint_en

    def own_stub():
        raise NotImplementedError

    assert check(own_stub).status == TODO


def test_is_stub_tells_a_stub_from_torch():
    def stub():
        raise NotImplementedError

    def meta_copy():
        torch.empty(1, device="meta").item()

    for fn, expected in ((stub, True), (meta_copy, False), (lambda: nn.ModuleList()(1), False)):
        try:
            fn()
        except Exception as exc:  # noqa: BLE001
            assert is_stub(exc) is expected, (fn, exc)
