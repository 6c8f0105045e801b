"""The questions of lesson 07 (several GPUs: torchrun and DDP).

Like :mod:`.questions`: every truth is computed from vgg_teach when asked — the global-batch rule of
:func:`~vgg_teach.training.distributed.local_batch`, the steps of a sharded
:class:`~vgg_teach.training.augment.DeviceLoader`, the parameters of a model built on the ``meta`` device.
"""

from __future__ import annotations

import torch

from ..models import build_model
from ..training.augment import DeviceLoader
from ..training.config import TrainConfig
from ..training.data import ImageTensors
from ..training.distributed import local_batch
from .questions import Question, Truth, registry

__all__ = ["QUESTIONS", "CIFAR10_TRAIN"]

#: key → question, lesson 07.
QUESTIONS: dict[str, Question] = {}
_ask = registry(QUESTIONS)
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
