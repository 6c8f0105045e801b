"""Lesson 06: check_fully_convolutional passes the answer and names each realistic mistake.

The check reads what the layers must become from the model it converts, so most cases run on a small VGG-shaped
model (512 channels at stride 32, hidden 64, 10 classes: milliseconds); the real VGG16 is converted by the right
answer, to prove the real numbers.
"""

from __future__ import annotations

import copy
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
        model = VGG(nn.Sequential(nn.Conv2d(3, 512, 32, stride=32), nn.ReLU(inplace=True)), num_classes=10,
                    hidden=64).eval()
        if not meta:  # distinct biases, as the check's own VGG16 has: a bias left at 0 or swapped shows
            with torch.no_grad():
                for fc in (m for m in model.classifier if isinstance(m, nn.Linear)):
                    fc.bias.uniform_(-0.1, 0.1)
        return model


def conv_from(fc, k=1, weight=None, copy=("weight", "bias"), **kw):
    """``fc`` as a k×k conv; ``copy``: which of fc's tensors it takes (the rest stay randomly initialized)."""
    conv = nn.Conv2d(fc.in_features // (k * k), fc.out_features, k, **kw)
    with torch.no_grad():
        if "weight" in copy:
            conv.weight.copy_(fc.weight.view(conv.weight.shape) if weight is None else weight)
        if "bias" in copy and conv.bias is not None:
            conv.bias.copy_(fc.bias)
    return conv


def learner(model, c6=None, c7=None, relu=True, **fc6):
    """A learner's to_fully_convolutional: right, unless handed another fc6 (or conv_from options for it), fc7 …"""
    fc = model.classifier
    head = [c6 or conv_from(fc[0], 7, **fc6), *([nn.ReLU(inplace=True)] if relu else []), nn.Dropout(),
            c7 or conv_from(fc[3]), nn.ReLU(inplace=True), nn.Dropout(), conv_from(fc[6])]
    return nn.Sequential(OrderedDict(features=model.features, classifier=nn.Sequential(*head)))


def zero_bias(fc):
    """fc as a 1×1 conv whose bias is set to 0 instead of copied."""
    conv = conv_from(fc)
    nn.init.zeros_(conv.bias)
    return conv


def copied(model, k, grad=False):
    """A conversion that stops at copying fc6 into a k×k convolution (inside torch.no_grad() unless ``grad``)."""
    with torch.enable_grad() if grad else torch.no_grad():
        nn.Conv2d(512, 64, k).weight.copy_(model.classifier[0].weight.view(64, 512, 7, 7))


def stub(model):
    raise NotImplementedError("연습 문제를 채워 주세요 / Fill in this exercise")


#: mistake → words its report must contain (Korean or English text of the failing lines)
MISTAKES = {
    "channels_last": (lambda m: learner(m, weight=m.classifier[0].weight.view(-1, 7, 7, 512).permute(0, 3, 1, 2)),
                      ["channels-last", "view(64, 7, 7, 512).permute(0, 3, 1, 2)", "scores differ from the original"]),
    "rows_columns": (lambda m: learner(m, weight=m.classifier[0].weight.view(-1, 512, 7, 7).transpose(2, 3)),
                     ["rows and columns", "transpose(2, 3)"]),
    "transposed": (lambda m: learner(m, weight=m.classifier[0].weight.t().reshape(-1, 512, 7, 7)),
                   [".t()", "transposed"]),
    "shuffled": (lambda m: learner(m, weight=m.classifier[0].weight.view(-1, 512, 7, 7).flip(1)), ["another order"]),
    "no_bias": (lambda m: learner(m, bias=False), ["no bias", "bias=False"]),
    "bias_not_copied": (lambda m: learner(m, c7=conv_from(m.classifier[3], copy=("weight",))),
                        ["fc7", "bias is not fc7's"]),
    "bias_zero": (lambda m: learner(m, c7=zero_bias(m.classifier[3])), ["fc7", "bias is not fc7's"]),
    "mutates_original": (lambda m: (net := learner(m), setattr(m, "classifier", net.classifier))[0],
                         ["changed the original model's classifier"]),
    "fc6_padding_same": (lambda m: learner(m, padding="same"), ["padding='same'"]),
    "fc6_one_by_one": (lambda m: learner(m, c6=conv_from(m.classifier[0])),
                       ["fc6 is a 1×1", "kernel_size=7", "forward pass fails"]),
    "fc7_kernel_3": (lambda m: learner(m, c7=nn.Conv2d(64, 64, 3, padding=1)),
                     ["fc7 has a 3×3 kernel", "kernel_size=1"]),
    "new_layers": (lambda m: learner(m, copy=(), c7=conv_from(m.classifier[3], copy=())),
                   ["randomly initialized", "not fc's"]),
    "fc6_padded": (lambda m: learner(m, padding=3), ["padding=(3, 3)"]),
    "kept_avgpool": (lambda m: nn.Sequential(OrderedDict(features=m.features, avgpool=m.avgpool,
                                                         classifier=learner(m).classifier)),
                     ["AdaptiveAvgPool2d", "leave avgpool out"]),
    "flattened": (lambda m: nn.Sequential(learner(m), nn.Flatten()), ["flattened"]),
    "missing_relu": (lambda m: learner(m, relu=False), ["fc6 → ReLU"]),
    "kept_linear": (lambda m: (net := learner(m)).add_module("old", m.classifier) or net,  # hangs on, unused
                    ["nn.Linear layers are left", "old Linear classifier"]),
    "returns_none": (lambda m: learner(m) and None, ["returns None"]),
    "copy_with_grad": (lambda m: copied(m, 7, grad=True), ["in-place", "torch.no_grad()"]),
    "copy_into_1x1": (lambda m: copied(m, 1), ["copy_ differ in shape", "(4096, 512, 7, 7)", "fc7 and fc8 are 1×1"]),
}


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(dense, "_fresh_vgg16", small_vgg)


@pytest.mark.parametrize("fn", [learner, answers.to_fully_convolutional, lambda m: nn.Sequential(OrderedDict(
    features=copy.deepcopy(m.features), classifier=learner(m).classifier))], ids=["learner", "reference", "copied"])
def test_a_right_conversion_passes_every_line(small, fn):
    result = check_fully_convolutional(fn)
    assert result.passed and all(i.status == PASS for i in result.items), str(result)
    assert "(1, 10, 8, 8)" in str(result) and "(1, 10, 1, 3)" in str(result)


@pytest.mark.parametrize("mistake, words", list(MISTAKES.values()), ids=list(MISTAKES))
def test_each_realistic_mistake_fails_with_its_reason(small, mistake, words):
    result = check_fully_convolutional(mistake)
    failing = "\n".join(i.text() for i in result.failures)
    assert result.status == FAIL and all(word in failing for word in words), failing


def test_on_the_real_vgg16_the_answer_passes_with_the_real_numbers():
    right = check_fully_convolutional(answers.to_fully_convolutional)
    assert right.passed, str(right)
    assert "138,357,544" in str(right) and "(1, 1000, 8, 8)" in str(right)
    assert "fc6 = Conv2d(512, 4096, 7)" in str(right)


def test_the_stub_is_not_done_yet_and_builds_no_real_model(monkeypatch):
    built = []
    monkeypatch.setattr(dense, "_fresh_vgg16", lambda meta: built.append(meta) or small_vgg(meta))
    result = check_fully_convolutional(stub)
    assert result.status == TODO and built and all(built), (str(result), built)


# -- dense evaluation ------------------------------------------------------------------------------------------------
def _dense(pool=lambda t: t.mean(dim=(2, 3)), softmax_first=False, mirror_dim=-1, undo=True, posteriors=True,
           pair=True, geometric=False, combine=None):
    """The learner's dense_evaluation, with one thing done in a given (wrong) way."""
    def dense_evaluation(fcn, images, flip=False):
        score_map = fcn(images)
        probs = pool(score_map.softmax(1)) if softmax_first else pool(score_map).softmax(1)
        if flip and mirror_dim is not None:
            mirrored = fcn(images.flip(mirror_dim))
            mirrored = mirrored.flip(mirror_dim) if undo else mirrored
            probs = (probs + pool(mirrored).softmax(1)) / 2 if posteriors else \
                ((pool(score_map) + pool(mirrored)) / 2).softmax(1)
            if combine is not None:  # the two posteriors put together another way than averaged
                probs = combine(pool(score_map).softmax(1), pool(mirrored).softmax(1))
            if geometric:  # exp of the averaged log-probabilities: the unnormalized geometric mean
                probs = ((pool(score_map).log_softmax(1) + pool(mirrored).log_softmax(1)) / 2).exp()
            score_map = (score_map + mirrored) / 2
        return (probs, score_map) if pair else probs
    return dense_evaluation


@pytest.mark.parametrize("fn,status,needle", [
    (answers.dense_evaluation, PASS, "Section 3.2 of the paper"),
    (_dense(), PASS, "Section 3.2 of the paper"),
    (_dense(softmax_first=True), FAIL, "softmax at every position, then averaged"),
    (_dense(pool=lambda t: t.mean(dim=(2, 3)).log()), FAIL, "probs differ"),
    (lambda fcn, x, flip=False: (fcn(x).mean(dim=(2, 3)).log_softmax(1), fcn(x)), FAIL, "log-probabilities"),
    (_dense(pool=lambda t: t.amax(dim=(2, 3))), FAIL, "maximum over the positions"),
    (_dense(pool=lambda t: t.sum(dim=(2, 3))), FAIL, "You summed the positions"),
    (_dense(pool=lambda t: t.mean(dim=(1, 2))), FAIL, "probs has shape (2, 8), not (images, classes) = (2, 4)"),
    (_dense(pair=False), FAIL, "return two things, (probs, score_map)"),
    (_dense(mirror_dim=None), FAIL, "flip=True gives the probabilities of flip=False"),
    (_dense(posteriors=False), FAIL, "averaged the two images' scores before the softmax"),
    (_dense(geometric=True), FAIL, "geometric mean of the two probabilities"),
    (lambda fcn, x, flip=False: (((fcn(x).mean(dim=(2, 3)).log_softmax(1) + fcn(x.flip(-1)).mean(dim=(2, 3))
                                   .log_softmax(1)) / 2).softmax(1), answers.dense_evaluation(fcn, x, flip)[1])
     if flip else answers.dense_evaluation(fcn, x), FAIL, "a normalized geometric mean, gives the same numbers"),
    (_dense(mirror_dim=-2), FAIL, "upside down (dim=2)"),
    (_dense(mirror_dim=1), FAIL, "You flipped the channel axis"),
    (_dense(combine=lambda p, q: p + q), FAIL, "You added the two probabilities"),
    (_dense(combine=lambda p, q: q), FAIL, "the mirrored images' probabilities alone"),
    (_dense(undo=False), FAIL, "without flipping it back"),
    (lambda *a, **k: answers.dense_evaluation(*a, **k)[::-1], FAIL, "the order is swapped"),
    (lambda *a, **k: tuple(t.numpy() for t in answers.dense_evaluation(*a, **k)), FAIL, "not a torch tensor"),
    (_dense(pool=lambda t: t.mean(dim=(2, 3), keepdim=True)), FAIL, "keepdim=True left two dimensions"),
    (lambda fcn, x, flip=False: answers.dense_evaluation(fcn.train(), x, flip), FAIL, "put the model in train mode"),
    (lambda fcn, x, flip=False: ((fcn(x).softmax(1).mean(dim=(2, 3)) + fcn(x.flip(-1)).softmax(1).mean(dim=(2, 3)))
                                 / 2, answers.dense_evaluation(fcn, x, flip)[1]) if flip else
     answers.dense_evaluation(fcn, x), FAIL, "averages each image's map first"),  # softmax per position, mirrored
    (_dense(pool=lambda t: t.mean(dim=(2, 3)).squeeze()), FAIL, "With one image (a batch of 1)"),
    (lambda fcn, x, flip=False: answers.dense_evaluation(fcn, x[..., ::-1] if flip else x, flip), FAIL,
     "flip left to right with images.flip(-1)"),
    (lambda fcn, x, flip=False: (fcn(x).softmax(dim=-1).mean(dim=(2, 3)), fcn(x)), FAIL,
     "The softmax ran over the last axis (dim=-1, the map's width)"),
    (lambda fcn, x, flip=False: (answers.dense_evaluation(fcn, x, flip)[0], (fcn(x) + torch.fliplr(
        fcn(x.flip(-1)))) / 2) if flip else answers.dense_evaluation(fcn, x), FAIL, "which reverses the classes"),
])
def test_dense_evaluation_slips_are_named(fn, status, needle):
    result = dense.check_dense_evaluation(fn)
    assert result.status == status and needle in str(result), str(result)


def test_images_moved_onto_the_lessons_gpu_pass_as_they_work_in_the_lesson(monkeypatch):
    """The lesson's images already sit on its device (a GPU on Colab); the check runs on the CPU."""
    import vgg_teach.checks

    def moving(fcn, images, flip=False):
        return answers.dense_evaluation(fcn.to("cuda"), images.to("cuda"), flip)

    assert "no GPU" in str(dense.check_dense_evaluation(moving))  # none here: the lesson would fail too
    monkeypatch.setattr(vgg_teach.checks, "get_device", lambda: torch.device("cuda"))
    assert dense.check_dense_evaluation(moving).status == PASS
