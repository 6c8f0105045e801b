"""Lesson 05's plan: how long it takes (estimated from FLOP counts), how much of it a machine without a CUDA GPU
runs, and what a real run gives (the expected-results table of lessons 04 and 05)."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence, Union

import torch

from ..answers import swap_head
from ..counting import count_flops
from ..errors import UsageError, bilingual, josa
from ..models import build_model
from ..show import Table
from .checkpoint import atomic_write_json
from .data import ImageTensors, subsample
from .engine import train_one_epoch
from .recipe import Precision, TrainConfig, make_optimizer, make_scheduler, use_channels_last

#: A run longer than this many minutes (estimated) is shrunk on a machine without a CUDA GPU ...
MINUTES = 5.0
#: ... unless this environment variable sets another budget (the offline-lesson test uses a few seconds).
MINUTES_ENV = "VGG_TEACH_CPU_MINUTES"
#: When one batch alone outlasts the budget, the batch is halved down to this size, no further.
SMALLEST_BATCH = 16


def experiment_flops(input_size: int = 32, num_classes: int = 10) -> dict[str, tuple[int, int]]:
    """``{experiment: (train FLOPs, test FLOPs)}`` per image: ``scratch`` (the CIFAR VGG16-BN trained whole),
    ``head`` (torchvision's VGG16-BN with frozen features, which run forward only) and ``finetune`` (it trained
    whole). A training step costs about 3 forward passes (the backward pass about 2)."""
    import torchvision  # torchvision: a heavy import, only for its VGG16-BN on the meta device

    with torch.device("meta"):  # no weights, no memory
        scratch = count_flops(build_model("vgg16_bn_cifar", num_classes), 32)
        pretrained = swap_head(torchvision.models.vgg16_bn(), num_classes=num_classes)
    whole, features = count_flops(pretrained, input_size), count_flops(pretrained.features, input_size)
    return {"scratch": (3 * scratch, scratch), "head": (features + 3 * (whole - features), whole),
            "finetune": (3 * whole, whole)}


def estimate_plan(plan: Mapping[str, int], tflops: float = 10.0, n_train: int = 50_000, n_test: int = 10_000,
                  input_size: int = 32) -> Table:
    """A :class:`~vgg_teach.show.Table` of the estimated minutes of ``plan`` (experiment → epochs) at ``tflops``
    sustained (10 for a T4 in mixed precision, about 15 % of its fp16 peak), with the total in the footer."""
    flops = experiment_flops(input_size)
    rows = []
    for name, epochs in plan.items():
        train, test = flops[name]
        per_epoch = n_train * train + n_test * test
        rows.append((name, train, per_epoch, int(epochs), epochs * per_epoch / (tflops * 1e12) / 60))
    return Table(rows, columns=[
        ("실험 / Experiment", lambda r: r[0], False),
        ("학습 GFLOP/장 / train GFLOP per image", lambda r: f"{r[1] / 1e9:.2f}", True),
        ("에포크당 TFLOP / per epoch", lambda r: f"{r[2] / 1e12:.1f}", True),
        ("에포크 / Epochs", lambda r: str(r[3]), True),
        ("예상 분 / est. minutes", lambda r: f"{r[4]:.1f}", True),
    ], title=f"예상 학습 시간 (추정, {tflops:g} TFLOPS 가정) / Estimated training time (assuming {tflops:g} TFLOPS)",
        footer=["합계 / total", "", "", "", f"{sum(r[4] for r in rows):.1f}"],
        notes=[f"학습 이미지 {n_train:,}장 + 시험 이미지 {n_test:,}장 / {n_train:,} training + {n_test:,} test images "
               f"per epoch; 입력 / input {input_size}×{input_size}. 측정값이 아닙니다 / not a measurement."])


@dataclass(frozen=True)
class RunPlan:
    """What runs: ``epochs`` per experiment on ``n_train``/``n_test`` images in batches of ``batch_size``, the
    estimates behind it (``None`` on a CUDA GPU, where nothing is measured) and the bilingual ``message`` that says
    so."""

    epochs: dict[str, int]
    n_train: int
    n_test: int
    minutes: Optional[float]
    full_minutes: Optional[float]
    images_per_second: Optional[float]
    shrunk: bool
    message: str
    batch_size: int = 512

    def apply(self, train: ImageTensors, test: ImageTensors) -> tuple[ImageTensors, ImageTensors]:
        """``train`` and ``test`` cut down to ``n_train`` and ``n_test`` images (stratified), if the plan shrank."""
        return subsample(train, self.n_train), subsample(test, self.n_test)

    def __str__(self) -> str:
        return self.message


def measure_train_speed(device: torch.device, batch_size: int = 32, steps: int = 3) -> float:
    """Training images per second of the CIFAR VGG16-BN on ``device`` through the engine's own loop and memory
    format: the fastest of ``steps`` timed steps on random batches after one warm-up, the random generators left as
    they were. (On 2 CPU cores a batch of 32 is as fast per image as the engine's 512, 16 slower; the first steps
    of a fresh process run up to a fifth slower, which is why the fastest counts.)"""
    fmt = torch.channels_last if use_channels_last(device) else torch.preserve_format
    with torch.random.fork_rng(devices=[]):
        model = build_model("vgg16_bn_cifar", 10).to(device, memory_format=fmt)
        batches = [(torch.randn(batch_size, 3, 32, 32, device=device).contiguous(memory_format=fmt),
                    torch.randint(0, 10, (batch_size,), device=device)) for _ in range(steps + 1)]
        config = TrainConfig(epochs=1, batch_size=batch_size)
        optimizer = make_optimizer(model, config)
        scheduler = make_scheduler(optimizer, config, steps + 1)
        run = lambda part: train_one_epoch(model, part, optimizer, scheduler, torch.nn.CrossEntropyLoss(),  # noqa: E731
                                           Precision.for_device(device), progress=False)
        run(batches[:1])  # warm-up
        seconds = []
        for batch in batches[1:]:
            start = time.perf_counter()
            run([batch])
            seconds.append(time.perf_counter() - start)
        return batch_size / min(seconds)


def _minutes(value: float) -> str:
    """``0.04`` → ``"0.04"``, ``3.14159`` → ``"3.1"``, ``1234.5`` → ``"1,234"``: never a bare 0.0."""
    return f"{value:.2g}" if value < 1 else f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def plan_for_device(plan: Mapping[str, int], n_train: int, n_test: int, device: Union[str, torch.device],
                    minutes: Optional[float] = None, full: bool = False, batch_size: int = 512,
                    measure: Callable[[torch.device], float] = measure_train_speed,
                    keep: Union[str, Path, None] = None) -> RunPlan:
    """The :class:`RunPlan` of ``plan`` (experiment → epochs) on ``device``: on a CUDA GPU as written; elsewhere the
    training speed is measured (``measure(device)``: images/s) and scaled by each experiment's FLOPs, and a plan
    longer than ``minutes`` (default: ``VGG_TEACH_CPU_MINUTES``, else :data:`MINUTES`) keeps every image with
    fewer epochs (scaled alike, at least one each) if that fits, else becomes one epoch per
    experiment on as many training images as fit (and a fifth as many test images), unless ``full``; when even one
    batch of ``batch_size`` would outlast the budget, the batch is halved until one fits (down to
    :data:`SMALLEST_BATCH`).

    ``keep`` (a ``.json`` path beside the checkpoints): the plan measured the first time is written there and used
    again by every later call asking the same, so that a run of the notebook after a disconnect resumes its
    checkpoints instead of meeting a plan that a slower or faster measurement changed."""
    device = torch.device(device)
    if minutes is None:
        text = os.environ.get(MINUTES_ENV, "").strip()
        try:
            minutes = float(text) if text else MINUTES
        except ValueError:
            minutes = -1.0
        if not minutes > 0:
            raise UsageError(bilingual(f"{MINUTES_ENV}={text!r}: 분 단위의 양수여야 합니다(예: 5).",
                                       f"{MINUTES_ENV}={text!r}: it must be a positive number of minutes (e.g. 5)."))
    asked = {"plan": dict(plan), "n_train": n_train, "n_test": n_test, "device": device.type, "minutes": minutes,
             "full": full, "batch_size": batch_size}
    kept = Path(keep) if keep is not None and device.type != "cuda" else None
    try:
        saved = json.loads(kept.read_text(encoding="utf-8")) if kept is not None and kept.is_file() else None
        before, earlier = (saved["asked"], RunPlan(**saved["plan"])) if saved else (None, None)
    except (OSError, ValueError, TypeError, KeyError):
        before = earlier = None  # unreadable or from another version: measure again
    if earlier is not None:
        # the cell run again after plan.apply: the data is the earlier plan's sample, not the whole set
        sample = (n_train, n_test) == (earlier.n_train, earlier.n_test) != (before["n_train"], before["n_test"])
        same_but_sizes = before == {**asked, "n_train": before["n_train"], "n_test": before["n_test"]}
        if before == asked or (sample and same_but_sizes):
            return dataclasses.replace(earlier, message=bilingual(
                f"{kept}에 적어 둔 지난 계획을 그대로 씁니다(체크포인트에서 이어서 학습하도록). 그때의 계산:",
                f"Using the earlier plan written in {kept} (so that the checkpoints resume). It said:")
                + "\n" + earlier.message)
        if sample:
            raise UsageError(bilingual(
                f"지금 데이터는 지난 계획이 고른 표본(학습 이미지 {n_train:,}장, 시험 이미지 {n_test:,}장)이지 데이터 "
                "전체가 아닙니다. 설정을 바꿔 새로 계획하려면 데이터를 읽는 셀(train_data, test_data = …)부터 다시 "
                "실행하세요.",
                f"The data is the sample the earlier plan picked ({n_train:,} training and {n_test:,} test images), "
                "not the whole set. To plan anew with other settings, run the cell that loads the data (train_data, "
                "test_data = …) again first."))
    result = _measured_plan(plan, n_train, n_test, device, minutes, full, batch_size, measure)
    if kept is not None:
        atomic_write_json({"asked": asked, "plan": dataclasses.asdict(result)}, kept)
    return result


def _measured_plan(plan: Mapping[str, int], n_train: int, n_test: int, device: torch.device,
                   minutes: float, full: bool, batch_size: int, measure: Callable[[torch.device], float]) -> RunPlan:
    epochs = dict(plan)
    if device.type == "cuda":
        return RunPlan(epochs, n_train, n_test, None, None, None, False, bilingual(
            "GPU: 계획대로 모두 실행합니다(걸릴 시간은 위의 추정 표를 보세요).",
            "GPU: the whole plan runs as written (the estimate above says how long)."), batch_size)
    speed, flops = measure(device), experiment_flops()
    per_second = speed * flops["scratch"][0]  # FLOP/s, measured on the scratch model's training step

    def estimate(e: Mapping[str, int], n: int, m: int) -> float:
        return sum(e[k] * (n * flops[k][0] + m * flops[k][1]) for k in e) / per_second / 60

    full_minutes = estimate(epochs, n_train, n_test)
    where = {"mps": "Apple GPU(MPS)"}.get(device.type, "CPU")
    measured = (f"{where}에서 잰 속도: 학습 이미지 초당 {speed:,.0f}장. 계획 전체는 약 {_minutes(full_minutes)}분으로 "
                "추정됩니다", f"Measured on this {where}: {speed:,.0f} training images per second; the whole plan "
                f"should take about {_minutes(full_minutes)} minutes")
    if full or full_minutes <= minutes:
        why = ("(FULL_RUN_ON_CPU = True)",) * 2 if full else (f"({minutes:g}분 이내)", f"(within {minutes:g} minutes)")
        return RunPlan(epochs, n_train, n_test, full_minutes, full_minutes, speed, False, bilingual(
            f"{measured[0]}: 계획대로 모두 실행합니다 {why[0]}.", f"{measured[1]}: running it as written {why[1]}."),
            batch_size)
    top = max(epochs.values())
    for most in range(top - 1, 0, -1):  # fewer epochs on every image first, in the plan's proportions
        fewer = {k: max(1, v * most // top) for k, v in epochs.items()}
        if (fewer_minutes := estimate(fewer, n_train, n_test)) <= minutes:
            listed = ", ".join(f"{k} {v}" for k, v in fewer.items())
            return RunPlan(fewer, n_train, n_test, fewer_minutes, full_minutes, speed, True, bilingual(
                f"{measured[0]}. {minutes:g}분 안에 끝나도록 에포크를 줄였습니다({listed}). 이미지는 모두 씁니다: "
                f"학습 {n_train:,}장, 시험 {n_test:,}장(약 {_minutes(fewer_minutes)}분). 정확도는 GPU에서 "
                "계획대로 학습한 것보다 낮습니다. 그래도 모두 돌리려면 FULL_RUN_ON_CPU = True로 바꾸고 데이터를 "
                "읽는 셀부터 다시 실행하세요.",
                f"{measured[1]}, so the epochs were cut to finish within {minutes:g} minutes ({listed}), on every "
                f"image: {n_train:,} training and {n_test:,} test images (about {_minutes(fewer_minutes)} minutes). "
                "The accuracies will be below a full run on a GPU. To run it all anyway, set FULL_RUN_ON_CPU = True "
                "and run again from the cell that loads the data."), batch_size)
    one = {k: min(1, v) for k, v in epochs.items()}
    per_image = estimate(one, 1, 0) + estimate(one, 0, 1) / 5  # a training image and a fifth of a test image
    batch = batch_size
    while batch > SMALLEST_BATCH and estimate(one, batch, min(n_test, max(100, batch // 5))) > minutes:
        batch //= 2  # one batch alone outlasts the budget: a smaller one, not a run past it
    small_train = min(n_train, max(batch, int(minutes / per_image) // batch * batch))  # ≥ one batch
    small_test = min(n_test, max(100, small_train // 5))
    shrunk_minutes = estimate(one, small_train, small_test)
    smallest = ("; 배치 하나보다 줄일 수는 없습니다", "; it cannot get smaller than one batch") \
        if shrunk_minutes > minutes else ("", "")
    smaller = (f" 배치 하나만으로도 제한 시간을 넘으므로 배치 크기를 {batch_size}에서 {josa(batch, '로')} 줄였습니다.",
               f" One batch alone would outlast the budget, so the batch size went from {batch_size} to {batch}.") \
        if batch < batch_size else ("", "")
    return RunPlan(one, small_train, small_test, shrunk_minutes, full_minutes, speed, True, bilingual(
        f"{measured[0]}. {minutes:g}분 안에 끝나도록 줄였습니다: 실험마다 에포크 {max(one.values())}번, 학습 이미지 "
        f"{small_train:,}장, 시험 이미지 {small_test:,}장(약 {_minutes(shrunk_minutes)}분{smallest[0]}).{smaller[0]} "
        "정확도는 GPU에서 계획대로 학습한 것보다 훨씬 낮습니다. 그래도 모두 돌리려면 FULL_RUN_ON_CPU = True로 바꾸고 "
        "데이터를 읽는 셀부터 다시 실행하세요.",
        f"{measured[1]}, so it was shrunk to finish within {minutes:g} minutes: {max(one.values())} epoch per "
        f"experiment on {small_train:,} training and {small_test:,} test images (about "
        f"{_minutes(shrunk_minutes)} minutes{smallest[1]}).{smaller[1]} The accuracies will be far below a full run "
        "on a GPU. To run it all anyway, set FULL_RUN_ON_CPU = True and run again from the cell that loads the data."),
        batch)


@dataclass(frozen=True)
class Result:
    """One expected figure: what ("ko / en"), its value, the model and recipe in short, who published it and where
    (a README at a fixed commit, a documentation page; "" for none)."""

    what: str
    value: str
    setup: str
    source: str
    link: str


_AT = "https://github.com/{}/blob/{}/README.md"
#: CIFAR-10 test accuracies of VGG16 with batch norm trained from scratch, as their authors' READMEs give them.
PUBLISHED_CIFAR10: tuple[Result, ...] = (
    Result("CIFAR-10 시험 정확도(처음부터) / test accuracy (from scratch)", "94.16%",
           "vgg16_bn, 15.25 M params (512-wide classifier, like vgg16_bn_cifar); SGD lr 0.1, 200 epochs, batch 256",
           "chenyaofo/pytorch-cifar-models",
           _AT.format("chenyaofo/pytorch-cifar-models", "d1c8e99b911da7d412979600c84d2a4fe3728473")),
    Result("CIFAR-10 검증 정확도(처음부터) / validation accuracy (from scratch)", "94.00%",
           "vgg16_bn, 33.6 M params (torchvision's layout adapted to 32×32)", "huyvnphan/PyTorch_CIFAR10",
           _AT.format("huyvnphan/PyTorch_CIFAR10", "038caf6b35645b2fcd4e74202ca5a89d82ce98f9")),
    Result("CIFAR-10 시험 정확도(처음부터) / test accuracy (from scratch)", "92.64%",
           "VGG16 with batch norm, one linear layer (512 → 10); lr 0.1 → 0.01 → 0.001 over 350 epochs",
           "kuangliu/pytorch-cifar", _AT.format("kuangliu/pytorch-cifar", "00166a387119c7b6e8e9ded86d02ac0a3df62b21")),
)
_NOT_YET = Result("이 강좌의 실행(레슨 05의 세 실험) / this course's own run (lesson 05's three experiments)",
                  "아직 재지 않음 / not measured yet",
                  "처음부터 30 에포크, 헤드만 2, 미세 조정 5 / 30 epochs from scratch, head 2, fine-tuning 5",
                  "이 강좌의 관리자에게 아직 GPU가 없었습니다 / no GPU has been lent to this course's maintainers", "")


def imagenet_result() -> Result:
    """ImageNet top-1 / top-5 of torchvision's VGG16-BN weights, read from ``weights.meta`` (no download)."""
    from torchvision.models import VGG16_BN_Weights  # torchvision: a heavy import, only for this row

    meta = VGG16_BN_Weights.IMAGENET1K_V1.meta
    metrics = meta["_metrics"]["ImageNet-1K"]
    return Result("ImageNet 검증 정확도 top-1 / top-5 / validation accuracy",
                  f"{metrics['acc@1']}% / {metrics['acc@5']}%",
                  "VGG16_BN_Weights.IMAGENET1K_V1, 224×224, weights.transforms()", "torchvision (weights.meta)",
                  meta["recipe"])


def expected_results(parts: Sequence[str] = ("imagenet", "cifar10")) -> Table:
    """The table a lesson shows: ``"imagenet"`` (lessons 04 and 05) and ``"cifar10"`` rows (lesson 05: the published
    figures, then the course's own measurement or a row saying it has not been made yet)."""
    rows = [imagenet_result()] if "imagenet" in parts else []
    if "cifar10" in parts:
        ours = reference_runs()
        rows += [*PUBLISHED_CIFAR10, *(Result(
            f"이 강좌의 실행: 처음부터, 에포크 {r.config['epochs']}번 / this course's run: from scratch, "
            f"{r.config['epochs']} epochs", f"{r.test_accuracy:.2%}",
            f"{r.hardware}, torch {r.torch}, {r.date}; {r.n_train:,} training / {r.n_test:,} test images, "
            f"{r.minutes:.0f} min; {r.data}", "vgg_teach/reference_runs.json", "") for r in ours)]
        if not any(r.config["epochs"] == TrainConfig().epochs for r in ours):  # the full plan has no run of ours yet
            rows.append(_NOT_YET)
    return Table(rows, columns=[
        ("결과 / result", lambda r: r.what, False),
        ("값 / value", lambda r: r.value, True),
        ("조건 / setup", lambda r: r.setup, False),
        ("출처 / source", lambda r: f"{r.source} {r.link}".strip(), False),
    ], title="기대 결과: 실제 실행에서 나오는 값 (이 노트북의 저장된 출력이 아님) / "
             "Expected results: what a real run gives (not this notebook's stored outputs)",
        notes=["공개된 값은 각 출처의 README를 그대로 옮겼습니다(레시피가 이 강좌와 다릅니다). / Published figures are "
               "quoted from each source's README (their recipes differ from this course's)."])


#: The course's own runs of lesson 05's from-scratch experiment (written by ``python -m tools.reference_run``).
REFERENCE_FILE = Path(__file__).resolve().parent.parent / "reference_runs.json"
#: Within this many percentage points of the reference's final test accuracy, a run is on track.
ON_TRACK_POINTS = 3.0


@dataclass(frozen=True)
class ReferenceRun:
    """One run of the course's own, kept with the package: where it ran (``hardware``, ``torch``, ``date``), on
    what (``data``, ``n_train``/``n_test`` images), its recipe (``config``, ``TrainConfig`` as a dict), how long
    (``minutes`` of training and testing) and its per-epoch ``history`` as ``fit`` returned it."""

    label: str
    hardware: str
    torch: str
    date: str
    data: str
    n_train: int
    n_test: int
    config: dict
    minutes: float
    history: list

    @property
    def test_accuracy(self) -> float:
        return float(self.history[-1]["test_acc"])


def reference_runs(path: Union[str, Path, None] = None) -> list[ReferenceRun]:
    """The course's reference runs (``path``: :data:`REFERENCE_FILE`; none if the file is missing)."""
    path = Path(path or REFERENCE_FILE)
    if not path.is_file():
        return []
    return [ReferenceRun(**run) for run in json.loads(path.read_text(encoding="utf-8"))["runs"]]


def same_plan(config: Mapping, n_train: int, run: ReferenceRun) -> bool:
    """The same recipe (epochs, batch, learning rate, schedule, seed aside) on about as many images (±20 %)."""
    keys = ("epochs", "batch_size", "lr", "schedule", "warmup", "momentum", "weight_decay", "label_smoothing",
            "augment")
    return all(config.get(k) == run.config.get(k) for k in keys) and abs(n_train - run.n_train) <= 0.2 * run.n_train


def reference_for(result: Mapping, n_train: int, runs: Optional[Sequence[ReferenceRun]] = None
                  ) -> Optional[ReferenceRun]:
    """The course's run of the plan behind ``result`` (what ``fit`` returned, trained on ``n_train`` images), if
    it has one."""
    runs = reference_runs() if runs is None else runs
    return next((run for run in runs if same_plan(result["config"], n_train, run)), None)


def on_track(result: Mapping, reference: Optional[ReferenceRun], runs: Optional[Sequence[ReferenceRun]] = None
             ) -> str:
    """One bilingual line: is this run (what ``fit`` returned) where the course's ``reference`` run of the same plan
    was, and if not, what usually causes the gap."""
    config, history = result["config"], result["history"]
    yours = 100 * result["test_accuracy"]
    if reference is None:
        runs = reference_runs() if runs is None else runs
        epochs = lambda n: f"{n} epoch{'s' * (n != 1)}"  # noqa: E731
        ko = "; ".join(f"{r.label} — 에포크 {r.config['epochs']}번, 학습 이미지 {r.n_train:,}장, 배치 "
                       f"{r.config['batch_size']}" for r in runs) or "없음"
        en = "; ".join(f"{r.label}: {epochs(r.config['epochs'])}, {r.n_train:,} images, batch "
                       f"{r.config['batch_size']}" for r in runs) or "none"
        return bilingual(
            f"이 계획(에포크 {config['epochs']}번, 배치 {config['batch_size']})과 같은 강좌의 기준 실행은 아직 없어 "
            f"비교하지 않습니다. 강좌의 기준 실행: {ko}. 그중 하나와 같은 계획으로 학습하면 두 곡선을 겹쳐 그립니다.",
            f"The course has no reference run of this plan ({epochs(config['epochs'])}, batch "
            f"{config['batch_size']}), so there is nothing to compare with. The course's reference runs: {en}. Train "
            "with the plan of one of them and the two runs are drawn together.")
    ref = 100 * reference.test_accuracy
    gap = yours - ref
    both = f"{yours:.1f}% / {ref:.1f}%"
    if yours < 15:
        return bilingual(
            f"❌ 학습이 되지 않았습니다: 시험 정확도 {yours:.1f}%는 무작위로 고른 답(10%)과 비슷합니다"
            f"(기준 {ref:.1f}%). 손실이 줄지 않았다면 학습률이 너무 크거나, 스텝이 매개변수를 갱신하지 않거나, "
            "레이블과 이미지가 어긋난 경우가 많습니다.",
            f"❌ It did not learn: a test accuracy of {yours:.1f}% is about chance (10%; the reference reached "
            f"{ref:.1f}%). If the loss did not fall, the learning rate is usually too high, the step never updates "
            "the parameters, or the labels do not match the images.")
    if gap >= -ON_TRACK_POINTS:
        ahead = gap > ON_TRACK_POINTS
        return bilingual(
            f"✅ 기준과 {'비슷하거나 더 낫습니다' if ahead else '비슷합니다'}: 여러분 / 기준 {both} "
            f"(차이 {gap:+.1f}%p, ±{ON_TRACK_POINTS:g}%p 안이면 같은 것으로 봅니다).",
            f"✅ On track{' (ahead)' if ahead else ''}: yours / reference {both} ({gap:+.1f} points; within "
            f"±{ON_TRACK_POINTS:g} counts as the same).")
    behind = next((r["epoch"] for r, q in zip(history, reference.history)
                   if 100 * (r["test_acc"] - q["test_acc"]) < -ON_TRACK_POINTS), len(history))
    return bilingual(
        f"⚠️ 기준보다 {-gap:.1f}%p 낮습니다(여러분 / 기준 {both}, 에포크 {behind}부터 벌어졌습니다). 흔한 원인: "
        "학습률 스케줄을 배치마다가 아니라 에포크마다 움직임, 평가 모드(model.eval())로 학습함, 증강이나 정규화를 뺌, "
        "다른 학습률이나 배치 크기. 검사 셀을 통과한 코드라면 데이터의 양과 순서를 기준과 견주어 보세요.",
        f"⚠️ {-gap:.1f} points behind the reference (yours / reference {both}, apart from epoch {behind} on). Usual "
        "causes: the schedule stepped per epoch instead of per batch, training in eval mode (model.eval()), no "
        "augmentation or normalization, another learning rate or batch size. If your code passed its checks, compare "
        "the amount and order of the data with the reference's.")
