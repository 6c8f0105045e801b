"""check_vgg16 on VGG16s written the way third-party code and real learners write them (issue 10).

The stand-ins below are our own, written in the style of d2l (lazy modules), of code that shares one
ReLU/pool module, of timm (fc6/fc7 as convolutions), of torchvision's VGG16-BN, of CIFAR repositories
(512·1·1 and 512·4·4 heads), and of the usual slips. Each test asserts the verdict *and* a keyword of
the reason; layers are named ``features[21]`` / ``conv4_3``, never by an ordinal.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from vgg_teach import answers, models
from vgg_teach.checks import FAIL, INFO, TODO
from vgg_teach.checks import trace as build
from vgg_teach.checks.vgg16 import check_vgg16

D = models.CFGS["D"]
ARCH = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))


def _fails(result) -> str:
    return " | ".join(f"{i.en} {i.hint_en}" for i in result.items if i.status == FAIL)


def _head(flat: int = 25088, hidden: int = 4096, num_classes: int = 10) -> nn.Sequential:
    return nn.Sequential(nn.Linear(flat, hidden), nn.ReLU(True), nn.Dropout(),
                         nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(), nn.Linear(hidden, num_classes))


# ------------------------------------------------------------------------------ right, in other styles
class LazyVGG(nn.Module):
    """d2l's style: blocks of nn.LazyConv2d, then nn.LazyLinear — shapes are known only after a forward pass."""

    def __init__(self, num_classes=10):
        super().__init__()
        blocks = []
        for n, c in ARCH:
            blocks += [m for _ in range(n) for m in (nn.LazyConv2d(c, kernel_size=3, padding=1), nn.ReLU())]
            blocks.append(nn.MaxPool2d(kernel_size=2, stride=2))
        self.net = nn.Sequential(*blocks, nn.Flatten(), nn.LazyLinear(4096), nn.ReLU(), nn.Dropout(0.5),
                                 nn.LazyLinear(4096), nn.ReLU(), nn.Dropout(0.5), nn.LazyLinear(num_classes))

    def forward(self, x):
        return self.net(x)


class SharedModules(nn.Module):
    """One nn.ReLU and one nn.MaxPool2d module, called after every conv / at every block's end."""

    def __init__(self, num_classes=10):
        super().__init__()
        chans = [s for s in D if s != "M"]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip([3, *chans], chans))
        self.relu, self.pool, self.drop = nn.ReLU(inplace=True), nn.MaxPool2d(2, 2), nn.Dropout()
        self.fc6, self.fc7, self.fc8 = nn.Linear(25088, 4096), nn.Linear(4096, 4096), nn.Linear(4096, num_classes)

    def features(self, x):
        convs = iter(self.convs)
        for spec in D:
            x = self.pool(x) if spec == "M" else self.relu(next(convs)(x))
        return x

    def forward(self, x):
        x = torch.flatten(self.features(x), 1)
        x = self.drop(self.relu(self.fc6(x)))
        return self.fc8(self.drop(self.relu(self.fc7(x))))


class ConvMlp(nn.Module):
    """timm's pre-logits: fc6 as a 7×7 conv over the 512×7×7 features, fc7 as a 1×1 conv."""

    def __init__(self):
        super().__init__()
        self.fc1, self.act1, self.drop = nn.Conv2d(512, 4096, kernel_size=7), nn.ReLU(True), nn.Dropout()
        self.fc2, self.act2 = nn.Conv2d(4096, 4096, kernel_size=1), nn.ReLU(True)

    def forward(self, x):
        return self.act2(self.fc2(self.drop(self.act1(self.fc1(x)))))


class TimmStyle(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = models.make_layers(D)
        self.pre_logits = ConvMlp()
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4096, num_classes))

    def forward(self, x):
        return self.head(self.pre_logits(self.features(x)))


class DenseEvaluation(TimmStyle):
    """The paper's test-time form: fc8 a 1×1 conv too, class scores averaged over the positions."""

    def __init__(self, num_classes=10):
        super().__init__(num_classes)
        self.head = nn.Conv2d(4096, num_classes, kernel_size=1)

    def forward(self, x):
        return self.head(self.pre_logits(self.features(x))).mean(dim=(2, 3))


def test_a_lazy_module_vgg16_passes_and_is_counted_after_its_shapes_are_known():
    result = check_vgg16(LazyVGG)
    assert result.passed, str(result)
    assert "138,357,544 parameters" in str(result) and "computes exactly what VGG16 computes" in str(result)


def test_shared_relu_and_pool_modules_pass():
    result = check_vgg16(SharedModules)
    assert result.passed, str(result)
    assert "Spatial path: 224 → 112 → 56 → 28 → 14 → 7" in str(result)


def test_fc_layers_written_as_convolutions_pass_with_a_note_naming_the_equivalence():
    """Decided: fc6/fc7 as convs compute Linear(25088, 4096)/Linear(4096, 4096) at 224×224 → pass, with a note."""
    for cls in (TimmStyle, DenseEvaluation):
        result = check_vgg16(cls)
        assert result.passed, str(result)
        notes = [i.en for i in result.items if i.status == INFO]
        assert any("written as convolutions" in n and "Linear(25088, 4096)" in n and "lesson 06" in n
                   for n in notes), notes
        assert "Classifier: 25088 → 4096 → 4096 → 10" in str(result)


def test_a_model_factory_function_such_as_torchvisions_vgg16_is_accepted():
    assert check_vgg16(torchvision.models.vgg16).passed


def test_a_class_is_built_once_on_meta_and_filled_deterministically(monkeypatch):
    def no_real_build(*_args, **_kwargs):
        raise AssertionError("the check built a 138M-parameter model for real")

    monkeypatch.setattr(build, "_real", no_real_build)
    assert check_vgg16(answers.MyVGG16).passed
    a, b = build.build_for_check(answers.MyVGG16, 10), build.build_for_check(answers.MyVGG16, 10)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert a.classifier[0].weight.std() < 0.02  # He-scaled: √(6/25088)/√3 ≈ 0.009


# ------------------------------------------------------------------------------ variants, named first and once
class VGG16BN(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = models.make_layers(D, batch_norm=True)
        self.avgpool = nn.AdaptiveAvgPool2d(7)
        self.classifier = _head(num_classes=num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class BatchNormAfterReLU(VGG16BN):
    def __init__(self, num_classes=10):
        super().__init__(num_classes)
        layers, c = [], 3
        for spec in D:
            if spec == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c, spec, 3, padding=1), nn.ReLU(True), nn.BatchNorm2d(spec)]
                c = spec
        self.features = nn.Sequential(*layers)


def cifar_head(flat: int, hidden: int, name: str) -> type:
    def __init__(self, num_classes=10):
        VGG16BN.__init__(self, num_classes)
        self.features = models.make_layers(D)
        self.classifier = _head(flat, hidden, num_classes)

    return type(name, (VGG16BN,), {"__init__": __init__})


class Grayscale(VGG16BN):
    def __init__(self, num_classes=10):
        super().__init__(num_classes)
        self.features = models.make_layers(D, in_channels=1)


def test_vgg16_bn_is_named_once_first_and_the_rest_is_judged_without_batch_norm():
    for candidate in (VGG16BN, BatchNormAfterReLU, torchvision.models.vgg16_bn):
        result = check_vgg16(candidate)
        assert result.status == FAIL
        first = result.items[0]
        assert first.status == FAIL and "This is VGG16-BN" in first.en and "without batch norm" in first.en
        assert "features[" in first.en  # where the first one is
        assert sum("VGG16-BN" in i.en for i in result.items) == 1
        assert "batch_norm" not in _fails(result)  # no "No ReLU after conv1_1 (found 'batch_norm')"
        assert "A ReLU follows every conv." in str(result)
        assert "138,357,544" in str(result)  # the count, batch norm's 8,448 aside


def test_a_cifar_head_is_named_with_the_arithmetic_and_the_structure_found_before_the_crash():
    for flat, hidden, arithmetic in ((512, 512, "512·1·1 = 512"), (8192, 4096, "512·4·4 = 8,192")):
        result = check_vgg16(cifar_head(flat, hidden, f"Cifar{flat}"))
        assert result.status == FAIL
        first = result.items[0]
        assert "This is the 32×32 CIFAR head" in first.en and arithmetic in first.en, str(result)
        assert "fc6 needs 512·7·7 = 25,088 inputs" in first.en
        assert "13 convs: all 3×3" in str(result)  # the structure seen before fc6 failed
        assert "stops at classifier[0]" in _fails(result)
        assert "mat1 and mat2" in _fails(result)  # torch's words, kept, after ours


def test_fc6_built_for_8x8_features_hears_the_arithmetic():
    result = check_vgg16(cifar_head(512 * 8 * 8, 4096, "EightByEight"))
    assert result.status == FAIL
    text = _fails(result)
    assert "fc6 (classifier[0]) is built for 512·8·8 = 32,768 inputs" in text
    assert "the features give 512·7·7 = 25,088" in text and "fc6 needs 512·7·7 = 25,088 inputs" in text
    assert "CIFAR" not in str(result)


def test_a_grayscale_first_layer_is_named_and_the_rest_is_still_checked():
    result = check_vgg16(Grayscale)
    assert result.status == FAIL
    assert "conv1_1 (features[0]) is built for 1 input channel (grayscale" in result.items[0].en
    assert "13 convs: all 3×3" in str(result) and "Classifier: 25088 → 4096 → 4096 → 10" in str(result)


# ------------------------------------------------------------------------------ slips that give a specific reason
class FunctionalDropout(SharedModules):
    """F.dropout(x, 0.5) without training=self.training: still dropping in eval()."""

    def forward(self, x):
        x = torch.flatten(self.features(x), 1)
        x = F.dropout(F.relu(self.fc6(x)), 0.5)
        return self.fc8(F.dropout(F.relu(self.fc7(x)), 0.5))


class Pool3(SharedModules):
    def __init__(self, num_classes=10):
        super().__init__(num_classes)
        self.pool = nn.MaxPool2d(3)


class ModuleListFeatures(VGG16BN):
    def __init__(self, num_classes=10):
        super().__init__(num_classes)
        self.features = nn.ModuleList(models.make_layers(D))


class UnusedLayer(answers.MyVGG16):
    def __init__(self, num_classes=10):
        super().__init__(num_classes)
        self.fc_extra = nn.Linear(4096, 4096)  # defined, never called


def test_dropout_left_on_in_eval_is_named_and_the_verdict_is_deterministic():
    state = torch.get_rng_state()
    first, second = check_vgg16(FunctionalDropout), check_vgg16(FunctionalDropout)
    assert torch.equal(state, torch.get_rng_state())  # the learner's random state is left alone
    assert first.status == FAIL and str(first) == str(second)
    text = _fails(first)
    assert "dropout after fc6" in text and "still drops values in eval()" in text
    assert "training=self.training" in text


def test_maxpool2d_3_says_that_kernel_3_also_means_stride_3():
    result = check_vgg16(Pool3)
    assert result.status == FAIL
    text = _fails(result)
    assert "224 → 74 → 24 → 8 → 2" in text and "MaxPool2d(3) means kernel 3 and stride 3" in text
    assert "pool5" in text and "Output size is too small" in text


def test_calling_a_module_list_is_an_error_in_the_learners_code_not_a_stub():
    result = check_vgg16(ModuleListFeatures)
    assert result.status == FAIL, str(result)  # ❌, not ⏳
    assert "ModuleList" in _fails(result) and "nn.Sequential(*layers)" in _fails(result)


def test_a_parameter_that_forward_never_uses_is_named():
    result = check_vgg16(UnusedLayer)
    assert result.status == FAIL
    assert "forward never uses 16,781,312 of them: fc_extra.weight, fc_extra.bias" in _fails(result)


def test_the_input_goes_to_the_device_the_model_is_on(monkeypatch):
    """A model already on a GPU gets its input there: the device is read from the model (a fake here: no GPU)."""
    from vgg_teach import counting as layers

    seen: dict[str, object] = {}
    model = answers.MyVGG16(num_classes=10)

    def fake_device(m):
        seen["asked"] = m
        return torch.device("cpu")

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, x):
            seen["input"] = x.device
            return self.inner(x)

    monkeypatch.setattr(layers, "model_device", fake_device)
    spy = Spy()
    result = check_vgg16(spy)
    assert seen["asked"] is spy and seen["input"] == torch.device("cpu")
    assert result.passed, str(result)


def test_a_model_on_the_meta_device_is_refused_with_a_reason():
    with torch.device("meta"):
        model = answers.MyVGG16(num_classes=10)
    result = check_vgg16(model)
    assert result.status == FAIL and "meta device" in _fails(result)


def test_results_do_not_use_ordinals_for_layers():
    for cls in (Pool3, Grayscale):
        text = str(check_vgg16(cls))
        assert "번째 계층" not in text and "번째 합성곱" not in text


def test_stub_and_torch_not_implemented_are_told_apart():
    class Stub(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            raise NotImplementedError("연습 문제를 채워 주세요 / Fill in this exercise")

    pending = check_vgg16(Stub)
    assert pending.status == TODO
    assert "run that cell, then run this one again" in str(pending)
    assert "Python still has the old stub" in str(pending)


class PlainTensorAttribute(answers.MyVGG16):
    """A tensor kept as a plain attribute: on "meta" it stays meta, so the check builds this class for real."""

    def __init__(self, num_classes=10):
        super().__init__(num_classes)
        self.one = torch.ones(())

    def forward(self, x):
        return super().forward(x * self.one)


def test_a_class_that_cannot_be_materialised_from_meta_is_built_for_real_and_passes():
    result = check_vgg16(PlainTensorAttribute)
    assert result.passed, str(result)
