"""Lesson 02's counting module: formulas against numel, the layer table against real models, the A–E
table against torchvision, compute against FlopCounterMode, why 3×3, the CIFAR variant, torchsummary."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from vgg_teach.answers import conv_params, linear_params
from vgg_teach.counting import (
    batchnorm_params,
    cifar_comparison,
    config_table,
    count_flops,
    layer_table,
    params_vs_compute,
    stacked_vs_single,
    why_3x3_table,
)
from vgg_teach.models import vgg, vgg16, vgg_cifar
from vgg_teach.plots import plot_params_vs_compute
from vgg_teach.show import Table, _text_width

TORCHVISION = {  # torchvision's own counts (also checked against its models below)
    "vgg11": 132_863_336, "vgg13": 133_047_848, "vgg16": 138_357_544, "vgg19": 143_667_240,
    "vgg11_bn": 132_868_840, "vgg13_bn": 133_053_736, "vgg16_bn": 138_365_992, "vgg19_bn": 143_678_248,
}


def numel(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def real_vgg16() -> nn.Module:
    torch.manual_seed(0)
    return vgg16()


@pytest.mark.parametrize("c_in,c_out,k,bias,groups", [(3, 64, 3, True, 1), (64, 128, 3, False, 1),
                                                      (256, 256, 1, True, 1), (8, 16, (3, 5), True, 2)])
def test_conv_formula_equals_numel(c_in, c_out, k, bias, groups):
    conv = nn.Conv2d(c_in, c_out, k, bias=bias, groups=groups)
    assert conv_params(c_in, c_out, k, bias, groups) == numel(conv)


def test_linear_and_batchnorm_formulas_equal_numel():
    assert linear_params(25088, 4096) == numel(nn.Linear(25088, 4096)) == 102_764_544
    assert linear_params(10, 3, bias=False) == numel(nn.Linear(10, 3, bias=False)) == 30
    bn = nn.BatchNorm2d(64)
    assert batchnorm_params(64) == numel(bn) == 128
    assert batchnorm_params(64, affine=False) == numel(nn.BatchNorm2d(64, affine=False)) == 0
    assert sum(b.numel() for b in bn.buffers()) == 129  # running mean, var and a counter: not parameters


def test_layer_table_of_a_real_vgg16(real_vgg16):
    table = layer_table(real_vgg16)
    by_path = dict(real_vgg16.named_modules())
    for row in table:
        assert row.params == numel(by_path[row.path])
    assert table.total_params == table[-1].cumulative == numel(real_vgg16) == 138_357_544
    rows = {r.name: r for r in table}
    assert rows["conv1_2"].formula == "(3·3·64 + 1)·64" and rows["conv1_2"].params == 36_928
    assert rows["fc6"].formula == "(25088 + 1)·4096" and rows["fc6"].output_shape == (4096,)
    assert rows["pool5"].output_shape == (512, 7, 7) and rows["relu1_1"].activations == 0
    assert table.flops_counted == 2 * table.total_macs == 30_940_528_640
    text = str(table)
    assert "합계 / Total" in text and "138,357,544" in text and "<table>" in table._repr_html_()


def test_layer_table_shapes_match_a_real_forward(real_vgg16):
    shapes = {}

    def record(path):
        def hook(_m, _i, out):
            shapes.setdefault(path, tuple(out.shape[1:]))
        return hook

    hooks = [m.register_forward_hook(record(p))
             for p, m in real_vgg16.named_modules() if next(m.children(), None) is None]
    try:
        with torch.no_grad():
            real_vgg16.eval()(torch.zeros(1, 3, 64, 64))
    finally:
        for h in hooks:
            h.remove()
    table = layer_table(real_vgg16, 64)
    assert {r.path: r.output_shape for r in table} == shapes
    assert len(layer_table(real_vgg16, 64, compact=True)) == len(table) - 15 - 2  # ReLUs and Dropouts
    # The convolutions' multiply-adds grow with the input area (×(224/64)² = ×12.25); fc's do not.
    full = layer_table(real_vgg16, 224)
    for kind, ratio in (("Conv2d", 12.25), ("Linear", 1.0)):
        small, big = (sum(r.macs for r in t if r.type == kind) for t in (table, full))
        assert big == small * ratio


def test_config_table_matches_torchvision():
    table = config_table()
    assert len(table) == 10 and [r.config for r in table] == list("ABCDE") * 2
    with torch.device("meta"):
        for row in table:
            if row.name.startswith("vgg16_1x1"):
                assert row.params == numel(vgg("C", row.batch_norm))
                continue
            assert row.params == TORCHVISION[row.name] == numel(getattr(torchvision.models, row.name)())
    rows = {r.name: r for r in table}
    assert rows["vgg16_1x1"].params == 133_638_952
    assert [rows[n].weight_layers for n in ("vgg11", "vgg13", "vgg16_1x1", "vgg16", "vgg19")] == [11, 13, 16, 16, 19]
    d = rows["vgg16"]
    assert d.fc1_params == 102_764_544 and abs(d.fc1_share - 0.7427) < 1e-3
    assert d.conv_params + d.fc_params == d.params and rows["vgg16_bn"].bn_params == 2 * 4224
    assert d.macs == 15_470_264_320 and all(r.flops == 2 * r.macs for r in table)
    # Activation memory, by hand: conv outputs, pool outputs, avgpool output and the three FC outputs.
    conv = 224**2 * 64 * 2 + 112**2 * 128 * 2 + 56**2 * 256 * 3 + 28**2 * 512 * 3 + 14**2 * 512 * 3
    pools = 112**2 * 64 + 56**2 * 128 + 28**2 * 256 + 14**2 * 512 + 7**2 * 512
    assert d.activations == conv + pools + 7**2 * 512 + 4096 + 4096 + 1000
    assert d.activation_bytes == 4 * d.activations
    assert rows["vgg16_bn"].activations == d.activations + conv  # each BN makes one more tensor
    assert "vgg16_1x1" in str(table) and "FLOPs" in table._repr_html_()


def test_flop_counter_runs_on_meta_and_agrees_with_a_real_forward():
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        meta = vgg("A")
    real = vgg("A")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        real.eval()(torch.zeros(1, 3, 32, 32))
    assert count_flops(meta, 32) == counter.get_total_flops() == 2 * layer_table(real, 32).total_macs


def test_parameters_and_compute_live_in_different_places():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = params_vs_compute("D")
    assert [r.name for r in rows][-3:] == ["fc6", "fc7", "fc8"] and len(rows) == 16
    fc = [r for r in rows if r.name.startswith("fc")]
    conv = [r for r in rows if r.name.startswith("conv")]
    assert sum(r.params_share for r in fc) > 0.89 and sum(r.macs_share for r in fc) < 0.01
    assert sum(r.macs_share for r in conv) > 0.99
    assert abs(sum(r.params_share for r in rows) - 1) < 1e-9
    ax = plot_params_vs_compute(rows).axes[0]
    assert len(ax.patches) == 32 and ax.get_xticklabels()[-3].get_text() == "fc6"
    plt.close("all")


@pytest.mark.parametrize("n,single,coefficients", [(2, 5, (18, 25)), (3, 7, (27, 49))])
def test_why_3x3_against_real_convs(n, single, coefficients):
    c = 64
    s = stacked_vs_single(n, 3, c)
    stack = nn.Sequential(*[nn.Conv2d(c, c, 3, bias=False) for _ in range(n)])
    assert s.receptive_field == single
    assert s.stacked_params == numel(stack) and s.single_params == numel(nn.Conv2d(c, c, single, bias=False))
    assert (s.stacked_coefficient, s.single_coefficient) == coefficients
    assert s.stacked_params == coefficients[0] * c * c
    assert abs(s.saving - (1 - coefficients[0] / coefficients[1])) < 1e-12
    assert f"{coefficients[0]}C²" in str(s) and f"{coefficients[1]}C²" in str(s)
    assert "18C²" in str(why_3x3_table()) and "49C²" in str(why_3x3_table())
    with pytest.raises(ValueError, match="at least 1"):
        stacked_vs_single(0)


def test_cifar_comparison():
    table = cifar_comparison()
    rows = {r.part.split(" /")[0]: r for r in table}
    assert rows["합성곱 부분"].imagenet_params == rows["합성곱 부분"].cifar_params
    assert rows["합성곱 부분"].cifar == "→ 512×1×1" and rows["합성곱 부분"].imagenet == "→ 512×7×7"
    assert rows["fc6"].imagenet == "(25088 + 1)·4096" and rows["fc6"].cifar == "(512 + 1)·512"
    assert rows["fc8"].cifar_params == 513 * 10
    with torch.device("meta"):
        assert rows["합계"].cifar_params == numel(vgg_cifar()) == 15_253_578
        assert rows["합계"].imagenet_params == numel(torchvision.models.vgg16_bn())


def test_table_text_aligns_hangul():
    header, _, first = str(why_3x3_table()).splitlines()[1:4]
    # Columns line up in a monospace font where a Hangul syllable takes two cells.
    starts = [_text_width(line[: line.index(token)]) for line, token in ((header, "수용"), (first, "5×5"))]
    assert starts[0] == starts[1] > 0
    html = Table([1], [("<a> / <b>", str, True)], message="").mime_bundle()["text/html"]
    assert "&lt;a&gt;" in html and "<td" in html
