"""Lesson 06: check_fully_convolutional passes the answer and names each realistic mistake.

The check reads what the layers must become from the model it converts, so most cases run on a small VGG-shaped
model (512 channels at stride 32, hidden 64, 10 classes: milliseconds); the real VGG16 is converted by the right
answer and by one mistake, to prove the real numbers.
"""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

import vgg_teach.checks.dense as dense
from vgg_teach import answers
from vgg_teach.checks import FAIL, PASS, TODO
from vgg_teach.checks.dense import check_fully_convolutional
from vgg_teach.models import VGG


def small_vgg(meta: bool = False) -> nn.Module:
    """VGG's layout in miniature: features end in 512 channels at stride 32; fc6 25088 → 64, fc7 64 → 64, fc8 → 10."""
    with torch.device("meta" if meta else "cpu"), torch.random.fork_rng():
        torch.manual_seed(0)
        return VGG(nn.Sequential(nn.Conv2d(3, 512, 32, stride=32), nn.ReLU(inplace=True)), num_classes=10,
                   hidden=64).eval()


def _fc(model):
    return model.classifier[0], model.classifier[3], model.classifier[6]


def _conv_from(fc, c_in, k, weight=None, bias=True, padding=0):
    conv = nn.Conv2d(c_in, fc.out_features, k, bias=bias, padding=padding)
    with torch.no_grad():
        conv.weight.copy_(fc.weight.view(fc.out_features, c_in, k, k) if weight is None else weight)
        if bias:
            conv.bias.copy_(fc.bias)
    return conv


def _assemble(model, c6, c7, c8, relu_after_fc6=True):
    head = [c6, *([nn.ReLU(inplace=True)] if relu_after_fc6 else []), nn.Dropout(),
            c7, nn.ReLU(inplace=True), nn.Dropout(), c8]
    return nn.Sequential(OrderedDict(features=model.features, classifier=nn.Sequential(*head)))


def _rest(model):
    """fc7 and fc8 converted correctly."""
    _, fc7, fc8 = _fc(model)
    return _conv_from(fc7, fc7.in_features, 1), _conv_from(fc8, fc8.in_features, 1)


def _fc6_with(model, weight=None, **kw):
    fc6 = _fc(model)[0]
    return _conv_from(fc6, fc6.in_features // 49, 7, weight, **kw)


def learner_right(model):
    return _assemble(model, _fc6_with(model), *_rest(model))


def fc6_weight(name, order):
    """fc6's weight, viewed (out, channels, 7, 7), then put in another ``order``."""
    def convert(model):
        fc6 = _fc(model)[0]
        w = order(fc6.weight.view(fc6.out_features, fc6.in_features // 49, 7, 7), fc6.weight)
        return _assemble(model, _fc6_with(model, w), *_rest(model))
    convert.__name__ = name
    return convert


channels_last = fc6_weight("channels_last", lambda w, fc: fc.view(w.shape[0], 7, 7, w.shape[1]).permute(0, 3, 1, 2))
rows_columns = fc6_weight("rows_columns", lambda w, fc: w.transpose(2, 3))
transposed = fc6_weight("transposed", lambda w, fc: fc.t().reshape(w.shape))
shuffled = fc6_weight("shuffled", lambda w, fc: w.flip(1))  # fc's numbers, another order


def no_bias(model):
    return _assemble(model, _fc6_with(model, bias=False), *_rest(model))


def bias_not_copied(model):
    fc7 = _fc(model)[1]
    c7 = nn.Conv2d(fc7.in_features, fc7.out_features, 1)
    with torch.no_grad():
        c7.weight.copy_(fc7.weight.view(*fc7.weight.shape, 1, 1))  # the weight only
    return _assemble(model, _fc6_with(model), c7, _rest(model)[1])


def fc6_one_by_one(model):
    fc6 = _fc(model)[0]
    return _assemble(model, _conv_from(fc6, fc6.in_features, 1), *_rest(model))


def fc7_kernel_3(model):
    fc7 = _fc(model)[1]
    return _assemble(model, _fc6_with(model), nn.Conv2d(fc7.in_features, fc7.out_features, 3, padding=1),
                     _rest(model)[1])


def new_layers(model):
    fc6, fc7, fc8 = _fc(model)
    return _assemble(model, nn.Conv2d(fc6.in_features // 49, fc6.out_features, 7),
                     nn.Conv2d(fc7.in_features, fc7.out_features, 1), nn.Conv2d(fc8.in_features, fc8.out_features, 1))


def fc6_padded(model):
    return _assemble(model, _fc6_with(model, padding=3), *_rest(model))


def kept_avgpool(model):
    net = learner_right(model)
    return nn.Sequential(OrderedDict(features=net.features, avgpool=model.avgpool, classifier=net.classifier))


def flattened(model):
    return nn.Sequential(learner_right(model), nn.Flatten())


def missing_relu(model):
    return _assemble(model, _fc6_with(model), *_rest(model), relu_after_fc6=False)


def kept_linear(model):
    net = learner_right(model)
    net.add_module("old", model.classifier)  # the Linear classifier hangs on, unused
    return net


def stub(model):
    raise NotImplementedError("연습 문제를 채워 주세요 / Fill in this exercise")


def returns_none(model):
    learner_right(model)


#: mistake → words its report must contain (Korean or English text of the failing lines)
MISTAKES = {
    channels_last: ["channels-last", "permute(0, 3, 1, 2)", "scores differ from the original"],
    rows_columns: ["rows and columns", "transpose(2, 3)"],
    transposed: [".t()", "transposed"],
    shuffled: ["another order"],
    no_bias: ["no bias", "bias=False"],
    bias_not_copied: ["fc7", "bias was not copied"],
    fc6_one_by_one: ["fc6 is a 1×1", "kernel_size=7", "forward pass fails"],
    fc7_kernel_3: ["fc7 has a 3×3 kernel", "kernel_size=1"],
    new_layers: ["randomly initialized", "not fc's"],
    fc6_padded: ["padding=(3, 3)"],
    kept_avgpool: ["AdaptiveAvgPool2d", "leave avgpool out"],
    flattened: ["flattened"],
    missing_relu: ["fc6 → ReLU"],
    kept_linear: ["nn.Linear layers are left", "old Linear classifier"],
    returns_none: ["returns None"],
}


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(dense, "_fresh_vgg16", small_vgg)


def _failing(result) -> str:
    return "\n".join(i.text() for i in result.failures)


@pytest.mark.parametrize("fn", [learner_right, answers.to_fully_convolutional], ids=["learner", "reference"])
def test_a_right_conversion_passes_every_line(small, fn):
    result = check_fully_convolutional(fn)
    assert result.passed and all(i.status == PASS for i in result.items), str(result)
    assert "(1, 10, 6, 6)" in str(result) and "(1, 10, 1, 3)" in str(result)


@pytest.mark.parametrize("mistake", list(MISTAKES), ids=[f.__name__ for f in MISTAKES])
def test_each_realistic_mistake_fails_with_its_reason(small, mistake):
    result = check_fully_convolutional(mistake)
    assert result.status == FAIL, str(result)
    for word in MISTAKES[mistake]:
        assert word in _failing(result), f"{word!r} not in:\n{_failing(result)}"


def test_on_the_real_vgg16_the_answer_passes_and_a_wrong_order_is_named_with_its_numbers():
    right = check_fully_convolutional(answers.to_fully_convolutional)
    assert right.passed, str(right)
    assert "138,357,544" in str(right) and "(1, 1000, 6, 6)" in str(right)
    assert "fc6 = Conv2d(512, 4096, 7)" in str(right)
    wrong = check_fully_convolutional(channels_last)
    assert wrong.status == FAIL
    assert "view(4096, 7, 7, 512).permute(0, 3, 1, 2)" in _failing(wrong)
    assert "weight.view(4096, 512, 7, 7)" in _failing(wrong)


def test_the_stub_is_not_done_yet_and_builds_no_real_model(monkeypatch):
    built = []
    monkeypatch.setattr(dense, "_fresh_vgg16", lambda meta: built.append(meta) or small_vgg(meta))
    result = check_fully_convolutional(stub)
    assert result.status == TODO and built and all(built), (str(result), built)




# -- dense evaluation ------------------------------------------------------------------------------------------------
def _mean(t):
    return t.mean(dim=(2, 3))


def _dense(pool=_mean, softmax_first=False, mirror_dim=-1, undo=True, posteriors=True, pair=True):
    """The learner's dense_evaluation, with one thing done in a given (wrong) way."""
    def dense_evaluation(fcn, images, flip=False):
        score_map = fcn(images)
        probs = pool(score_map.softmax(1)) if softmax_first else pool(score_map).softmax(1)
        if flip and mirror_dim is not None:
            mirrored = fcn(images.flip(mirror_dim))
            mirrored = mirrored.flip(mirror_dim) if undo else mirrored
            probs = (probs + pool(mirrored).softmax(1)) / 2 if posteriors else \
                ((pool(score_map) + pool(mirrored)) / 2).softmax(1)
            score_map = (score_map + mirrored) / 2
        return (probs, score_map) if pair else probs
    return dense_evaluation


def _stub(fcn, images, flip=False):
    raise NotImplementedError


@pytest.mark.parametrize("fn,status,needle", [
    (answers.dense_evaluation, PASS, "Section 3.2 of the paper"),
    (_dense(softmax_first=True), FAIL, "softmax at every position, then averaged"),
    (_dense(pool=lambda t: t.mean(dim=(2, 3)).log()), FAIL, "probs differ"),
    (_dense(pool=lambda t: t.amax(dim=(2, 3))), FAIL, "maximum over the positions"),
    (_dense(pool=lambda t: t.sum(dim=(2, 3))), FAIL, "You summed the positions"),
    (_dense(pool=lambda t: t.mean(dim=(1, 2))), FAIL, "probs has shape (2, 8), not (images, classes) = (2, 4)"),
    (_dense(pair=False), FAIL, "return two things, (probs, score_map)"),
    (_dense(mirror_dim=None), FAIL, "flip=True gives the probabilities of flip=False"),
    (_dense(posteriors=False), FAIL, "averaged the two images' scores before the softmax"),
    (_dense(mirror_dim=-2), FAIL, "upside down (dim=2)"),
    (_dense(undo=False), FAIL, "without flipping it back"),
    (_stub, TODO, "Not written yet"),
])
def test_dense_evaluation_slips_are_named(fn, status, needle):
    result = dense.check_dense_evaluation(fn)
    assert result.status == status and needle in str(result), str(result)
