"""vgg_teach.models' pretrained weights, offline: weights files in a temporary TORCH_HOME, no internet.

The real file's SHA-256 starts with ``6c64b313`` (its name says so). The tests write a randomly initialised
VGG16-BN under that exact name and make the loader expect *that* file's prefix
(``expected_sha256_prefix`` monkeypatched), so the hash check, the ``weights_only=True`` read and the strict
``load_state_dict`` all run as they do on a learner's machine; downloads go to ``file://`` URLs through
torch.hub's real ``download_url_to_file`` (which checks the hash while it copies).
"""

from __future__ import annotations

import hashlib
import pickle
import shutil
from pathlib import Path

import pytest
import torch
import torchvision
from torchvision.models import VGG16_BN_Weights

from vgg_teach import models
from vgg_teach.answers import count_parameters, swap_head
from vgg_teach.models import (
    PretrainedWeightsError,
    expected_sha256_prefix,
    load_vgg16_bn_pretrained,
    sha256_of,
    weights_cached,
    weights_path,
)

FILE_NAME = "vgg16_bn-6c64b313.pth"


@pytest.fixture
def torch_home(tmp_path, monkeypatch) -> Path:
    """An empty TORCH_HOME; torch.hub's directory follows it (and is restored afterwards)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    # set_dir has no "unset": let monkeypatch put torch.hub's private override back exactly as it was.
    monkeypatch.setattr(torch.hub, "_hub_dir", getattr(torch.hub, "_hub_dir", None), raising=False)
    torch.hub.set_dir(str(tmp_path / "torch_home" / "hub"))
    return tmp_path / "torch_home"


@pytest.fixture(scope="module")
def saved_random_vgg16_bn(tmp_path_factory):
    """A randomly initialised torchvision VGG16-BN (eval mode), its state_dict saved to a file, and its SHA-256."""
    torch.manual_seed(123)
    model = torchvision.models.vgg16_bn(weights=None).eval()
    path = tmp_path_factory.mktemp("weights") / FILE_NAME
    torch.save(model.state_dict(), path)
    return model, path, sha256_of(path)


def _expect(monkeypatch, digest: str) -> None:
    """Make the loader expect ``digest``'s first 8 hex digits instead of the real file's ``6c64b313``."""
    monkeypatch.setattr(models, "expected_sha256_prefix", lambda path: digest[:8])


def _no_hub_loader(monkeypatch) -> None:
    """torch.hub's loader (which unpickles with weights_only=False and trusts the cache) must never be used."""
    def refuse(*args, **kwargs):
        raise AssertionError("torch.hub.load_state_dict_from_url was called")
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)


def _same_outputs(model, reference) -> bool:
    x = torch.randn(2, 3, 32, 32)  # VGG's adaptive pooling takes any size ≥ 32: small keeps the test fast
    with torch.no_grad():
        return torch.equal(model.eval()(x), reference(x))


def test_cached_file_with_the_promised_hash_loads(torch_home, saved_random_vgg16_bn, smoke_off, no_network,
                                                  monkeypatch):
    assert weights_path() == torch_home / "hub" / "checkpoints" / Path(VGG16_BN_Weights.IMAGENET1K_V1.url).name
    assert expected_sha256_prefix(weights_path()) == "6c64b313" and not weights_cached()
    reference, source, digest = saved_random_vgg16_bn
    assert digest == hashlib.sha256(source.read_bytes()).hexdigest()
    weights_path().parent.mkdir(parents=True)
    weights_path().symlink_to(source)  # no 528 MB copy
    _expect(monkeypatch, digest)
    _no_hub_loader(monkeypatch)
    model, weights = load_vgg16_bn_pretrained(progress=False)
    assert not no_network.attempts
    assert weights is VGG16_BN_Weights.IMAGENET1K_V1 and len(weights.meta["categories"]) == 1000
    assert weights.meta["_metrics"]["ImageNet-1K"]["acc@1"] == 73.36
    assert _same_outputs(model, reference)


@pytest.mark.parametrize("cached", [False, True], ids=["no file", "a file without the promised hash"])
def test_offline_the_weights_are_refused_with_what_to_do(torch_home, saved_random_vgg16_bn, smoke_off, no_network,
                                                         monkeypatch, cached):
    if cached:  # the random file does not carry the 6c64b313 its name promises: refused, never read
        weights_path().parent.mkdir(parents=True)
        weights_path().symlink_to(saved_random_vgg16_bn[1])
    _no_hub_loader(monkeypatch)
    loads = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: loads.append(a) or {})
    with pytest.raises(PretrainedWeightsError) as err:
        load_vgg16_bn_pretrained(progress=False)
    msg = str(err.value)
    assert no_network.attempts and not loads  # torch.hub really tried to download; the file was never read
    why = ("체크섬(SHA-256)", "checksum (SHA-256) does not match the 6c64b313") if cached else \
        ("내려받지 못했습니다", "could not be downloaded")
    assert msg.index(why[0]) < msg.index(why[1]) and "URLError" in msg and "Colab" in msg
    assert str(weights_path()) in msg and VGG16_BN_Weights.IMAGENET1K_V1.url in msg
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no torch traceback attached
    assert weights_cached() == cached  # torch.hub left no partial file under the final name


def test_wrong_hash_cached_file_is_downloaded_afresh(torch_home, saved_random_vgg16_bn, smoke_off, monkeypatch):
    reference, source, digest = saved_random_vgg16_bn
    weights_path().parent.mkdir(parents=True)
    torch.save({"features.0.weight": torch.zeros(3)}, weights_path())  # some other file
    _expect(monkeypatch, digest)
    _no_hub_loader(monkeypatch)
    real_download, urls = torch.hub.download_url_to_file, []

    def from_disk(url, dst, hash_prefix=None, progress=True):  # the real download, from a file:// URL
        urls.append(url)
        real_download(source.as_uri(), dst, hash_prefix=hash_prefix, progress=progress)

    monkeypatch.setattr(torch.hub, "download_url_to_file", from_disk)
    model, _ = load_vgg16_bn_pretrained(progress=False)
    assert urls == [VGG16_BN_Weights.IMAGENET1K_V1.url]
    assert sha256_of(weights_path()) == digest and _same_outputs(model, reference)


def test_a_download_with_the_wrong_hash_is_refused_and_leaves_no_file(torch_home, tmp_path, smoke_off, monkeypatch):
    served = tmp_path / "served.pth"
    torch.save({"w": torch.ones(2)}, served)
    _expect(monkeypatch, "00000000")
    real_download = torch.hub.download_url_to_file
    monkeypatch.setattr(torch.hub, "download_url_to_file",
                        lambda url, dst, hash_prefix=None, progress=True:
                        real_download(served.as_uri(), dst, hash_prefix=hash_prefix, progress=progress))
    with pytest.raises(PretrainedWeightsError) as err:
        load_vgg16_bn_pretrained(progress=False)
    assert "invalid hash value" in str(err.value) and "could not be downloaded" in str(err.value)
    assert not weights_cached() and not list(weights_path().parent.iterdir())  # nothing under the final name


class _CreatesAFile:
    """Unpickling this runs ``open(marker, "w")`` — a file appears where no one asked for one."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickle_payload_in_the_cache_never_runs(torch_home, tmp_path, smoke_off, no_network, monkeypatch):
    marker = tmp_path / "payload-ran"
    weights_path().parent.mkdir(parents=True)
    torch.save({"features.0.weight": torch.zeros(1), "evil": _CreatesAFile(marker)}, weights_path())
    honest = tmp_path / "copy.pth"
    shutil.copy(weights_path(), honest)
    _expect(monkeypatch, sha256_of(weights_path()))  # even with the hash it "should" have, it is not unpickled
    _no_hub_loader(monkeypatch)
    with pytest.raises(PretrainedWeightsError) as err:
        load_vgg16_bn_pretrained(progress=False)
    assert not marker.exists()
    msg = str(err.value)
    assert msg.index("코드가 든 파일은 열지 않습니다") < msg.index("a file with code in it is never opened")
    # Honesty check: the payload is real — a trusting load does create the file.
    torch.load(honest, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("cached", [False, True], ids=["no file", "a wrong-hash file"])
def test_smoke_mode_without_a_usable_file_gives_a_stand_in_that_was_asked_for(torch_home, smoke_on, no_network, capsys,
                                                                              cached):
    if cached:
        weights_path().parent.mkdir(parents=True)
        weights_path().write_bytes(b"not the weights")
    with pytest.raises(PretrainedWeightsError, match="stand_in=True"):  # a lesson cell that would dead-end offline
        load_vgg16_bn_pretrained()
    model, weights = load_vgg16_bn_pretrained(stand_in=True)
    out = capsys.readouterr().out
    assert out.index("무작위 가중치") < out.index("RANDOM") and str(weights_path()) in out
    assert ("checksum (SHA-256) does not match" in out) == cached and ("체크섬(SHA-256)이 맞지 않아" in out) == cached
    assert isinstance(model, torchvision.models.VGG) and model.classifier[6].out_features == 1000
    assert weights is VGG16_BN_Weights.IMAGENET1K_V1 and not no_network.attempts
    assert weights_cached() == cached  # nothing downloaded, nothing written


@pytest.mark.parametrize("content", [b"an interrupted download", pickle.dumps([1, 2, 3], protocol=2), "not VGG16-BN"],
                         ids=["truncated", "a pickle, not torch.save", "tensors, not VGG16-BN"])
def test_broken_cached_file_with_the_promised_hash_says_delete_it(torch_home, smoke_off, no_network, monkeypatch,
                                                                 content):
    weights_path().parent.mkdir(parents=True)
    if content == "not VGG16-BN":  # tensors only, readable, but not VGG16-BN's: strict loading refuses it
        torch.save({"features.0.weight": torch.zeros(3)}, weights_path())
    else:
        weights_path().write_bytes(content)
    _expect(monkeypatch, sha256_of(weights_path()))
    with pytest.raises(PretrainedWeightsError) as err:
        load_vgg16_bn_pretrained(progress=False)
    msg = str(err.value)
    assert msg.index("지우고") < msg.index("Delete this file") and str(weights_path()) in msg
    assert not no_network.attempts


def test_swap_head_and_parameter_counts():
    with torch.device("meta"):  # counting needs no memory: build the 138 M parameters on the meta device
        model = torchvision.models.vgg16_bn()
        assert count_parameters(model) == (138_365_992, 138_365_992, 0)
        frozen = swap_head(model, num_classes=10, freeze_features=True)
    assert frozen is model and isinstance(model.classifier[6], torch.nn.Linear)
    assert (model.classifier[6].in_features, model.classifier[6].out_features) == (4096, 10)
    counts = count_parameters(model)
    assert counts.total == 134_309_962
    assert counts.frozen == sum(p.numel() for p in model.features.parameters()) == 14_723_136
    assert counts.trainable == 134_309_962 - 14_723_136
    assert all(p.requires_grad for p in model.classifier.parameters())
    assert "134,309,962" in str(counts)
    with torch.device("meta"):
        unfrozen = swap_head(torchvision.models.vgg16_bn(), 10, freeze_features=False)
    assert count_parameters(unfrozen).frozen == 0
