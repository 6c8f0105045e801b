"""Prediction cells and numeric quizzes: the typed-in answers agree with the library, and every guess is judged."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from vgg_teach import answers
from vgg_teach.checks import FAIL, PASS, TODO
from vgg_teach.checks.questions import (
    QUESTIONS,
    QUIZZES,
    RF_SLIPS,
    SCORE_MAP_384,
    Question,
    check_prediction,
    check_quiz,
    check_score_map_predictions,
)
from vgg_teach.checks.receptive_field import VGG16_LAYERS, variant
from vgg_teach.counting import count_flops, layer_table, meta_vgg
from vgg_teach.dense import score_map_geometry
from vgg_teach.models import CFGS, build_model, make_layers
from vgg_teach.receptive_field import receptive_field_table
from vgg_teach.training.data import CIFAR10_CLASSES, DeviceLoader, ImageTensors
from vgg_teach.training.distributed import local_batch
from vgg_teach.training.recipe import TrainConfig


def _rows(cfg="D", size=224, bn=False, classes=1000):
    return {r.name: r for r in layer_table(meta_vgg(cfg, bn, classes), size)}


def _numel(model, trainable=False):
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable)


def _stack(*layers):
    with torch.device("meta"):
        return nn.Sequential(*(nn.Conv2d(1, 1, k, s, dilation=(d or [1])[0]) for k, s, *d in layers))


def _rf_slips(*stacks):
    """What each recurrence slip gives after each stack's last layer, where that differs from the truth."""
    right = tuple(variant(s)[-1] for s in stacks)
    out = [tuple(variant(s, **{slip: wrong})[-1] for s in stacks) for slip, (wrong, _, _) in RF_SLIPS.items()]
    return [v if len(v) > 1 else v[0] for v in out if v != right]


def _conv1_2():
    row = _rows()["conv1_2"]
    c, h, w = row.output_shape
    return row.macs, [row.params * h * w, 2 * row.macs, row.params, row.macs // (h * w), row.macs // 4]


def _params_448():
    total = layer_table(meta_vgg("D"), 448).total_params
    return total, [total + (512 * 14 * 14 - 25088) * 4096, 4 * total]


def _bn_extra():
    extra = _numel(meta_vgg("D", True)) - _numel(meta_vgg("D"))
    return extra, [extra // 2]  # and the buffers, told by a predicate (test_buffers_counted_…)


def _bn_modules():
    with torch.device("meta"):
        n, plain = len(make_layers(CFGS["D"], batch_norm=True)), len(make_layers(CFGS["D"]))
    convs = sum(s != "M" for s in CFGS["D"])
    return n, [plain, n - convs, 3 * convs]  # no batch norm; no ReLU; no pooling


def _conv_out(**kw):
    return nn.Conv2d(1, 1, 3, device="meta", **kw)(torch.empty(1, 1, 56, 56, device="meta"))


def _first_unit():
    features = meta_vgg("D").features
    with torch.device("meta"):
        unpadded = nn.Sequential(*(nn.Conv2d(1, 1, 3) if isinstance(m, nn.Conv2d) else m for m in features))
    row, no_pad = receptive_field_table(features)[-1], receptive_field_table(unpadded)[-1]
    return (row.start, row.interval(0)[0]), [(no_pad.start, no_pad.interval(0)[0]),
                                             (row.start, row.start - row.receptive_field / 2)]


def _swapped():
    model = meta_vgg("D", batch_norm=True)
    before, old_head = _numel(model), _numel(model.classifier)
    model = answers.swap_head(model, 10)
    return model, _numel(model), _numel(model, trainable=True), before, old_head


def _trainable():
    model, total, trainable, _, old_head = _swapped()
    bn = sum(_numel(m) for m in model.features if isinstance(m, nn.BatchNorm2d))  # forgotten: counted as learning
    return trainable, [total, trainable + bn, total - trainable, _numel(nn.Linear(4096, 10)), old_head]


def _swapped_total():
    _, total, _, before, _ = _swapped()
    new, old = _numel(nn.Linear(4096, 10)), _numel(nn.Linear(4096, 1000, device="meta"))
    return total, [before, before + new, before - old, _numel(meta_vgg("D")) - old + new]


def _head_flops():
    model = _swapped()[0]
    full = count_flops(model, 224)
    model.classifier[6] = nn.Identity()
    flops = full - count_flops(model, 224)
    return flops, [flops // 2, flops + 10, flops // 2 + 10, flops * 100]


def _steps():
    batch, n = TrainConfig().batch_size, 50_000  # CIFAR-10's training images, taking no memory (one, expanded)
    images = torch.zeros(1, 3, 32, 32, dtype=torch.uint8).expand(n, 3, 32, 32)
    data = ImageTensors(images, torch.zeros(n, dtype=torch.long), ["a"], (0.5,) * 3, (0.25,) * 3)
    steps = len(DeviceLoader(data, batch, train=True, rank=0, world_size=4))
    return steps, [steps // 4, steps + 1, n // local_batch(batch, 4)]


def _allreduce():
    with torch.device("meta"):
        model = build_model("vgg16_bn_cifar", num_classes=10)
    params, gpus, fp32_bytes = _numel(model, trainable=True), 8, 4
    return params, [params * gpus, params * fp32_bytes, params * 4]  # 4: the previous question's GPUs


def _initial_loss():
    classes = len(CIFAR10_CLASSES)
    loss = nn.CrossEntropyLoss(label_smoothing=TrainConfig().label_smoothing)
    return float(loss(torch.zeros(4, classes, dtype=torch.float64), torch.arange(4))), \
        [float(classes), 1 / classes, math.log10(classes), 0.0]


def _rf(*stacks):
    values = tuple(receptive_field_table(_stack(*s))[-1].receptive_field for s in stacks)
    return (values if len(values) > 1 else values[0]), _rf_slips(*stacks)


#: question → (its answer, the wrong numbers its listed mistakes stand for, in order), computed from vgg_teach
LIBRARY = {
    "vgg16_convs": lambda: (sum(s != "M" for s in CFGS["D"]), [sum(s != "M" for s in CFGS["D"]) + 3, len(CFGS["D"])]),
    "vgg16_out_224": lambda: (_rows()["pool5"].output_shape[-1], [224, 2 * _rows()["pool5"].output_shape[-1]]),
    "vgg16_bn_modules": _bn_modules,
    "conv_out_56": lambda: (_conv_out(padding=1).shape[-1], [_conv_out().shape[-1],
                                                              _conv_out(padding=1, stride=2).shape[-1]]),
    "vgg16_out_32": lambda: (tuple(_rows(size=32)["pool5"].output_shape), [tuple(_rows()["pool5"].output_shape)]),
    "conv1_1_params": lambda: (_rows()["conv1_1"].params, []),
    "fc6_params": lambda: (_rows()["fc6"].params, []),
    "conv3_3_1x1_params": lambda: (_rows("C")["conv3_3"].params, []),
    "new_head_params": lambda: (_rows(classes=10)["fc8"].params, []),
    "conv1_2_macs": _conv1_2,
    "vgg16_params_448": _params_448,
    "bn_extra_params": _bn_extra,
    "conv2_1_rf": lambda: (receptive_field_table(meta_vgg("D").features)[3].receptive_field,
                           [receptive_field_table(meta_vgg("D").features)[3].receptive_field - 1,
                            variant([(3, 1)] * 3)[-1], *_rf_slips(VGG16_LAYERS[:4]),
                            sum(k for k, *_ in VGG16_LAYERS[:4])]),
    "pool5_first_unit": _first_unit,
    "rf_four_convs": lambda: _rf([(3, 1)] * 4, [(3, 2)] + [(3, 1)] * 3),
    "rf_dilated": lambda: (_rf([(3, 1, 2)])[0], [*_rf([(3, 1, 2)])[1], _rf([(3, 1, 2)])[0] - 1]),
    "flops_224_vs_32": lambda: (count_flops(meta_vgg("D", True), 224) / count_flops(meta_vgg("D", True), 32), []),
    "trainable_after_swap": _trainable,
    "head_flops": _head_flops,
    "swapped_total": _swapped_total,
    "ddp_local_batch": lambda: (local_batch(TrainConfig().batch_size, 2),
                                [TrainConfig().batch_size, 2 * TrainConfig().batch_size]),
    "ddp_steps_per_epoch": _steps,
    "ddp_allreduce_numbers": _allreduce,
    "initial_loss": _initial_loss,
}


@pytest.mark.parametrize("key", sorted(QUESTIONS))
def test_every_answer_and_every_listed_wrong_number_is_what_the_library_computes(key):
    answer, wrong = LIBRARY[key]()
    question = QUESTIONS[key]
    assert question.answer == pytest.approx(answer, rel=1e-12), key
    assert [m for m, _, _ in question.mistakes if not callable(m)] == wrong
    assert not any(m(question.answer) for m, _, _ in question.mistakes if callable(m))  # no slip accepts the answer


def test_buffers_counted_as_parameters_are_named_with_or_without_num_batches_tracked():
    with torch.device("meta"):
        cifar = build_model("vgg16_bn_cifar", 10)
    for key, model in (("bn_extra_params", meta_vgg("D", True)), ("ddp_allreduce_numbers", cifar)):
        extra = _numel(model) - (_numel(meta_vgg("D")) if key == "bn_extra_params" else 0)
        stats = sum(b.numel() for name, b in model.named_buffers() if "running" in name)
        for got in (extra + stats, extra + sum(b.numel() for b in model.buffers())):
            assert "buffers" in str(check_prediction(key, got)), (key, got)


def _fmt(value):
    return f"{value:,}" if isinstance(value, int) else str(value)


@pytest.mark.parametrize("key", sorted(QUESTIONS))
def test_right_passes_with_the_why_each_slip_is_named_and_other_wrongs_get_the_hint(key):
    question = QUESTIONS[key]
    right = check_prediction(key, lambda: question.answer)
    assert right.passed and question.why_en in str(right) and question.en in str(right), str(right)
    for mistake, _, en in question.mistakes:
        if not callable(mistake):  # the first mistake giving this number is the one named
            first = next(e for m, _, e in question.mistakes if not callable(m) and m == mistake)
            result = check_prediction(key, mistake)
            assert result.status == FAIL and first in str(result), str(result)
    answer = question.answer
    wrong = tuple(v * 3 + 7 for v in answer) if isinstance(answer, tuple) else answer * 3 + 7
    result = check_prediction(key, wrong)
    assert result.status == FAIL and question.hint_en in str(result)
    told = "\n".join(item.text() for item in result.failures)
    shown = "(" + ", ".join(map(_fmt, answer)) + ")" if isinstance(answer, tuple) else _fmt(answer)
    assert shown not in told.replace(str(wrong), ""), "a wrong guess is never told the answer"


RATIO = QUESTIONS["flops_224_vs_32"]


def _stub():
    raise NotImplementedError


@pytest.mark.parametrize("key, guess, status, needle", [
    ("conv1_1_params", 1728, FAIL, "You forgot the bias"),  # slips told by a predicate
    ("fc6_params", 25088 + 4096, FAIL, "Multiply, don't add"), ("flops_224_vs_32", 49.3, FAIL, "(224/32)² = 49"),
    ("fc6_params", 1, FAIL, "too small"), ("fc6_params", 10 ** 9, FAIL, "too large"),
    ("flops_224_vs_32", 35, PASS, "exactly 35.41"), ("initial_loss", 2.3, PASS, ""),  # within the tolerance
    ("flops_224_vs_32", RATIO.answer * (1 + RATIO.rel_tol / 2), PASS, ""),
    ("flops_224_vs_32", RATIO.answer * (1 + 2 * RATIO.rel_tol), FAIL, ""), ("conv1_1_params", 1793, FAIL, ""),
    ("conv1_1_params", _stub, TODO, "Not written yet"), ("conv1_1_params", lambda: ..., TODO, ""),
    ("conv1_1_params", None, TODO, ""), ("conv1_1_params", "1,792", PASS, ""), ("conv1_1_params", 1792.0, PASS, ""),
    ("conv1_1_params", torch.tensor(1792), PASS, ""), ("conv1_1_params", "lots", FAIL, ""),
    ("conv1_1_params", object(), FAIL, ""), ("conv1_1_params", (1792, 1), FAIL, ""),
    ("conv1_1_params", lambda: 1 / 0, FAIL, "ZeroDivisionError"), ("pool5_first_unit", 15.5, FAIL, "2 numbers"),
    ("vgg16_out_32", [512, 1, 1], PASS, ""), ("vgg16_out_32", torch.Size([512, 1, 1]), PASS, ""),
    ("no_such_question", 3, FAIL, "conv1_1_params"),  # the known keys are listed
    ("conv1_1_params", 640, FAIL, "more than one slip: (1) You used k instead of k·k"),
    ("conv1_1_params", 640, FAIL, "(2) You left out the input channels C_in"),
    ("pool5_first_unit", (15.5, -89), FAIL, "The center is right"),
    ("conv1_1_params", lambda: None, FAIL, "must give it back with return"),  # printed, not returned
    ("vgg16_out_32", torch.zeros(1, 512, 7, 7), FAIL, "return its shape (.shape)"),  # the tensor, not its shape
    ("vgg16_out_32", (1, 512, 1, 1), FAIL, "The leading 1 is the batch dimension"),
    ("vgg16_convs", torch.tensor(13.0, device="meta"), FAIL, "on the meta device"),
    ("vgg16_convs", np.array(13), PASS, ""), ("vgg16_out_32", np.array([512, 1, 1]), PASS, ""),
    ("conv_out_56", (56, 56), PASS, ""), ("rf_dilated", "5×5", PASS, ""), ("rf_dilated", "5x4", FAIL, ""),
    ("vgg16_params_448", 1.38e8, FAIL, "give the exact count"), ("fc6_params", 102.764544, FAIL, "in millions"),
    ("conv1_1_params", 10 ** 400, FAIL, "Return one number"),
    ("ddp_allreduce_numbers", 15_253_578 / 8 + 0.25, FAIL, "1,906,697.5"),  # not 1.907e+06
    ("ddp_allreduce_numbers", 61, FAIL, "size in megabytes"),
])
def test_what_a_learner_may_answer_slips_told_by_a_predicate_and_tolerances(key, guess, status, needle):
    result = check_prediction(key, guess)
    assert result.status == status and needle in str(result), str(result)


def test_a_slip_predicate_that_raises_does_not_match(monkeypatch):
    monkeypatch.setitem(QUESTIONS, "demo", Question("질문", "Question?", "힌트", "A hint.", 3, "왜", "Why.",
                                                    [(lambda got: 1 / 0, "슬립", "A slip.")]))
    result = check_prediction("demo", 4)
    assert result.status == FAIL and "A hint." in str(result) and "A slip." not in str(result)


@pytest.mark.parametrize("lesson", sorted(QUIZZES))
def test_a_quiz_passes_only_when_every_numeric_answer_is_right(lesson):
    right = {label: QUESTIONS[key].answer for label, key in QUIZZES[lesson].items()}
    assert check_quiz(lesson, lambda: right).passed
    first = next(iter(right))
    partial = check_quiz(lesson, {**right, first: ...})
    assert partial.status == TODO and first in str(partial)
    value = right[first]
    assert check_quiz(lesson, {**right, first: tuple(v + 1 for v in value) if isinstance(value, tuple)
                               else value + 1}).status == FAIL


def test_quiz_input_problems_are_reported_not_raised():
    assert check_quiz("01", _stub).status == TODO
    assert "with return" in str(check_quiz("01", lambda: None))
    assert "\"Q1\"을 넣어" in str(check_quiz("01", {}))  # the particle read for 큐원
    assert check_quiz("01", [56]).status == FAIL and check_quiz("99", {}).status == FAIL
    right = {label: QUESTIONS[key].answer for label, key in QUIZZES["01"].items()}
    noted = check_quiz("01", {**right, "Q3": "because"})
    assert noted.passed and "Q3" in str(noted)


@pytest.mark.parametrize("guess, words", [
    ((12, 32, 404), "12 is pool5's size"), ((1, 32, 404), "AdaptiveAvgPool2d"), ((36, 32, 404), "number of scores"),
    ((6, 16, 404), "2⁵"), ((6, 32, 212), "212 is one pool5 unit's field"), ((6, 32, 224), "zero padding")])
def test_each_wrong_score_map_prediction_is_explained_alone(guess, words):
    result = check_score_map_predictions(lambda: guess)
    assert result.status == FAIL and len(result.failures) == 1 and words in result.failures[0].text()


def test_score_map_predictions_are_the_library_s_accept_a_pair_for_the_side_and_explain_a_shape_error():
    geometry = score_map_geometry(None, 384)
    assert SCORE_MAP_384 == (geometry.size[0], geometry.stride, geometry.receptive_field)
    assert answers.predict_score_map() == SCORE_MAP_384 and check_score_map_predictions(answers.predict_score_map)
    assert check_score_map_predictions(lambda: ((6, 6), 32, 404)).passed
    assert "Return three values" in str(check_score_map_predictions(lambda: 6))
    assert check_score_map_predictions(_stub).status == TODO
    told = str(check_score_map_predictions(lambda: (6, None, 10 ** 400)))
    assert "None이 아닙니다" in told and "Your code raised" not in told
    assert "k − 1" in str(check_score_map_predictions(lambda: (6, 32, 436)))  # k added, not k − 1
