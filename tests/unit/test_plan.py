"""vgg_teach.training.plan: lesson 05 on a machine without a CUDA GPU is measured first and shrunk to a few minutes
when the plan would take longer, and says so; on a GPU, or when asked, it runs as written. The expected-results
table of lessons 04 and 05: ImageNet figures from torchvision's weights.meta, CIFAR-10 figures each with a source."""

from __future__ import annotations

import dataclasses
import re
from unittest.mock import Mock

import pytest
import torch

from tests.fakes import korean_first
from tools.reference_run import add, reference_from_checkpoint
from vgg_teach import plots
from vgg_teach.errors import UsageError
from vgg_teach.models import build_model
from vgg_teach.training import plan as plan_module
from vgg_teach.training.data import ImageTensors, subsample
from vgg_teach.training.engine import fit
from vgg_teach.training.plan import (
    MINUTES,
    MINUTES_ENV,
    PUBLISHED_CIFAR10,
    SMALLEST_BATCH,
    expected_results,
    imagenet_result,
    measure_train_speed,
    on_track,
    plan_for_device,
    reference_for,
    reference_runs,
)
from vgg_teach.training.recipe import TrainConfig

PLAN = {"scratch": 30, "head": 2, "finetune": 5}
SMALL = {"scratch": 1, "head": 1, "finetune": 1}


def _speed(images_per_second: float) -> Mock:
    return Mock(return_value=images_per_second)


@pytest.mark.parametrize("epochs, n, device, full, said", [
    (PLAN, 50_000, "cuda", False, "GPU"),  # nothing is timed on a CUDA GPU
    (SMALL, 16, "cpu", False, "as written"),
    (PLAN, 50_000, "cpu", True, "FULL_RUN_ON_CPU = True"),
])
def test_a_gpu_a_small_plan_or_the_full_run_asked_for_runs_as_written(epochs, n, device, full, said):
    measure = _speed(160.0)
    plan = plan_for_device(epochs, n, n // 5, torch.device(device), full=full, measure=measure)
    assert not plan.shrunk and plan.epochs == epochs and (plan.n_train, plan.n_test) == (n, n // 5)
    assert said in str(plan) and "\n" in str(plan)  # Korean line, then English
    assert device == "cpu" or (not measure.called and plan.minutes is None)


def test_a_slow_cpu_shrinks_the_plan_and_the_data_by_class_to_the_budget_and_says_how(monkeypatch):
    monkeypatch.delenv(MINUTES_ENV, raising=False)
    measure = _speed(160.0)  # what 2 CPU cores do with vgg16_bn_cifar (lesson 05 measured 158–168)
    plan = plan_for_device(PLAN, 50_000, 10_000, "cpu", measure=measure)
    measure.assert_called_once_with(torch.device("cpu"))
    assert plan.shrunk and plan.epochs == SMALL
    assert plan.full_minutes > 60 and plan.minutes <= MINUTES  # hours as written, minutes shrunk
    assert plan.n_train % 512 == 0 and 512 <= plan.n_train < 50_000 and 100 <= plan.n_test < 10_000
    text = str(plan)
    assert "FULL_RUN_ON_CPU = True" in text and "줄였습니다" in text and "shrunk" in text
    assert f"{plan.n_train:,}" in text and "160" in text
    train, test = (ImageTensors(torch.zeros(1, 3, 32, 32, dtype=torch.uint8).expand(n, -1, -1, -1),
                                torch.arange(n) % 10, list("abcdefghij"), (0.5,) * 3, (0.25,) * 3)
                   for n in (2 * plan.n_train + 7, 2 * plan.n_test + 7))  # more than the plan keeps
    small, small_test = plan.apply(train, test)
    assert (len(small), len(small_test)) == (plan.n_train, plan.n_test)
    assert max(small.class_counts()) - min(small.class_counts()) <= 1  # stratified: every class keeps its share


def test_a_budget_that_fits_a_few_epochs_of_every_image_cuts_the_epochs_alike_and_keeps_the_data():
    speed = 160.0  # 2 CPU cores
    per_epoch = plan_for_device(SMALL, 45_000, 5_000, "cpu", minutes=10_000, measure=_speed(speed)).minutes
    plan = plan_for_device(PLAN, 45_000, 5_000, "cpu", minutes=4.5 * per_epoch, measure=_speed(speed))
    assert plan.shrunk and (plan.n_train, plan.n_test) == (45_000, 5_000)  # every image, fewer epochs
    assert plan.epochs["scratch"] > plan.epochs["finetune"] >= plan.epochs["head"] >= 1
    assert plan.minutes <= 4.5 * per_epoch < plan.full_minutes
    more = {**plan.epochs, "scratch": plan.epochs["scratch"] + 1}  # the next cut up would not have fit
    assert plan_for_device(more, 45_000, 5_000, "cpu", minutes=10_000, measure=_speed(speed)).minutes > 4.5 * per_epoch
    korean_first(str(plan), "에포크를 줄였습니다", "the epochs were cut")
    assert f"scratch {plan.epochs['scratch']}" in str(plan) and "45,000" in str(plan)
    train = ImageTensors(torch.zeros(1, 3, 32, 32, dtype=torch.uint8).expand(45_000, -1, -1, -1),
                         torch.arange(45_000) % 10, list("abcdefghij"), (0.5,) * 3, (0.25,) * 3)
    assert len(plan.apply(train, train)[0]) == 45_000  # nothing subsampled


def test_the_budget_comes_from_the_environment_or_the_call_and_never_cuts_below_one_batch(monkeypatch):
    monkeypatch.setenv(MINUTES_ENV, "60")
    long = plan_for_device(PLAN, 50_000, 10_000, "cpu", measure=_speed(160.0))
    monkeypatch.setenv(MINUTES_ENV, "1")
    short = plan_for_device(PLAN, 50_000, 10_000, "cpu", measure=_speed(160.0))
    assert short.n_train < long.n_train and short.minutes <= 1 < long.minutes <= 60
    assert long.batch_size == short.batch_size == 512  # a batch of 512 fits either budget
    tiny = plan_for_device(PLAN, 50_000, 10_000, "cpu", minutes=0.01, measure=_speed(5.0))
    assert tiny.shrunk and tiny.n_train == tiny.batch_size == SMALLEST_BATCH and tiny.minutes > 0.01
    korean_first(str(tiny), "배치 하나보다", "cannot get smaller than one batch")
    korean_first(str(tiny), f"512에서 {SMALLEST_BATCH}으로", f"from 512 to {SMALLEST_BATCH}")
    halved = plan_for_device(PLAN, 50_000, 10_000, "cpu", minutes=0.1, measure=_speed(160.0))
    assert SMALLEST_BATCH < halved.batch_size < 512 and halved.minutes <= 0.1  # the largest batch that fits
    assert halved.n_train % halved.batch_size == 0 and "배치 하나보다" not in str(halved)
    for value in ("five", "0", "-2", "nan"):
        monkeypatch.setenv(MINUTES_ENV, value)
        with pytest.raises(UsageError) as err:
            plan_for_device(PLAN, 50_000, 10_000, "cpu", measure=_speed(160.0))
        korean_first(str(err.value), "양수", "positive")
        assert MINUTES_ENV in str(err.value), value


def test_measuring_the_speed_trains_for_real_and_leaves_the_random_state_alone():
    before = torch.random.get_rng_state()
    speed = measure_train_speed(torch.device("cpu"), batch_size=4, steps=1)
    assert speed > 0 and torch.equal(torch.random.get_rng_state(), before)


def test_the_expected_results_name_their_sources_and_say_they_are_not_the_notebooks_output():
    from torchvision.models import VGG16_BN_Weights

    metrics = VGG16_BN_Weights.IMAGENET1K_V1.meta["_metrics"]["ImageNet-1K"]
    row = imagenet_result()  # read from the weights' meta, not copied
    assert row.value == f"{metrics['acc@1']}% / {metrics['acc@5']}%"
    assert row.link == VGG16_BN_Weights.IMAGENET1K_V1.meta["recipe"]
    for published in PUBLISHED_CIFAR10:  # each a figure and a link that cannot move: a commit's README
        assert re.fullmatch(r"\d{2}\.\d{2}%", published.value), published
        assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+/blob/[0-9a-f]{40}/README\.md", published.link)
        assert published.source in published.link
    lesson04, lesson05 = expected_results(["imagenet"]), expected_results()
    ours = reference_runs()  # the course's own runs follow, and a row for the GPU run not made yet
    assert list(lesson04) == [row] and lesson05[:4] == [row, *PUBLISHED_CIFAR10] and len(lesson05) == 5 + len(ours)
    assert all(f"{r.test_accuracy:.2%}" in lesson05.to_text() and r.hardware in lesson05.to_text() for r in ours)
    text = lesson05.to_text()
    assert "기대 결과" in text and "not this notebook's stored outputs" in text and "not measured yet" in text
    assert all(p.value in text and p.source in lesson05._repr_html_() for p in PUBLISHED_CIFAR10)


def _tiny_run(tmp_path, epochs=2, lr=0.05):
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(48) % 3
    images = (torch.rand(48, 3, 32, 32, generator=gen) * 60 + labels.view(-1, 1, 1, 1) * 60).to(torch.uint8)
    train = ImageTensors(images[:36], labels[:36], ["a", "b", "c"])
    test = ImageTensors(images[36:], labels[36:], ["a", "b", "c"], train.mean, train.std)
    torch.manual_seed(0)
    result = fit(build_model("vgg_tiny_cifar", 3), train, test, TrainConfig(epochs=epochs, batch_size=6, lr=lr),
                 device="cpu", checkpoint=tmp_path / f"run{epochs}.pt", progress=False, log=None)
    return result, len(train), tmp_path / f"run{epochs}.pt"


def test_a_run_is_drawn_over_the_course_reference_of_its_plan_and_told_whether_it_is_on_track(tmp_path, monkeypatch):
    result, n_train, checkpoint = _tiny_run(tmp_path)
    where = dict(label="기준 / reference", hardware="2 cores", torch="2.14.1", date="2026-12-07", data="tiny",
                 n_test=12)
    monkeypatch.setattr(plan_module, "REFERENCE_FILE", tmp_path / "reference_runs.json")
    assert reference_runs() == [] and reference_for(result, n_train) is None  # no file yet: nothing to compare
    add(reference_from_checkpoint(checkpoint, **where), tmp_path / "reference_runs.json")
    reference = reference_for(result, n_train)
    assert reference is not None and reference.history == [dict(r) for r in result["history"]]
    spent = sum(r["seconds"] + r["eval_seconds"] for r in result["history"]) / 60  # training and testing
    assert reference.n_train == n_train and reference.minutes == pytest.approx(spent, abs=1e-3)
    korean_first(on_track(result, reference), "✅ 기준과 비슷합니다", "On track")

    fig = plots.plot_learning_curves({"yours": result["history"], reference.label: reference.history})
    test_lines = [line for line in fig.axes[1].lines if "test" in line.get_label()]
    assert [line.get_label().split(" — ")[0] for line in test_lines] == ["yours", reference.label]
    assert list(test_lines[1].get_ydata()) == [100 * r["test_acc"] for r in reference.history]

    ahead = dataclasses.replace(reference, history=[dict(r, test_acc=r["test_acc"] + 0.2 * (r["epoch"] > 1))
                                                    for r in reference.history])
    behind = on_track(result, ahead)  # 20 points behind a reference that pulled away in epoch 2
    korean_first(behind, "에포크 2부터", "from epoch 2 on")
    assert "20.0" in behind and "스케줄" in behind and "per batch" in behind
    chance = {**result, "test_accuracy": 0.1}
    korean_first(on_track(chance, reference), "무작위로 고른 답", "about chance")

    other, other_n, other_checkpoint = _tiny_run(tmp_path, epochs=1)  # another plan: no reference for it
    assert reference_for(other, other_n) is None
    text = on_track(other, None)
    korean_first(text, "기준 실행은 아직 없어", "no reference run of this plan")
    assert f"{reference.label}: 2 epochs, {n_train:,} images" in text
    add(reference_from_checkpoint(other_checkpoint, **where), tmp_path / "reference_runs.json")
    add(reference_from_checkpoint(checkpoint, **where), tmp_path / "reference_runs.json")  # replaces its own plan
    assert sorted(r.config["epochs"] for r in reference_runs()) == [1, 2]


def test_a_rerun_keeps_the_first_plan_so_its_checkpoints_resume(tmp_path):
    """Lesson 05 run again after a disconnect: a slower measurement must not change the plan, or fit would refuse
    the checkpoints that the first plan made."""
    keep = tmp_path / "runs" / "plan.json"
    keep.parent.mkdir()
    first = plan_for_device(PLAN, 45_000, 5_000, "cpu", minutes=60, measure=_speed(160.0), keep=keep)
    slower = Mock(return_value=40.0)
    again = plan_for_device(PLAN, 45_000, 5_000, "cpu", minutes=60, measure=slower, keep=keep)
    assert not slower.called and (again.epochs, again.n_train, again.batch_size) == \
        (first.epochs, first.n_train, first.batch_size)
    korean_first(str(again), "지난 계획을 그대로", "Using the earlier plan")
    assert str(first) in str(again)  # and what it measured then
    other = plan_for_device(PLAN, 45_000, 5_000, "cpu", minutes=5, measure=slower, keep=keep)
    assert slower.called and other.epochs != first.epochs  # another budget asks for another plan
    keep.write_text("{not json", encoding="utf-8")
    assert plan_for_device(PLAN, 45_000, 5_000, "cpu", minutes=60, measure=_speed(160.0), keep=keep).epochs == \
        first.epochs  # an unreadable file is measured again, not trusted


def test_the_plan_cell_run_again_on_its_own_sample_keeps_the_plan_and_another_setting_asks_for_the_data(tmp_path):
    """Lesson 05's plan cell replaces the data with the plan's sample. Run again by itself, it must not plan anew on
    that sample (it would shrink it again and overwrite plan.json, so the checkpoints no longer resume), and with
    another setting (FULL_RUN_ON_CPU = True) it must say to load the whole data first, not train on the sample."""
    keep = tmp_path / "plan.json"
    data = ImageTensors(torch.zeros(2000, 3, 32, 32, dtype=torch.uint8), torch.arange(2000) % 10, list("abcdefghij"))
    first = plan_for_device(PLAN, len(data), 500, "cpu", minutes=0.2, measure=_speed(160.0), keep=keep)
    assert first.shrunk and first.n_train < len(data)
    train, test = first.apply(data, subsample(data, 500))
    saved = keep.read_text(encoding="utf-8")
    slower = Mock(return_value=40.0)
    again = plan_for_device(PLAN, len(train), len(test), "cpu", minutes=0.2, measure=slower, keep=keep)
    assert not slower.called and again.n_train == first.n_train and keep.read_text(encoding="utf-8") == saved
    assert again.apply(train, test) == (train, test)  # the sample stays the sample
    with pytest.raises(UsageError) as refused:
        plan_for_device(PLAN, len(train), len(test), "cpu", minutes=0.2, full=True, measure=slower, keep=keep)
    korean_first(str(refused.value), "데이터를 읽는 셀", "run the cell that loads the data")
    assert not slower.called and keep.read_text(encoding="utf-8") == saved
