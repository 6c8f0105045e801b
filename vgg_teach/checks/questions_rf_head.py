"""The questions of lessons 03 (receptive fields) and 04 (the pretrained model and its new head).

Like :mod:`.questions`: every truth is computed from vgg_teach when asked, with the mistakes it can show.
"""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import torch
from torch import nn

from ..analysis.layers import meta_vgg
from ..analysis.params import count_flops
from ..analysis.receptive_field import receptive_field_table
from ..answers import swap_head
from .params import _LINEAR_MISTAKES
from .questions import Question, Truth, last_rf, param_truth, registry, rf_mistakes
from .receptive_field import VGG16_LAYERS

__all__ = ["QUESTIONS"]

#: key → question, lessons 03 and 04.
QUESTIONS: dict[str, Question] = {}
_ask = registry(QUESTIONS)


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
