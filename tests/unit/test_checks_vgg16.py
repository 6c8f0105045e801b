"""Lesson 01's checks judge behaviour: VGG16s in any correct style pass, every wrong one hears its bug by name.

The stand-ins are our own, written in the styles of torchvision (indices), d2l (lazy modules), timm (fc6/fc7 as
convolutions), functional forwards and nested blocks, and with the usual slips. Each check runs the real 224×224
forward pass a learner's model gets, so every model here is checked once.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from vgg_teach import answers, models
from vgg_teach.checks import FAIL, FAILED_MARK, PASS, TODO
from vgg_teach.checks import trace as build
from vgg_teach.checks.trace import record_ops
from vgg_teach.checks.vgg16 import check_make_layers, check_vgg16

D = models.CFGS["D"]
CHANNELS = [s for s in D if s != "M"]


def head(num_classes=10, flat=25088, hidden=4096):
    return nn.Sequential(nn.Linear(flat, hidden), nn.ReLU(True), nn.Dropout(), nn.Linear(hidden, hidden),
                         nn.ReLU(True), nn.Dropout(), nn.Linear(hidden, num_classes))


class ClampAtZero(nn.Module):
    def forward(self, x):
        return x.clamp(min=0)


class Plain(nn.Module):
    """torchvision's layout; ``defect`` switches one slip on."""

    defect, flat, hidden = None, 25088, 4096

    def __init__(self, num_classes=10):
        super().__init__()
        d = self.defect
        self.features = models.make_layers(D, in_channels=1 if d == "grayscale" else 3, batch_norm=d == "bn_relu")
        self.avgpool = nn.AdaptiveAvgPool2d(7)
        self.classifier = head(1000 if d == "thousand" else num_classes, self.flat, self.hidden)
        if d == "missing_relu":
            self.features[22] = nn.Identity()  # conv4_3's ReLU
        elif d == "pool3x3":
            self.features[16] = nn.MaxPool2d(3, 2, padding=1)  # pool3, same output size
        elif d == "avgpool":
            self.features[9] = nn.AvgPool2d(2, 2)  # pool2
        elif d == "maxpool3":
            for i in (4, 9, 16, 23, 30):
                self.features[i] = nn.MaxPool2d(3)
        elif d == "pool_stride1":  # MaxPool2d(2, 1): the maps never shrink, and a forward pass would take minutes
            for i in (4, 9, 16, 23, 30):
                self.features[i] = nn.MaxPool2d(2, 1)
        elif d == "stride2_conv":  # conv5_3 with stride 2 and no last pool; the adaptive pool hides the size change
            self.features[28], self.features[30] = nn.Conv2d(512, 512, 3, stride=2, padding=1), nn.Identity()
        elif d == "bn_relu":  # conv → ReLU → BatchNorm2d
            layers = list(self.features)
            for i in [i for i, m in enumerate(layers) if isinstance(m, nn.BatchNorm2d)]:
                layers[i:i + 2] = layers[i + 1], layers[i]
            self.features = nn.Sequential(*layers)
        elif d == "module_list":
            self.features = nn.ModuleList(self.features)
        elif d == "unused":
            self.fc_extra = nn.Linear(4096, 4096)  # defined, never called
        elif d == "padding0":  # every conv unpadded: the adaptive pool stretches pool5's 1×1 back to 7×7
            for conv in (m for m in self.features if isinstance(m, nn.Conv2d)):
                conv.padding = (0, 0)
        elif d == "pool1x1":  # AdaptiveAvgPool2d((1, 1)) and fc6 built for it
            self.avgpool, self.classifier[0] = nn.AdaptiveAvgPool2d(1), nn.Linear(512, 4096)
        elif d == "reflect":
            for conv in (m for m in self.features if isinstance(m, nn.Conv2d)):
                conv.padding_mode = "reflect"
        elif d == "fc7_1000":  # fc7 gives 1000, fc8 maps those to num_classes
            self.classifier[3], self.classifier[6] = nn.Linear(4096, 1000), nn.Linear(1000, num_classes)
        elif d == "dropout_fc8":
            self.classifier.append(nn.Dropout())
        elif d == "bn1d":  # BatchNorm1d after fc6 and fc7
            fc6, relu, drop, fc7, _, _, fc8 = self.classifier
            self.classifier = nn.Sequential(fc6, nn.BatchNorm1d(4096), relu, drop, fc7, nn.BatchNorm1d(4096),
                                            nn.ReLU(True), nn.Dropout(), fc8)
        elif d == "leaky":  # every ReLU a LeakyReLU: one ❌, not one per conv
            for i, m in enumerate(self.features):
                if isinstance(m, nn.ReLU):
                    self.features[i] = nn.LeakyReLU(0.1)
        elif d == "pool_then_relu":  # conv → max pool → ReLU: the same numbers (max and ReLU commute)
            for i in (4, 9, 16, 23, 30):
                self.features[i - 1], self.features[i] = self.features[i], self.features[i - 1]
        elif d == "noop_pool":  # pytorch-cifar's trailing AvgPool2d(kernel_size=1, stride=1)
            self.features.append(nn.AvgPool2d(kernel_size=1, stride=1))
        elif d == "clamp_relu":  # every ReLU written as clamp(min=0)
            for seq in (self.features, self.classifier):
                for i, m in enumerate(seq):
                    if isinstance(m, nn.ReLU):
                        seq[i] = ClampAtZero()
        elif d == "relu_after_pool5":  # F.relu(self.features(x)): pool5's input is already ≥ 0
            self.features.append(nn.ReLU())
        elif d == "fc_no_bias":
            for i in (0, 3, 6):
                old = self.classifier[i]
                self.classifier[i] = nn.Linear(old.in_features, old.out_features, bias=False)
        elif d == "shared":  # [conv, relu] * 2: conv3_3 is conv3_2 again
            self.features[14] = self.features[12]
        elif d == "dropout_features":  # CIFAR VGG's habit: dropout after every block
            self.features = nn.Sequential(*(m for layer in self.features for m in (
                (layer, nn.Dropout(0.25)) if isinstance(layer, nn.MaxPool2d) else (layer,))))
        elif d == "plain_list":  # the layers in a Python list: the model does not hold them
            self.layers = list(self.features)
            del self.features

    def forward(self, x):
        if self.defect == "plain_list":
            for layer in self.layers:
                x = layer(x)
            return self.classifier(torch.flatten(self.avgpool(x), 1))
        if self.defect == "no_return":  # the last line computes the logits and hands back nothing
            self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
            return None
        if self.defect == "squashed":  # an extra op between pool5 and fc6
            return self.classifier(torch.flatten(self.avgpool(torch.sigmoid(self.features(x))), 1))
        if self.defect == "unflattened":
            return self.classifier(self.features(x))
        if self.defect == "flat_batch":  # torch.flatten(x) without start_dim: the two images in one row
            return self.classifier(torch.flatten(self.avgpool(self.features(x))))
        x = self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
        return {"softmax": lambda: torch.softmax(x, 1), "scaled": lambda: x * 1.5,
                "relu_out": lambda: torch.relu(x)}.get(self.defect, lambda: x)()


def variant(name, **attrs):
    return type(f"VGG16_{name}", (Plain,), {"defect": name, **attrs})


class NestedFunctional(nn.Module):
    """Nested blocks, F.relu, F.max_pool2d, .view, no AdaptiveAvgPool2d, no Dropout."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.blocks = nn.ModuleList(nn.ModuleList(nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1)
                                                  for i in range(n))
                                    for cin, cout, n in [(3, 64, 2), (64, 128, 2), (128, 256, 3), (256, 512, 3),
                                                         (512, 512, 3)])
        self.fc1, self.fc2, self.fc3 = nn.Linear(25088, 4096), nn.Linear(4096, 4096), nn.Linear(4096, num_classes)

    def forward(self, x):
        for block in self.blocks:
            for conv in block:
                x = F.relu(conv(x))
            x = F.max_pool2d(x, 2)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x.view(x.size(0), -1))))))


class OutOfOrder(nn.Module):
    """Classifier defined before the features, nn.Flatten, x.relu(), padding="same"."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.head = nn.Sequential(nn.Flatten(), *head(num_classes))
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding="same") for a, b in zip([3, *CHANNELS], CHANNELS))
        self.pool = nn.MaxPool2d(2, 2)

    def forward(self, x):
        convs = iter(self.convs)
        for spec in D:
            x = self.pool(x) if spec == "M" else next(convs)(x).relu()
        return self.head(x)


class LazyVGG(nn.Module):
    """d2l's style: nn.LazyConv2d and nn.LazyLinear, shapes known only after a forward pass."""

    def __init__(self, num_classes=10):
        super().__init__()
        blocks = []
        for n, c in ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)):
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
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip([3, *CHANNELS], CHANNELS))
        self.relu, self.pool, self.drop = nn.ReLU(inplace=True), nn.MaxPool2d(2, 2), nn.Dropout()
        self.fc6, self.fc7, self.fc8 = nn.Linear(25088, 4096), nn.Linear(4096, 4096), nn.Linear(4096, num_classes)

    def features(self, x):
        convs = iter(self.convs)
        for spec in D:
            x = self.pool(x) if spec == "M" else self.relu(next(convs)(x))
        return x

    def forward(self, x):
        x = self.drop(self.relu(self.fc6(torch.flatten(self.features(x), 1))))
        return self.fc8(self.drop(self.relu(self.fc7(x))))


class FunctionalDropout(SharedModules):
    """F.dropout(x, 0.5) without training=self.training: still dropping in eval()."""

    def forward(self, x):
        x = F.dropout(F.relu(self.fc6(torch.flatten(self.features(x), 1))), 0.5)
        return self.fc8(F.dropout(F.relu(self.fc7(x)), 0.5))


class TimmStyle(nn.Module):
    """timm's pre-logits: fc6 a 7×7 conv over the 512×7×7 features, fc7 a 1×1 conv; ``dense``: fc8 too, averaged."""

    def __init__(self, num_classes=10, dense=False):
        super().__init__()
        self.features = models.make_layers(D)
        self.pre_logits = nn.Sequential(nn.Conv2d(512, 4096, 7), nn.ReLU(True), nn.Dropout(), nn.Conv2d(4096, 4096, 1),
                                        nn.ReLU(True))
        self.dense = dense
        self.head = nn.Conv2d(4096, num_classes, 1) if dense else \
            nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4096, num_classes))

    def forward(self, x):
        x = self.head(self.pre_logits(self.features(x)))
        return x.mean(dim=(2, 3)) if self.dense else x


class KerasPort(nn.Module):
    """Keras ports: nn.ZeroPad2d(1) before every unpadded conv, nn.Flatten, no avgpool."""

    def __init__(self, num_classes=10):
        super().__init__()
        convs = [[nn.ZeroPad2d(1), nn.Conv2d(a, b, 3), nn.ReLU()] for a, b in zip([3, *CHANNELS], CHANNELS)]
        blocks = iter(convs)
        self.net = nn.Sequential(*[m for spec in D for m in ([nn.MaxPool2d(2)] if spec == "M" else next(blocks))],
                                 nn.Flatten(), *head(num_classes))

    def forward(self, x):
        return self.net(x)


class PlainTensorAttribute(answers.MyVGG16):
    """A tensor kept as a plain attribute: on "meta" it stays meta, so the check builds this class for real."""

    def __init__(self, num_classes=10):
        super().__init__(num_classes)
        self.one = torch.ones(())

    def forward(self, x):
        return super().forward(x * self.one)


class OnItsDevice(answers.MyVGG16):
    """An instance is run where its weights are: the input follows them."""

    def forward(self, x):
        assert x.device == self.classifier[0].weight.device
        return super().forward(x)


@pytest.mark.parametrize("candidate, note", [
    (answers.MyVGG16, ""), (torchvision.models.vgg16, ""), (NestedFunctional, "the paper uses dropout 0.5"),
    (OutOfOrder, ""), (LazyVGG, ""), (SharedModules, ""), (PlainTensorAttribute, ""),
    (TimmStyle, "fully connected layers are written as convolutions"),
    (lambda num_classes: TimmStyle(num_classes, dense=True), "lesson 06 shows the conversion"),
    (KerasPort, "Passing without the avgpool"),
    (variant("pool_then_relu"), "max and ReLU commute"),
    (variant("noop_pool"), "changes nothing, so it was passed over"),
    (variant("clamp_relu"), ""), (variant("relu_after_pool5"), ""),
], ids=["reference", "torchvision", "nested-functional", "out-of-order", "lazy", "shared-modules", "tensor-attribute",
        "timm", "timm-dense", "keras-zero-pad", "pool-then-relu", "no-op-pool", "clamp",
        "relu-after-pool5"])
def test_vgg16s_written_in_any_correct_style_pass(candidate, note, capsys):
    result = check_vgg16(candidate)
    assert result.status == PASS and note in str(result), str(result)
    assert "138,357,544" in str(result) and "Classifier: 25088 → 4096 → 4096 → 10" in str(result)
    assert "computes exactly what VGG16 computes" in str(result) and "224 → 112 → 56 → 28 → 14 → 7" in str(result)
    assert result.use(candidate, answers.MyVGG16) is candidate and "Continuing the lesson with your" in \
        capsys.readouterr().out


@pytest.mark.parametrize("candidate, needles", [
    (variant("missing_relu"), ["No ReLU after conv4_3 (features[21])"]),
    (variant("pool3x3"), ["pool3 (features[16]): the max pooling has kernel=(3, 3)"]),
    (variant("avgpool"), ["Block 2 ends in average pooling"]),
    (variant("maxpool3"), ["pool1 (features[4]): the max pooling has kernel=(3, 3), stride=(3, 3)",
                           "MaxPool2d(3) means kernel 3 and stride 3", "224 → 74 → 24 → 8 → 2"]),
    (variant("pool_stride1"), ["pool1 (features[4]): the max pooling has kernel=(2, 2), stride=(1, 1)",
                               "The forward pass was stopped at conv3_2 (features[12])", "256×222×222"]),
    (variant("stride2_conv"), ["conv5_3 (features[28]): stride is (2, 2)"]),
    (variant("softmax"), ["'softmax' (VGG16_softmax.forward) follows the last layer"]),
    (variant("scaled"), ["forward changes the output of the last layer, fc8 (classifier[6])"]),
    (variant("squashed"), ["'sigmoid' (VGG16_squashed.forward) sits between the end of the features (pool5)"]),
    (variant("unflattened"), ["fc6 (classifier[0]) receives a 4-D tensor of shape (2, 512, 7, 7)"]),
    (variant("unused"), ["forward never uses 16,781,312 of them: fc_extra.weight, fc_extra.bias"]),
    (variant("module_list"), ["nn.Sequential(*layers)"]),
    (variant("thousand"), ["expected (2, 10)", "Built with num_classes=7, the output shape is (2, 1000)"]),
    (variant("grayscale"), ["is built for 1 input channel (grayscale", "13 convs: all 3×3", "25088 → 4096 → 4096"]),
    (variant("cifar", flat=512, hidden=512), ["This is the 32×32 CIFAR head", "512·1·1 = 512", "13 convs: all 3×3",
                                              "stops at classifier[0]", "mat1 and mat2"]),  # torch's words, kept
    (variant("cifar", flat=8192), ["This is the 32×32 CIFAR head", "512·4·4 = 8,192"]),
    (variant("8x8", flat=512 * 8 * 8), ["fc6 (classifier[0]) is built for 512·8·8 = 32,768 inputs",
                                        "the features give 512·7·7 = 25,088"]),
    (variant("padding0"), ["conv1_1 (features[0]): padding is (0, 0)", "Keep the avgpool and fix the ❌ above"]),
    (variant("pool1x1"), ["avgpool shrinks pool5's 7×7 to 1×1", "nn.AdaptiveAvgPool2d((7, 7))",
                          "fc6 takes pool5's 512·7·7 = 25,088 values"]),
    (variant("reflect"), ["conv1_1 (features[0]): it pads in 'reflect' mode"]),
    (variant("relu_out"), ["'relu' (VGG16_relu_out.forward) follows the last layer", "Remove the last relu"]),
    (variant("fc7_1000"), ["fc7 is nn.Linear(4096, 4096)"]),
    (torchvision.models.vgg16_bn, ["This is VGG16-BN", "A ReLU follows every conv.", "138,357,544"]),
    (variant("bn_relu"), ["This is VGG16-BN", "A ReLU follows every conv.", "138,357,544"]),
    (variant("dropout_fc8"), ["A Dropout follows the last layer (fc8)"]),
    (variant("flat_batch"), ["gets both images as one row of 50,176 values", "torch.flatten(x, 1)"]),
    (variant("bn1d"), ["The classifier has batch norm (classifier[1])"]),
    (variant("leaky"), ["No ReLU after conv1_1 (features[0]) (found 'leaky_relu'"]),
    (variant("no_return"), ["forward returns None: without a return statement", "return x"]),
    (variant("plain_list"), ["13 layers are not registered in the model", "nn.ModuleList"]),
    (variant("shared"), ["conv3_3 is the same layer as conv3_2 (features[12])", "new nn.Conv2d"]),
    (variant("dropout_features"), ["There is a Dropout in the features: dropout after pool1 (features[5])"]),
    (variant("fc_no_bias"), ["fc6 (classifier[0]), fc7 (classifier[3]), fc8 (classifier[6]) have no bias"]),
], ids=lambda c: getattr(c, "__name__", "") if callable(c) else None)
def test_each_wrong_model_hears_its_bug_first_by_layer_name_in_both_languages(candidate, needles):
    result = check_vgg16(candidate)
    named = [i for i, item in enumerate(result.failures) if needles[0] in item.en + item.hint_en]
    assert result.status == FAIL and named == [0], str(result)  # named once, first
    assert all(n in str(result) for n in needles), str(result)
    assert all(i.ko and i.en for i in result.items)
    assert "번째 계층" not in str(result) and "번째 합성곱" not in str(result)  # layers by name, not by ordinal


def test_dropout_left_on_in_eval_is_named_and_the_verdict_is_deterministic():
    state = torch.get_rng_state()
    first, second = check_vgg16(FunctionalDropout), check_vgg16(FunctionalDropout)
    assert torch.equal(state, torch.get_rng_state())  # the learner's random state is left alone
    assert first.status == FAIL and str(first) == str(second)
    assert "dropout after fc6" in str(first) and "training=self.training" in str(first)


class Stub(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        raise NotImplementedError("연습 문제를 채워 주세요 / Fill in this exercise")


def test_stubs_bad_inputs_and_the_meta_device(capsys):
    pending = check_vgg16(Stub)
    assert pending.status == TODO and "Python still has the old stub" in str(pending)
    with torch.device("meta"):
        model = answers.MyVGG16(num_classes=10)
    assert "meta device" in str(check_vgg16(model))
    assert "TorchScript" in str(check_vgg16(torch.jit.script(nn.Sequential(nn.Linear(2, 2)))))  # nothing to trace
    refused = check_vgg16(42)
    assert refused.status == FAIL and "Pass an nn.Module class or instance" in str(refused)
    assert str(refused).startswith(FAILED_MARK) and "data-status='fail'" in refused._repr_html_()
    assert refused.use(Stub, answers.MyVGG16) is answers.MyVGG16
    assert "vgg_teach.answers.MyVGG16" in capsys.readouterr().out


def test_a_class_is_built_on_meta_the_same_every_time_record_ops_shows_it_and_an_instance_is_checked(monkeypatch):
    monkeypatch.setattr(build, "_real", lambda *a, **k: pytest.fail("the check built a 138M-parameter model for real"))
    a, b = build.build_for_check(OnItsDevice, 10), build.build_for_check(OnItsDevice, 10)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    out, ops = record_ops(a, torch.randn(1, 3, 224, 224))  # lesson 01 prints this
    assert out.shape == (1, 10) and [e.out_shape[-1] for e in ops if e.name == "max_pool2d"] == [112, 56, 28, 14, 7]
    assert [e.in_shape for e in ops if e.name == "linear"] == [(1, 25088), (1, 4096), (1, 4096)]
    result = check_vgg16(a.train())  # an instance, checked as it is, and left in the mode it came in
    assert result.passed and "num_classes could not be varied" in str(result) and a.training, str(result)


# ------------------------------------------------------------------------------ make_layers
def builder(*, padding=None, order="conv-bn-relu", tuples="channels-kernel", pool=lambda: nn.MaxPool2d(2, 2),
            shared_relu=False, wrap=nn.Sequential, bn=True, carry=True, bias_with_bn=True, bn_channels="out",
            first_in=3):
    """A make_layers written one way; the defaults build exactly the reference."""

    def make_layers(cfg, batch_norm=False):
        layers, c, relu = [], first_in, nn.ReLU(inplace=True)
        for spec in cfg:
            if spec == "M" or (isinstance(spec, tuple) and tuples == "pool"):
                layers.append(pool())
                continue
            if isinstance(spec, tuple) and tuples == "drop":
                continue
            out, k = {"channels-kernel": spec, "kernel-channels": spec[::-1], "ignore-kernel": (spec[0], 3),
                      "as-channels": (spec, 3)}[tuples] if isinstance(spec, tuple) else (spec, 3)
            conv = nn.Conv2d(c, out, kernel_size=k, padding=k // 2 if padding is None else padding,
                             bias=bias_with_bn or not batch_norm)
            act = relu if shared_relu else nn.ReLU(inplace=True)
            norm = [nn.BatchNorm2d(out if bn_channels == "out" else c)] if batch_norm and bn else []
            layers += [conv, *norm, act] if order == "conv-bn-relu" else [conv, act, *norm]
            c = out if carry else c
        return wrap(*layers) if wrap is nn.Sequential else wrap(layers)

    return make_layers


@pytest.mark.parametrize("fn", [models.make_layers, builder(), builder(padding="same"), builder(shared_relu=True)],
                         ids=["reference", "plain", "padding-same", "shared-relu"])
def test_right_builders_written_differently_pass(fn):
    result = check_make_layers(fn)
    assert result.status == PASS and "same state_dict keys" in str(result), str(result)


@pytest.mark.parametrize("fn, where, reason", [
    (builder(order="conv-relu-bn"), "features[1] (where bn1_1 goes) is ReLU", "Batch norm comes after the ReLU"),
    (builder(bn=False), "configuration A + BN", "batch_norm=True but there is no BatchNorm2d at all"),
    (builder(tuples="drop"), "features[14] (where conv3_3 goes)", "1×1 convs (tuples like (256, 1)) are missing"),
    (builder(tuples="kernel-channels"), "features[14] (where conv3_3 goes)", "read as (kernel, channels)"),
    (builder(tuples="pool"), "features[14] (where conv3_3 goes) is MaxPool2d", "(256, 1) became a pooling layer"),
    (builder(tuples="as-channels"), "Building configuration C failed", "Configuration C has tuples like (256, 1)"),
    (builder(tuples="ignore-kernel"), "features[14] (where conv3_3 goes)", "(1) is ignored: a 3×3 conv was built"),
    (builder(pool=lambda: nn.MaxPool2d(3)), "features[2] (where pool1 goes)", "means kernel 3 and stride 3"),
    (builder(padding=0), "features[0] (where conv1_1 goes)", "to keep the size it must be kernel // 2"),
    (builder(wrap=nn.ModuleList), "returns an nn.ModuleList", "cannot be called"),
    (builder(carry=False), "features[3] (where conv2_1 goes)", "set in_channels to its out_channels"),
    (builder(first_in=1), "features[0] (where conv1_1 goes)", "but the images are RGB, with 3"),
    (builder(wrap=list), "returns a list, not an nn.Module", "nn.Sequential(*layers)"),
    (builder(wrap=lambda layers: nn.Sequential(layers)), "Building configuration A failed", "unpack it"),
    (lambda cfg, batch_norm=False: nn.Sequential(nn.Sequential(*models.make_layers(cfg, batch_norm))),
     "state_dict keys differ", "0.weight, 2.weight"),
    (lambda cfg: models.make_layers(cfg), "does not take a batch_norm argument", "batch_norm=False"),
    (builder(bias_with_bn=False), "features[0] (where conv1_1 goes)", "keeps a bias in every conv, batch norm or not"),
    (builder(bn_channels="in"), "features[1] (where bn1_1 goes)", "BatchNorm2d(3), but the conv before it gives 64"),
], ids=["bn-after-relu", "bn-ignored", "1x1-dropped", "kernel-channels", "tuple-as-pool", "tuple-crash", "kernel-3",
        "maxpool3", "padding0", "modulelist", "in-channels-kept", "in-channels-1", "list", "sequential-of-list",
        "nested", "no-bn-argument", "bn-no-bias",
        "bn-in-channels"])
def test_each_builder_slip_is_named_with_its_layer(fn, where, reason):
    result = check_make_layers(fn)
    assert result.status == FAIL, str(result)
    failure = result.failures[0]
    assert where in failure.en and reason in failure.en + failure.hint_en, failure.text()
    assert failure.ko and failure.hint_ko and "번째" not in failure.ko
