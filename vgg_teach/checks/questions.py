"""Prediction cells and numeric quiz answers: every question as data, and the checks that judge a guess.

Each :class:`Question` holds what is asked, a hint for a wrong answer no known mistake explains, the answer,
how it comes out (shown with ✅), the mistakes that give a wrong number (a value or a small predicate) with
their names, and a relative tolerance. The answers are typed in here; tests/unit/test_checks_questions.py
computes each one (and each listed wrong number) from vgg_teach, so they cannot drift from the code. The
slips of the parameter and receptive-field formulas are written here once; :mod:`.counting` and
:mod:`.receptive_field` name them with the same words. A prediction cell ends with
``check_prediction("conv1_1_params", my_prediction)``, a quiz with ``check_quiz("02", my_quiz_answers)``.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence, Tuple, Union

import torch

from ..errors import josa
from . import CheckResult, never_raises

#: One number, or a tuple of numbers (a shape; a center and an edge).
Answer = Union[float, Tuple[float, ...]]
#: A wrong answer (or a predicate on one) and the mistake it shows, in Korean and English.
Mistake = Tuple[Union[Answer, Callable[[float], bool]], str, str]


@dataclass(frozen=True)
class Question:
    ko: str
    en: str
    hint_ko: str
    hint_en: str
    answer: Answer
    why_ko: str
    why_en: str
    mistakes: Sequence[Mistake] = ()
    rel_tol: float = 0.0


#: Slips in counting a convolution's parameters: (predicate on (got, c_in, c_out, k), ko, en), first match wins.
CONV_SLIPS: list[tuple[Callable[..., bool], str, str]] = [
    (lambda got, ci, co, k: got == k * k * ci * co,
     "편향(bias)을 빠뜨렸습니다: 출력 채널마다 편향이 하나씩 있으니 C_out개가 모자랍니다. (k·k·C_in + 1)·C_out입니다.",
     "You forgot the bias: each output channel has one, so you are C_out short. It is (k·k·C_in + 1)·C_out."),
    (lambda got, ci, co, k: k != 1 and got == (k * ci + 1) * co,
     "k·k 대신 k를 썼습니다: 커널은 k×k 정사각형이므로 필터 한 장에 k·k·C_in개의 가중치가 있습니다.",
     "You used k instead of k·k: the kernel is a k×k square, so one filter has k·k·C_in weights."),
    (lambda got, ci, co, k: ci != 1 and got == (k * k + 1) * co,
     "입력 채널 수 C_in을 곱하지 않았습니다: 필터 한 장은 입력 채널 전부에 걸쳐 있어서 가중치가 k·k·C_in개입니다.",
     "You left out the input channels C_in: one filter spans all the input channels, so it has k·k·C_in weights."),
    (lambda got, ci, co, k: k != 1 and got == (2 * k * ci + 1) * co,
     "k·k 대신 k + k(또는 2·k)를 썼습니다: 커널의 넓이는 k·k입니다.",
     "You used k + k (or 2·k) instead of k·k: the kernel's area is k·k."),
    (lambda got, ci, co, k: k == 1 and got == (9 * ci + 1) * co,
     "kernel_size를 쓰지 않고 3×3으로 고정했습니다: 구성 C의 1×1 합성곱에서는 k = 1입니다.",
     "You fixed the kernel at 3×3 instead of using kernel_size: configuration C's 1×1 convs have k = 1."),
    (lambda got, ci, co, k: got == k * k * ci * co + 1,
     "편향을 계층 전체에 하나만 더했습니다: 편향은 출력 채널마다 하나, 모두 C_out개입니다.",
     "You added one bias for the whole layer: there is one per output channel, C_out in all."),
    (lambda got, ci, co, k: got == (k * k + 1) * ci * co,
     "편향을 (입력, 출력) 채널 쌍마다 더했습니다: 편향은 출력 채널마다 하나입니다.",
     "You added a bias per (input, output) channel pair: there is one bias per output channel."),
    (lambda got, ci, co, k: ci != co and got == (k * k * co + 1) * ci,
     "C_in과 C_out을 바꿨거나, 편향을 입력 채널마다 더했습니다(k·k·C_in·C_out + C_in, 같은 수): 필터는 C_out개이고, "
     "필터 한 장은 k·k·C_in개의 가중치와 편향 1개입니다.",
     "You swapped C_in and C_out, or added a bias per input channel (k·k·C_in·C_out + C_in, the same number): "
     "there are C_out filters, each with k·k·C_in weights and one bias."),
    (lambda got, ci, co, k: got == (k * k * ci + 1) * (co + 1),
     "출력 채널 수에도 1을 더했습니다((k·k·C_in + 1)·(C_out + 1)): 편향은 필터마다 1개이지, 출력 채널이 하나 더 "
     "있는 것이 아닙니다. (k·k·C_in + 1)·C_out입니다.",
     "You added 1 to the output channels too, (k·k·C_in + 1)·(C_out + 1): the bias is one per filter, not an extra "
     "output channel. It is (k·k·C_in + 1)·C_out."),
    (lambda got, ci, co, k: got == k * k * ci + 1 or got == k * k * ci + co,
     "필터 한 장만 셌습니다: 필터(출력 채널)가 C_out개 있으니 C_out을 곱하세요.",
     "You counted a single filter: there are C_out filters (output channels), so multiply by C_out."),
]
#: The same for a linear layer: (predicate on (got, n_in, n_out), ko, en).
LINEAR_SLIPS: list[tuple[Callable[..., bool], str, str]] = [
    (lambda got, n_in, n_out: got == n_in * n_out,
     "편향(bias)을 빠뜨렸습니다: 출력마다 편향이 하나씩, out개가 모자랍니다. (in + 1)·out입니다.",
     "You forgot the bias: one per output, so you are `out` short. It is (in + 1)·out."),
    (lambda got, n_in, n_out: got == n_in * n_out + 1,
     "편향을 계층 전체에 하나만 더했습니다: 편향은 출력마다 하나, 모두 out개입니다.",
     "You added one bias for the whole layer: there is one per output, `out` in all."),
    (lambda got, n_in, n_out: n_in != n_out and got == (n_out + 1) * n_in,
     "편향을 입력마다 더했습니다(in·out + in): 편향은 출력마다 하나이므로 (in + 1)·out입니다.",
     "You added a bias per input (in·out + in): there is one bias per output, so it is (in + 1)·out."),
    (lambda got, n_in, n_out: got == (n_in + 1) * (n_out + 1),
     "출력 수에도 1을 더했습니다((in + 1)·(out + 1)): 출력 out개마다 가중치 in개와 편향 1개가 있을 뿐, 출력이 "
     "하나 더 생기지는 않습니다. (in + 1)·out입니다.",
     "You added 1 to the outputs too, (in + 1)·(out + 1): each of the `out` outputs has `in` weights and one "
     "bias, and there is no extra output. It is (in + 1)·out."),
    (lambda got, n_in, n_out: got == n_in + 1,
     "출력 하나의 매개변수(가중치 in개와 편향 1개)만 셌습니다: 출력이 out개이니 out을 곱하세요.",
     "You counted the parameters of a single output (in weights and one bias): there are `out` outputs, so "
     "multiply by out."),
    (lambda got, n_in, n_out: got in (n_in + n_out, n_in + n_out + 1),
     "더하기가 아니라 곱하기입니다: 출력 하나하나가 입력 전부와 연결되어 있어서 가중치는 in·out개입니다.",
     "Multiply, don't add: every output is connected to every input, so there are in·out weights."),
]
#: Slips in the receptive-field recurrence: a keyword of :mod:`.receptive_field`'s recurrence and the value that
#: does it wrong → (value, ko, en). The first variant that gives the learner's numbers names the slip.
RF_SLIPS: dict[str, tuple[Any, str, str]] = {
    "multiply": (False, "점프(jump)에 보폭(stride)을 곱하지 않았습니다: 보폭 2인 계층 뒤에서는 이웃한 유닛이 입력에서 "
                 "2배 멀리 떨어져 있으므로 계층마다 jump *= stride 를 하세요.",
                 "The jump is never multiplied by the stride: after a stride-2 layer neighboring units sit twice as "
                 "far apart in the input, so do jump *= stride after every layer."),
    "stride_for_jump": (True, "rf에 이 계층의 보폭(stride)을 곱했습니다: (k − 1)·stride가 아니라 (k − 1)·jump입니다. "
                        "jump는 지금까지 지나온 모든 보폭의 곱, 즉 이 계층 입력의 이웃한 두 유닛이 원본 이미지에서 "
                        "떨어진 거리(픽셀)입니다.",
                        "You multiplied by this layer's stride: it is (k − 1)·jump, not (k − 1)·stride. The jump is "
                        "the product of all strides so far: how many input pixels apart two neighboring units of this "
                        "layer's input are."),
    "minus_one": (False, "k − 1 대신 k를 더했습니다: 커널이 덮는 k칸 중 한 칸은 이미 보고 있는 위치이므로, 새로 "
                  "보게 되는 것은 (k − 1)·jump입니다.",
                  "You added k instead of k − 1: one of the k positions is the one already seen, so the field grows "
                  "by (k − 1)·jump."),
    "dilation": (False, "팽창(dilation)을 무시했습니다: 팽창 d인 k×k 커널은 d·(k − 1) + 1 칸에 걸쳐 있습니다 (k_eff).",
                 "You ignored the dilation: a k×k kernel with dilation d spans d·(k − 1) + 1 positions (k_eff)."),
    "dilation_times_k": (True, "k_eff를 d·k로 계산했습니다: 커널 칸 사이의 간격이 d이므로 k_eff = d·(k − 1) + 1입니다.",
                         "You computed k_eff as d·k: the taps are d apart, so k_eff = d·(k − 1) + 1."),
    "jump_first": (True, "jump를 rf보다 먼저 바꿨습니다: 이 계층의 커널은 아직 이전 계층의 간격(jump)으로 놓이므로, "
                   "rf를 먼저 키우고 그다음 jump *= stride 를 하세요.",
                   "You updated the jump before the receptive field: this layer's kernel still steps over the "
                   "previous layer's jump, so grow rf first, then do jump *= stride."),
    "jump_is_stride": (True, "jump = stride 로 덮어썼습니다: jump는 지금까지 모든 보폭의 곱입니다 (jump *= stride).",
                       "You overwrote the jump with jump = stride: the jump is the product of all strides so far "
                       "(jump *= stride)."),
    "start": (0, "rf를 0에서 시작했습니다: 입력 픽셀 하나는 자기 자신을 보므로 rf = 1 에서 시작합니다.",
              "You started at rf = 0: an input pixel sees itself, so start at rf = 1."),
}


def _params(slips: list[tuple[Callable[..., bool], str, str]], *shape: int) -> list[Mistake]:
    """The parameter slips, for one layer's shape."""
    return [(lambda got, test=test: test(got, *shape), ko, en) for test, ko, en in slips]


def _rf(value: Answer, slip: str) -> Mistake:
    return value, *RF_SLIPS[slip][1:]


#: key → question. Every key is asked by a lesson's prediction cell or quiz.
QUESTIONS: dict[str, Question] = {
    "vgg16_convs": Question(
        "VGG16의 가중치 계층 16개 가운데 합성곱은 몇 개일까요?",
        "Of VGG16's 16 weight layers, how many are convolutions?",
        "분류기의 완전 연결 계층은 3개입니다.", "The classifier has 3 fully connected layers.",
        13, "합성곱 13개(블록 2-2-3-3-3) + 완전 연결 3개 = 16.",
        "13 convolutions (blocks of 2-2-3-3-3) + 3 fully connected layers = 16.", [
            (16, "16은 가중치가 있는 계층 전부입니다: 그중 마지막 3개는 완전 연결 계층입니다.",
             "16 counts every layer with weights; the last 3 of them are fully connected."),
            (18, "풀링까지 셌습니다: 최대 풀링에는 가중치가 없어서 '16'에 들지 않습니다.",
             "You counted the poolings: max pooling has no weights, so it is not in the '16'.")]),
    "vgg16_out_224": Question(
        "224×224 이미지가 features를 다 지나면 특징 맵의 한 변은 몇 픽셀일까요?",
        "After all of features, how many pixels is a side of a 224×224 image's feature map?",
        "어느 계층이 크기를 줄이는지 생각해 보세요.", "Think about which layers shrink the size.",
        7, "합성곱은 크기를 유지하고 풀링 다섯 번이 절반씩 줄입니다: 224 / 2⁵ = 7.",
        "The convolutions keep the size and five poolings halve it: 224 / 2⁵ = 7.", [
            (224, "3×3 합성곱(패딩 1)은 크기를 유지하지만, 블록 끝의 2×2 최대 풀링은 절반으로 줄입니다.",
             "A 3×3 conv with padding 1 keeps the size, but each block's 2×2 max pooling halves it."),
            (14, "풀링을 네 번만 셌습니다: 블록은 다섯 개, 블록마다 풀링이 하나입니다.",
             "You halved four times: there are five blocks, each ending in a pooling.")]),
    "vgg16_bn_modules": Question(
        "len(make_layers(CFGS['D'], batch_norm=True))는 얼마일까요?",
        "What is len(make_layers(CFGS['D'], batch_norm=True))?",
        "합성곱마다 모듈이 몇 개 붙는지, \"M\"은 몇 개인지 세어 보세요.", "Count the modules per conv, and the \"M\"s.",
        44, "합성곱 13개마다 Conv2d·BatchNorm2d·ReLU 3개씩, 그리고 풀링 5개: 44.",
        "Conv2d, BatchNorm2d and ReLU for each of the 13 convs, plus 5 poolings: 44.", [
            (31, "배치 정규화(BatchNorm2d)를 빠뜨렸습니다: 합성곱마다 하나씩 더 있습니다.",
             "You left out the batch norms: there is one more module per convolution."),
            (31, "ReLU를 빠뜨렸습니다: 활성화 함수도 합성곱마다 모듈 하나(nn.ReLU)입니다.",
             "You left out the ReLUs: each convolution's activation is a module too (nn.ReLU)."),
            (39, "풀링 5개를 빠뜨렸습니다: \"M\"도 모듈 하나(nn.MaxPool2d)입니다.",
             "You left out the 5 poolings: each \"M\" is a module too (nn.MaxPool2d).")]),
    "conv_out_56": Question(
        "56×56 특징 맵에 3×3, 패딩 1, 보폭 1 합성곱을 적용한 출력의 한 변은?",
        "The side of a 56×56 feature map after a 3×3 conv with padding 1, stride 1?",
        "⌊(n + 2p − k) / s⌋ + 1", "⌊(n + 2p − k) / s⌋ + 1",
        56, "(56 + 2·1 − 3) / 1 + 1 = 56: VGG의 합성곱은 크기를 바꾸지 않습니다.",
        "(56 + 2·1 − 3) / 1 + 1 = 56: VGG's convolutions never change the size.", [
            (54, "패딩을 빠뜨렸습니다: 양쪽에 1씩 패딩하므로 n + 2p − k + 1입니다.",
             "You left out the padding: 1 on each side, so it is n + 2p − k + 1."),
            (28, "보폭은 1입니다: 크기를 절반으로 줄이는 것은 풀링입니다.",
             "The stride is 1: halving the size is the pooling's job.")]),
    "vgg16_out_32": Question(
        "32×32 이미지에서 features의 출력 모양 (채널, 높이, 너비)은?",
        "The output shape (channels, height, width) of features for a 32×32 image?",
        "마지막 블록의 채널 수와 풀링 횟수를 생각해 보세요.", "Think of the last block's channels and the poolings.",
        (512, 1, 1), "채널 512개, 32 / 2⁵ = 1.", "512 channels, 32 / 2⁵ = 1.", [
            ((512, 7, 7), "(512, 7, 7)은 224×224 입력일 때의 모양입니다: 32는 다섯 번 절반이 되면 1입니다.",
             "That is the shape for 224×224: 32 halved five times is 1.")]),
    "conv1_1_params": Question(
        "conv1_1(3 → 64, 3×3)의 매개변수는 몇 개일까요?", "How many parameters does conv1_1 (3 → 64, 3×3) have?",
        "필터는 출력 채널마다 한 장이고, 필터 한 장은 입력 채널 전부에 걸쳐 있습니다.",
        "There is one filter per output channel, and each spans all the input channels.",
        1792, "(3·3·3 + 1)·64 = 1,792.", "(3·3·3 + 1)·64 = 1,792.", _params(CONV_SLIPS, 3, 64, 3)),
    "fc6_params": Question(
        "fc6(25,088 → 4,096)의 매개변수는 몇 개일까요?", "How many parameters does fc6 (25,088 → 4,096) have?",
        "출력 하나하나가 입력 전부와 연결되어 있고, 출력마다 편향이 있습니다.",
        "Every output is connected to every input, and each output has a bias.",
        102_764_544, "(25088 + 1)·4096 = 102,764,544.", "(25088 + 1)·4096 = 102,764,544.",
        _params(LINEAR_SLIPS, 25088, 4096)),
    "conv3_3_1x1_params": Question(
        "구성 C의 1×1 합성곱 conv3_3(256 → 256)의 매개변수는?",
        "The parameters of configuration C's 1×1 conv3_3 (256 → 256)?",
        "k = 1인 합성곱의 식을 쓰세요.", "Use the conv formula with k = 1.",
        65_792, "(1·1·256 + 1)·256 = 65,792.", "(1·1·256 + 1)·256 = 65,792.", _params(CONV_SLIPS, 256, 256, 1)),
    "conv1_2_macs": Question(
        "224×224 이미지 한 장에 conv1_2(64 → 64, 3×3)는 곱셈-덧셈을 몇 번 할까요?",
        "How many multiply-adds does conv1_2 (64 → 64, 3×3) do for one 224×224 image?",
        "출력 값 하나에 곱셈-덧셈이 몇 번 필요한지, 출력 값이 몇 개인지 세어 보세요.",
        "Count the multiply-adds per output value, and the output values.",
        1_849_688_064, "출력 64·224·224개마다 곱셈-덧셈 3·3·64 = 576번: 1,849,688,064.",
        "64·224·224 outputs, each 576 multiply-adds (3·3·64): 1,849,688,064.", [
            (1_852_899_328, "편향까지 곱했습니다: 편향은 덧셈 하나일 뿐 곱셈-덧셈이 아닙니다.",
             "You multiplied the biases in too: a bias is one addition, not a multiply-add."),
            (3_699_376_128, "FLOPs로 답했습니다: 곱셈-덧셈 하나가 2 FLOPs이니 절반이 답입니다.",
             "That is the FLOPs: one multiply-add is 2 FLOPs, so halve it."),
            (36_928, "conv1_2의 매개변수 수를 적었습니다: 연산량은 그 가중치를 출력 위치마다 다시 쓰므로 매개변수보다 "
             "훨씬 많습니다. 출력 값 하나마다 곱셈-덧셈이 몇 번인지부터 세어 보세요.",
             "That is conv1_2's parameter count: compute reuses those weights at every output position, so it is "
             "far larger. Start from the multiply-adds per output value."),
            (36_864, "위치 수를 빠뜨렸습니다: 같은 가중치를 224×224의 모든 위치에서 다시 씁니다.",
             "You left out the positions: the same weights are used again at every one of 224×224."),
            (462_422_016, "conv1_2의 출력은 아직 224×224입니다: 크기는 pool1에서야 줄어듭니다.",
             "conv1_2's output is still 224×224: the size only shrinks at pool1.")]),
    "vgg16_params_448": Question(
        "448×448 입력에서 VGG16의 매개변수는 몇 개일까요?", "How many parameters does VGG16 have for a 448×448 input?",
        "어떤 매개변수가 입력 크기에 따라 달라질 수 있는지 생각해 보세요.",
        "Think about which parameters could depend on the input size.",
        138_357_544,
        "그대로입니다: 합성곱의 가중치는 입력 크기와 상관없고, AdaptiveAvgPool2d((7, 7))이 fc6의 입력을 25,088로 "
        "유지합니다.",
        "Unchanged: conv weights do not depend on the input size, and AdaptiveAvgPool2d((7, 7)) keeps fc6's input at "
        "25,088.", [
            (446_638_888,
            "AdaptiveAvgPool2d((7, 7))을 잊었습니다: 14×14도 7×7로 줄어들어 fc6의 입력은 25,088 그대로입니다.",
             "You forgot AdaptiveAvgPool2d((7, 7)): 14×14 becomes 7×7 too, so fc6 still takes 25,088."),
            (553_430_176, "4배가 되는 것은 연산량입니다: 매개변수는 입력 크기와 상관없습니다.",
             "What grows 4× is the compute: parameters do not depend on the input size.")]),
    "bn_extra_params": Question(
        "vgg16_bn은 vgg16보다 매개변수가 몇 개 많을까요?", "How many more parameters does vgg16_bn have than vgg16?",
        "배치 정규화가 채널마다 학습하는 값은 몇 개인가요?", "How many values does batch norm learn per channel?",
        8448, "배치 정규화 13개가 채널마다 γ와 β 두 개씩: 2·(채널 수의 합) = 8,448.",
        "13 batch norms with γ and β per channel: 2·(sum of channels) = 8,448.", [
            (lambda got: got in (16_896, 16_909), "누적 평균과 분산까지 셌습니다(state_dict의 차이라면 "
             "num_batches_tracked 13개도): 둘은 학습하지 않는 버퍼라 parameters()에 없습니다.",
             "You counted the running mean and variance too (and the 13 num_batches_tracked, if you compared "
             "state_dicts): they are buffers, not in parameters()."),
            (4224, "채널마다 γ(배율)와 β(이동), 두 개입니다.",
             "Two per channel: γ (scale) and β (shift).")]),
    "conv2_1_rf": Question(
        "conv2_1(conv1_1, conv1_2, pool1 다음)의 수용 영역은 몇 픽셀일까요?",
        "How many pixels is the receptive field of conv2_1 (after conv1_1, conv1_2, pool1)?",
        "pool1 뒤에서 이웃한 유닛은 입력에서 몇 픽셀 떨어져 있을까요?",
        "After pool1, how many input pixels apart are neighboring units?",
        10, "3 → 5 → 6(pool1: (2 − 1)·1) → 10(conv2_1: 점프가 2가 되어 (3 − 1)·2).",
        "3 → 5 → 6 (pool1: (2 − 1)·1) → 10 (conv2_1: the jump is now 2, so (3 − 1)·2).", [
            (9,
            "풀링이 수용 영역을 넓히지 않는다고 보았습니다: 풀링도 (2 − 1)·jump만큼 넓힙니다(pool1에서 1).",
             "You let the pooling leave the field as it was: pooling widens it too, by (2 − 1)·jump (1 at pool1)."),
            (7, "풀링을 건너뛰었습니다: pool1은 수용 영역을 1 넓히고, 그 뒤의 점프를 2로 만듭니다.",
             "You skipped the pooling: pool1 widens the field by 1 and doubles the jump after it."),
            _rf(8, "multiply"),
            _rf(9, "stride_for_jump"),
            _rf(15, "minus_one"),
            _rf(11, "jump_first"),
            _rf(9, "start"),
            (11, "커널 크기를 더하기만 했습니다(3 + 3 + 2 + 3): 계층마다 rf는 (k − 1)·jump만큼 자랍니다.",
             "You added up the kernel sizes (3 + 3 + 2 + 3): each layer grows rf by (k − 1)·jump.")]),
    "pool5_first_unit": Question(
        "pool5의 첫 유닛(왼쪽 위): 수용 영역의 중심과 첫 픽셀은? (중심, 첫 픽셀)",
        "pool5's first (top-left) unit: the center of its field and its first pixel? (center, first pixel)",
        "중심은 계층마다 ((k − 1)/2 − padding)·jump만큼 옮겨 갑니다.",
        "The center moves by ((k − 1)/2 − padding)·jump at every layer.",
        (15.5, -90),
        "중심 15.5, 212픽셀의 수용 영역은 -90부터 121까지: 패딩 때문에 중심이 왼쪽 위로 옮겨 가 이미지 밖(0으로 채운 "
        "곳)까지 나갑니다.",
        "Center 15.5; the 212-pixel field spans -90 to 121: padding moves it up and left, past the border into the "
        "zeros.", [
            ((105.5, 0),
            "패딩을 빠뜨렸습니다: 합성곱마다 padding·jump만큼 중심이 왼쪽으로 옮겨 갑니다 (start += ((k − 1)/2 − "
            "padding)·jump).",
             "You left out the padding: every conv moves the center left by padding·jump (start += ((k − 1)/2 − "
             "padding)·jump)."),
            ((15.5, -90.5),
            "첫 픽셀은 중심 − (rf − 1)/2입니다: 픽셀 rf개의 영역은 중심에서 양쪽으로 (rf − 1)/2씩 뻗습니다.",
             "The first pixel is center − (rf − 1)/2: a field of rf pixels reaches (rf − 1)/2 each way."),
            (lambda got: got[0] == 15.5 and got[1] not in (-90, -90.5),
             "중심은 맞습니다. 첫 픽셀은 중심에서 왼쪽으로 (rf − 1)/2만큼 떨어져 있습니다(rf는 pool5의 수용 영역).",
             "The center is right. The first pixel lies (rf − 1)/2 to its left (rf: pool5's receptive field).")]),
    "rf_four_convs": Question(
        "3×3 합성곱 4개(보폭 1)의 수용 영역, 그리고 첫 계층만 보폭 2일 때는? (두 수)",
        "Four 3×3 convs with stride 1: the receptive field; and with stride 2 in the first only? (two numbers)",
        "보폭은 자기 뒤의 계층들이 한 칸에 몇 픽셀을 건너는지 바꿉니다.",
        "A stride changes how many pixels one step covers in the layers after it.",
        (9, 15), "보폭 1: 1 + 4·2 = 9. 첫 계층이 보폭 2이면 그 뒤의 jump가 2: 3 + 3·2·2 = 15.",
        "Stride 1: 1 + 4·2 = 9. With stride 2 first, the jump is 2 after it: 3 + 3·2·2 = 15.", [
            _rf((9, 9), "multiply"),
            _rf((9, 11), "stride_for_jump"),
            _rf((13, 22), "minus_one"),
            _rf((9, 17), "jump_first"),
            _rf((9, 11), "jump_is_stride"),
            _rf((8, 14), "start")]),
    "rf_dilated": Question(
        "팽창 2인 3×3 합성곱 하나의 수용 영역은?", "The receptive field of one 3×3 conv with dilation 2?",
        "팽창은 커널의 칸 사이를 띄어 놓습니다.", "Dilation spaces out the kernel's taps.",
        5, "k_eff = 2·(3 − 1) + 1 = 5.", "k_eff = 2·(3 − 1) + 1 = 5.", [
            _rf(6, "minus_one"),
            _rf(3, "dilation"),
            _rf(6, "dilation_times_k"),
            _rf(4, "start"),
            (4, "k_eff를 d·(k − 1)로 계산했습니다: 양 끝 칸까지 세면 k_eff = d·(k − 1) + 1입니다.",
             "You computed k_eff as d·(k − 1): counting both end taps, k_eff = d·(k − 1) + 1.")]),
    "flops_224_vs_32": Question(
        "VGG16-BN의 순전파 연산은 224×224에서 32×32의 몇 배일까요?",
        "How many times the FLOPs of a 32×32 forward pass does a 224×224 one take (VGG16-BN)?",
        "합성곱과 분류기가 입력 크기에 어떻게 반응하는지 따로 생각해 보세요.",
        "Think separately about how the convolutions and the classifier react to the input size.",
        35.41482259395394,
        "30.94 / 0.87 GFLOP ≈ 35.4배: 합성곱은 픽셀 수만큼(49배) 늘지만 분류기는 어느 크기에서나 "
        "같습니다(AdaptiveAvgPool2d가 늘 7×7을 줌).",
        "30.94 / 0.87 GFLOP ≈ 35.4×: the convolutions grow with the pixel count (49×), the classifier costs the same "
        "at any size (AdaptiveAvgPool2d always gives 7×7).", [
            (lambda got: abs(got - 49) < 1,
             "(224/32)² = 49는 합성곱 부분만의 배율입니다: 분류기의 연산은 입력 크기와 상관없어 전체 배율은 그보다 "
            "작습니다.",
             "(224/32)² = 49 is the convolutions' factor; the classifier's compute does not depend on the input "
             "size, so the whole grows by less."),
            (lambda got: abs(got - 7) < 0.5, "한 변의 비율(224/32 = 7)입니다: 연산은 넓이(픽셀 수)를 따라 늘어납니다.",
             "That is the ratio of the sides (224/32 = 7): compute grows with the area.")], 0.05),
    "trainable_after_swap": Question(
        "헤드를 바꾸고 features를 고정하면 학습되는 매개변수는 몇 개일까요?",
        "After the head swap with features frozen, how many parameters learn?",
        "고정한 것은 features뿐입니다: 분류기의 세 계층을 모두 세어 보세요.",
        "Only features is frozen: count all three layers of the classifier.",
        119_586_826,
        "분류기 전체(fc6, fc7, 새 fc8)가 학습됩니다: 119,586,826 = 전체 134,309,962 − 고정한 features 14,723,136.",
        "The whole classifier learns (fc6, fc7, the new fc8): 119,586,826 = 134,309,962 in all − 14,723,136 frozen in "
        "features.", [
            (134_309_962, "features를 고정했습니다: 그 매개변수는 학습되지 않습니다.",
             "features is frozen: its parameters do not learn."),
            (119_595_274, "features의 배치 정규화(batch normalization) 매개변수 8,448개(채널마다 γ와 β)를 빼지 "
             "않았습니다: 그것도 features에 있으니 함께 고정됩니다. 고정된 features는 합성곱 14,714,688 + 배치 정규화 "
             "8,448개입니다.",
             "You did not subtract features' 8,448 batch-norm parameters (γ and β per channel): they are in features, "
             "so they are frozen too. features holds 14,714,688 in its convolutions + 8,448 in batch norm."),
            (14_723_136, "고정한 쪽(features)의 수입니다: 학습되는 것은 분류기입니다.",
             "That is the frozen part (features); what learns is the classifier."),
            (40_970, "새 계층만 셌습니다: fc6과 fc7도 고정하지 않았으니 함께 학습됩니다.",
             "You counted only the new layer: fc6 and fc7 are not frozen, so they learn too."),
            (123_642_856, "옛 헤드(4096 → 1000)로 셌습니다: 마지막 계층은 이제 4096 → 10입니다.",
             "You counted the old head (4096 → 1000): the last layer is now 4096 → 10.")]),
    "head_flops": Question(
        "새 헤드 nn.Linear(4096, 10)은 이미지 한 장에 몇 FLOPs일까요 (count_flops 기준)?",
        "How many FLOPs does the new head nn.Linear(4096, 10) take per image, as count_flops counts?",
        "곱셈-덧셈 하나가 2 FLOPs입니다.", "One multiply-add is 2 FLOPs.",
        81_920, "4096·10 곱셈-덧셈 × 2 FLOPs = 81,920: 전체(30.93 GFLOP)의 아주 작은 부분입니다.",
        "4096·10 multiply-adds × 2 FLOPs = 81,920: a tiny part of the whole (30.93 GFLOP).", [
            (40_960, "곱셈-덧셈 수를 적었습니다: count_flops는 곱셈-덧셈 하나를 2 FLOPs로 셉니다.",
             "That is the multiply-adds: count_flops counts one multiply-add as 2 FLOPs."),
            (81_930, "편향의 덧셈까지 셌습니다: count_flops는 곱셈-덧셈만 셉니다(2·in·out).",
             "You counted the bias additions too: count_flops counts the multiply-adds only (2·in·out)."),
            (40_970, "매개변수 수를 적었습니다: 연산은 가중치마다 곱셈 하나와 덧셈 하나입니다.",
             "That is the parameter count: compute is one multiplication and one addition per weight."),
            (8_192_000, "옛 헤드(4096 → 1000)의 연산입니다: 새 헤드는 출력이 10개입니다.",
             "That is the old head (4096 → 1000): the new one has 10 outputs.")]),
    "new_head_params": Question(
        "10개 클래스용 새 마지막 계층의 매개변수는?", "The parameters of the new 10-class last layer?",
        "완전 연결 계층의 식: 입력마다 가중치, 출력마다 편향.",
        "A linear layer: a weight per input and output, a bias per output.",
        40_970, "(4096 + 1)·10 = 40,970.", "(4096 + 1)·10 = 40,970.", _params(LINEAR_SLIPS, 4096, 10)),
    "swapped_total": Question(
        "헤드를 바꾼 VGG16-BN의 매개변수는 모두 몇 개일까요?",
        "How many parameters does VGG16-BN have in all after the head swap?",
        "옛 헤드를 빼고 새 헤드를 더하세요.", "Take the old head out and put the new one in.",
        134_309_962, "138,365,992 − (4096·1000 + 1000) + (4096·10 + 10) = 134,309,962.",
        "138,365,992 − (4096·1000 + 1000) + (4096·10 + 10) = 134,309,962.", [
            (138_365_992, "헤드를 바꾸기 전의 수입니다.",
             "That is the count before the swap."),
            (138_406_962, "새 헤드를 더했지만 옛 헤드를 빼지 않았습니다.",
             "You added the new head but kept the old."),
            (134_268_992, "옛 헤드를 뺐지만 새 헤드를 더하지 않았습니다.",
             "You removed the old head but added no new one."),
            (134_301_514, "배치 정규화가 없는 VGG16(138,357,544)에서 시작했습니다: 이 레슨의 모델은 VGG16-BN입니다.",
             "You started from VGG16 without batch norm (138,357,544): this lesson's model is VGG16-BN.")]),
    "ddp_local_batch": Question(
        "기본 레시피(배치 크기 512)를 GPU 2개(Kaggle의 T4 ×2)로 학습하면 GPU 하나가 한 스텝에 보는 이미지는 몇 "
        "장일까요?",
        "The default recipe (batch size 512) on 2 GPUs (Kaggle's T4 ×2): how many images does one GPU see per step?",
        "TrainConfig.batch_size는 모든 프로세스가 함께 한 스텝에 보는 이미지 수입니다.",
        "TrainConfig.batch_size is the images all processes see together in one step.",
        256,
        "512 ÷ 2 = 256: 배치 크기는 전역 배치(global batch)라서 GPU마다 그 절반을 맡고, 학습률과 스케줄은 프로세스가 "
        "하나일 때와 똑같습니다.",
        "512 ÷ 2 = 256: the batch size is the global batch, each GPU takes half of it, and the learning rate and its "
        "schedule stay those of one process.", [
            (512, "512는 전역 배치입니다: 두 GPU가 한 스텝에 함께 보는 이미지 수입니다. GPU 하나의 몫은?",
             "That is the global batch, what both GPUs see together in one step. What is one GPU's share?"),
            (1024,
            "GPU마다 512장이면 한 스텝이 1,024장이 되어 레시피(학습률 0.2는 512장에 맞춘 값)가 바뀝니다. 이 강좌는 "
            "전역 배치를 그대로 둡니다.",
             "With 512 per GPU a step would be 1,024 images and the recipe (lr 0.2 is tuned for 512) would change. "
             "The course keeps the global batch as it is.")]),
    "ddp_steps_per_epoch": Question(
        "CIFAR-10 학습 이미지 50,000장, 배치 크기 512를 GPU 4개로 학습합니다. 한 에포크에 옵티마이저 스텝은 몇 "
        "번일까요?",
        "CIFAR-10's 50,000 training images, batch size 512, on 4 GPUs: how many optimizer steps in one epoch?",
        "스텝 하나는 전역 배치 하나입니다. 마지막의 모자란 배치는 버립니다.",
        "One step is one global batch; the last incomplete batch is dropped.",
        97,
        "⌊50,000 ÷ 512⌋ = 97: GPU 수와 상관없이 같습니다. GPU마다 스텝에서 128장씩 맡고, 네 GPU가 함께 한 에포크에 "
        "이미지를 거의 한 번씩 봅니다(버리는 마지막 336장은 에포크마다 다릅니다).",
        "⌊50,000 ÷ 512⌋ = 97, whatever the number of GPUs: each GPU takes 128 images of every step, and together they "
        "see nearly every image once per epoch (the 336 left over, dropped, differ from epoch to epoch).", [
            (24, "GPU 수로 한 번 더 나눴습니다: 512장이 이미 네 GPU를 합친 배치입니다.",
             "You divided by the GPUs once more: 512 already counts all four GPUs."),
            (98, "마지막의 모자란 배치는 버립니다(⌈⌉가 아니라 ⌊⌋).",
             "The last incomplete batch is dropped (floor, not ceiling)."),
            (390, "GPU 하나의 몫(128장)으로 나눴습니다: 스텝 하나는 네 GPU가 함께 보는 512장입니다.",
             "You divided by one GPU's share (128): one step is the 512 images of all four.")]),
    "ddp_allreduce_numbers": Question(
        "vgg16_bn_cifar를 GPU 8개로 학습할 때, DDP가 스텝마다 GPU 사이에서 평균 내는(all-reduce) 기울기 숫자는 몇 "
        "개일까요?",
        "Training vgg16_bn_cifar on 8 GPUs: how many gradient numbers does DDP average (all-reduce) between the GPUs "
        "per step?",
        "기울기는 학습되는 매개변수마다 하나씩 있습니다.", "There is one gradient per trainable parameter.",
        15_253_578,
        "매개변수 수 15,253,578개(fp32로 약 61 MB): GPU 수와 상관없이, 기울기마다 한 번씩 모든 GPU의 평균을 냅니다. "
        "배치 정규화의 누적 통계(버퍼)는 평균 내지 않고 rank 0의 것을 복사합니다.",
        "The parameter count, 15,253,578 (about 61 MB in fp32): whatever the number of GPUs, each gradient is "
        "averaged over all of them once. Batch norm's running statistics (buffers) are not averaged: rank 0's are "
        "copied.", [
            (122_028_624, "GPU마다 따로 세었습니다: all-reduce의 결과는 모든 GPU가 함께 갖는 평균 하나입니다.",
             "You counted each GPU separately: an all-reduce gives one average that every GPU holds."),
            (61_014_312, "바이트로 답했습니다(fp32 기울기 하나가 4바이트): 묻는 것은 숫자의 개수입니다.",
             "That is the size in bytes (4 bytes per fp32 gradient): the question asks how many numbers."),
            (lambda got: 61 <= got <= 62 or 58 <= got <= 59,  # MB or MiB
             "메가바이트로 답했습니다(기울기 하나가 4바이트, 약 61 MB): 묻는 것은 숫자의 개수입니다.",
             "That is the size in megabytes (4 bytes per gradient, about 61 MB): the question asks how many numbers."),
            (61_014_312, "앞 문제의 GPU 4개마다 따로 셌습니다: all-reduce의 결과는 모든 GPU가 함께 갖는 평균 하나이고, "
             "그 수는 GPU 수와 상관없습니다.",
             "You counted each of the previous question's 4 GPUs separately: an all-reduce gives one average that "
             "every GPU holds, whatever their number."),
            (lambda got: 1_906_697 <= got <= 1_906_698,  # 15,253,578 ÷ 8, rounded either way
             "GPU마다 모델의 8분의 1을 맡는 것이 아닙니다: GPU마다 모델 전체를 갖고, 기울기 전부를 평균 냅니다(나누는 "
             "것은 데이터입니다).",
             "Each GPU does not hold an eighth of the model: every GPU holds all of it and averages every gradient "
             "(what is split is the data)."),
            (lambda got: got in (15_262_039, 15_262_026),
            "배치 정규화의 버퍼(running_mean, running_var …)도 셌습니다: 버퍼에는 기울기가 없어 all-reduce하지 "
            "않습니다(DDP는 rank 0의 것을 복사합니다).",
             "You counted batch norm's buffers (running_mean, running_var …) too: they have no gradients and are "
             "not all-reduced (DDP copies rank 0's).")]),
    "initial_loss": Question(
        "학습을 시작하기 직전, 무작위로 초기화한 모델은 CIFAR-10의 10개 클래스에 거의 같은 점수를 줍니다. 첫 배치의 "
        "손실(엔진의 교차 엔트로피)은 얼마쯤일까요? 소수 둘째 자리까지 적어 보세요.",
        "Just before training, a randomly initialized model gives CIFAR-10's 10 classes almost equal scores. About "
        "what is the loss (the engine's cross-entropy) of the first batch? Two decimals are enough.",
        "점수가 모두 같으면 소프트맥스는 클래스마다 같은 확률을 줍니다. 교차 엔트로피는 정답 확률의 −log입니다.",
        "With equal scores, softmax gives every class the same probability; cross-entropy is −log of the right "
        "class's probability.",
        2.302585092994046,
        "점수가 같으면 확률은 모두 1/10이고 손실은 −ln(1/10) = ln 10 ≈ 2.303입니다. 레이블 평활화(0.1)를 써도 "
        "같습니다: 어느 목표 분포든 고른 확률과의 교차 엔트로피는 ln 10입니다. 첫 에포크의 손실이 이 값에서 시작하지 "
        "않으면 초기화나 손실 함수를 의심하세요(CS231n의 첫 점검).",
        "Equal scores give every class 1/10, so the loss is −ln(1/10) = ln 10 ≈ 2.303. Label smoothing (0.1) does not "
        "change it: any target's cross-entropy with a uniform prediction is ln 10. If the first epoch's loss does not "
        "start near it, suspect the initialization or the loss function (CS231n's first sanity check).", [
            (10.0, "클래스 수를 적었습니다: 손실은 정답 확률 1/10의 −log입니다.",
             "That is the number of classes: the loss is −log of the right class's probability, 1/10."),
            (0.1, "0.1은 정답 클래스의 확률입니다: 손실은 그 확률의 −log입니다.",
             "That is the right class's probability; the loss is −log of it."),
            (1.0, "상용로그(밑 10)를 썼습니다: PyTorch의 교차 엔트로피는 자연로그(ln)를 씁니다.",
             "You used log base 10: PyTorch's cross-entropy uses the natural log (ln)."),
            (0.0, "손실 0은 모든 정답을 확률 1로 맞힐 때입니다: 학습 전 모델은 무작위로 고르는 것과 같습니다.",
             "A loss of 0 means every answer right with probability 1; before training the model guesses.")], 0.02),
}

#: lesson → {quiz label: question key}: the quiz questions answered with a number.
QUIZZES: dict[str, dict[str, str]] = {
    "01": {"Q1": "conv_out_56", "Q2": "conv1_1_params", "Q4": "vgg16_out_32"},
    "02": {"Q1": "conv3_3_1x1_params", "Q2": "vgg16_params_448", "Q3": "bn_extra_params"},
    "03": {"Q1": "rf_four_convs", "Q2": "rf_dilated"},
    "04": {"Q2": "new_head_params", "Q3": "swapped_total"},
    "07": {"Q1": "ddp_allreduce_numbers"},
}


#: (ko, en, hint ko, hint en) tail for a function that returned None: printed its answer instead?
_PRINTED = ("답을 print로 보여 주기만 했나요? 함수는 return으로 답을 돌려줘야 합니다: return 13",
            "Did you print the answer? The function must give it back with return: return 13")


def _fmt(value: Answer) -> str:
    """``1792`` → ``1,792``; ``15.5`` → ``15.5``; ``1906697.25`` → ``1,906,697.25``; ``(512, 1)`` → ``(512, 1)``."""
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0") if abs(value) >= 1000 else f"{value:.4g}"


def _plain(value: Any) -> Any:
    """NumPy values and arrays as Python numbers and lists, like tensors (their .tolist())."""
    return value.tolist() if type(value).__module__ == "numpy" and hasattr(value, "tolist") else value


def _number(value: Any) -> float | None:
    """One number from what a learner may write: an int, a float, ``"1,792"``, a one-element tensor or array;
    a square's side written as ``(5, 5)`` or ``"5×5"``."""
    value = _plain(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_meta:
        value = value.item()
    if isinstance(value, (tuple, list, torch.Size)) and len(value) == 2 and value[0] == value[1]:
        value = value[0]
    if isinstance(value, str):
        side = re.fullmatch(r"\s*(\d+)\s*[x×*]\s*(\d+)\s*", value)
        try:
            value = float(side[1] if side and side[1] == side[2] else value.replace(",", "").replace("_", "").strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        return float(value) if math.isfinite(float(value)) else None
    except OverflowError:  # 10 ** 400
        return None


def _near(got: float, want: float) -> tuple[str, str] | None:
    """A hint when a whole count was given rounded (within 1%) or in thousands, millions or billions."""
    for scale, ko, en in ((1, "", ""), (1e3, "천", "thousands"), (1e6, "백만", "millions"), (1e9, "십억", "billions")):
        if math.isclose(got * scale, want, rel_tol=0.01):
            return ("거의 맞습니다: 어림하지 말고 끝자리까지 정확한 수를 적으세요.",
                    "Close: give the exact count, to the last digit, not a rounded one.") if scale == 1 else (
                f"{ko} 단위로 적은 것 같습니다: 이 문제는 개수를 그대로 묻습니다(예: 1,792는 1792).",
                f"That looks like a count in {en}: the question asks for the plain count (1,792 as 1792).")
    return None


def _close(got: Answer, want: Answer, rel_tol: float) -> bool:
    if isinstance(want, tuple):
        return isinstance(got, tuple) and all(_close(g, w, rel_tol) for g, w in zip(got, want))
    return not isinstance(got, tuple) and math.isclose(got, want, rel_tol=rel_tol, abs_tol=1e-9)


def _matches(mistake: Any, got: Answer) -> bool:
    if not callable(mistake):
        return _close(got, mistake, 1e-9)
    try:
        return bool(mistake(got))
    except Exception:  # noqa: BLE001 - a predicate that cannot judge this answer does not match
        return False


def _judge(result: CheckResult, question: Question, value: Any, label: str = "") -> None:
    """One ✅ (with how the answer comes out) or ❌ (with the mistake it matches, else the hint; never the answer)."""
    want, head, value = question.answer, f"{label}: " if label else "", _plain(value)
    if isinstance(value, torch.Tensor) and (value.is_meta or value.numel() > (len(want) if isinstance(want, tuple)
                                                                                else 1)):
        what = ("모양(.shape)을", "its shape (.shape)") if isinstance(want, tuple) else ("숫자 하나를", "one number")
        meta = ", meta 장치라 값이 없음" * value.is_meta
        result.fail(f"{head}텐서 자체를 돌려줬습니다(모양 {tuple(value.shape)}{meta}): 텐서 대신 {what[0]} 돌려주세요.",
                    f"{head}You returned the tensor itself (shape {tuple(value.shape)}"
                    f"{', on the meta device: no values' * value.is_meta}): return {what[1]} instead.")
        return
    if isinstance(want, tuple):
        if isinstance(value, (torch.Tensor, torch.Size)):
            value = tuple(value.tolist()) if isinstance(value, torch.Tensor) else tuple(value)
        items = list(value) if isinstance(value, (tuple, list)) else [value]
        got = tuple(_number(v) for v in items)
        if len(items) != len(want) or None in got:
            zeros = _fmt(tuple(0 for _ in want))
            batch = len(items) == len(want) + 1 and items[0] == 1
            result.fail(f"{head}숫자 {len(want)}개를 튜플로 돌려주세요 (예: {zeros}). 받은 값: {value!r:.60}.",
                        f"{head}Return {len(want)} numbers as a tuple (like {zeros}); got {value!r:.60}.",
                        *(("맨 앞의 1은 배치 차원입니다: 이미지 한 장의 모양만 적으세요.",
                           "The leading 1 is the batch dimension: give the shape of one image.") if batch else ()))
            return
    else:
        got = _number(value)
        if got is None:
            result.fail(f"{head}숫자 하나를 돌려주세요. 받은 값: {value!r:.60}.",
                        f"{head}Return one number; got {value!r:.60}.")
            return
    if _close(got, want, question.rel_tol):
        exact = _close(got, want, 1e-9)
        result.ok(f"{head}{_fmt(got)} — 맞습니다{'' if exact else f' (정확히는 {_fmt(want)})'}. {question.why_ko}",
                  f"{head}{_fmt(got)} — right{'' if exact else f' (exactly {_fmt(want)})'}. {question.why_en}")
        return
    side_ko = side_en = ""
    if not isinstance(got, tuple) and not isinstance(want, tuple):
        side_ko, side_en = ((" (정답보다 작습니다)", " (too small)") if got < want
                            else (" (정답보다 큽니다)", " (too large)"))
    named = [(ko, en) for m, ko, en in question.mistakes if _matches(m, got)]
    near = None if named or isinstance(want, tuple) or question.rel_tol or want < 1000 else _near(got, want)
    hint = named[0] if len(named) == 1 else (near or (question.hint_ko, question.hint_en)) if not named else (
        "이 숫자는 여러 실수에서 나올 수 있습니다: " + " / ".join(f"({i}) {ko}" for i, (ko, _) in enumerate(named, 1)),
        "This number comes from more than one slip: " + " / ".join(f"({i}) {en}" for i, (_, en) in enumerate(named, 1)))
    result.fail(f"{head}{_fmt(got)} — 정답이 아닙니다{side_ko}. 다시 생각해 보고 이 셀을 다시 실행하세요.",
                f"{head}{_fmt(got)} is not it{side_en}. Think again and re-run this cell.", *hint)


@never_raises("check_prediction")
def check_prediction(result: CheckResult, key: str, guess: Callable[[], Any] | Any) -> CheckResult:
    """Judge the learner's prediction for question ``key``: ``guess`` returns it (or is the value itself)."""
    result.name = f"check_prediction({key!r})"
    question = QUESTIONS.get(key)
    if question is None:
        result.fail(f"'{key}'라는 질문은 없습니다. 있는 질문: {', '.join(sorted(QUESTIONS))}.",
                    f"There is no question {key!r}. Known questions: {', '.join(sorted(QUESTIONS))}.")
        return result
    result.note(f"질문: {question.ko}", f"Question: {question.en}")
    value = guess() if callable(guess) else guess
    if value is None and callable(guess):
        result.fail("함수가 아무것도 돌려주지 않았습니다(None).", "The function returned nothing (None).", *_PRINTED)
    elif value is None or value is Ellipsis:
        result.todo("아직 답하지 않았습니다: 숫자를 적고 이 셀을 다시 실행하세요.",
                    "Not answered yet: write your number and re-run this cell.")
    else:
        _judge(result, question, value)
    return result


@never_raises("check_quiz")
def check_quiz(result: CheckResult, lesson: str, answers: Callable[[], Mapping[str, Any]] | Mapping[str, Any]
               ) -> CheckResult:
    """The numeric questions of lesson ``lesson``'s quiz: ``answers()`` returns ``{"Q1": 56, …}``; one missing is ⏳."""
    result.name = f"check_quiz({lesson!r})"
    quiz = QUIZZES.get(str(lesson))
    if quiz is None:
        result.fail(f"레슨 '{lesson}'에는 숫자로 답하는 퀴즈가 없습니다. 있는 레슨: {', '.join(sorted(QUIZZES))}.",
                    f"Lesson {lesson!r} has no numeric quiz. Lessons with one: {', '.join(sorted(QUIZZES))}.")
        return result
    got = answers() if callable(answers) else answers
    if not isinstance(got, Mapping):
        result.fail(f"{{'Q1': 숫자, …}} 꼴의 딕셔너리를 돌려주세요. 받은 것: {type(got).__name__}.",
                    f"Return a dict like {{'Q1': number, …}}; got a {type(got).__name__}.",
                    *(("답을 print로 보여 주기만 했나요? 함수는 return으로 딕셔너리를 돌려줘야 합니다: "
                       "return {\"Q1\": …}",
                       "Did you print the answers? The function must give the dict back with return: "
                       "return {\"Q1\": …}") if got is None else ()))
        return result
    for label, key in quiz.items():
        if got.get(label) is None or got.get(label) is Ellipsis:
            quoted = f'"{label}"'
            result.todo(f"{label}: 아직 답하지 않았습니다 — 딕셔너리에 {josa(quoted, '을')} 넣어 보세요.",
                        f"{label}: not answered yet — add \"{label}\" to the dict.")
        else:
            _judge(result, QUESTIONS[key], got[label], label)
    extra = sorted(set(map(str, got)) - set(quiz))
    if extra:
        result.note(f"숫자로 검사하지 않는 항목: {', '.join(extra)} (이 퀴즈의 숫자 문제는 {', '.join(quiz)}).",
                    f"Not checked as numbers: {', '.join(extra)} (this quiz's numeric questions: {', '.join(quiz)}).")
    return result


#: VGG16's class score map for a 384×384 image (lesson 06): its side, its stride and one score's receptive field.
SCORE_MAP_384 = (6, 32, 404)


def _side(value: Any) -> int | None:
    """6, (6, 6) or [6, 6] → 6; anything else → None."""
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else None


@never_raises("check_score_map_predictions")
def check_score_map_predictions(result: CheckResult, predict: Callable[[], Any]) -> CheckResult:
    """``predict()`` → ``(map side, stride, receptive field)`` of VGG16's score map for a 384×384 image."""
    value = predict() if callable(predict) else predict
    try:
        side, stride, rf = value
    except (TypeError, ValueError):
        result.fail(f"세 값(점수 맵 한 변, 보폭, 수용 영역)을 돌려줘야 합니다 (받은 것: {value!r:.60}).",
                    f"Return three values (score map side, stride, receptive field); got {value!r:.60}.")
        return result
    want_side, want_stride, want_rf = SCORE_MAP_384
    pool5 = 384 // want_stride
    hints = {pool5: ("12는 pool5의 크기(384 / 32)입니다. fc6은 패딩 없는 7×7 합성곱이라 12 − 7 + 1이 남습니다.",
                     "12 is pool5's size (384 / 32); fc6 is a 7×7 convolution without padding, leaving 12 − 7 + 1."),
             7: ("7은 224×224일 때 pool5의 크기입니다. 384×384에서는 pool5가 12×12입니다.",
                 "7 is pool5's size for 224×224; for 384×384 pool5 is 12×12."),
             1: ("1×1은 AdaptiveAvgPool2d로 7×7에 맞추는 torchvision 모델의 경우입니다. "
                 "완전 합성곱 모델은 avgpool이 없습니다.",
                 "1×1 is torchvision's model, whose AdaptiveAvgPool2d forces 7×7; the fully convolutional one has no "
                 "avgpool."),
             want_side ** 2: ("36은 점수의 개수(6×6)입니다. 한 변의 길이를 적으세요.",
                              "36 is the number of scores (6×6); give the length of one side.")}
    result.expect(_side(side) == want_side,
                  (f"점수 맵은 {want_side}×{want_side}입니다: pool5 {pool5}×{pool5}에서 7×7 창이 "
                   f"{want_side}×{want_side}곳에 놓입니다.",
                   f"The score map is {want_side}×{want_side}: a 7×7 window fits in {want_side}×{want_side} "
                   f"places of the {pool5}×{pool5} pool5."),
                  (f"점수 맵 한 변: {josa(repr(side), '이')} 아닙니다.", f"Score map side: not {side!r}."),
                  hints.get(_side(side), ("⌊384 / 32⌋ = 12에서 시작해 fc6의 7×7 창이 몇 곳에 놓이는지 세어 보세요.",
                                          "Start from ⌊384 / 32⌋ = 12 and count where fc6's 7×7 window fits.")))
    result.expect(_side(stride) == want_stride,
                  (f"보폭(stride) {want_stride}픽셀: 이웃한 두 점수는 입력에서 {want_stride}픽셀 떨어진 창을 봅니다.",
                   f"Stride {want_stride} pixels: neighboring scores look at windows {want_stride} pixels apart."),
                  (f"보폭: {josa(repr(stride), '이')} 아닙니다.", f"Stride: not {stride!r}."),
                  ("2×2 최대 풀링 다섯 번이 보폭을 2⁵배로 만들고, fc6·fc7·fc8의 보폭은 1입니다.",
                   "Five 2×2 max poolings multiply the stride by 2⁵, and fc6, fc7, fc8 have stride 1."))
    rf_hints = {212: ("212는 pool5 유닛 하나의 수용 영역입니다. fc6은 32픽셀 간격의 pool5 유닛 7개에 걸칩니다.",
                      "212 is one pool5 unit's field; fc6 spans 7 pool5 units, 32 pixels apart."),
                224: ("224는 분류기를 학습할 때 잘라 낸 이미지의 크기입니다. 수용 영역은 0으로 채운 패딩까지 세므로 "
                      "그보다 큽니다.",
                      "224 is the crop the classifier was trained on; a receptive field counts the zero padding too, "
                      "so it is larger."),
                want_rf + 32: RF_SLIPS["minus_one"][1:],
                384: ("이미지 전체가 아니라 점수 하나가 볼 수 있는 범위입니다. 이미지보다 클 수도 있습니다.",
                      "Not the image: the range one score can see, which may exceed the image.")}
    result.expect(_side(rf) == want_rf,
                  (f"수용 영역(receptive field) {want_rf}×{want_rf}: pool5의 212에 fc6의 (7 − 1)·32를 더합니다.",
                   f"Receptive field {want_rf}×{want_rf}: pool5's 212 plus fc6's (7 − 1)·32."),
                  (f"수용 영역: {josa(repr(rf), '이')} 아닙니다.", f"Receptive field: not {rf!r}."),
                  rf_hints.get(_side(rf), ("rf ← rf + (k − 1)·jump를 pool5(212, jump 32) 뒤의 fc6(k = 7)에 적용하세요.",
                                           "Apply rf ← rf + (k − 1)·jump to fc6 (k = 7) after pool5 (212, jump 32).")))
    return result
