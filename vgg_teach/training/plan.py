"""How long a training plan takes, estimated from FLOP counts and an assumed GPU speed (not a measurement).

A training step costs about 3 forward passes (the backward pass about 2); layers that are frozen run
forward only. One epoch trains on ``n_train`` images and tests on ``n_test``.

How much of lesson 05's plan a machine without a CUDA GPU runs: measured first, shrunk if too long, said plainly.

On a CUDA GPU the plan runs as written. Elsewhere (a CPU, Apple's MPS) a few training steps of the CIFAR VGG16-BN
are timed, and the FLOP counts of :func:`~vgg_teach.analysis.estimate.experiment_flops` scale that speed to each
experiment. A plan that would take longer than ``minutes`` (:data:`MINUTES`, or the ``VGG_TEACH_CPU_MINUTES``
environment variable) becomes one epoch per experiment on as many training
images as fit (and a fifth as many test images), unless ``full=True``. Either way one bilingual line says what runs,
how long it should take and how to change it.

What a real run gives: published accuracies (each with its source) and our own measured figure once it exists.

Lessons 04 and 05 store outputs made in smoke mode or on a stand-in (random weights, fake data), so a learner
needs to know what to aim for. :func:`expected_results` is that table, from one place: the ImageNet figures are
read from torchvision's own ``weights.meta`` (nothing is downloaded), the CIFAR-10 figures are quoted from the
sources named with them (a README at a fixed commit), and :data:`OUR_MEASUREMENTS` holds the course's own figures —
none yet, because no GPU has been lent to this course's maintainers. Fill it in from ``benchmarks/`` when one has.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence, Union

import torch
from torch import nn

from ..counting import count_flops
from ..errors import UsageError, bilingual
from ..show import Table
from .data import ImageTensors, subsample


# ---- from vgg_teach.analysis.estimate (phase-1 merge)
@dataclass(frozen=True)
class PlanRow:
    """One experiment of a plan: FLOPs per image, per epoch, and the estimated minutes."""

    name: str
    epochs: int
    train_flops: int     #: per training image (forward + backward + update)
    test_flops: int      #: per test image (forward)
    epoch_flops: float   #: one epoch: n_train training images + n_test test images
    minutes: float


def _pretrained_vgg16_bn_meta(num_classes: int = 10) -> nn.Module:
    """torchvision's VGG16-BN with a new ``num_classes`` head, on the ``meta`` device (no weights, no memory)."""
    import torchvision

    from ..answers import swap_head

    with torch.device("meta"):
        return swap_head(torchvision.models.vgg16_bn(), num_classes=num_classes)


def experiment_flops(input_size: int = 32, num_classes: int = 10) -> dict[str, tuple[int, int]]:
    """``{experiment: (train FLOPs, test FLOPs)}`` per image for the training lesson's three experiments.

    ``scratch``: the CIFAR VGG16-BN trained whole; ``head``: the pretrained VGG16-BN with frozen features
    (they run forward only); ``finetune``: the pretrained VGG16-BN trained whole.
    """
    from ..models import build_model

    with torch.device("meta"):
        scratch = count_flops(build_model("vgg16_bn_cifar", num_classes), 32)
    pretrained = _pretrained_vgg16_bn_meta(num_classes)
    whole, features = count_flops(pretrained, input_size), count_flops(pretrained.features, input_size)
    return {"scratch": (3 * scratch, scratch),
            "head": (features + 3 * (whole - features), whole),
            "finetune": (3 * whole, whole)}


def estimate_plan(plan: Mapping[str, int], tflops: float = 10.0, n_train: int = 50_000, n_test: int = 10_000,
                  input_size: int = 32) -> Table:
    """A :class:`~vgg_teach.show.tables.Table` of :class:`PlanRow`: ``plan`` maps an experiment to its epochs.

    ``tflops`` is the sustained speed assumed for the GPU (10 for a T4 in mixed precision, about 15 % of
    its 65 TFLOPS fp16 peak). The footer is the total; everything is an estimate, as the title says.
    """
    flops = experiment_flops(input_size)
    rows = []
    for name, epochs in plan.items():
        train, test = flops[name]
        per_epoch = n_train * train + n_test * test
        rows.append(PlanRow(name, int(epochs), train, test, per_epoch, epochs * per_epoch / (tflops * 1e12) / 60))
    total = sum(r.minutes for r in rows)
    return Table(rows, columns=[
        ("실험 / Experiment", lambda r: r.name, False),
        ("학습 GFLOP/장 / train GFLOP per image", lambda r: f"{r.train_flops / 1e9:.2f}", True),
        ("에포크당 TFLOP / per epoch", lambda r: f"{r.epoch_flops / 1e12:.1f}", True),
        ("에포크 / Epochs", lambda r: str(r.epochs), True),
        ("예상 분 / est. minutes", lambda r: f"{r.minutes:.1f}", True),
    ], title=f"예상 학습 시간 (추정, {tflops:g} TFLOPS 가정) / Estimated training time (assuming {tflops:g} TFLOPS)",
        footer=["합계 / total", "", "", "", f"{total:.1f}"],
        notes=[f"학습 이미지 {n_train:,}장 + 시험 이미지 {n_test:,}장 / {n_train:,} training + {n_test:,} test images "
               f"per epoch; 입력 / input {input_size}×{input_size}. 측정값이 아닙니다 / not a measurement."])


# ---- from vgg_teach.training.budget (phase-1 merge)
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
    from .engine import train_one_epoch
    from .recipe import Precision, TrainConfig, make_optimizer, make_scheduler

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


# ---- from vgg_teach.training.reference_results (phase-1 merge)
@dataclass(frozen=True)
class Result:
    """One expected figure: what was measured, the value, under which setup, and where it comes from."""

    what: str      #: "ko / en"
    value: str     #: e.g. "94.16%", or why there is none
    setup: str     #: the model and recipe, in short
    source: str    #: who published it
    link: str      #: where (a README at a fixed commit, a documentation page), "" for none


_CHENYAOFO = "https://github.com/chenyaofo/pytorch-cifar-models/blob/d1c8e99b911da7d412979600c84d2a4fe3728473/README.md"


_KUANGLIU = "https://github.com/kuangliu/pytorch-cifar/blob/00166a387119c7b6e8e9ded86d02ac0a3df62b21/README.md"


_HUYVNPHAN = "https://github.com/huyvnphan/PyTorch_CIFAR10/blob/038caf6b35645b2fcd4e74202ca5a89d82ce98f9/README.md"


#: CIFAR-10 test accuracies of VGG16 with batch norm trained from scratch, as their authors' READMEs give them.
PUBLISHED_CIFAR10: tuple[Result, ...] = (
    Result("CIFAR-10 시험 정확도(처음부터) / test accuracy (from scratch)", "94.16%",
           "vgg16_bn, 15.25 M params (512-wide classifier, like vgg16_bn_cifar); SGD lr 0.1, 200 epochs, batch 256",
           "chenyaofo/pytorch-cifar-models", _CHENYAOFO),
    Result("CIFAR-10 검증 정확도(처음부터) / validation accuracy (from scratch)", "94.00%",
           "vgg16_bn, 33.6 M params (torchvision's layout adapted to 32×32)", "huyvnphan/PyTorch_CIFAR10", _HUYVNPHAN),
    Result("CIFAR-10 시험 정확도(처음부터) / test accuracy (from scratch)", "92.64%",
           "VGG16 with batch norm, one linear layer (512 → 10); lr 0.1 → 0.01 → 0.001 over 350 epochs",
           "kuangliu/pytorch-cifar", _KUANGLIU),
)


#: The course's own figures (lesson 05's recipe, on a named GPU, median of runs); empty until measured.
OUR_MEASUREMENTS: tuple[Result, ...] = ()


_NOT_YET = Result("이 강좌의 실행(레슨 05의 세 실험) / this course's own run (lesson 05's three experiments)",
                  "아직 재지 않음 / not measured yet",
                  "처음부터 30 에포크, 머리만 2, 미세 조정 5 / 30 epochs from scratch, head 2, fine-tuning 5",
                  "이 강좌의 관리자에게 아직 GPU가 없었습니다 / no GPU has been lent to this course's maintainers", "")


def imagenet_result() -> Result:
    """ImageNet top-1 / top-5 of torchvision's VGG16-BN weights, read from ``weights.meta`` (no download)."""
    from torchvision.models import VGG16_BN_Weights

    meta = VGG16_BN_Weights.IMAGENET1K_V1.meta
    metrics = meta["_metrics"]["ImageNet-1K"]
    return Result("ImageNet 검증 정확도 top-1 / top-5 / validation accuracy",
                  f"{metrics['acc@1']}% / {metrics['acc@5']}%",
                  "VGG16_BN_Weights.IMAGENET1K_V1, 224×224, weights.transforms()", "torchvision (weights.meta)",
                  meta["recipe"])


def expected_results(parts: Sequence[str] = ("imagenet", "cifar10")) -> Table:
    """The table a lesson shows: ``"imagenet"`` (lessons 04 and 05) and ``"cifar10"`` (lesson 05) rows.

    With ``"cifar10"`` the course's own measurement follows (or a row saying it has not been made yet).
    """
    rows = ([imagenet_result()] if "imagenet" in parts else []) + (list(PUBLISHED_CIFAR10) if "cifar10" in parts
                                                                   else [])
    if "cifar10" in parts:
        rows += list(OUR_MEASUREMENTS) or [_NOT_YET]
    return Table(rows, columns=[
        ("결과 / result", lambda r: r.what, False),
        ("값 / value", lambda r: r.value, True),
        ("조건 / setup", lambda r: r.setup, False),
        ("출처 / source", lambda r: f"{r.source} {r.link}".strip(), False),
    ], title="기대 결과: 실제 실행에서 나오는 값 (이 노트북의 저장된 출력이 아님) / "
             "Expected results: what a real run gives (not this notebook's stored outputs)",
        notes=["공개된 값은 각 출처의 README를 그대로 옮겼습니다(레시피가 이 강좌와 다릅니다). / Published figures are "
               "quoted from each source's README (their recipes differ from this course's)."])
