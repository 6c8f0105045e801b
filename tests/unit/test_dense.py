"""Lesson 06's analysis: the fully convolutional VGG, its score map, dense vs crops, scale jittering, A → D."""

from __future__ import annotations

import math

import pytest
import torch
from matplotlib import cbook
from PIL import Image
from torch import nn
from torchvision.transforms import functional as TF

from vgg_teach import answers
from vgg_teach.answers import linear_to_conv, to_fully_convolutional
from vgg_teach.counting import meta_vgg
from vgg_teach.dense import (
    INIT_SCHEMES,
    ScaleJitter,
    TinyValidNet,
    activation_scales,
    crop_offsets,
    crop_scores,
    evaluation_cost_table,
    head_on_windows,
    init_from_shallower,
    paper_table5,
    score_map_geometry,
)
from vgg_teach.errors import UsageError
from vgg_teach.models import VGG, vgg_cifar


def _small_vgg() -> nn.Module:
    """VGG's head on cheap features (512 channels, stride 32): the same conversion, milliseconds to run."""
    torch.manual_seed(0)
    return VGG(nn.Sequential(nn.Conv2d(3, 512, 32, stride=32), nn.ReLU()), num_classes=10, hidden=64).eval()


# ------------------------------------------------------------------------------------ conversion
@pytest.mark.parametrize("make, size, map_size", [(_small_vgg, 224, (8, 15)),
                                                  (lambda: vgg_cifar("A", batch_norm=False), 32, (2, 3))])
def test_the_converted_net_gives_the_original_scores_and_a_map_on_larger_images(make, size, map_size):
    model = make().eval()
    fcn = to_fully_convolutional(model).eval()
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        assert torch.allclose(fcn(x).flatten(1), model(x), atol=1e-5, rtol=1e-4)
        assert fcn(torch.randn(1, 3, 2 * size, 3 * size)).shape[2:] == map_size
    assert {p.data_ptr() for p in fcn.parameters()} == {p.data_ptr() for p in model.parameters()}  # shared, no copy
    with pytest.raises(UsageError, match="36"):  # fc6 must read a whole C×k×k window
        linear_to_conv(nn.Linear(4 * 3 * 3, 5), 4, 2)


# ------------------------------------------------------------------------------------- geometry
@pytest.mark.parametrize("size, side", [(224, 1), (256, 2), (383, 5), (384, 6), (512, 10), (600, 12)])
def test_the_score_map_side_is_the_floor_of_s_over_32_minus_six(size, side):
    g = score_map_geometry(None, size)
    assert g.size == (side, side) == (size // 32 - 6,) * 2
    assert g.stride == 32 and g.receptive_field == 404
    assert [r.layer for r in g.table][-3:] == ["fc6", "fc7", "fc8"]


def test_vgg16s_geometry_matches_a_forward_pass_and_refuses_a_small_image():
    vgg = meta_vgg("D")
    fcn = to_fully_convolutional(vgg)  # every parameter kept, under the same state_dict keys
    assert sum(p.numel() for p in fcn.parameters()) == 138_357_544 and set(fcn.state_dict()) == set(vgg.state_dict())
    g = score_map_geometry(fcn, (224, 416))
    with torch.device("meta"):
        assert fcn(torch.empty(1, 3, 224, 416)).shape == (1, 1000, *g.size) == (1, 1000, 1, 7)
    assert g.centre(0, 3) == (111.5, 111.5 + 3 * 32)  # score (i, j) is centered on the crop at (32 i, 32 j)
    with pytest.raises(UsageError, match="224"):
        score_map_geometry(None, 200)


# ---------------------------------------------------------------------- dense vs crops (the proof)
def test_the_score_map_is_the_fully_connected_head_on_every_pool5_window():
    model = _small_vgg()
    fcn = to_fully_convolutional(model).eval()
    with torch.no_grad():
        pool5 = model.features(torch.randn(2, 3, 320, 288))
        dense = fcn.classifier(pool5)
    windows = head_on_windows(model.classifier, pool5)
    assert dense.shape == windows.shape == (2, 10, 4, 3)
    assert torch.allclose(dense, windows, atol=1e-5)


def test_crops_give_the_dense_scores_exactly_without_padding_and_not_with_it():
    assert crop_offsets((288, 256)) == [(0, 0), (0, 32), (32, 0), (32, 32), (64, 0), (64, 32)]  # row by row
    torch.manual_seed(0)
    for valid in (True, False):
        net = TinyValidNet(valid=valid).eval()
        images = torch.randn(2, 3, 32, 28)
        with torch.no_grad():
            dense = to_fully_convolutional(net).eval()(images)
        crops = crop_scores(net, images, crop=net.crop, stride=net.stride)
        assert dense.shape == (2, 5, 4, 3) and crops.shape == (2, 5, 12)
        # Without padding, every score and so their average are the crops'; with it, a crop sees zeros at its
        # border where the dense net sees the neighboring pixels.
        assert torch.allclose(dense.flatten(2), crops, atol=1e-5) == valid
        assert torch.allclose(dense.mean(dim=(2, 3)), crops.mean(dim=2), atol=1e-5) == valid


def test_dense_evaluation_averages_then_softmaxes_and_flip_averages_two_views():
    fcn = to_fully_convolutional(_small_vgg()).eval()
    images = torch.randn(2, 3, 256, 288)
    with torch.no_grad():
        probs, score_map = answers.dense_evaluation(fcn, images)
        want_map, mirror_map = fcn(images), fcn(images.flip(-1)).flip(-1)
        flipped = answers.dense_evaluation(fcn, images, flip=True)
    want = want_map.mean(dim=(2, 3)).softmax(1)
    assert torch.equal(score_map, want_map) and torch.allclose(probs, want, atol=1e-6)
    assert torch.allclose(flipped[0], (want + mirror_map.mean(dim=(2, 3)).softmax(1)) / 2, atol=1e-6)
    assert torch.allclose(flipped[1], (want_map + mirror_map) / 2, atol=1e-6)
    assert torch.allclose(probs.sum(1), torch.ones(2))


# ------------------------------------------------------------------------------------- the cost
def test_dense_evaluation_costs_less_than_the_crops_it_replaces_and_more_so_for_large_images():
    table = evaluation_cost_table((256, 384))
    (_, n1, dense1, crops1), (_, n2, dense2, crops2) = table
    assert (n1, n2) == (4, 36) and crops1 == 4 * (crops2 / 36)  # every crop is one 224 pass
    assert dense1 < crops1 and dense2 < crops2 and crops2 / dense2 > crops1 / dense1 and "GFLOP" in str(table)
    table = paper_table5()
    assert ("D", "multi-crop & dense", 24.4, 7.2) in table and "arXiv:1409.1556" in str(table)  # quoted with its source


# -------------------------------------------------------------------------------- scale jitter
@pytest.fixture(scope="module")
def photo():
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return Image.open(f).convert("RGB")


def test_scale_jitter_samples_s_in_range_and_crops_224(photo):
    samples = list(map(ScaleJitter(256, 512, 224, seed=0).sample, [photo] * 40))
    scales = [s.scale for s in samples]
    assert all(256 <= s <= 512 for s in scales) and len(set(scales)) > 20
    for s in samples:
        top, left, _, _ = s.box
        assert s.image.size == (224, 224) and min(s.resized_size) == s.scale
        assert 0 <= top <= s.resized_size[0] - 224 and 0 <= left <= s.resized_size[1] - 224
        assert s.box_in_original[2] == pytest.approx(224 * 600 / s.resized_size[0])  # 224/S of the short side
    assert [s.scale for s in map(ScaleJitter(256, 512, 224, seed=0).sample, [photo] * 40)] == scales  # seeded
    out = ScaleJitter(256, 256, 224, seed=1)(TF.to_tensor(photo))  # a tensor in, a tensor out; a fixed scale
    assert isinstance(out, torch.Tensor) and out.shape == (3, 224, 224)
    with pytest.raises(UsageError, match="crop"):
        ScaleJitter(200, 512, 224)


# ---------------------------------------------------------------------------------------- A → D
def test_d_from_a_copies_four_convolutions_by_shape_and_the_three_fully_connected_layers():
    torch.manual_seed(0)
    a, d = vgg_cifar("A", batch_norm=False), vgg_cifar("D", batch_norm=False)
    conv1_2 = d.features[2].weight.clone()
    table = init_from_shallower(d, a)
    assert {r.layer: r.source for r in table if r.copied} == {
        "conv1_1": "conv1_1", "conv2_1": "conv2_1", "conv3_1": "conv3_1", "conv3_2": "conv3_2",
        "fc6": "fc6", "fc7": "fc7", "fc8": "fc8"}
    d_convs, a_convs = ([m for m in net.features if isinstance(m, nn.Conv2d)] for net in (d, a))
    for di, ai in ((0, 0), (2, 1), (4, 2), (5, 3)):
        assert torch.equal(d_convs[di].weight, a_convs[ai].weight) and torch.equal(d_convs[di].bias, a_convs[ai].bias)
    assert torch.equal(d.classifier[0].weight, a.classifier[0].weight)
    assert torch.equal(d_convs[1].weight, conv1_2)  # conv1_2 is new: left as it was
    table = init_from_shallower(meta_vgg("D"), meta_vgg("A"))  # ImageNet size: most of D starts from A
    assert sum(r.params for r in table) == 138_357_544 and "90.1%" in str(table)
    assert sum(r.params for r in table if r.copied) == 1_792 + 73_856 + 295_168 + 590_080 + 102_764_544 + \
        16_781_312 + 4_097_000
    with pytest.raises(UsageError):
        init_from_shallower(meta_vgg("A"), meta_vgg("D"), deep_cfg="A", shallow_cfg="D", n_conv=13)


def test_a_fixed_sigma_drifts_with_depth_and_kaiming_does_not():
    small = {s: activation_scales("D", s, input_size=32, batch=1) for s in INIT_SCHEMES}
    assert all(len(v) == 13 for v in small.values())
    fixed_big, fixed_small = small["σ = 0.1 (분산 / variance 10⁻²)"], small["σ = 0.01"]
    assert fixed_big[-1] > 1e3 and fixed_small[-1] < 1e-4  # explodes / vanishes
    assert 0.1 < small["Kaiming (He)"][-1] < 10 and 1e-4 < small["Glorot (Xavier)"][-1] < 1
    assert abs(math.log10(activation_scales("A", "σ = 0.01", 32, 1)[-1])) < abs(math.log10(fixed_small[-1]))
    with pytest.raises(UsageError):
        activation_scales("D", "nope")
