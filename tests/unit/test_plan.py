"""vgg_teach.training.plan: lesson 05 on a machine without a CUDA GPU is measured first and shrunk to a few minutes
when the plan would take longer, and says so; on a GPU, or when asked, it runs as written. The expected-results
table of lessons 04 and 05: ImageNet figures from torchvision's weights.meta, CIFAR-10 figures each with a source."""

from __future__ import annotations

import re
from unittest.mock import Mock

import pytest
import torch

from tests.fakes import korean_first
from vgg_teach.errors import UsageError
from vgg_teach.training.data import ImageTensors
from vgg_teach.training.plan import (
    MINUTES,
    MINUTES_ENV,
    PUBLISHED_CIFAR10,
    SMALLEST_BATCH,
    expected_results,
    imagenet_result,
    measure_train_speed,
    plan_for_device,
)

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
    assert list(lesson04) == [row] and lesson05[:4] == [row, *PUBLISHED_CIFAR10] and len(lesson05) == 5
    text = lesson05.to_text()
    assert "기대 결과" in text and "not this notebook's stored outputs" in text and "not measured yet" in text
    assert all(p.value in text and p.source in lesson05._repr_html_() for p in PUBLISHED_CIFAR10)
