"""check_make_layers judges the builder by behaviour (the ops its layers compute, the state_dict keys), not by repr.

Right builders written differently pass (``padding="same"``, one shared ReLU module, ``F``-free code of
any shape); each slip found in real learners' and tutorials' code fails with a reason that names it
and the layer, as ``features[14]`` (conv3_3) — never "the 3rd layer".
"""

from __future__ import annotations

import pytest
from torch import nn

from vgg_teach import models
from vgg_teach.checks import FAIL, PASS
from vgg_teach.checks.vgg16 import check_make_layers


def _builder(*, padding=None, order="conv-bn-relu", tuples="channels-kernel", pool=lambda: nn.MaxPool2d(2, 2),
             shared_relu=False, wrap=nn.Sequential):
    """A make_layers written one way; the defaults build exactly the reference."""

    def make_layers(cfg, batch_norm=False):
        layers, c = [], 3
        relu = nn.ReLU(inplace=True)
        for spec in cfg:
            if spec == "M":
                layers.append(pool())
                continue
            if isinstance(spec, tuple):
                if tuples == "pool":
                    layers.append(pool())
                    continue
                if tuples == "drop":
                    continue
                out, k = spec if tuples == "channels-kernel" else spec[::-1]
            else:
                out, k = spec, 3
            conv = nn.Conv2d(c, out, kernel_size=k, padding=k // 2 if padding is None else padding)
            act = relu if shared_relu else nn.ReLU(inplace=True)
            bn = [nn.BatchNorm2d(out)] if batch_norm else []
            layers += [conv, *bn, act] if order == "conv-bn-relu" else [conv, act, *bn]
            c = out
        return wrap(*layers) if wrap is nn.Sequential else wrap(layers)

    return make_layers


@pytest.mark.parametrize("fn", [_builder(), _builder(padding="same"), _builder(shared_relu=True)],
                         ids=["plain", "padding-same", "shared-relu"])
def test_right_builders_written_differently_pass(fn):
    result = check_make_layers(fn)
    assert result.status == PASS, str(result)
    assert "same state_dict keys" in str(result)


def _kernel_channels_crash(cfg, batch_norm=False):
    layers, c = [], 3
    for spec in cfg:  # a tuple reaches nn.Conv2d as out_channels: a raw TypeError inside torch
        if spec == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, spec, 3, padding=1), nn.ReLU(True)]
            c = spec
    return nn.Sequential(*layers)


@pytest.mark.parametrize("fn, where, reason", [
    (_builder(order="conv-relu-bn"), "configuration A + BN: features[1] (where bn1_1 goes) is ReLU",
     "Batch norm comes after the ReLU"),
    (_builder(tuples="drop"), "configuration C: features[14] (where conv3_3 goes)",
     "Configuration C's 1×1 convs (tuples like (256, 1)) are missing"),
    (_builder(tuples="kernel-channels"),
     "features[14] (where conv3_3 goes) is Conv2d(256, 1, kernel_size=256",
     "read as (kernel, channels): the course's tuples are (channels, kernel)"),
    (_builder(tuples="pool"), "configuration C: features[14] (where conv3_3 goes) is MaxPool2d",
     "The tuple (256, 1) became a pooling layer"),
    (_kernel_channels_crash, "Building configuration C failed", "Configuration C has tuples like (256, 1)"),
    (_builder(pool=lambda: nn.MaxPool2d(3)), "features[2] (where pool1 goes) is MaxPool2d(kernel_size=3, stride=3",
     "MaxPool2d(3) means kernel 3 and stride 3"),
    (_builder(padding=0), "configuration A: features[0] (where conv1_1 goes) is Conv2d(3, 64, kernel_size=3, "
     "stride=1, padding=0)", "to keep the size it must be kernel // 2"),
    (_builder(wrap=nn.ModuleList), "returns an nn.ModuleList", "cannot be called"),
    (_builder(wrap=list), "returns a list, not an nn.Module", "nn.Sequential(*layers)"),
], ids=["bn-after-relu", "1x1-dropped", "kernel-channels", "tuple-as-pool", "tuple-crash", "maxpool3",
        "padding0", "modulelist", "list"])
def test_each_slip_is_named_with_its_layer(fn, where, reason):
    result = check_make_layers(fn)
    assert result.status == FAIL, str(result)
    failure = result.failures[0]
    assert where in failure.en, failure.text()
    assert reason in failure.en + failure.hint_en, failure.text()
    assert "번째" not in failure.ko and "layer 3 " not in failure.en  # named features[N], not by ordinal
    assert failure.ko and failure.hint_ko


def test_a_module_list_builder_would_fail_at_call_time():
    """Why nn.ModuleList is refused: calling it is an error, whatever its layers."""
    features = nn.ModuleList(models.make_layers("A"))
    with pytest.raises(NotImplementedError, match="forward"):
        features(None)
