"""vgg_teach.env: device choice, seeding and smoke mode (every lesson's setup cell)."""

import random

import pytest
import torch

from vgg_teach import env
from vgg_teach.errors import UsageError


def test_device_order_is_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert env.get_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(env, "_mps_available", lambda: True)
    assert env.get_device().type == "mps"
    monkeypatch.setattr(env, "_mps_available", lambda: False)
    assert env.get_device().type == "cpu"


def test_asking_for_a_missing_gpu_says_what_to_do(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UsageError, match="(?s)런타임 유형 변경.*Change runtime type"):
        env.get_device("cuda")
    with pytest.raises(ValueError, match="Unknown device 'tpu'"):
        env.get_device("tpu")


def test_device_description_is_bilingual():
    text = env.describe_device(torch.device("cpu"))
    assert "장치(device): cpu" in text and "no GPU found" in text


def test_seed_everything_repeats_python_and_torch():
    env.seed_everything(3)
    first = (random.random(), torch.rand(3))
    env.seed_everything(3)
    second = (random.random(), torch.rand(3))
    assert first[0] == second[0] and torch.equal(first[1], second[1])
    env.seed_everything(4)
    assert not torch.equal(torch.rand(3), first[1])


@pytest.mark.parametrize("value,expected", [("1", True), ("true", True), ("0", False), ("", False)])
def test_smoke_mode_follows_the_variable(monkeypatch, value, expected):
    monkeypatch.setenv(env.SMOKE_ENV, value)
    assert env.is_smoke() is expected
    assert env.smoke_or("small", "full") == ("small" if expected else "full")


def test_setup_lesson_prints_the_device_and_smoke_notice(monkeypatch, capsys):
    monkeypatch.setenv(env.SMOKE_ENV, "1")
    device = env.setup_lesson(korean_font=False)
    out = capsys.readouterr().out
    assert isinstance(device, torch.device)
    assert "장치(device)" in out and "smoke mode" in out
