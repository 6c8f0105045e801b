"""Lesson 02's counting: the numbers equal numel, torchvision's counts, FlopCounterMode and a real forward pass."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from vgg_teach.counting import (
    cifar_comparison,
    config_table,
    count_flops,
    layer_table,
    params_vs_compute,
    stacked_vs_single,
    why_3x3_table,
)
from vgg_teach.models import vgg, vgg16, vgg_cifar
from vgg_teach.show import Table


def numel(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_layer_table_of_a_real_vgg16_matches_numel_a_forward_pass_and_flop_counter():
    torch.manual_seed(0)
    model = vgg16().eval()
    table = layer_table(model)
    modules = dict(model.named_modules())
    assert all(row.params == numel(modules[row.path]) for row in table)
    assert table.total_params == table[-1].cumulative == numel(model) == 138_357_544
    rows = {r.name: r for r in table}
    assert rows["conv1_2"].formula == "(3·3·64 + 1)·64" and rows["conv1_2"].params == 36_928
    assert rows["fc6"].formula == "(25088 + 1)·4096" and rows["fc6"].output_shape == (4096,)
    assert rows["pool5"].output_shape == (512, 7, 7) and rows["relu1_1"].activations == 0  # in place
    assert table.flops_counted == 2 * table.total_macs == 30_940_528_640
    assert "합계 / Total" in str(table) and "138,357,544" in str(table) and "<table>" in table._repr_html_()

    shapes = {}
    hooks = [m.register_forward_hook(lambda _m, _i, out, p=p: shapes.update({p: tuple(out.shape[1:])}))
             for p, m in model.named_modules() if not list(m.children())]  # each leaf runs once
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, 64, 64))
    for h in hooks:
        h.remove()
    small = layer_table(model, 64)
    assert {r.path: r.output_shape for r in small} == shapes
    assert count_flops(model, 64) == counter.get_total_flops() == small.flops_counted
    assert len(layer_table(model, 64, compact=True)) == len(small) - 15 - 2  # no ReLU, no Dropout rows
    for kind, ratio in (("Conv2d", (224 / 64) ** 2), ("Linear", 1.0)):  # conv compute grows with the area, fc's not
        assert sum(r.macs for r in table if r.type == kind) == ratio * sum(r.macs for r in small if r.type == kind)


def test_layer_table_counts_any_layer_and_the_learners_formulas_count_the_vgg_like_ones():
    model = nn.Sequential(nn.Conv2d(3, 6, (3, 5), groups=3), nn.BatchNorm2d(6), nn.Conv2d(6, 4, 3, bias=False),
                          nn.Conv2d(4, 4, 1), nn.Flatten(), nn.Linear(64, 5, bias=False), nn.Linear(5, 2)).eval()
    table = layer_table(model, (8, 10))
    assert [r.params for r in table] == [numel(m) for m in model]
    assert [r.formula for r in table][:4] == ["(3·5·1 + 1)·6", "2·6", "3·3·6·4", "(1·1·4 + 1)·4"]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, 8, 10))
    assert table.flops_counted == counter.get_total_flops() == 2 * table.total_macs
    # The learner's formulas (lesson 02's exercise) count the layers with a bias, a square kernel and groups=1.
    mine = layer_table(model, (8, 10), conv_formula=lambda c_in, c_out, k: 1000, linear_formula=lambda i, o: 100)
    assert [r.params for r in mine] == [*(numel(m) for m in model[:3]), 1000, 0, numel(model[5]), 100]


def test_config_table_matches_torchvision():
    table = config_table()
    assert [r.config for r in table] == list("ABCDE") * 2
    with torch.device("meta"):
        for row in table:
            model = vgg("C", row.batch_norm) if row.config == "C" else getattr(torchvision.models, row.name)()
            assert row.params == numel(model)
    rows = {r.name: r for r in table}
    assert (rows["vgg16"].params, rows["vgg16_bn"].params, rows["vgg16_1x1"].params) == (138_357_544, 138_365_992,
                                                                                         133_638_952)
    assert [rows[n].weight_layers for n in ("vgg11", "vgg13", "vgg16_1x1", "vgg16", "vgg19")] == [11, 13, 16, 16, 19]
    d = rows["vgg16"]
    assert d.fc1_params == 102_764_544 and d.fc1_share == pytest.approx(0.7427, abs=1e-3)
    assert d.macs == 15_470_264_320 and all(r.flops == 2 * r.macs for r in table)
    # Activation memory, by hand: conv outputs, pool outputs, avgpool output and the three FC outputs, 4 bytes each.
    conv = 224**2 * 64 * 2 + 112**2 * 128 * 2 + 56**2 * 256 * 3 + 28**2 * 512 * 3 + 14**2 * 512 * 3
    pools = 112**2 * 64 + 56**2 * 128 + 28**2 * 256 + 14**2 * 512 + 7**2 * 512
    assert d.activation_bytes == 4 * (conv + pools + 7**2 * 512 + 4096 + 4096 + 1000)
    assert rows["vgg16_bn"].activation_bytes == d.activation_bytes + 4 * conv  # each BN makes one more tensor
    assert "vgg16_1x1" in str(table) and "FLOPs" in table._repr_html_()


def test_parameters_sit_in_the_fc_layers_and_compute_in_the_convolutions():
    rows = params_vs_compute("D")
    assert [r.name for r in rows][-3:] == ["fc6", "fc7", "fc8"] and len(rows) == 16
    assert sum(r.params_share for r in rows[-3:]) > 0.89 and sum(r.macs_share for r in rows[-3:]) < 0.01
    assert sum(r.params_share for r in rows) == pytest.approx(1)


@pytest.mark.parametrize("n,single,coefficients", [(2, 5, (18, 25)), (3, 7, (27, 49))])
def test_why_3x3_against_real_convolutions(n, single, coefficients):
    s = stacked_vs_single(n, 3, 64)
    assert s.receptive_field == single and (s.stacked_coefficient, s.single_coefficient) == coefficients
    assert s.stacked_params == numel(nn.Sequential(*[nn.Conv2d(64, 64, 3, bias=False) for _ in range(n)]))
    assert s.single_params == numel(nn.Conv2d(64, 64, single, bias=False))
    assert s.saving == pytest.approx(1 - coefficients[0] / coefficients[1])
    assert f"{coefficients[0]}C²" in str(s) and f"{coefficients[1]}C²" in str(why_3x3_table())
    with pytest.raises(ValueError, match="at least 1"):
        stacked_vs_single(0)


def test_cifar_comparison():
    rows = {r.part.split(" /")[0]: r for r in cifar_comparison()}
    features = rows["합성곱 부분"]
    assert features.imagenet_params == features.cifar_params
    assert (features.imagenet, features.cifar) == ("→ 512×7×7", "→ 512×1×1")
    assert rows["fc6"].imagenet == "(25088 + 1)·4096" and rows["fc6"].cifar == "(512 + 1)·512"
    with torch.device("meta"):
        assert rows["합계"].cifar_params == numel(vgg_cifar()) == 15_253_578
        assert rows["합계"].imagenet_params == numel(torchvision.models.vgg16_bn())


def test_table_aligns_hangul_and_escapes_html():
    table = Table([1, 22], [("<a> / 수", str, True)], title="T", footer=["333"], notes=["n"])
    # A Hangul syllable takes two columns of a monospace font: the 7-character header is 8 columns wide.
    assert str(table).splitlines() == ["T", "<a> / 수", "--------", "       1", "      22", "--------", "     333", "n"]
    html, text = table.mime_bundle().values()
    assert "&lt;a&gt;" in html and "<tfoot>" in html and text == str(table)
    bad = Table(message="고치세요 / fix it", notes=["n"])
    assert str(bad) == "고치세요 / fix it\nn" and "color:#cf222e" in bad._repr_html_()
