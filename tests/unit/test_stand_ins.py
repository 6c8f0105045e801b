"""No dead ends (lessons 04 and 05), offline and *outside* smoke mode: a lesson that asks for a stand-in gets random
weights or a small fake CIFAR-10, with the reason in a loud box; one that does not ask (the CLI) gets the error."""

from __future__ import annotations

import sys

import pytest
import torch
import torchvision

from tests.fakes import korean_first
from vgg_teach import models
from vgg_teach import train as cli
from vgg_teach.errors import DataError, PretrainedWeightsError
from vgg_teach.models import is_stand_in, load_vgg16_bn_pretrained, weights_cached, weights_path
from vgg_teach.training.data import CIFAR10_CLASSES
from vgg_teach.training.sources import STAND_IN_SIZE, load_cifar10


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(torch.hub, "_hub_dir", getattr(torch.hub, "_hub_dir", None), raising=False)
    torch.hub.set_dir(str(tmp_path / "torch_home" / "hub"))


@pytest.mark.parametrize("broken_file, korean, english", [
    (False, "내려받지 못했습니다", "could not be downloaded"),  # offline, nothing cached
    (True, "지우고", "Delete this file"),  # an interrupted download with the promised hash prefix
])
def test_a_lesson_without_usable_weights_gets_random_ones_and_the_reason(torch_home, smoke_off, no_network, capsys,
                                                                         monkeypatch, broken_file, korean, english):
    if broken_file:
        weights_path().parent.mkdir(parents=True)
        weights_path().write_bytes(b"an interrupted download")
        monkeypatch.setattr(models, "expected_sha256_prefix", lambda path: models.sha256_of(path)[:8])
    model, _ = load_vgg16_bn_pretrained(progress=False, stand_in=True)
    out = capsys.readouterr().out
    korean_first(out, "대체 모델", "Stand-in: the pretrained weights cannot be used")
    korean_first(out, korean, english)
    assert "=" * 78 in out and str(weights_path()) in out and bool(no_network.attempts) != broken_file
    assert isinstance(model, torchvision.models.VGG) and is_stand_in(model) and weights_cached() == broken_file
    with pytest.raises(PretrainedWeightsError):  # without asking: the clear error, as before
        load_vgg16_bn_pretrained(progress=False)


def test_offline_without_cifar10_a_lesson_gets_a_small_fake_and_the_reason_and_the_cli_an_error(
        tmp_path, smoke_off, no_network, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # no Hugging Face fallback (import fails), as outside Colab
    train, test = load_cifar10(tmp_path / "data", timeout=5, stand_in=True)
    out = capsys.readouterr().out
    korean_first(out, "대체 데이터", "Stand-in data")
    assert no_network.attempts and "FAKE CIFAR-10" in out and "=" * 78 in out
    assert "torchvision" in out and "pip install datasets" in out  # both sources' reasons
    assert (len(train), len(test)) == STAND_IN_SIZE and train.classes == CIFAR10_CLASSES
    assert train.images.dtype == torch.uint8 and tuple(train.images.shape[1:]) == (3, 32, 32)
    assert not (tmp_path / "data" / "cifar-10-batches-py").exists()  # the real data's place stays empty
    with pytest.raises(DataError, match="CIFAR-10을 받지 못했습니다"):  # without asking: the error
        load_cifar10(tmp_path / "data", timeout=5)
    asked = []  # the command line never asks: it does not train on fake data
    monkeypatch.setattr(cli, "load_cifar10", lambda *a, **k: asked.append(k) or load_cifar10(*a, **k))
    code = cli.main(["--dataset", "cifar10", "--data-root", str(tmp_path / "data"), "--out", str(tmp_path / "out"),
                     "--epochs", "1"])
    assert code == 2 and asked and all(not k.get("stand_in") for k in asked)
    assert "CIFAR-10" in capsys.readouterr().err and not (tmp_path / "out" / "metrics.json").exists()
