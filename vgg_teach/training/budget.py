"""How much of lesson 05's plan a machine without a CUDA GPU runs: measured first, shrunk if too long, said plainly.

On a CUDA GPU the plan runs as written. Elsewhere (a CPU, Apple's MPS) a few training steps of the CIFAR VGG16-BN
are timed, and the FLOP counts of :func:`~vgg_teach.analysis.estimate.experiment_flops` scale that speed to each
experiment. A plan that would take longer than ``minutes`` (:data:`MINUTES`, or the ``VGG_TEACH_CPU_MINUTES``
environment variable) becomes one epoch per experiment on as many training
images as fit (and a fifth as many test images), unless ``full=True``. Either way one bilingual line says what runs,
how long it should take and how to change it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Union

import torch

from ..errors import UsageError, bilingual
from .data import ImageTensors, subsample

__all__ = ["RunPlan", "plan_for_device", "measure_train_speed", "MINUTES", "MINUTES_ENV"]

#: A run longer than this (estimated) is shrunk on a machine without a CUDA GPU.
MINUTES = 5.0
#: The environment variable that sets another budget in minutes (the offline-lesson test uses a few seconds).
MINUTES_ENV = "VGG_TEACH_CPU_MINUTES"


@dataclass(frozen=True)
class RunPlan:
    """What runs: ``epochs`` per experiment on ``n_train``/``n_test`` images, and the estimates behind it."""

    epochs: dict[str, int]
    n_train: int
    n_test: int
    minutes: Optional[float]        #: this plan, estimated (None on a CUDA GPU: not measured here)
    full_minutes: Optional[float]   #: the plan as written, estimated
    images_per_second: Optional[float]  #: training images per second of the CIFAR VGG16-BN, measured here
    shrunk: bool
    message: str

    def apply(self, train: ImageTensors, test: ImageTensors) -> tuple[ImageTensors, ImageTensors]:
        """``train`` and ``test`` cut down to ``n_train`` and ``n_test`` images (stratified), if the plan shrank."""
        return subsample(train, self.n_train), subsample(test, self.n_test)

    def __str__(self) -> str:
        return self.message


def measure_train_speed(device: torch.device, batch_size: int = 16, steps: int = 1) -> float:
    """Training images per second of the CIFAR VGG16-BN on ``device``: ``steps`` timed steps after one warm-up.

    Uses the engine's own loop on random 32×32 batches; the random generators are left as they were.
    """
    from ..models import build_model
    from .config import TrainConfig
    from .engine import train_one_epoch
    from .optim import make_optimizer, make_scheduler
    from .precision import Precision

    with torch.random.fork_rng(devices=[]):
        model = build_model("vgg16_bn_cifar", 10).to(device)
        batches = [(torch.randn(batch_size, 3, 32, 32, device=device), torch.randint(0, 10, (batch_size,),
                    device=device)) for _ in range(steps + 1)]
        config = TrainConfig(epochs=1, batch_size=batch_size)
        optimizer = make_optimizer(model, config)
        scheduler = make_scheduler(optimizer, config, steps + 1)
        precision = Precision.for_device(device)
        loss_fn = torch.nn.CrossEntropyLoss()
        train_one_epoch(model, batches[:1], optimizer, scheduler, loss_fn, precision, progress=False)  # warm-up
        start = time.perf_counter()
        train_one_epoch(model, batches[1:], optimizer, scheduler, loss_fn, precision, progress=False)
        seconds = time.perf_counter() - start
    return steps * batch_size / seconds


def _minutes(value: float) -> str:
    """``0.04`` → ``"0.04"``, ``3.14159`` → ``"3.1"``, ``1234.5`` → ``"1,234"``: never a bare 0.0."""
    return f"{value:.2g}" if value < 1 else f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _minutes_from_env() -> float:
    text = os.environ.get(MINUTES_ENV, "").strip()
    try:
        minutes = float(text) if text else MINUTES
    except ValueError:
        minutes = -1.0
    if not minutes > 0:
        raise UsageError(bilingual(f"{MINUTES_ENV}={text!r}: 분 단위의 양수여야 합니다(예: 5).",
                                   f"{MINUTES_ENV}={text!r}: it must be a positive number of minutes (e.g. 5)."))
    return minutes


def plan_for_device(plan: Mapping[str, int], n_train: int, n_test: int, device: Union[str, torch.device],
                    minutes: Optional[float] = None, full: bool = False, batch_size: int = 512,
                    measure: Callable[[torch.device], float] = measure_train_speed) -> RunPlan:
    """The :class:`RunPlan` for ``plan`` (experiment → epochs: ``scratch``, ``head``, ``finetune``) on ``device``.

    ``minutes`` defaults to ``VGG_TEACH_CPU_MINUTES`` if set, else :data:`MINUTES`. ``measure(device)`` gives
    training images per second (the tests pass a stand-in for the clock).
    """
    from ..analysis.estimate import experiment_flops

    device = torch.device(device)
    if minutes is None:
        minutes = _minutes_from_env()
    epochs = dict(plan)
    if device.type == "cuda":
        text = bilingual("GPU: 계획대로 모두 실행합니다(걸릴 시간은 위의 추정 표를 보세요).",
                         "GPU: the whole plan runs as written (the estimate above says how long).")
        return RunPlan(epochs, n_train, n_test, None, None, None, False, text)
    speed = measure(device)
    flops = experiment_flops()
    per_second = speed * flops["scratch"][0]  # FLOP/s, measured on the scratch model's training step

    def estimate(e: Mapping[str, int], n: int, m: int) -> float:
        return sum(e[k] * (n * flops[k][0] + m * flops[k][1]) for k in e) / per_second / 60

    full_minutes = estimate(epochs, n_train, n_test)
    where = {"mps": "Apple GPU(MPS)"}.get(device.type, "CPU")
    measured = (f"{where}에서 잰 속도: 학습 이미지 초당 {speed:,.0f}장. 계획 전체는 약 {_minutes(full_minutes)}분으로 "
                "추정됩니다", f"Measured on this {where}: {speed:,.0f} training images per second; the whole plan "
                f"should take about {_minutes(full_minutes)} minutes")
    if full or full_minutes <= minutes:
        why = ("(FULL_RUN_ON_CPU = True)" if full else f"({minutes:g}분 이내)",
               "(FULL_RUN_ON_CPU = True)" if full else f"(within {minutes:g} minutes)")
        text = bilingual(f"{measured[0]}: 계획대로 모두 실행합니다 {why[0]}.",
                         f"{measured[1]}: running it as written {why[1]}.")
        return RunPlan(epochs, n_train, n_test, full_minutes, full_minutes, speed, False, text)
    one = {k: min(1, v) for k, v in epochs.items()}
    per_image = estimate(one, 1, 0) + estimate(one, 0, 1) / 5  # a training image and a fifth of a test image
    fit = int(minutes / per_image) // batch_size * batch_size
    small_train = min(n_train, max(batch_size, fit))  # at least one full batch: training drops a partial one
    small_test = min(n_test, max(100, small_train // 5))
    shrunk_minutes = estimate(one, small_train, small_test)
    smallest = ("; 배치 하나보다 줄일 수는 없습니다", "; it cannot get smaller than one batch") \
        if shrunk_minutes > minutes else ("", "")
    text = bilingual(
        f"{measured[0]}. {minutes:g}분 안에 끝나도록 줄였습니다: 실험마다 에포크 {max(one.values())}번, 학습 이미지 "
        f"{small_train:,}장, 시험 이미지 {small_test:,}장(약 {_minutes(shrunk_minutes)}분{smallest[0]}). "
        "정확도는 GPU에서 계획대로 학습한 것보다 훨씬 낮습니다. 그래도 모두 돌리려면 "
        "FULL_RUN_ON_CPU = True로 바꾸고 이 셀부터 다시 실행하세요.",
        f"{measured[1]}, so it was shrunk to finish within {minutes:g} minutes: {max(one.values())} epoch per "
        f"experiment on {small_train:,} training and {small_test:,} test images (about "
        f"{_minutes(shrunk_minutes)} minutes{smallest[1]}). The accuracies will be far below a full run on a GPU. "
        "To run it all anyway, set FULL_RUN_ON_CPU = True and run again from this cell.")
    return RunPlan(one, small_train, small_test, shrunk_minutes, full_minutes, speed, True, text)
