"""The check of lesson 06's prediction cell: VGG16's class score map for a 384×384 image.

:func:`check_score_map_predictions` compares three predicted numbers — the map's side, its stride and the
receptive field of one score — with what the receptive-field table computes
(:func:`vgg_teach.analysis.dense.score_map_geometry`), and names the usual slips (pool5's size instead of the
map's, the number of scores instead of a side, pool5's receptive field instead of fc6's). Never raises.
"""

from __future__ import annotations

from typing import Any, Callable

from ..analysis.dense import score_map_geometry
from .feedback import CheckResult, never_raises

__all__ = ["check_score_map_predictions"]


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
