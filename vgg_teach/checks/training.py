"""The check of the confusion matrix used by the analysis of the trained models.

:func:`check_confusion_matrix` calls the learner's ``confusion_matrix(preds, labels, num_classes)``
on a small example worked out by hand, on classes that never occur, on no images at all and on
random predictions, and compares with :func:`vgg_teach.training.metrics.confusion_matrix` (the one
implementation the lesson's plots use). It tells apart the usual slips: rows and columns swapped,
a matrix sized by the largest label seen instead of ``num_classes``, floating-point counts, a
changed input. Never raises.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from ..training.metrics import confusion_matrix as reference_confusion_matrix
from .feedback import CheckResult, describe_exception, is_stub, never_raises

__all__ = ["check_confusion_matrix"]


def _as_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    try:
        import numpy as np
        if isinstance(value, np.ndarray):
            return torch.from_numpy(value)
    except ImportError:  # pragma: no cover
        pass
    return None


def _cases() -> list[tuple[str, str, torch.Tensor, torch.Tensor, int]]:
    gen = torch.Generator().manual_seed(5)
    labels = torch.randint(0, 10, (2000,), generator=gen)
    right = torch.rand(2000, generator=gen) < 0.7
    preds = torch.where(right, labels, torch.randint(0, 10, (2000,), generator=gen))
    return [
        ("손으로 푼 작은 예 (클래스 3개, 이미지 6장)", "a small example worked out by hand (3 classes, 6 images)",
         torch.tensor([0, 1, 1, 2, 0, 2]), torch.tensor([0, 0, 1, 2, 2, 2]), 3),
        ("레이블에 없는 클래스로 예측한 예 (num_classes=5, 레이블은 0–2, 예측 하나는 4)",
         "a prediction of a class no label has (num_classes=5, labels 0–2, one prediction is 4)",
         torch.tensor([0, 2, 1, 4]), torch.tensor([0, 1, 1, 2]), 5),
        ("나오지 않는 클래스가 있는 예 (num_classes=5, 레이블은 0–2뿐)",
         "classes that never occur (num_classes=5, labels only 0–2)",
         torch.tensor([0, 2, 1, 1]), torch.tensor([0, 1, 1, 2]), 5),
        ("무작위 예측 2,000개 (클래스 10개)", "2,000 random predictions (10 classes)", preds, labels, 10),
        ("이미지가 한 장도 없는 경우", "no images at all",
         torch.empty(0, dtype=torch.int64), torch.empty(0, dtype=torch.int64), 10),
    ]


@never_raises("check_confusion_matrix")
def check_confusion_matrix(result: CheckResult, confusion_matrix: Callable[..., Any]) -> CheckResult:
    """Is ``confusion_matrix(preds, labels, num_classes)`` a ``num_classes × num_classes`` int64 count matrix

    with row = true class and column = predicted class, for every case of :func:`_cases`?
    """
    if result.not_a_function(confusion_matrix):
        return result
    for ko, en, preds, labels, c in _cases():
        want = reference_confusion_matrix(preds, labels, c)
        p_in, l_in = preds.clone(), labels.clone()
        try:
            value = confusion_matrix(preds, labels, c)
        except Exception as exc:  # noqa: BLE001
            if is_stub(exc):
                raise
            e_ko, e_en = describe_exception(exc)
            hint = ("", "")
            if preds.numel() and c > int(labels.max()) + 1:
                hint = (f"행렬의 크기는 num_classes({c})로 정하세요. labels.max()+1로 정하면 여기서는 "
                        f"{int(labels.max()) + 1}이라, 나오지 않는 클래스와 예측 {int(preds.max())} 같은 값이 들어갈 "
                        "자리가 없습니다.",
                        f"Size the matrix with num_classes ({c}). Sized by labels.max()+1 it is "
                        f"{int(labels.max()) + 1} here, leaving no room for classes that never occur nor for a "
                        f"prediction like {int(preds.max())}.")
            if preds.numel() == 0:
                hint = ("이미지가 없으면 모두 0인 행렬을 돌려주면 됩니다. "
                        "labels.max() 같은 값은 빈 텐서에서 오류가 납니다.",
                        "With no images, return a matrix of zeros; labels.max() fails on an empty tensor.")
            result.fail(f"{ko}: {e_ko}", f"{en}: {e_en}", *hint)
            return result
        got = _as_tensor(value)
        if got is None:
            result.fail(f"{ko}: 텐서가 아니라 {type(value).__name__}을(를) 돌려줍니다.",
                        f"{en}: returns a {type(value).__name__}, not a tensor.",
                        "torch.zeros(num_classes, num_classes, dtype=torch.long)로 만든 행렬을 돌려주세요.",
                        "Return a matrix made with torch.zeros(num_classes, num_classes, dtype=torch.long).")
            return result
        if not (torch.equal(preds, p_in) and torch.equal(labels, l_in)):
            result.fail(f"{ko}: 함수가 입력 preds 또는 labels를 바꿔 버렸습니다.",
                        f"{en}: the function changed its input preds or labels.",
                        "입력 텐서를 제자리에서 고치지 마세요 (예: labels *= …).",
                        "Do not modify the input tensors in place (e.g. labels *= …).")
            return result
        if tuple(got.shape) != (c, c):
            hint = ("행렬의 크기는 labels.max()+1이 아니라 num_classes로 정하세요: "
                    "나오지 않는 클래스도 행과 열이 있어야 합니다.",
                    "Size the matrix with num_classes, not labels.max()+1: classes that never occur get a row and a "
                    "column too.")
            result.fail(f"{ko}: 모양이 {tuple(got.shape)}입니다 (({c}, {c})이어야 함).",
                        f"{en}: shape {tuple(got.shape)}, expected ({c}, {c}).", *hint)
            return result
        if got.dtype.is_floating_point or got.dtype == torch.bool:
            same = torch.equal(got.round().long(), want) if not got.dtype == torch.bool else False
            result.fail(f"{ko}: 자료형이 {got.dtype}입니다{' (값은 맞음)' if same else ''}. "
                        "개수는 정수 int64(torch.long)여야 합니다.",
                        f"{en}: dtype {got.dtype}{' (the values are right)' if same else ''}; counts must be int64 "
                        "(torch.long).",
                        "torch.zeros(C, C, dtype=torch.long)으로 시작하세요.",
                        "Start from torch.zeros(C, C, dtype=torch.long).")
            return result
        got = got.long()
        if not torch.equal(got, want):
            if torch.equal(got.T, want):
                result.fail(f"{ko}: 행과 열이 뒤바뀌었습니다.", f"{en}: rows and columns are swapped.",
                            "행(첫 번째 인덱스)은 정답 클래스, 열(두 번째 인덱스)은 예측 클래스입니다: cm[label, pred] "
                            "+= 1",
                            "The row (first index) is the true class, the column (second) the predicted one: "
                            "cm[label, pred] += 1")
            elif int(want.max()) > 1 and torch.equal(got, (want > 0).long()):
                result.fail(f"{ko}: 같은 칸에 여러 번 들어가야 할 이미지가 한 번만 세어졌습니다 (칸마다 최대 1).",
                            f"{en}: images that fall into the same cell are counted once (every cell is at most 1).",
                            "cm[labels, preds] += 1 은 같은 (정답, 예측) 쌍이 여러 번 나와도 한 번만 더합니다: 고급 "
                            "인덱싱의 += 는 누적하지 않습니다. for 문으로 하나씩 더하거나, "
                            "cm.index_put_((labels, preds), torch.ones_like(labels), accumulate=True) 또는 "
                            "torch.bincount를 쓰세요.",
                            "cm[labels, preds] += 1 adds 1 only once per distinct (true, predicted) pair: += with "
                            "index tensors does not accumulate repeated indices. Add one image at a time in a for "
                            "loop, or use cm.index_put_((labels, preds), torch.ones_like(labels), accumulate=True) "
                            "or torch.bincount.")
            elif int(got.sum()) != preds.numel():
                result.fail(f"{ko}: 칸의 합이 {int(got.sum())}입니다. 이미지 수({preds.numel()}개)와 같아야 합니다.",
                            f"{en}: the cells add up to {int(got.sum())}, not to the {preds.numel()} images.",
                            "이미지 하나마다 정확히 한 칸에 1을 더하세요.", "Add 1 to exactly one cell per image.")
            else:
                bad = torch.nonzero(got != want)[0].tolist()
                result.fail(f"{ko}: cm[{bad[0]}, {bad[1]}] = {int(got[bad[0], bad[1]])}, "
                            f"정답은 {int(want[bad[0], bad[1]])}입니다.",
                            f"{en}: cm[{bad[0]}, {bad[1]}] = {int(got[bad[0], bad[1]])}, expected "
                            f"{int(want[bad[0], bad[1]])}.",
                            "cm[i, j]는 '정답이 i인데 j로 예측한 이미지 수'입니다.",
                            "cm[i, j] counts the images of true class i predicted as j.")
            return result
        if not isinstance(value, torch.Tensor):
            result.note(f"{ko}: NumPy 배열도 받아 주지만, 레슨의 나머지는 torch 텐서를 씁니다.",
                        f"{en}: a NumPy array is accepted, but the rest of the lesson works with torch tensors.")
    result.ok("손으로 푼 예, 나오지 않는 클래스, 빈 입력, 무작위 2,000개 모두 참고 구현과 같습니다 "
              "(행 = 정답, 열 = 예측, int64).",
              "The hand-made example, absent classes, empty input and 2,000 random predictions all match the "
              "reference (row = true, column = predicted, int64).")
    return result
