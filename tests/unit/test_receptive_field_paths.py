"""Receptive fields are computed along the path the forward pass really takes — or refused (issue 10).

ResNet-50 passed whole used to give 1963 (jump 256), its shortcut convs walked as if in series; now a
network that is not a single path is refused with a message saying why. The walk follows the forward
order, so a pooling module reused five times counts five times; AlexNet's layers get AlexNet's names.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from vgg_teach.counting import layer_names, leaf_layers
from vgg_teach.errors import UsageError
from vgg_teach.models import CFGS
from vgg_teach.receptive_field import VGG16_RECEPTIVE_FIELDS, forward_path, receptive_field_table


def _meta(factory):
    with torch.device("meta"):
        return factory(weights=None)


def test_resnet50_is_refused_with_a_clear_message_not_walked_in_series():
    with pytest.raises(UsageError) as info:
        receptive_field_table(_meta(torchvision.models.resnet50))
    message = str(info.value)
    assert "not a single chain of layers" in message and "ResNet's shortcut" in message
    assert "layer1.0" in message  # where the two branches meet
    assert "한 줄로 이어진 모델이 아니어서" in message


def test_a_single_path_part_of_resnet_is_still_computed():
    net = _meta(torchvision.models.resnet50)
    stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
    assert [(r.layer, r.receptive_field, r.jump) for r in receptive_field_table(stem)] == [
        ("conv1", 7, 2), ("pool1", 11, 4)]


def test_alexnet_layers_have_alexnets_names():
    table = receptive_field_table(_meta(torchvision.models.alexnet).features)
    assert [r.layer for r in table] == ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5"]
    assert [r.receptive_field for r in table] == [11, 19, 51, 67, 99, 131, 163, 195]
    leaves = leaf_layers(_meta(torchvision.models.alexnet))
    names = layer_names(leaves)
    assert names[names.index("pool5") + 1:].count("fc6") == 1 and "fc8" in names  # fc numbering goes on


class SharedPool(nn.Module):
    """VGG16's features with one nn.MaxPool2d called five times (registered once)."""

    def __init__(self):
        super().__init__()
        chans = [s for s in CFGS["D"] if s != "M"]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip([3, *chans], chans))
        self.relu, self.pool = nn.ReLU(), nn.MaxPool2d(2, 2)

    def forward(self, x):
        convs = iter(self.convs)
        for spec in CFGS["D"]:
            x = self.pool(x) if spec == "M" else self.relu(next(convs)(x))
        return x


class FunctionalPool(SharedPool):
    def forward(self, x):
        convs = iter(self.convs)
        for spec in CFGS["D"]:
            x = F.max_pool2d(x, 2) if spec == "M" else self.relu(next(convs)(x))
        return x


def test_a_reused_pooling_module_counts_every_time_it_runs():
    with torch.device("meta"):
        model = SharedPool()
    table = receptive_field_table(model)
    assert tuple(r.receptive_field for r in table) == VGG16_RECEPTIVE_FIELDS
    assert [r.path for r in table if r.type == "MaxPool2d"] == ["pool"] * 5


def test_a_pooling_called_as_a_function_is_refused():
    with torch.device("meta"):
        model = FunctionalPool()
    with pytest.raises(UsageError, match="directly as a function"):
        receptive_field_table(model)


def test_a_module_that_cannot_run_falls_back_on_registration_order():
    odd = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(5, 8, 3))  # channels do not chain: cannot run
    assert forward_path(odd) is None
    assert [r.receptive_field for r in receptive_field_table(odd)] == [3, 5]
