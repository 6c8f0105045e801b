"""The questions of the prediction cells and numeric quiz answers: their types, and lessons 01–02.

Each question computes its :class:`Truth` from vgg_teach when asked (models on the ``meta`` device: shapes
without memory), so a number in a lesson cannot drift from the code it describes. A truth carries how it
comes out (shown with ✅) and the numbers that common mistakes give, each with the mistake named; the conv
and linear mistakes are those of the parameter checks and the receptive-field ones those of the recurrence
check (:mod:`.params`, :mod:`.receptive_field`), so each slip is described in one place.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Sequence, Tuple, Union

import torch
from torch import nn

from ..analysis.layers import meta_vgg
from ..analysis.params import LayerRow, layer_table
from ..analysis.receptive_field import receptive_field_table
from ..models import CFGS, make_layers
from .params import _CONV_MISTAKES, _LINEAR_MISTAKES
from .receptive_field import _MISTAKES as _RF_MISTAKES
from .receptive_field import _stack, _variant

__all__ = ["Answer", "Mistake", "Truth", "Question", "registry", "QUESTIONS", "layer_rows", "param_truth",
           "rf_mistakes", "last_rf"]

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
