"""check_vgg16 / check_make_layers judge behaviour, never raise, and explain themselves (lesson 01)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vgg_teach import answers, models
from vgg_teach.checks import FAIL, PASS, TODO
from vgg_teach.checks.vgg16 import check_make_layers, check_vgg16

D = models.CFGS["D"]


def head(num_classes, dropout=True):
    layers = [nn.Linear(25088, 4096), nn.ReLU(True)] + ([nn.Dropout(0.5)] if dropout else [])
    layers += [nn.Linear(4096, 4096), nn.ReLU(True)] + ([nn.Dropout(0.5)] if dropout else [])
    return nn.Sequential(*layers, nn.Linear(4096, num_classes))


# ---------------------------------------------------------------- valid variations (must pass)
class ViaMakeLayers(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = models.make_layers(D)
        self.avgpool = nn.AdaptiveAvgPool2d(7)
        self.classifier = head(num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class NestedFunctionalNoPoolNoDropout(nn.Module):
    """Nested blocks, F.relu, F.max_pool2d, .view, no AdaptiveAvgPool2d, no Dropout."""

    def __init__(self, num_classes=1000):
        super().__init__()
        chans = [(3, 64, 2), (64, 128, 2), (128, 256, 3), (256, 512, 3), (512, 512, 3)]
        self.blocks = nn.ModuleList(
            nn.ModuleList(nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1) for i in range(n))
            for cin, cout, n in chans)
        self.fc1, self.fc2, self.fc3 = nn.Linear(25088, 4096), nn.Linear(4096, 4096), nn.Linear(4096, num_classes)

    def forward(self, x):
        for block in self.blocks:
            for conv in block:
                x = F.relu(conv(x))
            x = F.max_pool2d(x, 2)
        x = x.view(x.size(0), -1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class DefinedOutOfOrderWithFlatten(nn.Module):
    """Classifier defined before the features, nn.Flatten, x.relu()."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.head = nn.Sequential(nn.Flatten(), *head(num_classes))
        self.convs = nn.ModuleList()
        cin = 3
        for spec in D:
            if spec != "M":
                self.convs.append(nn.Conv2d(cin, spec, kernel_size=3, stride=1, padding="same"))
                cin = spec
        self.pool = nn.MaxPool2d(2, 2)

    def forward(self, x):
        it = iter(self.convs)
        for spec in D:
            x = self.pool(x) if spec == "M" else next(it)(x).relu()
        return self.head(x)


# ---------------------------------------------------------------- wrong models
class Configurable(nn.Module):
    """VGG16 with one defect switched on; every defect keeps 138,357,544 parameters."""

    defect = None

    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = models.make_layers(D)
        d = self.defect
        if d == "missing_relu":
            self.features[22] = nn.Identity()            # conv4_3's ReLU
        elif d == "pool3x3":
            self.features[16] = nn.MaxPool2d(3, 2, padding=1)  # pool3, same output size
        elif d == "avgpool":
            self.features[9] = nn.AvgPool2d(2, 2)          # pool2
        elif d == "stride2_conv":
            # conv5_3 with stride 2 and no last pool; the adaptive pool hides the size change
            self.features[28] = nn.Conv2d(512, 512, 3, stride=2, padding=1)
            self.features[30] = nn.Identity()
        self.avgpool = nn.AdaptiveAvgPool2d(7)
        self.classifier = head(num_classes)

    def forward(self, x):
        x = self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
        if self.defect == "softmax":
            x = torch.softmax(x, dim=1)
        if self.defect == "scaled":
            x = x * 1.5
        return x


def defective(name):
    return type(f"VGG16_{name}", (Configurable,), {"defect": name})


class HardCodedThousand(ViaMakeLayers):
    def __init__(self, num_classes=1000):
        super().__init__(1000)


class StubVGG(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        raise NotImplementedError("fill me")


class Crashes(ViaMakeLayers):
    def forward(self, x):
        return self.classifier(self.features(x))  # forgot to flatten


def _statuses(result):
    return [i.status for i in result.items]


@pytest.mark.parametrize("cls", [answers.MyVGG16, ViaMakeLayers, NestedFunctionalNoPoolNoDropout,
                                 DefinedOutOfOrderWithFlatten])
def test_valid_variations_pass(cls):
    result = check_vgg16(cls)
    assert result.passed, str(result)
    assert bool(result) and result.status == PASS
    assert "138,357,544" in str(result)


def test_missing_dropout_passes_with_a_note():
    result = check_vgg16(NestedFunctionalNoPoolNoDropout)
    assert result.passed
    assert any("dropout 0.5" in i.en for i in result.items if i.status == "info")
    assert not any("dropout" in i.en.lower() for i in check_vgg16(ViaMakeLayers).items if i.status == "info")


@pytest.mark.parametrize("defect,needle", [
    ("missing_relu", "No ReLU after conv4_3 (features[21])"),
    ("pool3x3", "pool3 (features[16]): the max pooling has kernel=(3, 3)"),
    ("avgpool", "Block 2 ends in average pooling"),
    ("stride2_conv", "conv5_3 (features[28]): stride is (2, 2)"),
    ("softmax", "'softmax' (VGG16_softmax.forward) follows the last layer"),
    ("scaled", "forward changes the output of the last layer, fc8 (classifier[6])"),
])
def test_behaviourally_wrong_models_with_the_right_parameter_count_fail(defect, needle):
    cls = defective(defect)
    assert sum(p.numel() for p in cls().parameters()) == 138_357_544  # the count alone can't tell
    result = check_vgg16(cls)
    assert not result and result.status == FAIL
    failures = " | ".join(i.en for i in result.items if i.status == FAIL)
    assert needle in failures, str(result)
    assert all(i.ko for i in result.items)  # bilingual: every line has its Korean half


def test_num_classes_must_be_honoured():
    result = check_vgg16(HardCodedThousand)
    assert not result
    assert any("num_classes=7" in i.en for i in result.items if i.status == FAIL)


def test_stub_is_pending_not_failed_and_exceptions_never_escape():
    pending = check_vgg16(StubVGG)
    assert pending.status == TODO and not pending
    crashed = check_vgg16(Crashes)
    assert crashed.status == FAIL
    assert "forward pass" in str(crashed) and "RuntimeError" in str(crashed)
    assert "fc6 (classifier[0]) receives a 4-D tensor of shape (2, 512, 7, 7): it was not flattened" in str(crashed)
    assert check_vgg16(42).status == FAIL


def test_report_renders_as_html_and_text():
    result = check_vgg16(defective("avgpool"))
    html = result._repr_html_()
    assert "data-status='fail'" in html and "평균 풀링" in html
    assert str(result).startswith("❌ 다시(try again)")


def test_use_picks_the_learners_code_only_when_it_passes(capsys):
    good, bad = check_vgg16(ViaMakeLayers), check_vgg16(StubVGG)
    assert good.use(ViaMakeLayers, answers.MyVGG16) is ViaMakeLayers
    assert bad.use(StubVGG, answers.MyVGG16) is answers.MyVGG16
    out = capsys.readouterr().out
    assert "vgg_teach.answers.MyVGG16" in out and "reference" in out


# ---------------------------------------------------------------- make_layers
def test_make_layers_reference_passes():
    assert check_make_layers(models.make_layers).passed


def _ignores_batch_norm(cfg, batch_norm=False):
    return models.make_layers(cfg, batch_norm=False)


def _always_3x3(cfg, batch_norm=False):
    return models.make_layers([c[0] if isinstance(c, tuple) else c for c in cfg], batch_norm)


def _nested(cfg, batch_norm=False):
    return nn.Sequential(nn.Sequential(*models.make_layers(cfg, batch_norm)))


def _no_bn_argument(cfg):
    return models.make_layers(cfg)


def _stub(cfg, batch_norm=False):
    raise NotImplementedError


@pytest.mark.parametrize("fn,status,needle", [
    (_ignores_batch_norm, FAIL, "configuration A + BN"),
    (_always_3x3, FAIL, "configuration C"),
    (_nested, FAIL, "state_dict keys differ"),
    (_no_bn_argument, FAIL, "does not take a batch_norm argument"),
    (_stub, TODO, "Not written yet"),
])
def test_make_layers_mistakes_are_named(fn, status, needle):
    result = check_make_layers(fn)
    assert result.status == status
    assert needle in str(result), str(result)


class SquashedFeatures(answers.MyVGG16):
    def forward(self, x):
        x = torch.sigmoid(self.features(x))  # an extra op between pool5 and fc6
        return self.classifier(torch.flatten(self.avgpool(x), 1))


def test_an_extra_op_between_features_and_classifier_is_named():
    result = check_vgg16(SquashedFeatures)
    assert result.status == FAIL
    assert "'sigmoid' (SquashedFeatures.forward) sits between the end of the features (pool5) and fc6" in str(result)


@pytest.mark.parametrize("name", ["vgg16.check_make_layers", "head.check_head_swap", "head.check_parameter_count",
                                  "training.check_confusion_matrix", "training.check_train_step",
                                  "training.check_evaluate", "dense.check_fully_convolutional",
                                  "counting.check_conv_params"])
def test_every_check_handed_a_value_instead_of_a_function_says_so(name):
    import importlib

    module, _, check = name.partition(".")
    result = getattr(importlib.import_module(f"vgg_teach.checks.{module}"), check)(42)  # check(fn())
    assert not result.passed and "함수를 넘겨 주세요" in str(result) and "Pass a function" in str(result)
    assert "int" in str(result)
