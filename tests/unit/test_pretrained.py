"""vgg_teach.models.pretrained, offline: a weights file in a temporary TORCH_HOME, no internet.

How honest is the cached-file test? torchvision calls ``load_state_dict_from_url(url, check_hash=True)``.
torch.hub checks the SHA-256 prefix in the file name (``6c64b313``) only *while downloading*; a file
already present under that name is loaded as it is. So a randomly initialised VGG16-BN saved under
the exact name goes through torchvision's real call — and the test proves it by comparing outputs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
import torchvision
from torchvision.models import VGG16_BN_Weights

from vgg_teach.answers import count_parameters, swap_head
from vgg_teach.models.pretrained import PretrainedWeightsError, load_vgg16_bn_pretrained, weights_cached, weights_path

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
    """A randomly initialised torchvision VGG16-BN (eval mode) and its state_dict saved to a file."""
    torch.manual_seed(123)
    model = torchvision.models.vgg16_bn(weights=None).eval()
    path = tmp_path_factory.mktemp("weights") / FILE_NAME
    torch.save(model.state_dict(), path)
    return model, path


def test_weights_path_is_where_torchvision_looks(torch_home):
    assert Path(VGG16_BN_Weights.IMAGENET1K_V1.url).name == FILE_NAME
    assert weights_path() == torch_home / "hub" / "checkpoints" / FILE_NAME
    assert not weights_cached()


def test_cached_file_is_loaded_by_the_real_torchvision_call(torch_home, saved_random_vgg16_bn, smoke_off,
                                                            no_network, monkeypatch):
    reference, source = saved_random_vgg16_bn
    target = torch_home / "hub" / "checkpoints" / FILE_NAME
    target.parent.mkdir(parents=True)
    target.symlink_to(source)  # no 528 MB copy; torch.hub only needs the name to exist
    # The random file does not carry the hash its name promises — torch.hub does not check cached files.
    assert not hashlib.sha256(source.read_bytes()).hexdigest().startswith("6c64b313")
    calls = []
    real = torchvision.models.vgg16_bn
    monkeypatch.setattr(torchvision.models, "vgg16_bn", lambda **kw: calls.append(kw) or real(**kw))

    model, weights = load_vgg16_bn_pretrained(progress=False)

    assert calls == [{"weights": VGG16_BN_Weights.IMAGENET1K_V1, "progress": False}]
    assert not no_network.attempts
    assert weights.meta["_metrics"]["ImageNet-1K"]["acc@1"] == 73.36 and len(weights.meta["categories"]) == 1000
    x = torch.randn(2, 3, 32, 32)  # VGG's adaptive pooling takes any size ≥ 32: small keeps the test fast
    with torch.no_grad():
        assert torch.equal(model.eval()(x), reference(x))


def test_smoke_mode_without_file_uses_random_weights_and_says_so(torch_home, smoke_on, no_network, capsys):
    model, weights = load_vgg16_bn_pretrained()
    out = capsys.readouterr().out
    assert out.index("무작위 가중치") < out.index("RANDOM") and str(weights_path()) in out
    assert isinstance(model, torchvision.models.VGG) and model.classifier[6].out_features == 1000
    assert weights is VGG16_BN_Weights.IMAGENET1K_V1
    assert not no_network.attempts and not weights_cached()  # nothing downloaded, nothing written


def test_failed_download_gives_a_bilingual_error(torch_home, smoke_off, no_network):
    with pytest.raises(PretrainedWeightsError) as err:
        load_vgg16_bn_pretrained(progress=False)
    msg = str(err.value)
    assert no_network.attempts  # torchvision really tried to download
    assert msg.index("내려받지 못했습니다") < msg.index("Could not download")
    assert str(weights_path()) in msg and VGG16_BN_Weights.IMAGENET1K_V1.url in msg and "Colab" in msg
    assert "URLError" in msg
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no torch traceback attached
    assert not weights_cached()  # torch.hub left no partial file under the final name


def test_broken_cached_file_says_delete_it(torch_home, smoke_off, no_network):
    weights_path().parent.mkdir(parents=True)
    weights_path().write_bytes(b"an interrupted download")
    with pytest.raises(PretrainedWeightsError) as err:
        load_vgg16_bn_pretrained(progress=False)
    msg = str(err.value)
    assert msg.index("지우고") < msg.index("Delete this file") and str(weights_path()) in msg


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

