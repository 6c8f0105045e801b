"""The questions of lesson 05 (training on CIFAR-10).

Like :mod:`.questions`: every truth is computed when asked — the loss a fresh model starts from comes from the
engine's own loss function (cross-entropy with :class:`~vgg_teach.training.config.TrainConfig`'s label smoothing)
applied to equal scores for every class.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..training.config import TrainConfig
from ..training.data import CIFAR10_CLASSES
from .questions import Question, Truth, registry

__all__ = ["QUESTIONS"]

#: key → question, lesson 05.
QUESTIONS: dict[str, Question] = {}
_ask = registry(QUESTIONS)


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
