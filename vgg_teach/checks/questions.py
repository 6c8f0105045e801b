"""The questions of the prediction cells and numeric quiz answers: their types, and lessons 01–02.

Each question computes its :class:`Truth` from vgg_teach when asked (models on the ``meta`` device: shapes
without memory), so a number in a lesson cannot drift from the code it describes. A truth carries how it
comes out (shown with ✅) and the numbers that common mistakes give, each with the mistake named; the conv
and linear mistakes are those of the parameter checks and the receptive-field ones those of the recurrence
check (:mod:`.params`, :mod:`.receptive_field`), so each slip is described in one place.

The questions of lessons 03 (receptive fields) and 04 (the pretrained model and its new head).

Like :mod:`.questions`: every truth is computed from vgg_teach when asked, with the mistakes it can show.

The questions of lesson 07 (several GPUs: torchrun and DDP).

Like :mod:`.questions`: every truth is computed from vgg_teach when asked — the global-batch rule of
:func:`~vgg_teach.training.distributed.local_batch`, the steps of a sharded
:class:`~vgg_teach.training.augment.DeviceLoader`, the parameters of a model built on the ``meta`` device.

The questions of lesson 05 (training on CIFAR-10).

Like :mod:`.questions`: every truth is computed when asked — the loss a fresh model starts from comes from the
engine's own loss function (cross-entropy with :class:`~vgg_teach.training.config.TrainConfig`'s label smoothing)
applied to equal scores for every class.

Predict, then check: the learner writes a number before reading the formula, and hears at once.

A prediction cell is a tiny exercise, and its check cell one line::

    def my_prediction():
        ### BEGIN SOLUTION
        return 1792
        ### END SOLUTION

    check_prediction("conv1_1_params", my_prediction)

The numeric answers of a lesson's quiz are checked the same way, all at once:
``check_quiz("02", my_quiz_answers)``, where ``my_quiz_answers()`` returns ``{"Q1": …, "Q3": …}``.

Every question is in :data:`QUESTIONS` (from :mod:`.questions`, :mod:`.questions_rf_head`,
:mod:`.questions_training` and :mod:`.questions_ddp`); its truth is *computed* from vgg_teach (the layer table,
the receptive-field table, ``count_flops`` on the ``meta`` device, the engine's loss), never typed in. A wrong
number is compared with the numbers that common mistakes give (the bias forgotten, ``k`` instead of ``k·k``, the
jump not doubled …) and the mistake is named; the truth itself is shown only once the prediction is right, so a
learner can try again. Estimates pass within the question's tolerance.
Checks never raise: a stub (``NotImplementedError``) is ⏳, anything else the learner's code raises is ❌.

The check of lesson 06's prediction cell: VGG16's class score map for a 384×384 image.

:func:`check_score_map_predictions` compares three predicted numbers — the map's side, its stride and the
receptive field of one score — with what the receptive-field table computes
(:func:`vgg_teach.analysis.dense.score_map_geometry`), and names the usual slips (pool5's size instead of the
map's, the number of scores instead of a side, pool5's receptive field instead of fc6's). Never raises.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence, Tuple, Union

import torch
from torch import nn

from ..answers import swap_head
from ..counting import LayerRow, count_flops, layer_table, meta_vgg
from ..dense import score_map_geometry
from ..models import CFGS, build_model, make_layers
from ..receptive_field import receptive_field_table
from ..training.data import CIFAR10_CLASSES, DeviceLoader, ImageTensors
from ..training.distributed import local_batch
from ..training.recipe import TrainConfig
from . import CheckResult, never_raises
from .counting import _CONV_MISTAKES, _LINEAR_MISTAKES
from .receptive_field import _MISTAKES as _RF_MISTAKES
from .receptive_field import VGG16_LAYERS, _stack, _variant

# ---- from vgg_teach.checks.questions (phase-1 merge)
#: One number, or a tuple of numbers (a shape; a centre and an edge).
Answer = Union[float, Tuple[float, ...]]


#: A wrong answer (or a predicate on one) → the mistake it shows, in Korean and English.
Mistake = Tuple[Union[Answer, Callable[[float], bool]], str, str]


@dataclass(frozen=True)
class Truth:
    """The right answer, how it comes out (ko, en), the known mistakes, and a relative tolerance."""

    value: Answer
    why_ko: str
    why_en: str
    mistakes: Sequence[Mistake] = ()
    rel_tol: float = 0.0


@dataclass(frozen=True)
class Question:
    """What is asked (ko, en), a nudge for a wrong answer that no known mistake explains, and the truth."""

    ko: str
    en: str
    hint_ko: str
    hint_en: str
    compute: Callable[[], Truth]

    def truth(self) -> Truth:
        return self.compute()


Compute = Callable[[], Truth]


def registry(questions: dict[str, Question]) -> Callable[..., Callable[[Compute], Compute]]:
    """``ask(key, ko, en, hint_ko, hint_en)``: a decorator that registers a truth in ``questions`` as ``key``."""
    def ask(key: str, ko: str, en: str, hint_ko: str, hint_en: str) -> Callable[[Compute], Compute]:
        def register(compute: Compute) -> Compute:
            questions[key] = Question(ko, en, hint_ko, hint_en, compute)
            return compute
        return register
    return ask


#: key → question (lessons 01 and 02; 03 and 04 are in :mod:`.questions_rf_head`).
QUESTIONS: dict[str, Question] = {}
_ask = registry(QUESTIONS)




@functools.lru_cache(maxsize=None)
def layer_rows(cfg: str = "D", size: int = 224, batch_norm: bool = False,
               num_classes: int = 1000) -> dict[str, LayerRow]:
    return {r.name: r for r in layer_table(meta_vgg(cfg, batch_norm, num_classes), size)}


def param_truth(cfg: str, layer: str, mistakes: Sequence[tuple[Callable[..., bool], str, str]], *shape: int,
            num_classes: int = 1000) -> Callable[[], Truth]:
    """A layer's parameter count from the layer table, with the parameter checks' mistakes for its shape."""
    def compute() -> Truth:
        row = layer_rows(cfg, 224, False, num_classes)[layer]
        bound = [(lambda got, test=test: test(got, *shape), ko, en) for test, ko, en in mistakes]
        return Truth(row.params, f"{row.formula} = {row.params:,}.", f"{row.formula} = {row.params:,}.", bound)
    return compute


def rf_mistakes(*stacks: Sequence[tuple[int, ...]]) -> list[Mistake]:
    """The recurrence check's mistakes: what each gives after the last layer of each stack (where it differs)."""
    right = tuple(_variant(s)[-1] for s in stacks)
    out: list[Mistake] = []
    for flags, ko, en in _RF_MISTAKES:
        values = tuple(_variant(s, **flags)[-1] for s in stacks)
        if values != right:
            out.append((values if len(values) > 1 else values[0], ko, en))
    return out


def last_rf(layers: Sequence[tuple[int, ...]]) -> int:
    return receptive_field_table(_stack(layers))[-1].receptive_field


# -- lesson 01 ------------------------------------------------------------------------------------

@_ask("vgg16_convs", "VGG16의 가중치 계층 16개 가운데 합성곱은 몇 개일까요?",
      "Of VGG16's 16 weight layers, how many are convolutions?",
      "분류기의 완전 연결 계층은 3개입니다.", "The classifier has 3 fully connected layers.")
def _vgg16_convs() -> Truth:
    counts, run = [], 0
    for spec in CFGS["D"]:
        counts, run = (counts + [run], 0) if spec == "M" else (counts, run + 1)
    blocks, n = "-".join(map(str, counts)), sum(counts)
    return Truth(n, f"합성곱 {n}개(블록 {blocks}) + 완전 연결 3개 = 16.",
                 f"{n} convolutions (blocks of {blocks}) + 3 fully connected layers = 16.", [
                     (16, "16은 가중치가 있는 계층 전부입니다: 그중 마지막 3개는 완전 연결 계층입니다.",
                      "16 counts every layer with weights; the last 3 of them are fully connected."),
                     (n + len(counts), "풀링까지 셌습니다: 최대 풀링에는 가중치가 없어서 '16'에 들지 않습니다.",
                      "You counted the poolings: max pooling has no weights, so it is not in the '16'.")])


@_ask("vgg16_out_224", "224×224 이미지가 features를 다 지나면 특징 맵의 한 변은 몇 픽셀일까요?",
      "After all of features, how many pixels is a side of a 224×224 image's feature map?",
      "어느 계층이 크기를 줄이는지 생각해 보세요.", "Think about which layers shrink the size.")
def _side_224() -> Truth:
    side = layer_rows("D", 224)["pool5"].output_shape[-1]
    return Truth(side, f"합성곱은 크기를 지키고 풀링 다섯 번이 절반씩 줄입니다: 224 / 2⁵ = {side}.",
                 f"The convolutions keep the size and five poolings halve it: 224 / 2⁵ = {side}.", [
                     (224, "3×3 합성곱(패딩 1)은 크기를 지키지만, 블록 끝의 2×2 최대 풀링은 절반으로 줄입니다.",
                      "A 3×3 conv with padding 1 keeps the size, but each block's 2×2 max pooling halves it."),
                     (2 * side, "풀링을 네 번만 셌습니다: 블록은 다섯 개, 블록마다 풀링이 하나입니다.",
                      "You halved four times: there are five blocks, each ending in a pooling.")])


@_ask("vgg16_bn_modules", "len(make_layers(CFGS['D'], batch_norm=True))는 얼마일까요?",
      "What is len(make_layers(CFGS['D'], batch_norm=True))?",
      "합성곱마다 모듈이 몇 개 붙는지, \"M\"은 몇 개인지 세어 보세요.", "Count the modules per conv, and the \"M\"s.")
def _bn_modules() -> Truth:
    with torch.device("meta"):
        n, plain = len(make_layers(CFGS["D"], batch_norm=True)), len(make_layers(CFGS["D"]))
    convs = sum(1 for s in CFGS["D"] if s != "M")
    return Truth(n, f"합성곱 {convs}개마다 Conv2d·BatchNorm2d·ReLU 3개씩, 그리고 풀링 5개: {n}.",
                 f"Conv2d, BatchNorm2d and ReLU for each of the {convs} convs, plus 5 poolings: {n}.", [
                     (plain, "배치 정규화(BatchNorm2d)를 빠뜨렸습니다: 합성곱마다 하나씩 더 있습니다.",
                      "You left out the batch norms: there is one more module per convolution."),
                     (3 * convs, "풀링 5개를 빠뜨렸습니다: \"M\"도 모듈 하나(nn.MaxPool2d)입니다.",
                      "You left out the 5 poolings: each \"M\" is a module too (nn.MaxPool2d).")])


@_ask("conv_out_56", "56×56 특징 맵에 3×3, 패딩 1, 보폭 1 합성곱을 적용한 출력의 한 변은?",
      "The side of a 56×56 feature map after a 3×3 conv with padding 1, stride 1?",
      "⌊(n + 2p − k) / s⌋ + 1", "⌊(n + 2p − k) / s⌋ + 1")
def _conv_out_56() -> Truth:
    with torch.device("meta"):
        side = nn.Conv2d(1, 1, 3, padding=1)(torch.empty(1, 1, 56, 56)).shape[-1]
    return Truth(side, f"(56 + 2·1 − 3) / 1 + 1 = {side}: VGG의 합성곱은 크기를 바꾸지 않습니다.",
                 f"(56 + 2·1 − 3) / 1 + 1 = {side}: VGG's convolutions never change the size.", [
                     (54, "패딩을 빠뜨렸습니다: 양쪽에 1씩 덧대므로 n + 2p − k + 1입니다.",
                      "You left out the padding: 1 on each side, so it is n + 2p − k + 1."),
                     (28, "보폭은 1입니다: 크기를 절반으로 줄이는 것은 풀링입니다.",
                      "The stride is 1: halving the size is the pooling's job.")])


@_ask("vgg16_out_32", "32×32 이미지에서 features의 출력 모양 (채널, 높이, 너비)은?",
      "The output shape (channels, height, width) of features for a 32×32 image?",
      "마지막 블록의 채널 수와 풀링 횟수를 생각해 보세요.", "Think of the last block's channels and the poolings.")
def _shape_32() -> Truth:
    shape = layer_rows("D", 32)["pool5"].output_shape
    return Truth(tuple(shape), f"채널 {shape[0]}개, 32 / 2⁵ = {shape[-1]}.",
                 f"{shape[0]} channels, 32 / 2⁵ = {shape[-1]}.",
                 [(tuple(layer_rows("D", 224)["pool5"].output_shape), "그것은 224×224 입력의 모양입니다: 32는 다섯 번 "
                   "절반이 되면 1입니다.", "That is the shape for 224×224: 32 halved five times is 1.")])


# -- lesson 02 ------------------------------------------------------------------------------------

_ask("conv1_1_params", "conv1_1(3 → 64, 3×3)의 매개변수는 몇 개일까요?",
     "How many parameters does conv1_1 (3 → 64, 3×3) have?",
     "필터는 출력 채널마다 한 장이고, 필터 한 장은 입력 채널 전부에 걸쳐 있습니다.",
     "There is one filter per output channel, and each spans all the input channels."
     )(param_truth("D", "conv1_1", _CONV_MISTAKES, 3, 64, 3))


_ask("fc6_params", "fc6(25,088 → 4,096)의 매개변수는 몇 개일까요?",
     "How many parameters does fc6 (25,088 → 4,096) have?",
     "출력 하나하나가 입력 전부와 연결되어 있고, 출력마다 편향이 있습니다.",
     "Every output is connected to every input, and each output has a bias."
     )(param_truth("D", "fc6", _LINEAR_MISTAKES, 25088, 4096))


_ask("conv3_3_1x1_params", "구성 C의 1×1 합성곱 conv3_3(256 → 256)의 매개변수는?",
     "The parameters of configuration C's 1×1 conv3_3 (256 → 256)?",
     "k = 1인 합성곱의 식을 쓰세요.", "Use the conv formula with k = 1."
     )(param_truth("C", "conv3_3", _CONV_MISTAKES, 256, 256, 1))


@_ask("conv1_2_macs", "224×224 이미지 한 장에 conv1_2(64 → 64, 3×3)는 곱셈-덧셈을 몇 번 할까요?",
      "How many multiply-adds does conv1_2 (64 → 64, 3×3) do for one 224×224 image?",
      "출력 값 하나에 곱셈-덧셈이 몇 번 필요한지, 출력 값이 몇 개인지 세어 보세요.",
      "Count the multiply-adds per output value, and the output values.")
def _conv1_2_macs() -> Truth:
    row = layer_rows("D", 224)["conv1_2"]
    c, h, w = row.output_shape
    each = row.macs // (c * h * w)
    return Truth(row.macs, f"출력 {c}·{h}·{w}개마다 곱셈-덧셈 3·3·64 = {each}번: {row.macs:,}.",
                 f"{c}·{h}·{w} outputs, each {each} multiply-adds (3·3·64): {row.macs:,}.", [
                     (row.params * h * w, "편향까지 곱했습니다: 편향은 덧셈 하나일 뿐 곱셈-덧셈이 아닙니다.",
                      "You multiplied the biases in too: a bias is one addition, not a multiply-add."),
                     (row.macs * 2, "그것은 FLOPs입니다: 곱셈-덧셈 하나가 2 FLOPs이니 절반이 답입니다.",
                      "That is the FLOPs: one multiply-add is 2 FLOPs, so halve it."),
                     (each * c, "위치 수를 빠뜨렸습니다: 같은 가중치를 224×224의 모든 위치에서 다시 씁니다.",
                      "You left out the positions: the same weights are used again at every one of 224×224."),
                     (row.macs // 4, "conv1_2의 출력은 아직 224×224입니다: 크기는 pool1에서야 줄어듭니다.",
                      "conv1_2's output is still 224×224: the size only shrinks at pool1.")])


@_ask("vgg16_params_448", "448×448 입력에서 VGG16의 매개변수는 몇 개일까요?",
      "How many parameters does VGG16 have for a 448×448 input?",
      "어떤 매개변수가 입력 크기에 따라 달라질 수 있는지 생각해 보세요.",
      "Think about which parameters could depend on the input size.")
def _params_448() -> Truth:
    total = layer_table(meta_vgg("D"), 448).total_params
    return Truth(total, "그대로입니다: 합성곱의 가중치는 입력 크기와 상관없고, AdaptiveAvgPool2d((7, 7))가 fc6의 "
                        "입력을 25,088로 지킵니다.",
                 "Unchanged: conv weights do not depend on the input size, and AdaptiveAvgPool2d((7, 7)) keeps "
                 "fc6's input at 25,088.", [
                     (total + (512 * 14 * 14 - 25088) * 4096, "AdaptiveAvgPool2d((7, 7))를 잊었습니다: 14×14도 "
                      "7×7로 줄어들어 fc6의 입력은 25,088 그대로입니다.",
                      "You forgot AdaptiveAvgPool2d((7, 7)): 14×14 becomes 7×7 too, so fc6 still takes 25,088."),
                     (4 * total, "4배가 되는 것은 연산량입니다: 매개변수는 입력 크기와 상관없습니다.",
                      "What grows 4× is the compute: parameters do not depend on the input size.")])


@_ask("bn_extra_params", "vgg16_bn은 vgg16보다 매개변수가 몇 개 많을까요?",
      "How many more parameters does vgg16_bn have than vgg16?",
      "배치 정규화가 채널마다 학습하는 값은 몇 개인가요?", "How many values does batch norm learn per channel?")
def _bn_extra() -> Truth:
    extra = layer_table(meta_vgg("D", True)).total_params - layer_table(meta_vgg("D")).total_params
    return Truth(extra, f"배치 정규화 13개가 채널마다 γ와 β 두 개씩: 2·(채널 수의 합) = {extra:,}.",
                 f"13 batch norms with γ and β per channel: 2·(sum of channels) = {extra:,}.", [
                     (2 * extra, "이동 평균과 분산까지 셌습니다: 둘은 학습하지 않는 버퍼라 parameters()에 없습니다.",
                      "You counted the running mean and variance too: they are buffers, not in parameters()."),
                     (extra // 2, "채널마다 γ(배율)와 β(이동), 두 개입니다.",
                      "Two per channel: γ (scale) and β (shift).")])


# ---- from vgg_teach.checks.questions_rf_head (phase-1 merge)
#: key → question, lessons 03 and 04.




# -- lesson 03 ------------------------------------------------------------------------------------

@_ask("conv2_1_rf", "conv2_1(conv1_1, conv1_2, pool1 다음)의 수용 영역은 몇 픽셀일까요?",
      "How many pixels is the receptive field of conv2_1 (after conv1_1, conv1_2, pool1)?",
      "pool1 뒤에서 이웃한 유닛은 입력에서 몇 픽셀 떨어져 있을까요?",
      "After pool1, how many input pixels apart are neighboring units?")
def _conv2_1last_rf() -> Truth:
    layers = VGG16_LAYERS[:4]
    rf = last_rf(layers)
    return Truth(rf, f"3 → 5 → 6(pool1: (2 − 1)·1) → {rf}(conv2_1: 점프가 2가 되어 (3 − 1)·2).",
                 f"3 → 5 → 6 (pool1: (2 − 1)·1) → {rf} (conv2_1: the jump is now 2, so (3 − 1)·2).", [
                     (rf - 1, "풀링도 수용 영역을 (2 − 1)·jump만큼 넓힙니다(pool1에서 1). 아니면 rf를 0에서 "
                              "시작했나요? 픽셀 하나는 자기 자신을 보므로 1에서 시작합니다.",
                      "Pooling widens the field too, by (2 − 1)·jump (1 at pool1). Or did you start at 0? A pixel "
                      "sees itself: start at 1."),
                     (7, "풀링을 건너뛰었습니다: pool1은 수용 영역을 1 넓히고, 그 뒤의 점프를 2로 만듭니다.",
                      "You skipped the pooling: pool1 widens the field by 1 and doubles the jump after it."),
                     *rf_mistakes(layers)])


@_ask("pool5_first_unit", "pool5의 첫 유닛(왼쪽 위): 수용 영역의 중심과 첫 픽셀은? (중심, 첫 픽셀)",
      "pool5's first (top-left) unit: the center of its field and its first pixel? (center, first pixel)",
      "중심은 계층마다 ((k − 1)/2 − padding)·jump만큼 옮겨 갑니다.",
      "The center moves by ((k − 1)/2 − padding)·jump at every layer.")
def _pool5_first_unit() -> Truth:
    features = meta_vgg("D").features
    with torch.device("meta"):
        unpadded = nn.Sequential(*(nn.Conv2d(1, 1, 3) if isinstance(m, nn.Conv2d) else m for m in features))
    row, no_pad = receptive_field_table(features)[-1], receptive_field_table(unpadded)[-1]
    lo, hi = row.interval(0)
    return Truth((row.start, lo), f"중심 {row.start:g}, {row.receptive_field}픽셀의 수용 영역은 {lo}부터 {hi}까지: "
                                  "패딩 때문에 중심이 왼쪽 위로 옮겨 가 이미지 밖(0으로 채운 곳)까지 나갑니다.",
                 f"Center {row.start:g}; the {row.receptive_field}-pixel field spans {lo} to {hi}: padding moves "
                 "it up and left, past the border into the zeros.", [
                     ((no_pad.start, no_pad.interval(0)[0]), "패딩을 빠뜨렸습니다: 합성곱마다 padding·jump만큼 중심이 "
                      "왼쪽으로 옮겨 갑니다 (start += ((k − 1)/2 − padding)·jump).",
                      "You left out the padding: every conv moves the center left by padding·jump "
                      "(start += ((k − 1)/2 − padding)·jump)."),
                     ((row.start, row.start - row.receptive_field / 2), "첫 픽셀은 중심 − (rf − 1)/2입니다: 픽셀 "
                      "rf개의 영역은 중심에서 양쪽으로 (rf − 1)/2씩 뻗습니다.",
                      "The first pixel is center − (rf − 1)/2: a field of rf pixels reaches (rf − 1)/2 each way.")])


def _rf_quiz(ko: str, en: str, *stacks: Sequence[tuple[int, ...]]) -> Callable[[], Truth]:
    def compute() -> Truth:
        values = tuple(last_rf(s) for s in stacks)
        return Truth(values if len(values) > 1 else values[0], ko, en, rf_mistakes(*stacks))
    return compute


_ask("rf_four_convs", "3×3 합성곱 4개(보폭 1)의 수용 영역, 그리고 첫 계층만 보폭 2일 때는? (두 수)",
     "Four 3×3 convs with stride 1: the receptive field; and with stride 2 in the first only? (two numbers)",
     "보폭은 자기 뒤의 계층들이 한 칸에 몇 픽셀을 건너는지 바꿉니다.",
     "A stride changes how many pixels one step covers in the layers after it.")(_rf_quiz(
         "보폭 1: 1 + 4·2 = 9. 첫 계층이 보폭 2이면 그 뒤의 jump가 2: 3 + 3·2·2 = 15.",
         "Stride 1: 1 + 4·2 = 9. With stride 2 first, the jump is 2 after it: 3 + 3·2·2 = 15.",
         [(3, 1)] * 4, [(3, 2)] + [(3, 1)] * 3))


_ask("rf_dilated", "팽창 2인 3×3 합성곱 하나의 수용 영역은?", "The receptive field of one 3×3 conv with dilation 2?",
     "팽창은 커널의 칸 사이를 띄어 놓습니다.", "Dilation spaces out the kernel's taps.")(_rf_quiz(
         "k_eff = 2·(3 − 1) + 1 = 5.", "k_eff = 2·(3 − 1) + 1 = 5.", [(3, 1, 2)]))


# -- lesson 04 ------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _swapped() -> tuple[int, int, int, int]:
    """(total, trainable, total before, classifier before) of VGG16-BN around a 10-class head swap."""
    model = meta_vgg("D", batch_norm=True)
    before, old_classifier = (sum(p.numel() for p in m.parameters()) for m in (model, model.classifier))
    model = swap_head(model, 10)
    total = sum(p.numel() for p in model.parameters())
    return total, sum(p.numel() for p in model.parameters() if p.requires_grad), before, old_classifier


@_ask("flops_224_vs_32", "VGG16-BN의 순전파 연산은 224×224에서 32×32의 몇 배일까요?",
      "How many times the FLOPs of a 32×32 forward pass does a 224×224 one take (VGG16-BN)?",
      "합성곱과 분류기가 입력 크기에 어떻게 반응하는지 따로 생각해 보세요.",
      "Think separately about how the convolutions and the classifier react to the input size.")
def _flops_ratio() -> Truth:
    big, small = (count_flops(meta_vgg("D", batch_norm=True), s) for s in (224, 32))
    r = big / small
    return Truth(r, f"{big / 1e9:.2f} / {small / 1e9:.2f} GFLOP ≈ {r:.1f}배: 합성곱은 픽셀 수만큼(49배) 늘지만 "
                    "분류기는 어느 크기에서나 같습니다(AdaptiveAvgPool2d가 늘 7×7을 줌).",
                 f"{big / 1e9:.2f} / {small / 1e9:.2f} GFLOP ≈ {r:.1f}×: the convolutions grow with the pixel count "
                 "(49×), the classifier costs the same at any size (AdaptiveAvgPool2d always gives 7×7).", [
                     (lambda got: abs(got - 49) < 1, "(224/32)² = 49는 합성곱 부분만의 배율입니다: 분류기의 연산은 "
                      "입력 크기와 상관없어 전체 배율은 그보다 작습니다.",
                      "(224/32)² = 49 is the convolutions' factor; the classifier's compute does not depend on the "
                      "input size, so the whole grows by less."),
                     (lambda got: abs(got - 7) < 0.5, "한 변의 비율(224/32 = 7)입니다: 연산은 넓이(픽셀 수)를 따라 "
                      "늘어납니다.", "That is the ratio of the sides (224/32 = 7): compute grows with the area.")],
                 rel_tol=0.05)


@_ask("trainable_after_swap", "머리를 바꾸고 features를 얼리면 학습되는 매개변수는 몇 개일까요?",
      "After the head swap with features frozen, how many parameters learn?",
      "얼린 것은 features뿐입니다: 분류기의 세 계층을 모두 세어 보세요.",
      "Only features is frozen: count all three layers of the classifier.")
def _trainable() -> Truth:
    total, trainable, _, old_classifier = _swapped()
    return Truth(trainable, f"분류기 전체(fc6, fc7, 새 fc8)가 학습됩니다: {trainable:,} = 전체 {total:,} − 얼린 "
                            f"features {total - trainable:,}.",
                 f"The whole classifier learns (fc6, fc7, the new fc8): {trainable:,} = {total:,} in all − "
                 f"{total - trainable:,} frozen in features.", [
                     (total, "features를 얼렸습니다: 그 매개변수는 학습되지 않습니다.",
                      "features is frozen: its parameters do not learn."),
                     (total - trainable, "그것은 얼린 쪽(features)입니다: 학습되는 것은 분류기입니다.",
                      "That is the frozen part (features); what learns is the classifier."),
                     (4096 * 10 + 10, "새 계층만 셌습니다: fc6와 fc7도 얼리지 않았으니 함께 학습됩니다.",
                      "You counted only the new layer: fc6 and fc7 are not frozen, so they learn too."),
                     (old_classifier, "옛 머리(4096 → 1000)로 셌습니다: 마지막 계층은 이제 4096 → 10입니다.",
                      "You counted the old head (4096 → 1000): the last layer is now 4096 → 10.")])


@_ask("head_flops", "새 머리 nn.Linear(4096, 10)는 이미지 한 장에 몇 FLOPs일까요 (count_flops 기준)?",
      "How many FLOPs does the new head nn.Linear(4096, 10) take per image, as count_flops counts?",
      "곱셈-덧셈 하나가 2 FLOPs입니다.", "One multiply-add is 2 FLOPs.")
def _head_flops() -> Truth:
    model = swap_head(meta_vgg("D", batch_norm=True), 10)
    full = count_flops(model, 224)
    model.classifier[6] = nn.Identity()
    flops = full - count_flops(model, 224)
    return Truth(flops, f"4096·10 곱셈-덧셈 × 2 FLOPs = {flops:,}: 전체({full / 1e9:.2f} GFLOP)의 아주 작은 "
                        "부분입니다.",
                 f"4096·10 multiply-adds × 2 FLOPs = {flops:,}: a tiny part of the whole ({full / 1e9:.2f} GFLOP).", [
                     (flops // 2, "그것은 곱셈-덧셈 수입니다: count_flops는 곱셈-덧셈 하나를 2 FLOPs로 셉니다.",
                      "That is the multiply-adds: count_flops counts one multiply-add as 2 FLOPs."),
                     (flops // 2 + 10, "그것은 매개변수 수입니다: 연산은 가중치마다 곱셈 하나와 덧셈 하나입니다.",
                      "That is the parameter count: compute is one multiplication and one addition per weight."),
                     (flops * 100, "옛 머리(4096 → 1000)의 연산입니다: 새 머리는 출력이 10개입니다.",
                      "That is the old head (4096 → 1000): the new one has 10 outputs.")])


_ask("new_head_params", "10개 클래스용 새 마지막 계층의 매개변수는?", "The parameters of the new 10-class last layer?",
     "완전 연결 계층의 식: 입력마다 가중치, 출력마다 편향.",
     "A linear layer: a weight per input and output, a bias per output."
     )(param_truth("D", "fc8", _LINEAR_MISTAKES, 4096, 10, num_classes=10))


@_ask("swapped_total", "머리를 바꾼 VGG16-BN의 매개변수는 모두 몇 개일까요?",
      "How many parameters does VGG16-BN have in all after the head swap?",
      "옛 머리를 빼고 새 머리를 더하세요.", "Take the old head out and put the new one in.")
def _swapped_total() -> Truth:
    total, _, before, _ = _swapped()
    new, old = 4096 * 10 + 10, 4096 * 1000 + 1000
    why = f"{before:,} − (4096·1000 + 1000) + (4096·10 + 10) = {total:,}."
    return Truth(total, why, why, [
        (before, "머리를 바꾸기 전의 수입니다.", "That is the count before the swap."),
        (before + new, "새 머리를 더했지만 옛 머리를 빼지 않았습니다.", "You added the new head but kept the old."),
        (before - old, "옛 머리를 뺐지만 새 머리를 더하지 않았습니다.",
         "You removed the old head but added no new one.")])


# ---- from vgg_teach.checks.questions_ddp (phase-1 merge)
#: key → question, lesson 07.




#: CIFAR-10's training images.
CIFAR10_TRAIN = 50_000


@_ask("ddp_local_batch", "기본 레시피(배치 크기 512)를 GPU 2개(Kaggle의 T4 ×2)로 학습하면 GPU 하나가 "
      "한 스텝에 보는 이미지는 몇 장일까요?",
      "The default recipe (batch size 512) on 2 GPUs (Kaggle's T4 ×2): how many images does one GPU see per step?",
      "TrainConfig.batch_size는 모든 프로세스가 함께 한 스텝에 보는 이미지 수입니다.",
      "TrainConfig.batch_size is the images all processes see together in one step.")
def _local_batch() -> Truth:
    batch = TrainConfig().batch_size
    per_gpu = local_batch(batch, 2)
    return Truth(per_gpu, f"{batch} ÷ 2 = {per_gpu}: 배치 크기는 전역 배치(global batch)라서 GPU마다 그 절반을 맡고, "
                          "학습률과 스케줄은 프로세스가 하나일 때와 똑같습니다.",
                 f"{batch} ÷ 2 = {per_gpu}: the batch size is the global batch, each GPU takes half of it, and the "
                 "learning rate and its schedule stay those of one process.", [
                     (batch, "그것은 전역 배치입니다: 두 GPU가 한 스텝에 함께 보는 이미지 수예요. GPU 하나의 몫은?",
                      "That is the global batch, what both GPUs see together in one step. What is one GPU's share?"),
                     (batch * 2, "GPU마다 512장이면 한 스텝이 1,024장이 되어 레시피(학습률 0.2는 512장에 "
                                 "맞춘 값)가 바뀝니다. 이 강좌는 전역 배치를 그대로 둡니다.",
                      "With 512 per GPU a step would be 1,024 images and the recipe (lr 0.2 is tuned for 512) would "
                      "change. The course keeps the global batch as it is.")])


@_ask("ddp_steps_per_epoch", "CIFAR-10 학습 이미지 50,000장, 배치 크기 512를 GPU 4개로 학습합니다. "
      "한 에포크에 옵티마이저 스텝은 몇 번일까요?",
      "CIFAR-10's 50,000 training images, batch size 512, on 4 GPUs: how many optimizer steps in one epoch?",
      "스텝 하나는 전역 배치 하나입니다. 마지막의 모자란 배치는 버립니다.",
      "One step is one global batch; the last incomplete batch is dropped.")
def _steps_per_epoch() -> Truth:
    batch = TrainConfig().batch_size
    # 50,000 images that take no memory (one image, expanded): DeviceLoader counts the steps as in training
    images = torch.zeros(1, 3, 32, 32, dtype=torch.uint8).expand(CIFAR10_TRAIN, 3, 32, 32)
    data = ImageTensors(images, torch.zeros(CIFAR10_TRAIN, dtype=torch.long), ["a"], (0.5,) * 3, (0.25,) * 3)
    steps = len(DeviceLoader(data, batch, train=True, rank=0, world_size=4))
    per_gpu = local_batch(batch, 4)
    return Truth(steps, f"⌊{CIFAR10_TRAIN:,} ÷ {batch}⌋ = {steps}: GPU 수와 상관없이 같습니다. GPU마다 "
                        f"스텝에서 {per_gpu}장씩 맡고, 네 GPU가 함께 한 에포크에 이미지마다 한 번씩 봅니다.",
                 f"⌊{CIFAR10_TRAIN:,} ÷ {batch}⌋ = {steps}, whatever the number of GPUs: each GPU takes {per_gpu} "
                 "images of every step, and together they see each image once per epoch.", [
                     (steps // 4, "GPU 수로 한 번 더 나눴습니다: 512장이 이미 네 GPU를 합친 배치입니다.",
                      "You divided by the GPUs once more: 512 already counts all four GPUs."),
                     (steps + 1, "마지막의 모자란 배치는 버립니다(⌈⌉가 아니라 ⌊⌋).",
                      "The last incomplete batch is dropped (floor, not ceiling)."),
                     (CIFAR10_TRAIN // per_gpu, f"GPU 하나의 몫({per_gpu}장)으로 나눴습니다: 스텝 하나는 "
                                                f"네 GPU가 함께 보는 {batch}장입니다.",
                      f"You divided by one GPU's share ({per_gpu}): one step is the {batch} images of all four.")])


@_ask("ddp_allreduce_numbers", "vgg16_bn_cifar를 GPU 4개로 학습할 때, DDP가 스텝마다 GPU 사이에서 "
      "평균 내는(all-reduce) 기울기 숫자는 몇 개일까요?",
      "Training vgg16_bn_cifar on 4 GPUs: how many gradient numbers does DDP average (all-reduce) between the GPUs "
      "per step?",
      "기울기는 학습되는 매개변수마다 하나씩 있습니다.", "There is one gradient per trainable parameter.")
def _allreduce_numbers() -> Truth:
    with torch.device("meta"):  # shapes without memory
        model = build_model("vgg16_bn_cifar", num_classes=10)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    buffers = sum(b.numel() for b in model.buffers())
    return Truth(params, f"매개변수 수 {params:,}개(fp32로 약 {params * 4 / 1e6:.0f} MB): GPU 수와 "
                         "상관없이, 기울기마다 한 번씩 모든 GPU의 평균을 냅니다. 배치 정규화의 누적 통계(버퍼)는 "
                         "평균 내지 않고 rank 0의 것을 복사합니다.",
                 f"The parameter count, {params:,} (about {params * 4 / 1e6:.0f} MB in fp32): whatever the number of "
                 "GPUs, each gradient is averaged over all of them once. Batch norm's running statistics (buffers) "
                 "are not averaged: rank 0's are copied.", [
                     (params * 4, "GPU마다 따로 세었습니다: all-reduce의 결과는 모든 GPU가 함께 갖는 평균 하나입니다.",
                      "You counted each GPU separately: an all-reduce gives one average that every GPU holds."),
                     (params // 4, "GPU마다 모델의 4분의 1을 맡는 것이 아닙니다: GPU마다 모델 전체를 갖고, 기울기 "
                                   "전부를 평균 냅니다(나누는 것은 데이터입니다).",
                      "Each GPU does not hold a quarter of the model: every GPU holds all of it and averages every "
                      "gradient (what is split is the data)."),
                     (params + buffers, "배치 정규화의 버퍼(running_mean, running_var …)도 셌습니다: 버퍼에는 "
                                        "기울기가 없어 all-reduce하지 않습니다(DDP는 rank 0의 것을 복사합니다).",
                      "You counted batch norm's buffers (running_mean, running_var …) too: they have no gradients "
                      "and are not all-reduced (DDP copies rank 0's).")])


# ---- from vgg_teach.checks.questions_training (phase-1 merge)
#: key → question, lesson 05.




@_ask("initial_loss", "학습을 시작하기 직전, 무작위로 초기화한 모델은 CIFAR-10의 10개 클래스에 거의 같은 점수를 "
      "줍니다. 첫 배치의 손실(엔진의 교차 엔트로피)은 얼마쯤일까요? 소수 둘째 자리까지 적어 보세요.",
      "Just before training, a randomly initialized model gives CIFAR-10's 10 classes almost equal scores. About "
      "what is the loss (the engine's cross-entropy) of the first batch? Two decimals are enough.",
      "점수가 모두 같으면 소프트맥스는 클래스마다 같은 확률을 줍니다. 교차 엔트로피는 정답 확률의 −log입니다.",
      "With equal scores, softmax gives every class the same probability; cross-entropy is −log of the right "
      "class's probability.")
def _initial_loss() -> Truth:
    classes = len(CIFAR10_CLASSES)
    smoothing = TrainConfig().label_smoothing
    loss_fn = nn.CrossEntropyLoss(label_smoothing=smoothing)
    loss = float(loss_fn(torch.zeros(4, classes, dtype=torch.float64), torch.arange(4)))
    return Truth(loss, f"점수가 같으면 확률은 모두 1/{classes}이고 손실은 −ln(1/{classes}) = ln {classes} ≈ "
                                 f"{loss:.3f}입니다. 레이블 평활화({smoothing})를 써도 같습니다: 어느 목표 분포든 "
                                 "고른 확률과의 교차 엔트로피는 ln 10입니다. 첫 에포크의 손실이 이 값에서 시작하지 "
                                 "않으면 초기화나 손실 함수를 의심하세요(CS231n의 첫 점검).",
                 f"Equal scores give every class 1/{classes}, so the loss is −ln(1/{classes}) = ln {classes} ≈ "
                 f"{loss:.3f}. Label smoothing ({smoothing}) does not change it: any target's cross-entropy with a "
                 "uniform prediction is ln 10. If the first epoch's loss does not start near it, suspect the "
                 "initialization or the loss function (CS231n's first sanity check).", [
                     (float(classes), "클래스 수를 적었습니다: 손실은 정답 확률 1/10의 −log입니다.",
                      "That is the number of classes: the loss is −log of the right class's probability, 1/10."),
                     (1 / classes, "그것은 정답 클래스의 확률입니다: 손실은 그 확률의 −log입니다.",
                      "That is the right class's probability; the loss is −log of it."),
                     (math.log10(classes),
                      "상용로그(밑 10)를 썼습니다: PyTorch의 교차 엔트로피는 자연로그(ln)를 씁니다.",
                      "You used log base 10: PyTorch's cross-entropy uses the natural log (ln)."),
                     (0.0, "손실 0은 모든 정답을 확률 1로 맞힐 때입니다: 학습 전 모델은 찍는 것과 같습니다.",
                      "A loss of 0 means every answer right with probability 1; before training the model guesses."),
                 ], rel_tol=0.02)


# ---- from vgg_teach.checks.predictions (phase-1 merge)


#: lesson → {quiz label: question key}: the quiz questions answered with a number.
QUIZZES: dict[str, dict[str, str]] = {
    "01": {"Q1": "conv_out_56", "Q2": "conv1_1_params", "Q4": "vgg16_out_32"},
    "02": {"Q1": "conv3_3_1x1_params", "Q2": "vgg16_params_448", "Q3": "bn_extra_params"},
    "03": {"Q1": "rf_four_convs", "Q2": "rf_dilated"},
    "04": {"Q2": "new_head_params", "Q3": "swapped_total"},
    "07": {"Q1": "ddp_allreduce_numbers"},
}


def fmt_answer(value: Answer) -> str:
    """``1792`` → ``1,792``; ``15.5`` → ``15.5``; ``(512, 1, 1)`` → ``(512, 1, 1)``."""
    if isinstance(value, tuple):
        return "(" + ", ".join(fmt_answer(v) for v in value) + ")"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) >= 1000 else f"{value:.4g}"


def _number(value: Any) -> float | None:
    """One number from what a learner may write: an int, a float, ``"1,792"``, a one-element tensor."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, str):
        try:
            value = float(value.replace(",", "").replace("_", "").strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        return None
    return float(value)


def _as_answer(value: Any, want: Answer) -> tuple[Answer | None, tuple[str, str] | None]:
    """``value`` shaped like ``want`` (one number, or a tuple of as many), or ``None`` and a (ko, en) reason."""
    if isinstance(want, tuple):
        if isinstance(value, (torch.Tensor, torch.Size)):
            value = tuple(value.tolist()) if isinstance(value, torch.Tensor) else tuple(value)
        items = list(value) if isinstance(value, (tuple, list)) else [value]
        numbers_ = [_number(v) for v in items]
        if len(items) != len(want) or None in numbers_:
            return None, (f"숫자 {len(want)}개를 튜플로 돌려주세요 (예: {fmt_answer(tuple(0 for _ in want))}). "
                          f"받은 값: {value!r}.",
                          f"Return {len(want)} numbers as a tuple (like {fmt_answer(tuple(0 for _ in want))}); "
                          f"got {value!r}.")
        return tuple(numbers_), None  # type: ignore[arg-type]
    number = _number(value)
    if number is None:
        return None, (f"숫자 하나를 돌려주세요. 받은 값: {value!r}.", f"Return one number; got {value!r}.")
    return number, None


def _close(got: Answer, want: Answer, rel_tol: float) -> bool:
    if isinstance(want, tuple):
        return isinstance(got, tuple) and all(_close(g, w, rel_tol) for g, w in zip(got, want))
    return not isinstance(got, tuple) and math.isclose(got, want, rel_tol=rel_tol, abs_tol=1e-9)


def _diagnosis(truth: Truth, got: Answer) -> tuple[str, str] | None:
    """The (ko, en) of the first known mistake that gives ``got``."""
    for mistake, ko, en in truth.mistakes:
        if callable(mistake):
            try:
                hit = not isinstance(got, tuple) and bool(mistake(got))
            except Exception:  # noqa: BLE001 - a predicate that cannot judge this answer does not match
                hit = False
        else:
            hit = _close(got, mistake, 1e-9)
        if hit:
            return ko, en
    return None


def _judge(result: CheckResult, question: Question, value: Any, label: str = "") -> bool:
    """One ✅ (with how the truth comes out) or ❌ (with the mistake it matches, else the question's hint)."""
    truth = question.truth()
    head_ko, head_en = (f"{label}: ", f"{label}: ") if label else ("", "")
    got, problem = _as_answer(value, truth.value)
    if problem is not None:
        result.fail(head_ko + problem[0], head_en + problem[1])
        return False
    if _close(got, truth.value, truth.rel_tol):
        approx = "" if _close(got, truth.value, 1e-9) else f" (정확히는 {fmt_answer(truth.value)})"
        approx_en = "" if not approx else f" (exactly {fmt_answer(truth.value)})"
        result.ok(f"{head_ko}{fmt_answer(got)} — 맞습니다{approx}. {truth.why_ko}",
                  f"{head_en}{fmt_answer(got)} — right{approx_en}. {truth.why_en}")
        return True
    side_ko, side_en = "", ""
    if not isinstance(got, tuple) and not isinstance(truth.value, tuple):
        side_ko = " (정답보다 작습니다)" if got < truth.value else " (정답보다 큽니다)"
        side_en = " (too small)" if got < truth.value else " (too large)"
    hint = _diagnosis(truth, got) or (question.hint_ko, question.hint_en)
    result.fail(f"{head_ko}{fmt_answer(got)} — 정답이 아닙니다{side_ko}. 다시 생각해 보고 이 셀을 다시 실행하세요.",
                f"{head_en}{fmt_answer(got)} is not it{side_en}. Think again and re-run this cell.", *hint)
    return False


def _question(result: CheckResult, key: str) -> Question | None:
    question = QUESTIONS.get(key)
    if question is None:
        result.fail(f"'{key}'라는 질문은 없습니다. 있는 질문: {', '.join(sorted(QUESTIONS))}.",
                    f"There is no question {key!r}. Known questions: {', '.join(sorted(QUESTIONS))}.")
    return question


@never_raises("check_prediction")
def check_prediction(result: CheckResult, key: str, guess: Callable[[], Any] | Any) -> CheckResult:
    """Is the learner's prediction for question ``key`` right? ``guess`` is a function returning it (or the value).

    The report restates the question, then says ✅ with how the number comes out, or ❌ with the mistake
    the wrong number matches (the truth is not given away), or ⏳ while ``guess`` is still a stub (or returns
    ``None`` or ``...``).
    """
    result.name = f"check_prediction({key!r})"
    question = _question(result, key)
    if question is None:
        return result
    result.note(f"질문: {question.ko}", f"Question: {question.en}")
    value = guess() if callable(guess) else guess
    if value is None or value is Ellipsis:
        result.todo("아직 답하지 않았습니다: ... 자리에 숫자를 적고 이 셀을 다시 실행하세요.",
                    "Not answered yet: put your number in place of ... and re-run this cell.")
    else:
        _judge(result, question, value)
    return result


@never_raises("check_quiz")
def check_quiz(result: CheckResult, lesson: str, answers: Callable[[], Mapping[str, Any]] | Mapping[str, Any]
               ) -> CheckResult:
    """The numeric questions of lesson ``lesson``'s quiz: ``answers()`` returns ``{"Q1": 56, …}``.

    A question left out (or ``None``, or ``...``) is ⏳; the others are judged one by one, as
    :func:`check_prediction` judges.
    """
    result.name = f"check_quiz({lesson!r})"
    quiz = QUIZZES.get(str(lesson))
    if quiz is None:
        result.fail(f"레슨 '{lesson}'에는 숫자로 답하는 퀴즈가 없습니다. 있는 레슨: {', '.join(sorted(QUIZZES))}.",
                    f"Lesson {lesson!r} has no numeric quiz. Lessons with one: {', '.join(sorted(QUIZZES))}.")
        return result
    got = answers() if callable(answers) else answers
    if not isinstance(got, Mapping):
        result.fail(f"{{'Q1': 숫자, …}} 꼴의 딕셔너리를 돌려주세요. 받은 것: {type(got).__name__}.",
                    f"Return a dict like {{'Q1': number, …}}; got a {type(got).__name__}.")
        return result
    for label, key in quiz.items():
        if got.get(label) is None or got.get(label) is Ellipsis:
            result.todo(f"{label}: 아직 답하지 않았습니다 — 딕셔너리에 \"{label}\"를 넣어 보세요.",
                        f"{label}: not answered yet — add \"{label}\" to the dict.")
        else:
            _judge(result, QUESTIONS[key], got[label], label)
    extra = sorted(set(map(str, got)) - set(quiz))
    if extra:
        result.note(f"숫자로 검사하지 않는 항목: {', '.join(extra)} (이 퀴즈의 숫자 문제는 {', '.join(quiz)}).",
                    f"Not checked as numbers: {', '.join(extra)} (this quiz's numeric questions: {', '.join(quiz)}).")
    return result


# ---- from vgg_teach.checks.score_map (phase-1 merge)
def _side(value: Any) -> int | None:
    """6, (6, 6) or [6, 6] → 6; anything else → None."""
    if isinstance(value, (tuple, list)) and len(value) == 2 and value[0] == value[1]:
        value = value[0]
    try:
        return int(value) if float(value) == int(value) else None
    except (TypeError, ValueError):
        return None


@never_raises("check_score_map_predictions")
def check_score_map_predictions(result: CheckResult, predict: Callable[[], Any]) -> CheckResult:
    """``predict()`` → ``(map side, stride, receptive field)`` of VGG16's score map for a 384×384 image."""
    value = predict() if callable(predict) else predict
    try:
        side, stride, rf = value
    except (TypeError, ValueError):
        result.fail(f"세 값 (점수 맵 한 변, 보폭, 수용 영역)을 돌려줘야 합니다 (받은 것: {value!r:.60}).",
                    f"Return three values (score map side, stride, receptive field); got {value!r:.60}.")
        return result
    truth = score_map_geometry(None, 384)
    want_side, want_stride, want_rf = truth.size[0], truth.stride, truth.receptive_field
    pool5 = 384 // want_stride
    side_n = _side(side)
    hints = {pool5: ("12는 pool5의 크기(384 / 32)입니다. fc6는 패딩 없는 7×7 합성곱이라 12 − 7 + 1이 남습니다.",
                     "12 is pool5's size (384 / 32); fc6 is a 7×7 convolution without padding, leaving 12 − 7 + 1."),
             7: ("7은 224×224일 때 pool5의 크기입니다. 384×384에서는 pool5가 12×12입니다.",
                 "7 is pool5's size for 224×224; for 384×384 pool5 is 12×12."),
             1: ("1×1은 AdaptiveAvgPool2d로 7×7에 맞추는 torchvision 모델의 경우입니다. "
                 "완전 합성곱 모델은 avgpool이 없습니다.",
                 "1×1 is torchvision's model, whose AdaptiveAvgPool2d forces 7×7; the fully convolutional one has no "
                 "avgpool."),
             want_side ** 2: ("36은 점수의 개수(6×6)입니다. 한 변의 길이를 적으세요.",
                              "36 is the number of scores (6×6); give the length of one side.")}
    result.expect(side_n == want_side,
                  (f"점수 맵은 {want_side}×{want_side}입니다: pool5 {pool5}×{pool5}에서 7×7 창이 "
                   f"{want_side}×{want_side}곳에 놓입니다.",
                   f"The score map is {want_side}×{want_side}: a 7×7 window fits in {want_side}×{want_side} "
                   f"places of the {pool5}×{pool5} pool5."),
                  (f"점수 맵 한 변: {side!r}이(가) 아닙니다.", f"Score map side: not {side!r}."),
                  hints.get(side_n, ("⌊384 / 32⌋ = 12에서 시작해 fc6의 7×7 창이 몇 곳에 놓이는지 세어 보세요.",
                                     "Start from ⌊384 / 32⌋ = 12 and count where fc6's 7×7 window fits.")))
    stride_hint = ("2×2 최대 풀링 다섯 번이 보폭을 2⁵배로 만들고, fc6·fc7·fc8의 보폭은 1입니다.",
                   "Five 2×2 max poolings multiply the stride by 2⁵, and fc6, fc7, fc8 have stride 1.")
    result.expect(_side(stride) == want_stride,
                  (f"보폭(stride) {want_stride}픽셀: 이웃한 두 점수는 입력에서 {want_stride}픽셀 떨어진 창을 봅니다.",
                   f"Stride {want_stride} pixels: neighboring scores look at windows {want_stride} pixels apart."),
                  (f"보폭: {stride!r}이(가) 아닙니다.", f"Stride: not {stride!r}."), stride_hint)
    rf_hints = {212: ("212는 pool5 유닛 하나의 수용 영역입니다. fc6는 32픽셀 간격의 pool5 유닛 7개에 걸칩니다.",
                      "212 is one pool5 unit's field; fc6 spans 7 pool5 units, 32 pixels apart."),
                224: ("224는 분류기가 학습한 잘라 낸 크기입니다. 수용 영역은 0으로 채운 패딩까지 세므로 그보다 큽니다.",
                      "224 is the crop the classifier was trained on; a receptive field counts the zero padding too, "
                      "so it is larger."),
                384: ("이미지 전체가 아니라 점수 하나가 볼 수 있는 범위입니다. 이미지보다 클 수도 있습니다.",
                      "Not the image: the range one score can see, which may exceed the image.")}
    rf_n = _side(rf)
    result.expect(rf_n == want_rf,
                  (f"수용 영역(receptive field) {want_rf}×{want_rf}: pool5의 212에 fc6의 (7 − 1)·32를 더합니다.",
                   f"Receptive field {want_rf}×{want_rf}: pool5's 212 plus fc6's (7 − 1)·32."),
                  (f"수용 영역: {rf!r}이(가) 아닙니다.", f"Receptive field: not {rf!r}."),
                  rf_hints.get(rf_n, ("rf ← rf + (k − 1)·jump를 pool5(212, jump 32) 뒤의 fc6(k = 7)에 적용하세요.",
                                      "Apply rf ← rf + (k − 1)·jump to fc6 (k = 7) after pool5 (212, jump 32).")))
    return result
