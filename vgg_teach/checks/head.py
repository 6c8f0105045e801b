"""Lesson 04's checks: swapping VGG16-BN's head, and counting what is left to train.

Both judge behavior on torchvision's ``vgg16_bn`` built on the ``meta`` device (shapes without memory):
:func:`check_head_swap` calls the learner's ``swap_head(model, num_classes)``, inspects the layers it left, runs
a forward and a backward pass to see which parameters get gradients, and tries another number of classes;
:func:`check_parameter_count` tries ``count_parameters(model)`` on small models built to expose the usual slips.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable

import torch
from torch import nn

from ..answers import count_parameters as reference_count
from ..errors import josa
from ..models import init_once
from . import CheckResult, describe_exception, is_stub, never_raises, printable

#: torchvision's vgg16_bn: parameters with the ImageNet head (1000 classes), and of ``features`` alone.
VGG16_BN_PARAMS, VGG16_BN_FEATURE_PARAMS = 138_365_992, 14_723_136


def head_swap_counts(num_classes: int) -> tuple[int, int, int]:
    """``(total, trainable, frozen)`` of VGG16-BN after a correct head swap: 134,309,962 total for 10 classes."""
    total = VGG16_BN_PARAMS - (4096 + 1) * (1000 - num_classes)
    return total, total - VGG16_BN_FEATURE_PARAMS, VGG16_BN_FEATURE_PARAMS


def _vgg16_bn(meta: bool = True) -> nn.Module:
    """torchvision's VGG16-BN (random weights, nothing downloaded), on the ``meta`` device by default."""
    import torchvision  # optional and heavy: only the lesson-04 checks need it

    if not meta:
        return init_once(lambda: torchvision.models.vgg16_bn(weights=None))
    with torch.device("meta"):
        return torchvision.models.vgg16_bn(weights=None)


def _layout(module: nn.Module) -> list[tuple[str, str, tuple[int, ...]]]:
    """Every parameter's name, layer type and shape: equal for a model and its deep copy."""
    types = {name: type(m).__name__ for name, m in module.named_modules()}
    return [(name, types.get(name.rpartition(".")[0], ""), tuple(p.shape)) for name, p in module.named_parameters()]


def _call_swap(swap_head: Callable[..., Any], num_classes: int, meta: bool) -> tuple[nn.Module, Any, dict[str, Any]]:
    """A fresh VGG16-BN, what ``swap_head`` returned for it, and the layers it had before."""
    model = _vgg16_bn(meta)
    before = {"fc6": model.classifier[0], "fc7": model.classifier[3], "fc8": model.classifier[6],
              "conv1_1": model.features[0], "features": _layout(model.features), "avgpool": model.avgpool,
              "between": [type(model.classifier[i]) for i in (1, 2, 4, 5)]}
    with torch.device("meta") if meta else contextlib.nullcontext():  # a new nn.Linear made inside lands on meta too
        return model, swap_head(model, num_classes), before


@never_raises("check_head_swap")
def check_head_swap(result: CheckResult, swap_head: Callable[..., Any], num_classes: int = 10) -> CheckResult:
    """Does ``swap_head(model, num_classes)`` give VGG16-BN a new trainable last layer and frozen features?"""
    if result.not_a_function(swap_head):
        return result
    meta = True
    try:
        model, returned, before = _call_swap(swap_head, num_classes, meta=True)
    except NotImplementedError as exc:
        if "meta" not in printable(exc).lower():
            raise  # the exercise's stub: ⏳
        meta = False  # `.to(device)` inside: check on a real model on the CPU instead (slower, same checks)
        model, returned, before = _call_swap(swap_head, num_classes, meta=False)
        result.note("함수가 계층을 다른 장치로 옮겨서(.to(device) 등) 실제 모델로 CPU에서 검사했습니다 (조금 느림).",
                    "Your function moves layers between devices (.to(device) or similar), so it was checked on a real "
                    "model on the CPU (a little slower).")
    # 1. What comes back.
    if returned is None:
        result.fail("함수가 아무것도 돌려주지 않습니다(None). 아래 검사는 함수가 고친 모델로 이어 갑니다.",
                    "The function returns None. The checks below go on with the model it changed in place.",
                    "함수 마지막에 return model 을 쓰세요: 다음 셀이 돌려받은 모델을 씁니다.",
                    "End the function with return model: the next cells use the model it returns.")
        net = model
    elif not isinstance(returned, nn.Module):
        result.fail(f"함수가 nn.Module이 아니라 {josa(type(returned).__name__, '을')} 돌려줍니다.",
                    f"The function returns a {type(returned).__name__}, not an nn.Module.",
                    "받은 모델의 계층을 바꾼 뒤 그 모델을 그대로 돌려주세요 (return model).",
                    "Change a layer of the model you were given and return that model (return model).")
        return result
    elif not (hasattr(returned, "features") and hasattr(returned, "classifier")):
        result.fail(f"함수가 모델 전체가 아니라 {type(returned).__name__} 하나를 돌려줍니다.",
                    f"The function returns a {type(returned).__name__}, not the whole model.",
                    "바꾼 계층이 아니라 모델을 돌려주세요 (return model).",
                    "Return the model, not the layer you changed (return model).")
        return result
    else:
        net = returned
        result.ok("모델(nn.Module)을 돌려줍니다.", "Returns the model (an nn.Module).")
    net.to("meta" if meta else "cpu")  # a layer moved elsewhere (.to(device), .cuda()) must not fail the forward pass
    # 2. Which layer changed, and into what.
    classifier = getattr(net, "classifier", None)
    if not isinstance(classifier, nn.Sequential):
        result.fail(f"model.classifier가 nn.Sequential이 아니라 {type(classifier).__name__}입니다: 분류기 전체를 "
                    "바꿔 버렸습니다.",
                    f"model.classifier is a {type(classifier).__name__}, not an nn.Sequential: the whole classifier "
                    "was replaced.",
                    "분류기 전체가 아니라 마지막 계층 하나만 바꾸세요: "
                    "model.classifier[6] = nn.Linear(4096, num_classes)",
                    "Replace only the last layer, not the whole classifier: "
                    "model.classifier[6] = nn.Linear(4096, num_classes)")
        return result
    if len(classifier) != 7:
        more = len(classifier) > 7
        result.fail(f"분류기 계층이 {len(classifier)}개입니다 (7개여야 함). "
                    + ("분류기 끝에 계층을 덧붙였습니다: 출력이 여전히 4096 → 1000을 먼저 거칩니다." if more
                       else "분류기에서 계층을 뺐습니다."),
                    f"The classifier has {len(classifier)} layers (expected 7). "
                    + ("A layer was appended to the classifier: the output still goes 4096 → 1000 first." if more
                       else "Layers were removed from the classifier."),
                    "덧붙이지 말고 바꾸세요: model.classifier[6] = nn.Linear(4096, num_classes)",
                    "Replace, do not append: model.classifier[6] = nn.Linear(4096, num_classes)")
        return result
    layers_ok = True
    for idx, name, shape in ((0, "fc6", (25088, 4096)), (3, "fc7", (4096, 4096))):
        layer = classifier[idx]
        if not (isinstance(layer, nn.Linear) and (layer.in_features, layer.out_features) == shape
                and tuple(layer.weight.shape) == shape[::-1]):
            got = (f"{type(layer).__name__}({layer.in_features}, {layer.out_features})"
                   if isinstance(layer, nn.Linear) else type(layer).__name__)
            old = f"classifier[{idx}]({name}, Linear{shape})"
            result.fail(f"{josa(old, '을')} {josa(got, '로')} 바꿨습니다: 엉뚱한 계층을 "
                        "바꿨습니다.",
                        f"classifier[{idx}] ({name}, Linear{shape}) was replaced by {got}: the wrong layer changed.",
                        "ImageNet의 1000개 클래스를 내는 것은 마지막 계층 classifier[6]입니다. 이 계층만 바꾸세요.",
                        "The layer that outputs ImageNet's 1000 classes is the last one, classifier[6]: "
                        "replace only that one.")
            layers_ok = False
        elif layer is not before[name] and next(iter(net.features), None) is before["conv1_1"]:  # not a deep copy
            result.fail(f"classifier[{idx}]({name})이 새로 만든 계층입니다: 분류기를 새로 만들면서 ImageNet으로 "
                        f"학습된 {name}의 가중치를 버렸습니다.",
                        f"classifier[{idx}] ({name}) is a newly made layer: building a new classifier threw away "
                        f"{name}'s weights learned on ImageNet.",
                        "분류기는 그대로 두고 마지막 계층만 바꾸세요: "
                        "model.classifier[6] = nn.Linear(4096, num_classes)",
                        "Keep the classifier and replace only its last layer: "
                        "model.classifier[6] = nn.Linear(4096, num_classes)")
            layers_ok = False
            break
    between = [type(classifier[i]) for i in (1, 2, 4, 5)]
    if between != before["between"]:
        got = ", ".join(f"classifier[{i}] {t.__name__}" for i, t in zip((1, 2, 4, 5), between))
        result.fail(f"fc6·fc7 뒤의 ReLU와 Dropout이 바뀌었습니다 ({got}).",
                    f"The ReLU and Dropout after fc6 and fc7 changed ({got}).",
                    "마지막 계층만 바꾸세요: ReLU와 Dropout은 미세 조정에서도 그대로 둡니다.",
                    "Replace only the last layer: the ReLUs and Dropouts stay for fine-tuning too.")
        layers_ok = False
    pool = getattr(net, "avgpool", None)
    if not (pool is before["avgpool"] or (isinstance(pool, nn.AdaptiveAvgPool2d) and pool.output_size in (7, (7, 7)))):
        result.fail(f"model.avgpool이 {josa(type(pool).__name__, '로')} 바뀌었습니다: 이 레슨의 32×32 이미지는 "
                    "pool5에서 1×1이 되는데, AdaptiveAvgPool2d((7, 7))이 이 1×1 맵을 fc6이 받는 7×7로 늘려 줍니다.",
                    f"model.avgpool was replaced by {type(pool).__name__}: the lesson's 32×32 images are 1×1 at "
                    "pool5, and AdaptiveAvgPool2d((7, 7)) stretches that to the 7×7 fc6 takes.",
                    "avgpool은 그대로 두세요.", "Leave avgpool as it is.")
        layers_ok = False
    if _layout(getattr(net, "features", nn.Identity())) != before["features"]:
        result.fail("model.features의 계층이 바뀌었습니다: 사전 학습된 합성곱 계층은 그대로 두어야 합니다.",
                    "model.features changed: the pretrained convolution layers must stay as they are.",
                    "features는 고정하기(requires_grad=False)만 하고 바꾸지 마세요.",
                    "Only freeze features (requires_grad=False); do not replace anything in it.")
        layers_ok = False
    last = classifier[6]
    squash = next((m for m in last.modules() if isinstance(m, (nn.Softmax, nn.LogSoftmax))), None)
    if not isinstance(last, nn.Linear) and squash is not None:
        result.fail(f"classifier[6]이 {josa(type(squash).__name__, '로')} 끝납니다: 모델의 출력은 소프트맥스를 "
                    "거치지 않은 로짓이어야 합니다.",
                    f"classifier[6] ends in {type(squash).__name__}: the model's output must be raw logits.",
                    "softmax는 손실 함수(nn.CrossEntropyLoss)가 안에서 계산합니다: "
                    "model.classifier[6] = nn.Linear(4096, num_classes)",
                    "nn.CrossEntropyLoss applies log-softmax itself: "
                    "model.classifier[6] = nn.Linear(4096, num_classes)")
        return result
    if not isinstance(last, nn.Linear):
        result.fail(f"classifier[6]이 nn.Linear가 아니라 {type(last).__name__}입니다.",
                    f"classifier[6] is a {type(last).__name__}, not an nn.Linear.",
                    *["model.classifier[6] = nn.Linear(4096, num_classes)"] * 2)
        return result
    if last is before["fc8"] and last.out_features != 1000:
        result.fail("classifier[6]이 원래 계층 그대로이고 out_features 속성만 바뀌었습니다.",
                    "classifier[6] is still the original layer; only its out_features attribute changed.",
                    "속성만 바꾸면 가중치 모양(1000×4096)은 그대로입니다. 새 nn.Linear(4096, num_classes)를 만들어 "
                    "넣으세요.",
                    "Changing an attribute leaves the 1000×4096 weight as it was: put a new "
                    "nn.Linear(4096, num_classes) there.")
        return result
    if last is before["fc8"]:
        result.fail("classifier[6]은 여전히 ImageNet의 4096 → 1000 계층입니다: 새 계층을 넣지 않았습니다.",
                    "classifier[6] is still ImageNet's 4096 → 1000 layer: no new layer was put there.",
                    *["model.classifier[6] = nn.Linear(4096, num_classes)"] * 2)
        return result
    if isinstance(last.weight, nn.parameter.UninitializedParameter):  # an nn.LazyLinear before its first forward
        result.fail("classifier[6]이 nn.LazyLinear입니다: 입력 수를 첫 순전파 때에야 정하므로, 옵티마이저를 만들 때 "
                    "아직 가중치가 없습니다.",
                    "classifier[6] is an nn.LazyLinear: it learns its input size only at the first forward pass, so "
                    "it has no weight yet when the optimizer is made.",
                    *["model.classifier[6] = nn.Linear(4096, num_classes)"] * 2)
        return result
    shape = tuple(last.weight.shape)
    if shape != (num_classes, 4096):
        result.fail(f"새 마지막 계층의 가중치 모양이 {shape}입니다: nn.Linear({shape[1] if len(shape) == 2 else '?'}, "
                    f"{shape[0] if shape else '?'}). nn.Linear(4096, {num_classes})이어야 합니다.",
                    f"The new last layer's weight has shape {shape}: nn.Linear({shape[1] if len(shape) == 2 else '?'}, "
                    f"{shape[0] if shape else '?'}). It should be nn.Linear(4096, {num_classes}).",
                    "입력 수는 앞 계층의 출력 수 4096 (model.classifier[6].in_features), 출력 수는 num_classes입니다.",
                    "Inputs: the 4096 outputs of the layer before (model.classifier[6].in_features); "
                    "outputs: num_classes.")
        return result
    if last.bias is None:
        result.fail("새 마지막 계층에 편향이 없습니다(bias=False): 원래 fc8처럼 클래스마다 편향이 하나씩 있어야 "
                    f"합니다({num_classes}개).",
                    f"The new last layer has no bias (bias=False): like the original fc8 it needs one per class "
                    f"({num_classes}).",
                    *[f"nn.Linear(4096, {num_classes})"] * 2)
        layers_ok = False
    if layers_ok:
        result.ok(f"마지막 계층만 새 nn.Linear(4096, {num_classes})로 바뀌었고 나머지 계층은 그대로입니다.",
                  f"Only the last layer changed, into a new nn.Linear(4096, {num_classes}); every other layer is "
                  "untouched.")
    # 3. Behavior: a forward and a backward pass — which parameters get gradients? On "meta" a 224×224 batch
    # costs nothing; on the CPU a 32×32 one is cheap (AdaptiveAvgPool2d makes it 7×7).
    size = 224 if meta else 32
    try:
        out = net.train()(torch.empty(2, 3, size, size, device="meta") if meta else torch.randn(2, 3, size, size))
        if out.requires_grad:  # everything frozen: nothing to go back through, the counts below say so
            out.float().sum().backward()
    except Exception as exc:  # noqa: BLE001
        ko, en = describe_exception(exc)
        result.fail(f"바꾼 모델로 순전파·역전파를 해 보다가 실패했습니다. {ko}",
                    f"A forward and backward pass through the changed model failed. {en}")
        return result
    result.expect(tuple(out.shape) == (2, num_classes),
                  (f"{size}×{size} 이미지 2장 → 출력 모양 (2, {num_classes}).",
                   f"Two {size}×{size} images → output shape (2, {num_classes})."),
                  (f"출력 모양이 {tuple(out.shape)}입니다 ((2, {num_classes})이어야 함).",
                   f"The output shape is {tuple(out.shape)}, expected (2, {num_classes})."))
    feat = list(net.features.parameters())
    n_feat, frozen = sum(p.numel() for p in feat), sum(p.numel() for p in feat if not p.requires_grad)
    if frozen == n_feat and not any(p.grad is not None and p.numel() for p in feat):
        result.ok(f"특징 추출부(features)의 매개변수(parameter) {n_feat:,}개가 모두 고정되었습니다: "
                  "역전파 뒤에도 기울기가 없습니다.",
                  f"All {n_feat:,} parameters of features are frozen: no gradient reaches them in a backward pass.")
    elif frozen == 0:
        # Attributes a learner may set on a module, hoping to freeze it (PyTorch reads none of them).
        attribute = next((a for a in ("requires_grad", "trainable", "frozen", "freeze") if a in vars(net.features)),
                         None)
        hint = ((f"model.features.{attribute} = False는 모듈 객체에 새 속성을 하나 만들 뿐, "
                 "아무것도 고정하지 않습니다: "
                 "모듈에는 자기만의 requires_grad 스위치가 없고, 고정하는 것은 매개변수 하나하나입니다. "
                 "model.features.requires_grad_(False)(밑줄이 붙은 메서드)를 부르거나 매개변수마다 "
                 "p.requires_grad = False 를 하세요.",
                 f"model.features.{attribute} = False only sets a new attribute on the module object and freezes "
                 "nothing: a module has no requires_grad switch of its own, its parameters do. Call "
                 "model.features.requires_grad_(False) (the method, with the underscore) or set "
                 "p.requires_grad = False for each parameter.") if attribute else
                ["for p in model.features.parameters(): p.requires_grad = False"] * 2)
        result.fail(f"features가 고정되지 않았습니다: 매개변수 {n_feat:,}개가 모두 학습됩니다 "
                    "(역전파 뒤 기울기가 생김).",
                    f"features is not frozen: all {n_feat:,} of its parameters still learn (they get gradients).",
                    *hint)
    else:
        result.fail(f"features의 매개변수 {n_feat:,}개 중 {n_feat - frozen:,}개가 아직 학습됩니다 "
                    f"(고정한 것 {frozen:,}개). 합성곱의 가중치와 편향, 배치 정규화(batch normalization)의 "
                    "매개변수를 모두 고정하세요.",
                    f"{n_feat - frozen:,} of the {n_feat:,} parameters of features still learn ({frozen:,} frozen): "
                    "freeze the convolutions' weights and biases and the batch norm layers alike.",
                    "model.features.parameters()는 합성곱과 BatchNorm의 매개변수를 모두 돌려줍니다.",
                    "model.features.parameters() yields the parameters of the convolutions and of BatchNorm alike.")
    n_head = sum(p.numel() for p in classifier.parameters())
    head_frozen = sum(p.numel() for p in classifier.parameters() if not p.requires_grad)
    without_grad = [n for n, p in classifier.named_parameters() if p.grad is None]
    if head_frozen == 0 and not without_grad:
        result.ok(f"분류기(classifier)의 매개변수 {n_head:,}개는 모두 학습됩니다: 역전파 뒤 모두 기울기가 있습니다.",
                  f"All {n_head:,} parameters of the classifier learn: each gets a gradient in a backward pass.")
    else:
        last = len(classifier) - 1
        new_head = [n for n in without_grad if n.startswith(f"{last}.")]  # the new layer: always named
        shown = [*new_head, *(n for n in without_grad if n not in new_head)][:4]
        names = ", ".join(f"classifier.{n}" for n in shown) + (" …" if len(without_grad) > 4 else "") or "—"
        if new_head == without_grad:  # the new layer alone
            hint = ("새로 만든 마지막 계층이 고정되었습니다: 새 데이터에 맞춰 가장 먼저 학습해야 할 계층입니다. "
                    "features만 고정하세요.",
                    "The new last layer is frozen: it is the one layer that must learn the new data first. Freeze "
                    "features only.")
        elif new_head:  # the whole model, after the swap
            hint = ("새로 만든 마지막 계층까지 고정되었습니다: 계층을 바꾼 뒤에 모델 전체를 고정하면 새 계층도 함께 "
                    "고정됩니다. features만 고정하세요(또는 고정한 다음에 계층을 바꾸세요).",
                    "The new last layer is frozen too: freezing the whole model after the swap freezes the new layer "
                    "with it. Freeze features only (or swap after freezing).")
        else:
            hint = ("고정하는 것은 features뿐입니다. 모델 전체를 고정했다면 model.features만 고정하세요; 분류기는 새 "
                    "데이터에 맞춰 학습해야 합니다.",
                    "Freeze features only. If you froze the whole model, freeze just model.features: the classifier "
                    "has to learn the new data.")
        result.fail(f"분류기의 매개변수 중 {head_frozen:,}개가 고정되었습니다 (기울기 없음: {names}).",
                    f"{head_frozen:,} parameters of the classifier are frozen (no gradient: {names}).", *hint)
    # 4. num_classes honored (not a fixed 10).
    try:
        m7, r7, _ = _call_swap(swap_head, 7, meta=meta)
        net7 = m7 if r7 is None else r7
        out7 = getattr(net7.classifier[-1], "out_features", None) \
            if isinstance(getattr(net7, "classifier", None), nn.Sequential) else None
        result.expect(out7 == 7, ("num_classes=7로 부르면 마지막 계층의 출력도 7개입니다: num_classes를 제대로 씁니다.",
                                  "Called with num_classes=7, the last layer outputs 7: num_classes is honored."),
                      (f"num_classes=7로 불렀는데 마지막 계층의 출력이 {out7}개입니다.",
                       f"Called with num_classes=7, the last layer outputs {out7}."),
                      ("10 같은 숫자 대신 인자 num_classes를 쓰세요.",
                       "Use the num_classes argument, not a fixed number like 10."))
    except Exception as exc:  # noqa: BLE001
        if is_stub(exc):
            raise
        ko, en = describe_exception(exc)
        result.fail(f"num_classes=7로 다시 불러 보다가 실패했습니다. {ko}",
                    f"Calling it again with num_classes=7 failed. {en}")
    # 5. The counts the lesson prints next.
    got, want = reference_count(net), head_swap_counts(num_classes)
    result.expect(tuple(got) == want,
                  (f"매개변수: 전체 {want[0]:,} = 학습 {want[1]:,} + 고정(frozen) {want[2]:,}.",
                   f"Parameters: {want[0]:,} in total = {want[1]:,} trainable + {want[2]:,} frozen."),
                  (f"매개변수: 전체 {got.total:,}, 학습 {got.trainable:,}, 고정 {got.frozen:,} — "
                   f"전체 {want[0]:,}, 학습 {want[1]:,}, 고정 {want[2]:,}이어야 합니다.",
                   f"Parameters: {got.total:,} total, {got.trainable:,} trainable, {got.frozen:,} frozen; "
                   f"expected {want[0]:,}, {want[1]:,} and {want[2]:,}."))
    return result


def _count_slip(got: tuple[int, ...], want: tuple[int, ...], model: nn.Module) -> tuple[str, str]:
    """The (ko, en) hint for a wrong ``(total, trainable, frozen)``."""
    params = list(model.parameters())
    if got == (want[0], want[2], want[1]) and want[1] != want[2]:
        return ("학습과 고정이 뒤바뀌었습니다: requires_grad가 True인 것이 학습되는 매개변수입니다.",
                "Trainable and frozen are swapped: parameters with requires_grad=True are the trainable ones.")
    trainable_tensors = sum(p.requires_grad for p in params)
    if got[0] == len(params) or got[1] == trainable_tensors and want[1] != trainable_tensors:
        return ("매개변수 텐서의 개수를 셌습니다. 각 텐서에 든 숫자의 개수 p.numel()을 더하세요.",
                "That counts parameter tensors; add up the numbers inside each one, p.numel().")
    buffers = sum(b.numel() for b in model.buffers())
    if buffers and got[0] == want[0] + buffers:
        return ("state_dict()에는 배치 정규화의 running_mean/running_var 같은 버퍼(buffer)도 들어 있습니다. "
                "model.parameters()를 세세요.",
                "state_dict() also holds buffers such as batch norm's running_mean/running_var; "
                "count model.parameters().")
    all_named = sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False))
    if all_named != want[0] and got[0] == all_named:
        return ("나눠 쓰는 매개변수를 두 번 셌습니다. model.parameters()는 같은 텐서를 한 번만 돌려줍니다.",
                "A shared parameter was counted twice; model.parameters() yields each tensor once.")
    if got[0] == want[0] and got[1] == 0 and want[1] > 0:
        return ("학습되는 매개변수가 0개로 나왔습니다: model.parameters()는 한 번 돌면 끝나는 제너레이터(generator)라 "
                "두 번째로 돌 때는 비어 있고, p.grad로 골랐다면 역전파 전에는 모두 None입니다. "
                "list(model.parameters())로 받아 두고 p.requires_grad로 나누세요.",
                "No trainable parameters came out: model.parameters() is a generator, empty the second time you loop "
                "over it, and p.grad is None for all of them before a backward pass. Keep list(model.parameters()) "
                "and split by p.requires_grad.")
    weights = sum(p.numel() for name, p in model.named_parameters() if not name.endswith("bias"))
    if weights != want[0] and got[0] == weights:
        return ("편향(bias)을 빼고 가중치만 셌습니다: model.parameters()의 모든 텐서를 세세요.",
                "Only the weights were counted, not the biases: count every tensor of model.parameters().")
    if got[0] != got[1] + got[2]:
        return "전체 = 학습 + 고정이어야 합니다.", "total must equal trainable + frozen."
    return "p.numel()을 requires_grad에 따라 나눠 더하세요.", "Add up p.numel(), split by p.requires_grad."


@never_raises("check_parameter_count")
def check_parameter_count(result: CheckResult, count_parameters: Callable[[nn.Module], Any]) -> CheckResult:
    """Does ``count_parameters(model)`` return ``(total, trainable, frozen)``, numbers not tensors nor buffers?"""
    if result.not_a_function(count_parameters):
        return result
    half, none = (nn.Sequential(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()), nn.Linear(4, 5))
                  for _ in range(2))  # conv + batch norm (with buffers) + linear: small enough to count by hand
    half[0].requires_grad_(False)
    none.requires_grad_(False)
    tied = nn.Sequential(nn.Linear(6, 6), nn.Linear(6, 6, bias=False))  # two layers, one weight
    tied[1].weight = tied[0].weight
    tied[0].bias.requires_grad_(False)
    vgg = _vgg16_bn()
    vgg.classifier[6] = nn.Linear(4096, 10, device="meta")
    vgg.features.requires_grad_(False)
    for ko, en, model in [("작은 모델(일부 고정)", "a small model, partly frozen", half),
                          ("모두 고정한 작은 모델", "a small model, all frozen", none),
                          ("가중치를 나눠 쓰는 모델", "a model whose two layers share one weight", tied),
                          ("헤드를 바꾼 VGG16-BN", "VGG16-BN with its head swapped", vgg)]:
        want, value = tuple(reference_count(model)), count_parameters(model)
        try:
            got = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            got = ()
        if len(got) != 3:
            result.fail(f"{ko}: (전체, 학습, 고정) 세 정수를 돌려줘야 하는데 {josa(type(value).__name__, '을')} "
                        "돌려줍니다"
                        f" ({value!r:.60}).",
                        f"{en}: it should return three integers (total, trainable, frozen), got a "
                        f"{type(value).__name__} ({value!r:.60}).", *["return total, trainable, frozen"] * 2)
            return result
        if got != want:
            result.fail(f"{ko}: (전체, 학습, 고정) = {got}, 정답은 {want}.",
                        f"{en}: (total, trainable, frozen) = {got}; expected {want}.", *_count_slip(got, want, model))
            return result
    total, trainable, frozen = head_swap_counts(10)
    result.ok("네 가지 모델 모두 맞습니다 — 헤드를 바꾼 VGG16-BN: "
              f"전체 {total:,} = 학습 {trainable:,} + 고정 {frozen:,}.",
              f"Right for all four models — VGG16-BN with its head swapped: {total:,} = {trainable:,} trainable "
              f"+ {frozen:,} frozen.")
    return result
