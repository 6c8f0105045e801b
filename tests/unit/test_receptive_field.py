"""Lesson 03's receptive fields: the table against a brute-force index mapping on random stacks, VGG16's values and
a forward pass's order; the autograd measurements against the table; networks that are not a single path refused."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from vgg_teach.errors import UsageError
from vgg_teach.models import conv_layer_names, make_layers, vgg16
from vgg_teach.receptive_field import (
    VGG16_RECEPTIVE_FIELDS,
    effective_receptive_field,
    empirical_receptive_field,
    receptive_field_table,
)

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")
VGG16_RF = [3, 5, 6, 10, 14, 16, 24, 32, 40, 44, 60, 76, 92, 100, 132, 164, 196, 212]


@pytest.fixture(scope="module")
def features() -> nn.Module:
    torch.manual_seed(0)
    return make_layers("D")


# ------------------------------------------------------------------------------- analytic table
def test_vgg16_table_has_the_paper_values():
    with torch.device("meta"):
        ours, whole, theirs = vgg16().features, vgg16(), torchvision.models.vgg16().features
    for module in (ours, whole, theirs):  # a whole VGG stops at avgpool: the same 18 rows
        table = receptive_field_table(module, 224)
        assert [r.receptive_field for r in table] == VGG16_RF == list(VGG16_RECEPTIVE_FIELDS)
        assert [r.layer for r in table] == conv_layer_names("D")
        assert [r.jump for r in table][-1] == 32 and table[-1].output_size == 7
    table = receptive_field_table(whole)
    assert table.row("conv3_3").receptive_field == 40 and table.row(5).layer == "pool2"
    assert table.row("features.30").layer == "pool5" and table.row(-1).output_size is None
    pool5 = table.row("pool5")
    assert (pool5.jump, pool5.start) == (32, 15.5)
    assert pool5.interval(0) == (-90, 121)  # the first unit's field hangs 90 pixels over the border


def _random_stack(seed: int):
    """1–6 random convolutions and poolings (1 in 5 non-square) with position-wise layers between, and the geometry
    of each one per axis: ``(kernel, stride, left padding, dilation)``."""
    rng = random.Random(seed)
    layers, geoms, jump, channels = [], [], (1, 1), 1
    for _ in range(rng.randint(1, 6)):
        kind, square = rng.choice(["conv", "conv", "max", "avg"]), rng.random() < 0.8

        def pick(options):
            a = rng.choice(options)
            return a, a if square else rng.choice(options)

        k = pick([1, 2, 3, 5, 7] if kind == "conv" else [1, 2, 3, 4])
        s = tuple(1 if j >= 12 else x for x, j in zip(pick([1, 1, 2, 3] if kind == "conv" else [1, 2, 3]), jump))
        d = pick([1, 1, 2, 3] if kind == "conv" else [1, 2] if kind == "max" else [1])
        p = tuple(rng.randint(0, kk // 2) for kk in k)  # a pooling pads at most half its kernel
        if kind == "conv":
            padding = rng.choice(["same" if s == (1, 1) else "valid", "valid", *[None] * 5])
            # "same" pads (kernel's span − 1) // 2 on the left
            p = {"same": tuple(dd * (kk - 1) // 2 for kk, dd in zip(k, d)), "valid": (0, 0)}.get(padding) or \
                pick([0, 1, 2, 3])
            module = nn.Conv2d(channels, rng.choice([1, 2]), k, s, padding or p, d)
        elif kind == "max":
            module = nn.MaxPool2d(k, s, p, d, ceil_mode=rng.random() < 0.3)
        else:
            module = nn.AvgPool2d(k, s, p, ceil_mode=rng.random() < 0.3)
        channels = getattr(module, "out_channels", channels)
        layers.append(module)
        geoms.append(list(zip(k, s, p, d)))
        jump = tuple(j * x for j, x in zip(jump, s))
        if rng.random() < 0.3:
            layers.append(rng.choice([nn.ReLU(), nn.BatchNorm2d(channels), nn.Dropout()]))
    return nn.Sequential(*layers), geoms


STACKS = [_random_stack(seed) for seed in range(60)]


def test_random_stacks_cover_the_hard_cases():
    convs = [m for stack, _ in STACKS for m in stack if isinstance(m, nn.Conv2d)]
    pools = [m for stack, _ in STACKS for m in stack if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d))]
    assert {1, 5, 7} <= {m.kernel_size[0] for m in convs} and any(m.kernel_size[0] != m.kernel_size[1] for m in convs)
    assert any(m.stride[0] == 2 for m in convs) and any(m.dilation[0] > 1 for m in convs)
    assert {"same", "valid", (1, 1)} <= {m.padding for m in convs}
    assert any(m.padding not in (0, (0, 0)) for m in pools) and any(m.ceil_mode for m in pools)
    assert any(isinstance(m, nn.MaxPool2d) and m.dilation not in (1, (1, 1)) for m in pools)
    assert any(layer[0] != layer[1] for _, geoms in STACKS[::5] for layer in geoms)  # non-square, measured too


@pytest.mark.parametrize("seed", range(60))
def test_table_matches_brute_force_on_random_stacks(seed):
    (stack, geoms), n = STACKS[seed], 400
    sizes, x = [(n, n)], torch.zeros(1, 1, n, n)  # real output sizes of each conv/pool layer, from a forward pass
    with torch.no_grad():
        for m in stack:
            x = m(x)
            sizes += [tuple(x.shape[2:])] if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)) else []
    if any(layer[0] != layer[1] for layer in geoms):  # non-square: the default axis=None refuses
        with pytest.raises(ValueError, match=r"(?s)가로.*axis=0 \(height\) and axis=1 \(width\)"):
            receptive_field_table(stack)
    interior = 0
    for axis in (0, 1):
        table = receptive_field_table(stack, n, axis=axis)
        assert [r.output_size for r in table] == [s[axis] for s in sizes[1:]]
        last = table[-1]
        for unit in sorted({0, 1, last.output_size // 2, last.output_size - 1} & set(range(last.output_size))):
            seen = {unit}  # the input positions connected to the unit, composing each layer's index mapping
            for layer in reversed(range(len(geoms))):
                k, s, p, d = geoms[layer][axis]
                seen = {j for i in seen for t in range(k) if 0 <= (j := i * s - p + t * d) < sizes[layer][axis]}
            lo, hi = last.interval(unit)
            assert seen <= set(range(lo, hi + 1))  # never outside the analytic field
            if lo >= 0 and hi < n:
                interior += 1
                assert (min(seen), max(seen)) == (lo, hi) and hi - lo + 1 == last.receptive_field, (axis, unit)
    assert interior >= 2  # the check above really ran


@pytest.mark.parametrize("seed", range(0, 60, 5))
def test_linearized_autograd_matches_table_on_random_stacks(seed):
    stack, geoms = STACKS[seed]
    m = empirical_receptive_field(stack, len(geoms) - 1)
    assert m.matches and not m.clipped, str(m)
    assert m.measured == m.analytic == tuple(receptive_field_table(stack, axis=a)[-1].receptive_field for a in (0, 1))


# ------------------------------------------------------------------------------- measurement
def test_linearized_measurement_equals_analytic_for_every_vgg16_layer(features):
    for index, expected in enumerate(VGG16_RF):
        m = empirical_receptive_field(features, index)
        assert not m.clipped and m.measured_box == m.analytic_box
        assert m.measured == (expected, expected) == m.analytic, str(m)
    m = empirical_receptive_field(features, "pool5", input_size=128)  # the image cuts the field
    assert m.analytic == (212, 212) and m.clipped and m.expected == (128, 128) == m.measured and m.matches


def test_naive_gradient_is_smaller_than_the_receptive_field(features):
    # Max pooling sends the gradient to one position of each 2×2 window, so pool1's unit seems to
    # see 5×5 pixels instead of 6×6; the linearized copy and many random inputs recover 6×6.
    naive = empirical_receptive_field(features, "pool1", method="naive")
    assert naive.measured == (5, 5) < naive.analytic == (6, 6) and not naive.matches
    union = empirical_receptive_field(features, "pool2", method="union", n_samples=16)
    single = empirical_receptive_field(features, "pool2", method="naive")
    assert single.measured[0] < union.measured[0] == 16


def test_effective_receptive_field_is_smaller_than_theoretical(features):
    erf = effective_receptive_field(features, "pool3", n_samples=4)
    assert erf.method == "erf" and erf.analytic == (44, 44)
    g = erf.gradient
    assert g.shape == erf.input_size and bool((g >= 0).all())
    assert erf.effective_size(0.5) < erf.effective_size(0.95) < 44
    top, left, bottom, right = erf.analytic_box
    peak = divmod(int(g.argmax()), g.shape[1])
    assert top + 11 <= peak[0] <= bottom - 11 and left + 11 <= peak[1] <= right - 11  # near the center


def test_bad_arguments_give_bilingual_errors(features):
    with pytest.raises(ValueError, match="찾을 수 없습니다.*No layer 'conv9_9'"):
        empirical_receptive_field(features, "conv9_9")
    with pytest.raises(ValueError, match="method"):
        empirical_receptive_field(features, 0, method="magic")
    with pytest.raises(ValueError, match="Upsample"):
        receptive_field_table(nn.Sequential(nn.Conv2d(3, 3, 3), nn.Upsample(scale_factor=2)))
    with pytest.raises(ValueError, match="GLU"):  # GLU(dim=-1) mixes neighboring columns
        receptive_field_table(nn.Sequential(nn.Conv2d(3, 3, 3), nn.GLU()))
    positionwise = nn.Sequential(nn.Conv2d(3, 3, 3), nn.GELU(), nn.LocalResponseNorm(2), nn.LeakyReLU(),
                                 nn.MaxPool2d(2), nn.Flatten(), nn.Conv2d(3, 3, 3))  # stops at Flatten
    assert [r.receptive_field for r in receptive_field_table(positionwise)] == [3, 4]
    with pytest.raises(ValueError, match="too small"):
        empirical_receptive_field(features, "pool5", input_size=16)
    with torch.device("meta"):
        meta = vgg16().features
    with pytest.raises(ValueError, match="real weights"):
        empirical_receptive_field(meta, 0, method="naive")
    assert empirical_receptive_field(meta, "conv2_1").matches  # the linear method needs no weights


# ---------------------------------------------------------------------------------------- single path
def test_resnet_is_refused_but_a_single_path_part_of_it_is_computed():
    with torch.device("meta"):
        net = torchvision.models.resnet50()
    with pytest.raises(UsageError) as info:  # walked in series, it used to give 1963 (jump 256)
        receptive_field_table(net)
    message = str(info.value)
    assert "not a single chain of layers" in message and "ResNet's shortcut" in message
    assert "layer1.0" in message and "한 줄로 이어진 모델이 아니어서" in message  # where the branches meet
    stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
    assert [(r.layer, r.receptive_field, r.jump) for r in receptive_field_table(stem)] == [
        ("conv1", 7, 2), ("pool1", 11, 4)]


class FunctionalPool(nn.Sequential):
    def forward(self, x):
        return F.max_pool2d(super().forward(x), 2)


def test_the_walk_follows_the_forward_pass():
    pool = nn.MaxPool2d(2)
    table = receptive_field_table(nn.Sequential(nn.Conv2d(3, 3, 3), pool, nn.Conv2d(3, 3, 3), pool))
    assert [(r.path, r.receptive_field) for r in table] == [("0", 3), ("1", 4), ("2", 8), ("1", 10)]  # reused: twice
    with pytest.raises(UsageError, match="directly as a function"):
        receptive_field_table(FunctionalPool(nn.Conv2d(3, 3, 3)))
    odd = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(5, 8, 3))  # channels do not chain: registration order
    assert [r.receptive_field for r in receptive_field_table(odd)] == [3, 5]
