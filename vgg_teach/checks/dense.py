"""Lesson 06's checks: VGG16's fully connected layers as convolutions, and dense evaluation.

:func:`check_fully_convolutional` calls the learner's ``to_fully_convolutional(model)`` on a ``meta`` VGG16 first
(free: an unwritten stub shows at once), then on a real, randomly initialized one, and judges the layers (fc6 a
7×7 conv without padding, fc7 and fc8 1×1, each with a bias), the weights (fc's own numbers in fc's order, read
at sampled positions and matched against the usual wrong orders), the parameter count, the ReLUs, the score maps
of 448×448 and 224×288 inputs on ``meta``, and the 1000 scores of a real 224×224 image.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from .. import answers
from ..answers import to_fully_convolutional as reference
from ..counting import eval_mode, leaf_layers
from ..dense import HEAD_NAMES, score_map_geometry
from ..errors import josa, particle
from ..models import vgg16
from . import CheckResult, describe_exception, is_stub, never_raises, on_the_device, printable

#: Input sizes whose score maps are checked (on the meta device): 448×448 → 8×8, 224×288 → 1×3 for VGG16 (not 384:
#: its side is the lesson's prediction, asked after the check).
_DENSE_SIZES = ((448, 448), (224, 288))


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _fresh_vgg16(meta: bool) -> nn.Module:
    """The model the learner's function converts: VGG16, on ``meta`` (free) or real with seeded random weights."""
    if meta:
        with torch.device("meta"):
            return vgg16().eval()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = vgg16().eval()
        with torch.no_grad():  # VGG starts its biases at 0: distinct ones show a bias left out or swapped
            for fc in (m for m in model.classifier if isinstance(m, nn.Linear)):
                fc.bias.uniform_(-0.1, 0.1)
        return model


@dataclass(frozen=True)
class _Want:
    """What one fully connected layer must become: ``Conv2d(c_in, c_out, k)``."""

    name: str
    c_in: int
    c_out: int
    k: int

    @property
    def conv(self) -> str:
        return f"Conv2d({self.c_in}, {self.c_out}, kernel_size={self.k})"

    @property
    def view(self) -> str:
        return f"view({self.c_out}, {self.c_in}, {self.k}, {self.k})"


def _diagnose(w: _Want, conv: nn.Conv2d, weight: torch.Tensor, bias: torch.Tensor | None,
              gen: torch.Generator) -> tuple[str, str, str, str] | None:
    """What is wrong with ``conv`` as the fully connected layer ``w`` — (ko, en, hint_ko, hint_en) — or None."""
    kernel = tuple(conv.kernel_size)
    if w.k > 1 and kernel == (1, 1):
        n = w.c_in * w.k * w.k
        return (f"{josa(w.name, '이')} 1×1 합성곱입니다: pool5의 한 위치만 봅니다.",
                f"{w.name} is a 1×1 convolution: it sees a single position of pool5.",
                f"{josa(w.name, '은')} pool5의 {w.k}×{w.k} 창 전체({w.c_in}×{w.k}×{w.k} = {n:,}개 값)를 한 번에 "
                "봅니다: "
                f"{w.conv}.",
                f"{w.name} reads pool5's whole {w.k}×{w.k} window ({w.c_in}×{w.k}×{w.k} = {n:,} values) at once: "
                f"{w.conv}.")
    if kernel != (w.k, w.k):
        what, what_en = ((f"pool5의 {w.k}×{w.k} 창", f"pool5's {w.k}×{w.k} window") if w.k > 1
                         else ("앞 계층의 한 위치", "one position of the layer before"))
        return (f"{w.name}의 커널이 {kernel[0]}×{kernel[1]}입니다.", f"{w.name} has a {kernel[0]}×{kernel[1]} kernel.",
                f"{josa(w.name, '은')} {josa(what, '을')} 봅니다: {w.conv}.", f"{w.name} sees {what_en}: {w.conv}.")
    if (conv.in_channels, conv.out_channels) != (w.c_in, w.c_out):
        return (f"{josa(w.name, '이')} {conv.in_channels} → {conv.out_channels} 채널입니다 ({w.c_in} → "
                f"{w.c_out}이어야 함).",
                f"{w.name} maps {conv.in_channels} → {conv.out_channels} channels; it should be {w.c_in} → {w.c_out}.",
                f"펼친 길이가 아니라 채널 수를 씁니다: {w.conv}.", f"Use channels, not the flattened length: {w.conv}.")
    padding = conv.padding if isinstance(conv.padding, str) else tuple(conv.padding)  # "same" stays a word
    geometry = f"padding={padding!r}, stride={tuple(conv.stride)}, dilation={tuple(conv.dilation)}"
    if padding != (0, 0) or tuple(conv.stride) != (1, 1) or tuple(conv.dilation) != (1, 1):
        return (f"{w.name}에 {josa(geometry, '이')} 있습니다.", f"{w.name} has {geometry}.",
                "완전 연결 계층은 창 안의 값만 봅니다: 기본값 padding=0, stride=1 그대로 두세요 "
                "(패딩이 있으면 224×224에서 점수가 1×1이 아니게 되고 가장자리 점수는 0을 봅니다).",
                "A fully connected layer sees only its window: keep padding=0, stride=1 (with padding a 224×224 input "
                "no longer gives 1×1, and the edge scores see zeros).")
    if conv.bias is None:
        return (f"{w.name}에 편향이 없습니다 (bias=False).", f"{w.name} has no bias (bias=False).",
                f"nn.Linear의 편향 {w.c_out:,}개도 옮겨야 합니다: 기본값 bias=True로 만들고 fc.bias를 복사하세요.",
                f"The Linear layer's {w.c_out:,} biases must come along: keep bias=True and copy fc.bias.")
    # fc's weight (out, in) read at conv positions (o, c, y, x): in the right order, and in the usual wrong ones
    o, c, y, x = idx = tuple(torch.randint(0, n, (512,), generator=gen) for n in (w.c_out, w.c_in, w.k, w.k))
    k, channels, flat = w.k, weight.shape[1] // (w.k * w.k), o * weight.shape[1] + c * w.k * w.k + y * w.k + x
    sampled = conv.weight.detach()[idx]
    if not torch.equal(sampled, weight[o, c * k * k + y * k + x]):
        last = f"view({w.c_out}, {w.k}, {w.k}, {w.c_in}).permute(0, 3, 1, 2)"
        wrong_orders = [
            (weight[o, y * k * channels + x * channels + c],
             f"가중치를 채널이 마지막인 순서로 읽었습니다(예: {last}).",
             f"The weight was read channels-last (e.g. {last}).",
             f"torch.flatten은 pool5의 ({w.c_in}, {w.k}, {w.k})를 채널 → 행 → 열 순서로 폅니다: "
             f"weight.{w.view}이면 그 순서 그대로입니다.",
             f"torch.flatten lays pool5's ({w.c_in}, {w.k}, {w.k}) out channel, then row, then column: "
             f"weight.{w.view} keeps exactly that order."),
            (weight[o, c * k * k + x * k + y],
             f"커널의 행과 열이 뒤바뀌었습니다(예: {w.view}.transpose(2, 3)).",
             f"The kernel's rows and columns are swapped (e.g. {w.view}.transpose(2, 3)).",
             f"펼친 순서는 (채널, 행, 열)이므로 {w.view}만 하고 축을 바꾸지 마세요.",
             f"The flattened order is (channel, row, column): {w.view} and swap no axis."),
            (weight[flat % weight.shape[0], flat // weight.shape[0]],
             "가중치를 전치(.t())한 뒤 모양을 바꿨습니다.", "The weight was transposed (.t()) before being reshaped.",
             "nn.Linear의 weight는 이미 (출력, 입력) 모양이라 합성곱의 (출력, 입력, k, k)와 순서가 같습니다: "
             ".t() 없이 view만 하세요.",
             "nn.Linear already stores weight as (out, in), the order of a conv's (out, in, k, k): view it, "
             "without .t().")]
        for values, ko, en, hint_ko, hint_en in wrong_orders:
            if torch.equal(sampled, values):
                return f"{w.name}: {ko}", f"{w.name}: {en}", hint_ko, hint_en
        if torch.isclose(torch.linalg.vector_norm(conv.weight.detach().float()),
                         torch.linalg.vector_norm(weight.float()), rtol=1e-4):
            return (f"{w.name}의 가중치는 fc의 숫자들이지만 순서가 다릅니다.",
                    f"{w.name}'s weight holds fc's numbers, but in another order.",
                    f"fc.weight.{w.view} — 축을 바꾸거나(permute/transpose) 전치하지 마세요.",
                    f"fc.weight.{w.view} — no permute, transpose or .t().")
        return (f"{w.name}의 가중치가 fc의 가중치가 아닙니다: 새로 (무작위로) 초기화된 계층입니다.",
                f"{w.name}'s weight is not fc's: it is a new, randomly initialized layer.",
                "새 합성곱을 만든 뒤 fc.weight를 view해서 복사하세요 (with torch.no_grad(): conv.weight.copy_(…)) — "
                "학습된 숫자를 그대로 옮기는 것이 핵심입니다.",
                "Copy fc.weight, viewed, into the new convolution (with torch.no_grad(): conv.weight.copy_(…)): "
                "moving the trained numbers over is the whole point.")
    if bias is not None and not torch.equal(conv.bias.detach().flatten(), bias):
        return (f"{w.name}의 가중치는 맞지만 편향이 {w.name}의 것이 아닙니다 (옮기지 않았거나 다른 계층의 편향).",
                f"{w.name}'s weight is right but its bias is not {w.name}'s (not copied, or another layer's).",
                "conv.bias.copy_(fc.bias)도 하세요.", "Copy the bias too: conv.bias.copy_(fc.bias).")
    return None


def _shape_at(model: nn.Module, hw: tuple[int, int]) -> tuple[int, ...]:
    """The output shape for one ``hw`` image: on ``meta`` (every tensor swapped for a meta one), else for real."""
    with eval_mode(model), torch.no_grad():
        try:
            state = {k: torch.empty_like(v, device="meta") for k, v in [*model.named_parameters(),
                                                                         *model.named_buffers()]}
            return tuple(torch.func.functional_call(model, state, (torch.empty(1, 3, *hw, device="meta"),)).shape)
        except NotImplementedError:
            return tuple(model(torch.zeros(1, 3, *hw)).shape)


@never_raises("check_fully_convolutional")
def check_fully_convolutional(result: CheckResult, to_fully_convolutional: Callable[[nn.Module], Any]) -> CheckResult:
    """Does ``to_fully_convolutional(model)`` turn VGG16 into its fully convolutional form, with the same numbers?"""
    if result.not_a_function(to_fully_convolutional):
        return result
    sizes = {hw: score_map_geometry(reference(_fresh_vgg16(meta=True)), hw).size for hw in _DENSE_SIZES}
    try:  # an unwritten stub costs nothing here
        with torch.device("meta"):
            to_fully_convolutional(_fresh_vgg16(meta=True))
    except NotImplementedError as exc:
        if "meta" not in printable(exc).lower():
            raise
    except Exception:  # noqa: BLE001 - the real model below shows the learner their own error
        pass
    model = _fresh_vgg16(meta=False)
    fcs = [m for m in model.classifier if isinstance(m, nn.Linear)]
    channels = [m for m in model.features if isinstance(m, nn.Conv2d)][-1].out_channels
    k6 = math.isqrt(fcs[0].in_features // channels)
    wanted = [_Want(name, channels if i == 0 else fc.in_features, fc.out_features, k6 if i == 0 else 1)
              for i, (name, fc) in enumerate(zip(HEAD_NAMES, fcs))]
    n_params, classes = _count(model), wanted[-1].c_out
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 3, 224, 224, generator=gen)
    with torch.no_grad():
        pool5 = model.features(x)
        want = model.classifier(torch.flatten(model.avgpool(pool5), 1))  # = model(x)
    n_features = len(list(model.features.modules()))
    originals = [(m.weight.detach(), m.bias.detach() if m.bias is not None else None) for m in fcs]
    feature_convs = [m for m in model.features if isinstance(m, nn.Conv2d)]

    try:
        net = to_fully_convolutional(model)
    except RuntimeError as exc:
        if not re.search(r"The size of tensor a \(\d+\) must match|doesn't match the broadcast shape", str(exc)):
            raise
        result.fail(*describe_exception(exc),
                    "copy_의 양쪽 모양이 다릅니다: 새 계층의 weight.shape와 옮기는 텐서의 모양을 print해 비교하세요. "
                    "fc6은 nn.Conv2d(512, 4096, kernel_size=7)이라 가중치가 (4096, 512, 7, 7) = "
                    "fc6.weight.view(4096, 512, 7, 7)이고, fc7과 fc8은 1×1 합성곱이라 fc7.weight.view(4096, 4096, "
                    "1, 1)처럼 씁니다.",
                    "The two sides of copy_ differ in shape: print the new layer's weight.shape and the shape you "
                    "copy. fc6 is nn.Conv2d(512, 4096, kernel_size=7), whose weight is (4096, 512, 7, 7) = "
                    "fc6.weight.view(4096, 512, 7, 7); fc7 and fc8 are 1×1 convolutions: fc7.weight.view(4096, 4096, "
                    "1, 1).")
        return result
    if [m for m in model.classifier if isinstance(m, nn.Linear)] != fcs:
        result.fail("함수가 원래 모델의 classifier를 바꿨습니다: 레슨의 다음 셀들은 원래 model.classifier로 "
                    "비교합니다.",
                    "The function changed the original model's classifier: the lesson's next cells compare with the "
                    "original model.classifier.",
                    "원래 모델은 그대로 두고 새 head(nn.Sequential)를 만들어 돌려주세요.",
                    "Leave the original model as it is: build a new head (an nn.Sequential) and return it.")
    if net is None:
        result.fail("함수가 아무것도 돌려주지 않습니다(None).", "The function returns None.",
                    "새 모델을 돌려주세요: return nn.Sequential(OrderedDict(features=…, classifier=head)).",
                    "Return the new model: return nn.Sequential(OrderedDict(features=…, classifier=head)).")
        return result
    if not isinstance(net, nn.Module):
        result.fail(f"함수가 nn.Module이 아니라 {josa(type(net).__name__, '을')} 돌려줍니다.",
                    f"The function returns a {type(net).__name__}, not an nn.Module.")
        return result
    result.ok("모델(nn.Module)을 돌려줍니다.", "Returns a model (an nn.Module).")
    if not (hasattr(net, "features") and hasattr(net, "classifier")):
        result.fail("돌려준 모델에 features와 classifier가 없습니다.",
                    "The model returned has no features and classifier.",
                    "마지막 줄을 그대로 두세요: nn.Sequential(OrderedDict(features=model.features, classifier=head)). "
                    "레슨은 fcn.features와 fcn.classifier를 따로 씁니다.",
                    "Keep the last line as given: nn.Sequential(OrderedDict(features=model.features, "
                    "classifier=head)); the lesson uses fcn.features and fcn.classifier separately.")
    leaves = leaf_layers(net)
    linears = [m for _, m in leaves if isinstance(m, nn.Linear)]
    if linears:
        names = {(w.c_in * w.k * w.k, w.c_out): w.name for w in wanted}
        found = ", ".join(names.get((m.in_features, m.out_features), f"Linear({m.in_features}, {m.out_features})")
                          for m in linears)
        result.fail(f"아직 nn.Linear가 남아 있습니다: {found}.", f"nn.Linear layers are left: {found}.",
                    "세 완전 연결 계층을 모두 nn.Conv2d로 바꾸세요: 완전 합성곱 신경망에는 Linear가 없습니다.",
                    "Replace all three fully connected layers by nn.Conv2d: a fully convolutional net has no Linear.")
    convs = [m for _, m in leaves if isinstance(m, nn.Conv2d)]
    features = getattr(net, "features", None)  # model.features, or a copy of it (same numbers)
    kept = [m for m in features.modules() if isinstance(m, nn.Conv2d)] if isinstance(features, nn.Module) else \
        [m for m in convs if any(m is f for f in feature_convs)]
    head = [m for m in convs if not any(m is k for k in kept)]
    if len(kept) != len(feature_convs) or not all(
            a is b or (a.weight.shape == b.weight.shape and torch.equal(a.weight, b.weight))
            for a, b in zip(kept, feature_convs)):
        result.fail(f"features의 합성곱 {len(feature_convs)}개가 그대로 있지 않습니다.",
                    f"The {len(feature_convs)} convolutions of features are not all there.",
                    "model.features를 그대로 쓰세요 (복사하거나 새로 만들 필요가 없습니다).",
                    "Reuse model.features as it is (no need to copy or rebuild it).")
    if len(head) != len(wanted):
        result.fail(f"features 뒤에 합성곱이 {len(head)}개 있습니다 (fc6, fc7, fc8 세 개여야 함).",
                    f"There are {len(head)} convolutions after features; expected three (fc6, fc7, fc8).")
    else:
        problems = [p for w, conv, (weight, bias) in zip(wanted, head, originals)
                    if (p := _diagnose(w, conv, weight, bias, gen)) is not None]
        for ko, en, hint_ko, hint_en in problems:
            result.fail(ko, en, hint_ko, hint_en)
        if not problems:
            layers = ", ".join(f"{w.name} = Conv2d({w.c_in}, {w.c_out}, {w.k})" for w in wanted)
            result.ok(f"{layers}: 가중치와 편향이 완전 연결 계층의 숫자 그대로, 같은 순서입니다.",
                      f"{layers}, with the fully connected layers' own weights and biases, in their order.")
        where = [next(i for i, (_, m) in enumerate(leaves) if m is h) for h in head]
        missing = [] if linears else [f"{name} → ReLU" for a, b, name in zip(where, where[1:], ("fc6", "fc7"))
                                      if not any(isinstance(m, nn.ReLU) for _, m in leaves[a + 1:b])]
        if not linears and any(isinstance(m, (nn.ReLU, nn.Softmax)) for _, m in leaves[where[2] + 1:]):
            missing.append("fc8 → (ReLU/Softmax)")
        if missing:
            result.fail(f"계층 사이의 ReLU가 맞지 않습니다: {', '.join(missing)}.",
                        f"The ReLUs between the layers are wrong: {', '.join(missing)}.",
                        "원래 분류기처럼 fc6 → ReLU → Dropout → fc7 → ReLU → Dropout → fc8 (fc8 뒤에는 아무것도 없음).",
                        "As in the original classifier: fc6 → ReLU → Dropout → fc7 → ReLU → Dropout → fc8 (nothing "
                        "after fc8).")
    n, fc6 = _count(net), wanted[0]
    n6 = fc6.c_in * fc6.k * fc6.k * fc6.c_out + fc6.c_out
    result.expect(n == n_params,
                  (f"매개변수 {n:,}개: 원래 모델과 같습니다 (새 매개변수 없음).",
                   f"{n:,} parameters, as many as the original model's: nothing new."),
                  (f"매개변수가 {n:,}개입니다. 원래 모델과 같은 {n_params:,}개여야 합니다.",
                   f"{n:,} parameters; it should stay the original's {n_params:,}."),
                  ("원래 분류기(Linear)가 새 합성곱과 함께 남아 있습니다: 옮긴 뒤에는 버리세요.",
                   "The old Linear classifier is still there next to the new convolutions: drop it once moved.")
                  if linears and n > n_params else
                  (f"같은 숫자를 옮기면 매개변수 수는 그대로입니다: fc6은 {fc6.c_in}·{fc6.k}·{fc6.k}·{fc6.c_out} + "
                   f"{fc6.c_out} = {n6:,}개.", f"Moving the same numbers keeps the count: fc6 has {fc6.c_in}·{fc6.k}·"
                   f"{fc6.k}·{fc6.c_out} + {fc6.c_out} = {n6:,}."))
    try:
        shapes = {hw: _shape_at(net, hw) for hw in _DENSE_SIZES}
    except Exception as exc:  # noqa: BLE001 - the learner's model cannot run: say so and stop here
        message = f"{type(exc).__name__}: {printable(exc).strip().splitlines()[0] if printable(exc).strip() else ''}"
        result.fail(f"이미지를 넣으면 순전파(forward pass)가 실패합니다 — {message}",
                    f"The forward pass fails — {message}",
                    *(("위의 ❌부터 고치세요: 계층의 채널 수와 커널이 맞아야 pool5에서 점수 맵까지 이어집니다.",
                       "Fix the ❌ above first: with the right channels and kernels pool5 flows into the score map.")
                      if result.failures else
                      ("VGG의 forward는 avgpool 뒤에서 펼치므로(flatten) 합성곱이 된 분류기를 VGG 안에 넣으면 "
                       "4차원이 아닌 입력을 받습니다: 마지막 줄처럼 nn.Sequential(OrderedDict(features=…, "
                       "classifier=head))를 새로 만드세요.",
                       "VGG's forward flattens after avgpool, so a convolutional classifier put inside the VGG gets "
                       "an input that is not 4-D: build a new nn.Sequential(OrderedDict(features=…, classifier=head)) "
                       "as the last line does.")))
        return result
    bad = [(hw, sizes[hw], shapes[hw]) for hw in _DENSE_SIZES if shapes[hw] != (1, classes, *sizes[hw])]
    told = ", ".join(f"{h}×{w} → (1, {classes}, {sizes[(h, w)][0]}, {sizes[(h, w)][1]})" for h, w in _DENSE_SIZES)
    if not bad:
        result.ok(f"{told}: 어떤 크기의 이미지든 조밀하게 평가합니다.", f"{told}: it evaluates any image size densely.")
    else:
        (h, w), size, got = bad[0]
        pools = [type(m).__name__ for _, m in leaves if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d))]
        if pools:
            hint = (f"{pools[0]}((7, 7))는 어떤 이미지든 pool5를 7×7로 줄여 점수 맵을 늘 1×1로 만듭니다: "
                    "avgpool은 빼세요.",
                    f"{pools[0]}((7, 7)) squeezes pool5 of any image to 7×7, so the map is always 1×1: leave avgpool "
                    "out.")
        elif len(got) == 2:
            hint = (f"출력이 펼쳐졌습니다(flatten): 점수 맵은 (N, {classes}, h, w) 모양을 유지해야 합니다. VGG의 "
                    "forward도 펼치므로, VGG를 고치지 말고 nn.Sequential(features, head)를 새로 만드세요.",
                    f"The output was flattened: a score map keeps its shape (N, {classes}, h, w). VGG.forward "
                    "flattens too, so build a new nn.Sequential(features, head) instead of editing the VGG.")
        else:
            hint = ("fc6은 padding 없는 7×7, fc7·fc8은 1×1이면 한 변이 ⌊S/32⌋ − 6이 됩니다.",
                    "With fc6 a 7×7 convolution without padding and fc7, fc8 1×1, a side is ⌊S/32⌋ − 6.")
        result.fail(f"{h}×{w} 입력의 출력 모양이 {got}입니다 ((1, {classes}, {size[0]}, {size[1]})이어야 함).",
                    f"A {h}×{w} input gives an output of shape {got}, not (1, {classes}, {size[0]}, {size[1]}).",
                    *hint)
    with eval_mode(net), torch.no_grad():
        reuse = (isinstance(net, nn.Sequential) and len(net) == 2 and net[0] is model.features
                 and len(list(model.features.modules())) == n_features)
        got = net[1](pool5) if reuse else net(x)  # features unchanged and first: pool5 is the same
    if tuple(got.shape) != (1, classes, 1, 1):
        result.fail(f"224×224 입력의 출력 모양이 {tuple(got.shape)}입니다 ((1, {classes}, 1, 1)이어야 함).",
                    f"A 224×224 input gives shape {tuple(got.shape)}, not (1, {classes}, 1, 1).")
    if got.numel() == want.numel():
        diff, scale = float((got.reshape(want.shape) - want).abs().max()), float(want.abs().max())
        result.expect(diff <= 1e-4 * scale + 1e-6,
                      (f"224×224 이미지에서 점수 {classes}개가 원래 모델과 같습니다 (부동소수점 오차 안).",
                       f"On a 224×224 image the {classes} scores equal the original model's (to float tolerance)."),
                      (f"224×224 이미지에서 점수가 원래 모델과 다릅니다 (가장 큰 차이 {diff:.3g}, 점수의 크기 "
                       f"{scale:.3g}).", f"On a 224×224 image the scores differ from the original model's (largest "
                       f"difference {diff:.3g}; scores up to {scale:.3g})."),
                      ("위의 ❌부터 고치세요: 가중치의 순서, 편향, 계층 사이의 ReLU.",
                       "Fix the ❌ above first: the weights' order, the biases, the ReLUs between the layers."))
    return result


_ORDER = ("점수 맵을 위치에 대해 먼저 평균하고, 그다음 클래스 차원에서 소프트맥스: "
          "score_map.mean(dim=(2, 3)).softmax(dim=1)",
          "Average the map over the positions first, then softmax over the classes: "
          "score_map.mean(dim=(2, 3)).softmax(dim=1)")
_MIRROR = ("뒤집은 이미지: mirrored = fcn(images.flip(-1)).flip(-1); probs는 두 소프트맥스 확률의 평균, "
           "score_map은 두 맵의 평균",
           "The mirror: mirrored = fcn(images.flip(-1)).flip(-1); probs is the average of the two softmax outputs, "
           "score_map the average of the two maps")


def _dense_slips(net: nn.Module, x: torch.Tensor, flip: bool) -> list[tuple[str, torch.Tensor, str, str]]:
    """``(what, value, ko, en)``: what each usual slip returns (``what``: "probs" or "map"), and its name."""
    s = net(x)
    avg = lambda t: t.mean(dim=(2, 3))  # noqa: E731
    last_axis = ("소프트맥스를 마지막 축(dim=-1, 맵의 너비)에서 했습니다: 2차원 로짓에서 쓰던 softmax(-1)입니다. "
                 "점수 맵 (N, C, H, W)에서 클래스는 dim=1입니다.",
                 "The softmax ran over the last axis (dim=-1, the map's width): softmax(-1) is for 2-D logits. In the "
                 "score map (N, C, H, W) the classes are dim=1.")
    if not flip:
        return [
            ("probs", avg(s.softmax(-1)), *last_axis),
            ("probs", avg(s.softmax(1)),
             "위치마다 소프트맥스를 먼저 하고 평균했습니다. 논문은 점수 맵을 먼저 평균하고 소프트맥스를 한 번 합니다.",
             "You took the softmax at every position, then averaged; the paper averages the map first and takes "
             "one softmax."),
            ("probs", avg(s),
             "소프트맥스를 빠뜨려 확률이 아니라 점수를 돌려줍니다.",
             "You return scores, not probabilities: the softmax is missing."),
            ("probs", avg(s).log_softmax(1),
             "log_softmax는 로그 확률(음수)을 냅니다. probs는 확률이므로 softmax(dim=1)입니다.",
             "log_softmax gives log-probabilities (negative numbers); probs are probabilities: softmax(dim=1)."),
            ("probs", avg(s).softmax(0),
             "소프트맥스를 배치 차원(dim=0)에서 했습니다. 이미지마다 클래스들의 확률이므로 dim=1입니다.",
             "The softmax runs over the batch (dim=0); each image needs probabilities over the classes, dim=1."),
            ("probs", s.amax(dim=(2, 3)).softmax(1),
             "위치의 최댓값을 골랐습니다. 논문은 점수 맵을 평균합니다.",
             "You took the maximum over the positions; the paper averages the map."),
            ("probs", s.sum(dim=(2, 3)).softmax(1),
             "위치를 더하기만 했습니다. 더한 점수의 소프트맥스는 위치 수만큼 뾰족해지니 평균(mean)을 쓰세요.",
             "You summed the positions: the softmax of a sum is sharper by the number of positions. Use the mean."),
            ("map", s.softmax(1),
             "점수 맵에 소프트맥스를 했습니다. score_map은 점수 그대로 돌려주세요(소프트맥스는 probs에만).",
             "The score map went through a softmax; return it as scores (the softmax is for probs only)."),
        ]
    mirror, upside, channels = net(x.flip(-1)), net(x.flip(-2)), net(x.flip(1))
    fliplr = ("채널 축(dim=1)을 뒤집었습니다(torch.fliplr도 (N, C, H, W)의 두 번째 차원을 뒤집습니다): 이미지의 "
              "좌우는 마지막 차원, images.flip(-1)입니다.",
              "You flipped the channel axis (dim=1; torch.fliplr also flips the second dimension of (N, C, H, W)): "
              "an image's left and right are the last dimension, images.flip(-1).")
    return [
        ("probs", (avg(s.softmax(1)) + avg(mirror.softmax(1))) / 2,
         "위치마다 소프트맥스를 먼저 하고 평균했습니다. 논문은 이미지마다 점수 맵을 먼저 평균하고 소프트맥스를 한 번 "
         "한 뒤, 두 이미지의 확률을 평균합니다.",
         "You took the softmax at every position, then averaged; the paper averages each image's map first, takes "
         "one softmax, then averages the two images' probabilities."),
        ("probs", (avg(s).softmax(1) + avg(channels).softmax(1)) / 2, *fliplr),
        ("probs", (avg(s).softmax(1) + avg(channels.flip(1)).softmax(1)) / 2, *fliplr),  # the map's classes too
        ("probs", (avg(s.softmax(-1)) + avg(mirror.softmax(-1))) / 2, *last_axis),
        ("map", (s + mirror.flip(1)) / 2,
         "뒤집은 이미지의 맵을 채널 축(dim=1, torch.fliplr도 이 축)에서 되돌려서 클래스의 순서가 뒤집혔습니다: 맵의 "
         "좌우는 마지막 차원, flip(-1)입니다.",
         "You turned the mirror's map back along dim=1 (as torch.fliplr does), which reverses the classes: the "
         "map's left and right are the last dimension, flip(-1)."),
        ("probs", avg(s).softmax(1) + avg(mirror).softmax(1),
         "두 확률을 더하기만 했습니다: 평균이니 2로 나누세요(지금은 합이 2입니다).",
         "You added the two probabilities: average them, dividing by 2 (they now sum to 2)."),
        ("probs", avg(mirror).softmax(1),
         "뒤집은 이미지의 확률만 썼습니다: 원래 이미지의 확률과 평균하세요.",
         "You used the mirrored images' probabilities alone: average them with the originals'."),
        ("map", (s + mirror.flip(-2)) / 2,
         "뒤집은 이미지의 맵을 위아래(flip(-2))로 되돌렸습니다: 좌우로 뒤집은 이미지이니 flip(-1)로 되돌립니다.",
         "You turned the mirror's map back upside down (flip(-2)): it was flipped left to right, so flip(-1) turns "
         "it back."),
        ("probs", avg(s).softmax(1),
         "flip=True인데 flip=False와 같은 확률입니다: 뒤집은 이미지를 쓰지 않았습니다.",
         "flip=True gives the probabilities of flip=False: the mirrored images are not used."),
        ("probs", ((avg(s) + avg(mirror)) / 2).softmax(1),
         "두 이미지의 점수를 소프트맥스 전에 평균했습니다(로그 확률을 평균한 뒤 다시 정규화해도, 즉 "
         "정규화한 기하 평균을 써도 결과가 같습니다). 논문은 두 이미지의 소프트맥스 확률을 평균합니다.",
         "You averaged the two images' scores before the softmax (averaging the log-probabilities and normalizing, "
         "a normalized geometric mean, gives the same numbers); the paper averages their softmax outputs."),
        ("probs", (avg(s).softmax(1) * avg(mirror).softmax(1)).sqrt(),
         "두 확률의 기하 평균(곱의 제곱근)을 썼습니다. 논문은 두 소프트맥스 확률을 그냥 평균합니다: "
         "(p + p_mirror) / 2.",
         "You took the geometric mean of the two probabilities (the square root of their product); the paper "
         "averages the two softmax outputs: (p + p_mirror) / 2."),
        ("probs", (avg(s).softmax(1) + avg(upside).softmax(1)) / 2,
         "이미지를 위아래로 뒤집었습니다(dim=2). 좌우 뒤집기는 너비 차원, flip(-1)입니다.",
         "You flipped the images upside down (dim=2); a horizontal flip is along the width, flip(-1)."),
        ("map", (s + mirror) / 2,
         "뒤집은 이미지의 점수 맵을 다시 뒤집지 않고 평균했습니다. 그 맵의 (i, j)는 원래 이미지의 (i, w − 1 − j) "
         "자리입니다.",
         "You averaged in the mirror's map without flipping it back: its (i, j) is the image's (i, w − 1 − j)."),
        ("map", s,
         "score_map에 뒤집은 이미지의 맵을 평균하지 않았습니다(probs는 맞습니다).",
         "score_map leaves out the mirror's map (probs are right)."),
    ]


def _close(a: Any, b: torch.Tensor) -> bool:
    return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(a.float(), b, rtol=1e-4, atol=1e-5)


@never_raises("check_dense_evaluation")
def check_dense_evaluation(result: CheckResult, dense_evaluation: Callable[..., Any]) -> CheckResult:
    """Does ``dense_evaluation(fcn, images, flip)`` return the paper's ``(probs, score_map)``, without and with flip?

    Run on a small fully convolutional net (a 5×8 map of 4 classes, a batch of 2), compared with
    :func:`vgg_teach.answers.dense_evaluation`; a wrong answer is matched with the usual slips.
    """
    if result.not_a_function(dense_evaluation):
        return result
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(6)
        net = on_the_device(nn.Sequential(nn.Conv2d(3, 5, 3), nn.ReLU(), nn.Conv2d(5, 4, 3)).eval())
        net[2].weight.data *= 8  # scores spread apart, so that every slip gives other numbers
        x = torch.randn(2, 3, 9, 12) + torch.linspace(-2, 2, 12)  # left and right differ: the mirror is another image
    for flip in (False, True):
        call = f"dense_evaluation(fcn, images, flip={flip})"
        with torch.no_grad():
            want = answers.dense_evaluation(net, x, flip=flip)
            got = dense_evaluation(net, on_the_device(x.clone()), flip=flip)
            trained = net.training
            net.eval()
            slips = _dense_slips(net, x, flip)
        if trained:
            result.fail(f"{josa(call, '이')} 모델을 학습 모드(fcn.train())로 바꿨습니다: 드롭아웃과 배치 정규화가 "
                        "평가마다 점수를 바꾸고, 다음 셀도 학습 모드인 모델을 받습니다.",
                        f"{call} put the model in train mode (fcn.train()): dropout and batch norm then change the "
                        "scores at every evaluation, and the next cells get a model in train mode.",
                        "평가 함수 안에서는 모드를 바꾸지 마세요: 레슨이 이미 평가 모드(fcn.eval())로 바꿔서 "
                        "넘겨줍니다.",
                        "Leave the mode alone in the evaluation: the lesson hands over fcn in eval mode.")
            return result
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            result.fail(f"{josa(call, '이')} {josa(type(got).__name__, '을')} 돌려줍니다: (확률, 점수 맵) 두 개를 "
                        "돌려주세요.",
                        f"{call} returns a {type(got).__name__}; return two things, (probs, score_map).",
                        "return probs, score_map", "return probs, score_map")
            return result
        shapes = [tuple(v.shape) if isinstance(v, torch.Tensor) else None for v in got]
        if shapes == [tuple(want[1].shape), tuple(want[0].shape)]:
            result.fail(f"{call}: 순서가 바뀌었습니다: (점수 맵, 확률)이 아니라 (확률, 점수 맵)을 돌려주세요.",
                        f"{call}: the order is swapped: return (probs, score_map), not (score_map, probs).",
                        "return probs, score_map", "return probs, score_map")
            return result
        for what, value, wanted in (("probs", got[0], want[0]), ("map", got[1], want[1])):
            if not isinstance(value, torch.Tensor):
                name = "probs" if what == "probs" else "score_map"
                result.fail(f"{call}: {name}{particle(name, '이')} torch 텐서가 아니라 {type(value).__name__}입니다.",
                            f"{call}: {name} is not a torch tensor ({type(value).__name__}).",
                            "계산을 torch 안에서 끝내고 텐서를 돌려주세요(.numpy()나 .tolist() 없이).",
                            "Keep the computation in torch and return tensors (no .numpy() or .tolist()).")
                return result
            shape = tuple(value.shape)
            if shape == tuple(wanted.shape) + (1, 1):
                result.fail(f"{call}: probs의 모양이 {shape}입니다: 평균에서 keepdim=True로 크기 1인 차원 두 개가 "
                            "남았습니다.",
                            f"{call}: probs has shape {shape}: keepdim=True left two dimensions of size 1.",
                            "mean(dim=(2, 3))을 keepdim 없이 쓰세요.", "Use mean(dim=(2, 3)) without keepdim.")
                return result
            if shape != tuple(wanted.shape):
                names = ("probs", "(이미지 수, 클래스 수)", "(images, classes)") if what == "probs" else \
                    ("score_map", "(이미지 수, 클래스 수, h, w)", "(images, classes, h, w)")
                result.fail(f"{call}: {names[0]}의 모양이 {shape}입니다. {names[1]} = {tuple(wanted.shape)}이어야 "
                            "합니다.", f"{call}: {names[0]} has shape {shape}, not {names[2]} = "
                            f"{tuple(wanted.shape)}.", *(_MIRROR if flip else (
                                "평균은 위치 차원만, mean(dim=(2, 3))입니다.",
                                "Average over the positions only, the last two dimensions: mean(dim=(2, 3)).")))
                return result
            if not _close(value, wanted):
                slip = next(((ko, en) for kind, v, ko, en in slips if kind == what and _close(value, v)), ("", ""))
                label = ("probs가", "probs differ") if what == "probs" else ("score_map이", "score_map differs")
                result.fail(f"{call}: {label[0]} 논문의 조밀한 평가와 다릅니다. {slip[0]}".strip(),
                            f"{call}: {label[1]} from the paper's dense evaluation. {slip[1]}".strip(),
                            *(_MIRROR if flip else _ORDER))
                return result
    with torch.no_grad():  # one image, as the lesson's next cells give it
        want = [tuple(w.shape) for w in answers.dense_evaluation(net, x[:1], flip=False)]
        try:
            one = dense_evaluation(net, on_the_device(x[:1].clone()), flip=False)
            got = [tuple(v.shape) if isinstance(v, torch.Tensor) else None for v in one] \
                if isinstance(one, (tuple, list)) and len(one) == 2 else None
            said = (f"모양이 {got}입니다({want}이어야 함)", f"the shapes are {got}, not {want}")
        except Exception as exc:  # noqa: BLE001 - the batch of 2 ran: the batch of 1 is what fails
            if is_stub(exc):
                raise
            got, said = None, describe_exception(exc)
    if got != want:
        result.fail(f"이미지 한 장(배치 1)에서는 {said[0]}: squeeze() 같은 것이 크기 1인 배치 차원까지 없앴습니다. "
                    "레슨의 다음 셀은 이미지 한 장을 넘깁니다.",
                    f"With one image (a batch of 1), {said[1]}: something like squeeze() removed the batch "
                    "dimension of size 1 too. The lesson's next cells pass one image.",
                    "차원을 지정해 평균하세요: mean(dim=(2, 3)), squeeze()는 쓰지 마세요.",
                    "Average over named dimensions, mean(dim=(2, 3)), and leave squeeze() out.")
        return result
    result.ok("flip=False: 점수 맵 평균 → 소프트맥스. flip=True: 뒤집은 이미지의 확률과 평균하고, 그 점수 맵은 다시 "
              "뒤집어 원래 맵과 평균합니다. 논문 3.2절 그대로입니다.",
              "flip=False: the map averaged, then softmax. flip=True: averaged with the mirrored images' "
              "probabilities, their map flipped back into the image's. Section 3.2 of the paper, exactly.")
    return result
