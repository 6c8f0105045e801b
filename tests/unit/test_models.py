"""vgg_teach.models: torchvision's VGG weights load strictly and give identical outputs (lesson 01)."""

import pytest
import torch
import torchvision
from torch import nn

from vgg_teach import answers, models

PAIRS = [
    ("vgg11", models.vgg11), ("vgg11_bn", models.vgg11_bn),
    ("vgg13", models.vgg13), ("vgg13_bn", models.vgg13_bn),
    ("vgg16", models.vgg16), ("vgg16_bn", models.vgg16_bn),
    ("vgg19", models.vgg19), ("vgg19_bn", models.vgg19_bn),
]


def _random_torchvision(name: str) -> nn.Module:
    """A torchvision VGG with random weights, built on "meta" and filled once (fast on 2 cores)."""
    with torch.device("meta"):
        model = getattr(torchvision.models, name)()
    model = model.to_empty(device="cpu")
    gen = torch.Generator().manual_seed(0)
    for t in list(model.parameters()) + list(model.buffers()):
        if t.dtype.is_floating_point:
            small = t.dim() == 1 and t.numel() < 1024
            t.data.uniform_(0.5 if small else -0.02, 1.5 if small else 0.02, generator=gen)
    return model.eval()


@pytest.mark.parametrize("name,ours_fn", PAIRS, ids=[p[0] for p in PAIRS])
def test_torchvision_weights_load_strictly_with_identical_outputs(name, ours_fn):
    theirs = _random_torchvision(name)
    with torch.device("meta"):
        ours = ours_fn()
    result = ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys
    ours.eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = theirs(x)
        assert torch.isfinite(expected).all() and expected.abs().max() > 0
        assert torch.equal(ours(x), expected)


def test_handwritten_vgg16_is_torchvision_vgg16():
    theirs = torchvision.models.vgg16().eval()
    ours = answers.MyVGG16().eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.equal(ours(x), theirs(x))
    assert sum(p.numel() for p in ours.parameters()) == 138_357_544


def test_configuration_c_has_its_1x1_convs():
    feats = models.make_layers("C")
    kernels = [m.kernel_size for m in feats if isinstance(m, nn.Conv2d)]
    assert kernels.count((1, 1)) == 3 and kernels.count((3, 3)) == 10
    one_by_one = [m for m in feats if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)]
    assert all(m.padding == (0, 0) for m in one_by_one)
    assert sum(p.numel() for p in models.vgg("C").parameters()) == 133_638_952


def test_cifar_variant_is_512_into_the_classifier():
    m = models.vgg_cifar("D", batch_norm=True, num_classes=10)
    assert m.classifier[0].in_features == 512
    out = m.features(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 512, 1, 1)
    assert m(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_layer_names_follow_the_paper():
    names = models.conv_layer_names("D")
    assert names[:3] == ["conv1_1", "conv1_2", "pool1"] and names[-1] == "pool5"
    assert len([n for n in names if n.startswith("conv")]) == 13


def test_bad_configuration_message_is_bilingual():
    with pytest.raises(ValueError, match="(?s)구성.*Unknown configuration"):
        models.vgg("F")
    with pytest.raises(ValueError, match="Cannot read configuration entry"):
        models.make_layers([64, "X"])


def test_init_once_gives_torchvisions_distributions_and_fresh_batch_norm():
    from vgg_teach.models import init_once

    torch.manual_seed(0)
    theirs = torchvision.models.vgg16_bn(weights=None).state_dict()
    ours = init_once(lambda: torchvision.models.vgg16_bn(weights=None)).state_dict()
    assert list(ours) == list(theirs)
    for name, t in theirs.items():
        o = ours[name]
        assert o.shape == t.shape and o.dtype == t.dtype and o.device.type == "cpu", name
        if name.endswith(("running_mean", "running_var", "num_batches_tracked")) or t.std() == 0:
            assert torch.equal(o, t), name  # BN statistics 0/1, constant weights and biases: exactly theirs
        else:  # random weights: the same scale (Kaiming fan-out for convs, 0.01 for linear layers)
            assert abs(o.std() - t.std()) < 0.05 * t.std() and abs(o.mean()) < 0.05 * t.std(), name


def test_init_once_refuses_a_layer_it_would_leave_uninitialized():
    from vgg_teach.models import init_once

    with pytest.raises(TypeError, match="'1'"):
        init_once(lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.PReLU()))


def test_a_vgg_built_on_meta_stays_on_meta_and_a_real_one_is_filled():
    """The classifier starts empty (skip_init) but on the device being built on: a meta build costs no memory."""
    with torch.device("meta"):
        on_meta = models.vgg16()
    assert {p.device.type for p in on_meta.parameters()} == {"meta"}
    real = models.vgg16(num_classes=10)
    fc6, fc8 = real.classifier[0], real.classifier[6]
    assert fc6.weight.device.type == "cpu" and 0.009 < fc6.weight.std().item() < 0.011
    assert torch.count_nonzero(fc6.bias) == 0 and torch.count_nonzero(fc8.bias) == 0 and fc8.weight.shape == (10, 4096)
