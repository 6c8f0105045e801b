"""vgg_teach.models: torchvision's VGG weights load strictly and give identical outputs (lesson 01)."""

import pytest
import torch
import torchvision
from torch import nn

from vgg_teach import answers, models

NAMES = ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]


@pytest.mark.parametrize("name", NAMES)
def test_torchvision_weights_load_strictly(name):
    with torch.device("meta"):
        theirs, ours = getattr(torchvision.models, name)(), getattr(models, name)()
    shapes = [[(k, v.shape) for k, v in m.state_dict().items()] for m in (ours, theirs)]
    assert shapes[0] == shapes[1]


@pytest.mark.parametrize("name", ["vgg11", "vgg16_bn"])
def test_with_torchvisions_weights_the_outputs_are_identical(name):
    with torch.device("meta"):
        theirs = getattr(torchvision.models, name)()
    theirs = theirs.to_empty(device="cpu").eval()
    gen = torch.Generator().manual_seed(0)
    for t in [*theirs.parameters(), *theirs.buffers()]:
        if t.dtype.is_floating_point:  # batch norm's small vectors near 1, weights small: a finite, lively output
            low, high = (0.5, 1.5) if t.dim() == 1 and t.numel() < 1024 else (-0.02, 0.02)
            t.data.uniform_(low, high, generator=gen)
    with torch.device("meta"):
        ours = getattr(models, name)()
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = theirs(x)
        assert expected.abs().max() > 0 and torch.equal(ours.eval()(x), expected)


def test_handwritten_vgg16_is_torchvision_vgg16():
    theirs = torchvision.models.vgg16().eval()
    ours = answers.MyVGG16().eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.equal(ours(x), theirs(x))
    assert sum(p.numel() for p in ours.parameters()) == 138_357_544


def test_configuration_c_the_cifar_variant_and_the_papers_names():
    feats = models.make_layers("C")
    kernels = [(m.kernel_size, m.padding) for m in feats if isinstance(m, nn.Conv2d)]
    assert kernels.count(((1, 1), (0, 0))) == 3 and kernels.count(((3, 3), (1, 1))) == 10
    with torch.device("meta"):
        assert sum(p.numel() for p in models.vgg("C").parameters()) == 133_638_952
    cifar = models.vgg_cifar("D", batch_norm=True, num_classes=10)
    assert cifar.features(torch.randn(2, 3, 32, 32)).shape == (2, 512, 1, 1) and cifar.classifier[0].in_features == 512
    names = models.conv_layer_names("D")
    assert names[:3] == ["conv1_1", "conv1_2", "pool1"] and names[-1] == "pool5" and len(names) == 18


def test_bad_configurations_say_what_to_do_in_both_languages():
    with pytest.raises(ValueError, match="(?s)구성.*Unknown configuration"):
        models.vgg("F")
    with pytest.raises(ValueError, match="Cannot read configuration entry"):
        models.make_layers([64, "X"])
    with pytest.raises(ValueError, match="Unknown model 'vgg99'"):
        models.build_model("vgg99")


def test_init_once_gives_torchvisions_distributions_and_fresh_batch_norm():
    torch.manual_seed(0)
    theirs = torchvision.models.vgg16_bn(weights=None).state_dict()
    ours = models.init_once(lambda: torchvision.models.vgg16_bn(weights=None)).state_dict()
    assert list(ours) == list(theirs)
    for name, t in theirs.items():
        o = ours[name]
        assert o.shape == t.shape and o.dtype == t.dtype and o.device.type == "cpu", name
        if name.endswith(("running_mean", "running_var", "num_batches_tracked")) or t.std() == 0:
            assert torch.equal(o, t), name  # BN statistics 0/1, constant weights and biases: exactly theirs
        else:  # random weights: the same scale (Kaiming fan-out for convs, 0.01 for linear layers)
            assert abs(o.std() - t.std()) < 0.05 * t.std() and abs(o.mean()) < 0.05 * t.std(), name
    with pytest.raises(TypeError, match="'1'"):  # a layer it would leave uninitialized is refused
        models.init_once(lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.PReLU()))


def test_a_vgg_built_on_meta_stays_on_meta_and_a_real_one_is_filled():
    """The classifier starts empty (skip_init) but on the device being built on: a meta build costs no memory."""
    with torch.device("meta"):
        assert {p.device.type for p in models.vgg16().parameters()} == {"meta"}
    real = models.vgg16(num_classes=10)
    fc6, fc8 = real.classifier[0], real.classifier[6]
    assert 0.009 < fc6.weight.std().item() < 0.011 and fc8.weight.shape == (10, 4096)
    assert torch.count_nonzero(fc6.bias) == 0 and torch.count_nonzero(fc8.bias) == 0
