"""vgg_teach.training.plan: lesson 05 on a machine without a CUDA GPU is measured first and shrunk to a few minutes
when the plan would take longer, and says so; on a GPU, or when asked, it runs as written. The expected-results
table of lessons 04 and 05: ImageNet figures from torchvision's weights.meta, CIFAR-10 figures each with a source."""

from __future__ import annotations

import re

import pytest
import torch

from vgg_teach.errors import UsageError
from vgg_teach.training.data import ImageTensors
from vgg_teach.training.plan import (
    MINUTES,
    MINUTES_ENV,
    PUBLISHED_CIFAR10,
    expected_results,
    imagenet_result,
    measure_train_speed,
    plan_for_device,
)

PLAN = {"scratch": 30, "head": 2, "finetune": 5}


def _speed(images_per_second: float):
    def measure(device: torch.device) -> float:
        measure.calls.append(device)
        return images_per_second
    measure.calls = []
    return measure


def test_on_a_cuda_gpu_the_plan_runs_as_written_and_nothing_is_timed():
    plan = plan_for_device(PLAN, 50_000, 10_000, torch.device("cuda"), measure=lambda d: pytest.fail("measured"))
    assert plan.epochs == PLAN and (plan.n_train, plan.n_test) == (50_000, 10_000) and not plan.shrunk
    assert plan.minutes is None and "GPU" in str(plan) and "\n" in str(plan)  # Korean line, then English


def test_a_slow_cpu_shrinks_the_plan_to_the_budget_and_says_how(monkeypatch):
    monkeypatch.delenv(MINUTES_ENV, raising=False)
    measure = _speed(160.0)  # what 2 CPU cores do with vgg16_bn_cifar (lesson 05 measured 158–168)
    plan = plan_for_device(PLAN, 50_000, 10_000, "cpu", measure=measure)
    assert measure.calls == [torch.device("cpu")]
    assert plan.shrunk and plan.epochs == {"scratch": 1, "head": 1, "finetune": 1}
    assert plan.full_minutes > 60 and plan.minutes <= MINUTES  # hours as written, minutes shrunk
    assert plan.n_train % 512 == 0 and 512 <= plan.n_train < 50_000 and 100 <= plan.n_test < 10_000
    text = str(plan)
    assert "FULL_RUN_ON_CPU = True" in text and "줄였습니다" in text and "shrunk" in text
    assert f"{plan.n_train:,}" in text and "160" in text


def test_the_shrunk_plan_cuts_the_data_by_class():
    labels = torch.arange(2000) % 10
    data = ImageTensors(torch.zeros(2000, 3, 32, 32, dtype=torch.uint8), labels, [str(i) for i in range(10)])
    test = ImageTensors(torch.zeros(500, 3, 32, 32, dtype=torch.uint8), torch.arange(500) % 10, data.classes)
    plan = plan_for_device(PLAN, len(data), len(test), "cpu", minutes=0.5, batch_size=100, measure=_speed(160.0))
    small, small_test = plan.apply(data, test)
    assert plan.shrunk and (len(small), len(small_test)) == (plan.n_train, plan.n_test)
    assert small.class_counts() == [plan.n_train // 10] * 10  # stratified: every class keeps its share


def test_a_small_plan_or_the_full_run_asked_for_runs_as_written():
    plan = plan_for_device({"scratch": 1, "head": 1, "finetune": 1}, 16, 16, "cpu", measure=_speed(160.0))
    assert not plan.shrunk and (plan.n_train, plan.n_test) == (16, 16) and "as written" in str(plan)
    plan = plan_for_device(PLAN, 50_000, 10_000, "cpu", full=True, measure=_speed(160.0))
    assert not plan.shrunk and plan.epochs == PLAN and "FULL_RUN_ON_CPU = True" in str(plan)


def test_it_never_shrinks_below_one_batch_and_says_so():
    plan = plan_for_device(PLAN, 50_000, 10_000, "cpu", minutes=0.01, measure=_speed(5.0))
    assert plan.shrunk and plan.n_train == 512 and plan.minutes > 0.01
    assert "배치 하나보다" in str(plan) and "cannot get smaller than one batch" in str(plan)


def test_the_budget_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(MINUTES_ENV, "60")
    long = plan_for_device(PLAN, 50_000, 10_000, "cpu", measure=_speed(160.0))
    monkeypatch.setenv(MINUTES_ENV, "1")
    short = plan_for_device(PLAN, 50_000, 10_000, "cpu", measure=_speed(160.0))
    assert short.n_train < long.n_train and short.minutes <= 1 < long.minutes <= 60


@pytest.mark.parametrize("value", ["five", "0", "-2", "nan"])
def test_a_bad_budget_in_the_environment_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv(MINUTES_ENV, value)
    with pytest.raises(UsageError) as err:
        plan_for_device(PLAN, 50_000, 10_000, "cpu", measure=_speed(160.0))
    assert MINUTES_ENV in str(err.value) and "양수" in str(err.value) and "positive" in str(err.value)


def test_measuring_the_speed_trains_for_real_and_leaves_the_random_state_alone():
    before = torch.random.get_rng_state()
    speed = measure_train_speed(torch.device("cpu"), batch_size=4, steps=1)
    assert speed > 0 and torch.equal(torch.random.get_rng_state(), before)


def test_the_expected_results_name_their_sources_and_say_they_are_not_the_notebooks_output():
    from torchvision.models import VGG16_BN_Weights

    meta = VGG16_BN_Weights.IMAGENET1K_V1.meta
    row = imagenet_result()  # read from the weights' meta, not copied
    assert row.value == f"{meta['_metrics']['ImageNet-1K']['acc@1']}% / {meta['_metrics']['ImageNet-1K']['acc@5']}%"
    assert row.link == meta["recipe"] and "73.36" in row.value
    for published in PUBLISHED_CIFAR10:
        assert re.fullmatch(r"\d{2}\.\d{2}%", published.value), published
        assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+/blob/[0-9a-f]{40}/README\.md", published.link)
        assert published.source in published.link
    lesson04, lesson05 = expected_results(["imagenet"]), expected_results()
    assert list(lesson04) == [row] and lesson05[:4] == [row, *PUBLISHED_CIFAR10] and len(lesson05) == 5
    text = lesson05.to_text()
    assert "기대 결과" in text and "not this notebook's stored outputs" in text and "94.16%" in text
    assert "not measured yet" in text and "chenyaofo/pytorch-cifar-models" in lesson05._repr_html_()
