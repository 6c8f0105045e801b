"""Lesson 01's checks, by behavior: the hand-written VGG16 and the builder ``make_layers``.

check_vgg16 runs two 224×224 images through the model (:func:`~.trace.record_ops`), names well-known variants
first (VGG16-BN, the CIFAR head and grayscale fail by name; fc6/fc7 as convolutions pass with a note), compares
the structure with configuration D layer by layer, explains a crash with its arithmetic, and proves through the
recorded ops' links that the model computes what VGG16 computes. check_make_layers compares A–E op by op with
the reference, on meta.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import torch
from torch import nn

from ..errors import josa, particle
from ..models import CFGS, LayerSpec, conv_layer_names
from ..models import make_layers as reference_make_layers
from . import CheckResult, describe_exception, exception_hint, is_stub, never_raises, printable, trace
from .trace import OpEvent, Recording, conv_geometry, describe_op, op_signature, pool_geometry, record_ops

#: torchvision.models.vgg16() has this many parameters (1000 classes).
VGG16_PARAMS = 138_357_544
_BLOCKS = [[64, 64], [128, 128], [256] * 3, [512] * 3, [512] * 3]  # configuration D: 2-2-3-3-3 convs
_FEATURE_OPS = ("conv2d", "max_pool2d", "avg_pool2d", "relu", "batch_norm")
_POOLS = ("max_pool2d", "avg_pool2d")
#: Activations a learner may put where VGG has a ReLU, by the names torch records (ReLU6 is recorded as hardtanh).
_ACTIVATIONS = {"leaky_relu": "leaky_relu", "hardtanh": "hardtanh (ReLU6?)", "relu6": "relu6", "elu": "elu",
                "selu": "selu", "celu": "celu", "gelu": "gelu", "silu": "silu", "mish": "mish", "sigmoid": "sigmoid",
                "tanh": "tanh", "softplus": "softplus", "prelu": "prelu", "rrelu": "rrelu", "hardswish": "hardswish"}
#: The forward pass stops past twice VGG16's conv multiply-adds for two 224×224 images (15.35 G each): feature maps
#: that never shrink would keep a CPU busy for minutes.
_MAX_MACS = 2 * 2 * 15.35e9


@never_raises("check_vgg16")
def check_vgg16(result: CheckResult, candidate: Any, num_classes: int = 10) -> CheckResult:
    """Is ``candidate`` (a class or function called with ``num_classes=...``, or an instance) a correct VGG16?"""
    # a class, or a function such as torchvision.models.vgg16: called with num_classes=...
    is_class = inspect.isclass(candidate) or (callable(candidate) and not isinstance(candidate, nn.Module))
    if is_class:
        try:
            model = trace.build_for_check(candidate, num_classes)
        except Exception as exc:  # noqa: BLE001
            if is_stub(exc):
                raise
            ko, en = describe_exception(exc)
            name = getattr(candidate, "__name__", type(candidate).__name__)
            text = printable(exc)
            hint = ("__init__이 num_classes 인자를 받고 super().__init__()을 먼저 부르는지 확인하세요.",
                    "Check that __init__ takes num_classes and calls super().__init__() first.") \
                if "num_classes" in text or "__init__() call" in text else exception_hint(exc)
            result.fail(f"{name}(num_classes={num_classes}){particle(num_classes, '을')} 만들 수 없습니다. {ko}",
                        f"Could not build {name}(num_classes={num_classes}). {en}", *hint)
            return result
    elif isinstance(candidate, torch.jit.ScriptModule):
        result.fail("TorchScript로 바꾼 모델(torch.jit.script/trace)은 안의 계층을 들여다볼 수 없습니다.",
                    "A TorchScript model (torch.jit.script/trace) cannot be looked into layer by layer.",
                    "바꾸기 전의 클래스나 모델을 넘기세요: check_vgg16(MyVGG16).",
                    "Pass the class, or the model before scripting: check_vgg16(MyVGG16).")
        return result
    elif isinstance(candidate, nn.Module):
        model = candidate
    else:
        result.fail(f"nn.Module 클래스나 인스턴스를 넘겨 주세요 (받은 것: {type(candidate).__name__}).",
                    f"Pass an nn.Module class or instance (got {type(candidate).__name__}).")
        return result
    device = next((t.device for t in [*model.parameters(), *model.buffers()]), torch.device("cpu"))
    if device.type == "meta":
        result.fail("모델이 meta 장치에 있어서 값을 계산할 수 없습니다.",
                    "The model is on the meta device: it has no values.",
                    "클래스를 넘기거나, 실제 가중치가 있는 모델을 넘기세요.",
                    "Pass the class, or a model with real weights.")
        return result
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0)).to(device)
    rec = record_ops(model, x, max_macs=_MAX_MACS)
    if is_class and rec.error is not None and "meta" in str(rec.error).lower():
        model = trace.build_for_check(candidate, num_classes, real=True)  # __init__ made tensors we could not recreate
        rec = record_ops(model, x, max_macs=_MAX_MACS)
    if rec.error is not None and is_stub(rec.error):
        raise rec.error
    variants = _recognise(result, rec)
    structure = rec
    if variants.grayscale:  # the rest of the structure, seen with the one channel it was built for
        try:
            gray = trace.built_on_meta(candidate, num_classes) if is_class else model
            structure = record_ops(gray, torch.zeros(2, 1, 224, 224, device="meta" if is_class else device))
        except Exception as exc:  # noqa: BLE001 - then only what ran before the crash is judged
            if is_stub(exc):
                raise
    if rec.error is None:
        if rec.out is None:
            result.fail("forward가 None을 돌려줍니다: forward에 return이 없으면 파이썬은 None을 돌려줍니다.",
                        "forward returns None: without a return statement, Python returns None.",
                        "forward의 마지막 줄에서 fc8의 출력을 돌려주세요: return x",
                        "End forward by handing back fc8's output: return x")
            return result
        if not isinstance(rec.out, torch.Tensor):
            result.fail(f"forward가 텐서가 아니라 {josa(type(rec.out).__name__, '을')} 돌려줍니다.",
                        f"forward returns a {type(rec.out).__name__}, not a tensor.",
                        "forward는 fc8의 출력(로짓) 텐서 하나만 돌려줍니다: 확률이나 중간 결과는 함께 돌려주지 마세요.",
                        "forward returns one tensor, fc8's output (the logits): no probabilities or intermediate "
                        "results beside it.")
            return result
        if not is_class and rec.out.dim() == 2:
            num_classes = int(rec.out.shape[-1])
        result.expect(tuple(rec.out.shape) == (2, num_classes),
                      (f"출력 모양 (2, {num_classes}) — 이미지마다 클래스 점수 {num_classes}개.",
                       f"Output shape (2, {num_classes}): {num_classes} class scores per image."),
                      (f"출력 모양이 {tuple(rec.out.shape)}입니다 ((2, {num_classes})이어야 함).",
                       f"Output shape is {tuple(rec.out.shape)}, expected (2, {num_classes})."))
    features, classifier = _split(structure.events, drop_batch_norm=variants.batch_norm)
    _notes(result, structure.events)
    failed = structure.failed
    done = structure.error is None or bool(classifier) or (failed is not None and failed.name not in _FEATURE_OPS)
    features_ok = _check_features(result, features, complete=done, in_channels=1 if variants.grayscale else 3)
    classifier_ok = structure.error is None and _check_classifier(result, classifier, num_classes)
    events = structure.events
    last_fc = max((i for i, e in enumerate(events) if _fc_shape(e) is not None), default=len(events))
    if any(e.name == "dropout" for e in events[last_fc + 1:]):
        classifier_ok = False
        result.fail("마지막 계층(fc8) 뒤에 Dropout이 있습니다: 학습할 때 클래스 점수의 절반을 지웁니다.",
                    "A Dropout follows the last layer (fc8): during training it wipes out half of the class scores.",
                    "Dropout은 fc6과 fc7 뒤에만 둡니다: classifier는 nn.Linear(4096, num_classes)로 끝납니다.",
                    "Dropout goes after fc6 and fc7 only: the classifier ends with nn.Linear(4096, num_classes).")
    first_fc = next((i for i, e in enumerate(events) if _fc_shape(e) is not None), len(events))
    in_features = [name for e, name in zip(events[:first_fc], _event_names(events)) if e.name == "dropout"]
    if in_features:
        features_ok = False
        where = (", ".join(ko for ko, _ in in_features[:3]), ", ".join(en for _, en in in_features[:3]))
        result.fail(f"특징 추출부에 Dropout이 있습니다: {where[0]}. VGG16의 Dropout은 fc6과 fc7 뒤에만 있습니다.",
                    f"There is a Dropout in the features: {where[1]}. VGG16 has dropout after fc6 and fc7 only.",
                    "합성곱 블록 뒤의 Dropout을 지우세요(CIFAR용 VGG 예제에서 흔히 보이는 변형입니다).",
                    "Remove the Dropout after the conv blocks (a variant common in CIFAR VGG examples).")
    if rec.error is not None:
        _crash(result, rec, variants)
    if is_class:
        _num_classes(result, candidate, model)
    if rec.error is None:
        registered = _registered_once(result, model, rec)
        if registered:
            _parameters(result, model, rec, classifier, is_class, variants.batch_norm)
        if not is_class:
            result.note("인스턴스를 받아서 num_classes를 바꿔 보는 검사는 건너뛰었습니다: "
                        "클래스를 넘기면 함께 검사합니다.",
                        "Got an instance, so num_classes could not be varied: pass the class to check that too.")
        if registered:
            _links(result, rec, features_ok and classifier_ok and not variants.batch_norm)
    if (rec.error is None and not any(e.name.startswith("adaptive") for e in rec.events)
            and not any(e.name == "conv2d" for e in classifier)):  # fc6 as a convolution: noted by _recognise
        result.note("avgpool(nn.AdaptiveAvgPool2d((7, 7)))이 없어도 224×224에서는 같은 계산이라 통과입니다. 다만 이 "
                    "모델은 224×224 이미지만 받습니다: torchvision처럼 pool5 뒤에 두면 다른 크기의 이미지에서도 fc6이 "
                    "512·7·7 = 25,088개를 받습니다.",
                    "Passing without the avgpool (nn.AdaptiveAvgPool2d((7, 7))) is fine at 224×224, where it changes "
                    "nothing, but this model then takes 224×224 images only: placed after pool5 as in torchvision, "
                    "it hands fc6 512·7·7 = 25,088 values at any image size.")
    dropouts = [e for e in events[first_fc:] if e.name == "dropout"]  # those in the features: a ❌ above
    if rec.error is None and not dropouts and classifier_ok:
        result.note("평가 모드의 순전파에 Dropout이 보이지 않습니다: 없어도 통과입니다. 다만 논문은 fc6과 fc7 뒤에 "
                    "dropout 0.5를 씁니다.",
                    "No Dropout shows in the eval-mode forward pass: passing without it is fine, but the paper uses "
                    "dropout 0.5 after fc6 and fc7.")
    elif any(abs(float(e.arg("p", 0.5)) - 0.5) > 1e-9 for e in dropouts):
        result.note("Dropout 확률이 0.5가 아닙니다. 논문은 0.5를 씁니다.",
                    "Your dropout probability is not 0.5; the paper uses 0.5.")
    return result


def _crash(result: CheckResult, rec: Recording, variants: _Variants) -> None:
    """The failed forward pass, explained — briefly when a variant named above already explains it."""
    f = rec.failed
    if isinstance(rec.error, trace.ForwardTooCostly) and f is not None and f.in_shape:
        (c, h, w), (ko, en) = f.in_shape[1:], _event_names([*rec.events, f])[-1]
        result.fail(f"{ko}에서 순전파(forward)를 멈췄습니다: 224×224 이미지 2장에 여기까지 든 곱셈-덧셈이 벌써 VGG16 "
                    f"전체의 2배를 넘었습니다(이 합성곱의 입력은 {c}×{h}×{w}). 특징 맵(feature map)이 풀링마다 "
                    "절반으로 줄지 않거나, 채널이 VGG16보다 많거나, 커널이 3×3보다 크면 이렇게 됩니다.",
                    f"The forward pass was stopped at {en}: two 224×224 images were taking more than twice "
                    f"VGG16's multiply-adds (this conv's input is {c}×{h}×{w}). That happens when the feature maps do "
                    "not halve at every pool, when there are more channels than in VGG16, or when the kernels are "
                    "bigger than 3×3.")
        return
    ko, en = describe_exception(rec.error)
    if f is not None and ((variants.cifar and f.name == "linear") or (variants.grayscale and f.name == "conv2d")):
        result.fail(f"그래서 224×224 이미지 2장으로 순전파(forward)하다가 {f.module}에서 멈췄습니다 ({ko}).",
                    f"So the forward pass on two 224×224 images stops at {f.module} ({en}).")
        return
    explained = _explain_crash(rec)
    if explained is None:
        hint = exception_hint(rec.error)
        result.fail(f"224×224 이미지 2장으로 순전파(forward)하다가 실패했습니다. {ko}",
                    f"The forward pass on two 224×224 images failed. {en}",
                    *(hint if hint[0] else ("각 계층의 출력 모양을 print로 찍어 보며 어디서 어긋나는지 찾아보세요.",
                                            "Print each layer's output shape to find where the shapes stop matching.")))
        return
    e_ko, e_en, h_ko, h_en = explained
    result.fail(f"224×224 이미지 2장으로 순전파(forward)하다가 멈췄습니다: {e_ko} ({ko})",
                f"The forward pass on two 224×224 images stopped: {e_en} ({en})", h_ko, h_en)


def _num_classes(result: CheckResult, candidate: Any, model: nn.Module) -> None:
    """Build the class again with num_classes=7, on ``meta``: does it answer with 7 scores?"""
    shape, probe = None, None
    try:
        probe = trace.built_on_meta(candidate, 7)
        shape = tuple(trace.dry_run(probe).shape)
    except Exception as exc:  # noqa: BLE001 - fall back on the parameters' shapes
        if is_stub(exc):
            raise
    if shape is None:
        if not isinstance(probe, nn.Module) or trace.has_uninitialized(probe):
            result.note("num_classes=7로 다시 만들어 보는 검사는 건너뛰었습니다 (meta 장치에서 만들 수 없음).",
                        "Skipped building it again with num_classes=7 (it cannot be built on the meta device).")
            return
        mine, theirs = ([tuple(p.shape) for p in m.parameters()] for m in (model, probe))
        changed = [b for a, b in zip(mine, theirs) if a != b]
        good = len(mine) == len(theirs) and bool(changed) and all(7 in s for s in changed)
        got = f"{changed}" if changed else "모두 같음 / all the same"
    else:
        good, got = shape[-1:] == (7,), str(shape)
    result.expect(good, ("num_classes=7로 만들면 출력도 7개입니다: num_classes를 제대로 씁니다.",
                         "Built with num_classes=7 it outputs 7 scores: num_classes is honored."),
                  (f"num_classes=7로 만들었는데 출력 모양이 {got}입니다.",
                   f"Built with num_classes=7, the output shape is {got}."),
                  ("마지막 nn.Linear의 출력 수로 1000 같은 숫자 대신 num_classes를 쓰세요.",
                   "Use num_classes, not a fixed number like 1000, for the last nn.Linear."))


def _registered_once(result: CheckResult, model: nn.Module, rec: Recording) -> bool:
    """Is every conv and linear layer forward ran registered in the model, and each a layer of its own? A ❌ naming
    them when not: layers kept in a plain list, or one layer repeated (``[conv, relu] * 2``)."""
    layers = [(e, name) for e, name in zip(rec.events, _event_names(rec.events))
              if e.name in ("conv2d", "linear") and isinstance(e.arg("weight"), torch.Tensor)]
    registered = {id(p) for p in model.parameters()}
    hidden = [name for e, name in layers  # a parameter of a module the model does not hold (not a view of one)
              if isinstance(e.arg("weight"), nn.Parameter) and id(e.arg("weight")) not in registered]
    if hidden:
        where = (", ".join(ko for ko, _ in hidden[:3]), ", ".join(en for _, en in hidden[:3]))
        more = " …" if len(hidden) > 3 else ""
        result.fail(f"계층 {len(hidden)}개가 모델에 등록되지 않았습니다: {where[0]}{more}. 파이썬 리스트(또는 dict)에 "
                    "담은 계층은 model.parameters()에 보이지 않아서 옵티마이저가 학습하지 않고 .to(device)로 "
                    "옮겨지지도 않습니다.",
                    f"{len(hidden)} layers are not registered in the model: {where[1]}{more}. Layers kept in a plain "
                    "Python list (or dict) are invisible to model.parameters(): the optimizer never trains them and "
                    ".to(device) does not move them.",
                    "리스트 대신 nn.ModuleList(또는 nn.Sequential)에 담으세요.",
                    "Keep them in an nn.ModuleList (or nn.Sequential) instead of a list.")
        return False
    first_use: dict[int, tuple[str, str]] = {}
    for e, name in layers:
        same = first_use.setdefault(id(e.arg("weight")), name)
        if same is not name:
            said = [ko.split("(")[0] for ko in (name[0], same[0])]  # the particle follows the layer's name
            result.fail(f"{josa(said[0], '은')} {same[0]}{particle(said[1], '과')} 같은 계층이라 가중치를 "
                        "나눠 씁니다. [conv, relu] * 2처럼 리스트를 곱하거나 계층 하나를 여러 번 넣으면 같은 객체가 "
                        "반복됩니다.",
                        f"{name[1].split(' (')[0]} is the same layer as {same[1]}: they share one weight. Multiplying "
                        "a list ([conv, relu] * 2) or adding one layer several times repeats the same object.",
                        "합성곱마다 nn.Conv2d(…)를 새로 만드세요.", "Make a new nn.Conv2d(…) for every convolution.")
            return False
    return True


def _parameters(result: CheckResult, model: nn.Module, rec: Recording, classifier: list[OpEvent], is_class: bool,
                batch_norm: bool) -> None:
    """Count on the model that ran (as if it had 1000 classes); say which parameters forward never used."""
    fcs = [e for e in classifier if _fc_shape(e) is not None]
    if not fcs:
        return
    n = sum(p.numel() for p in model.parameters())
    in_last, out_last = _fc_shape(fcs[-1])
    n_1000 = n + (in_last + (fcs[-1].arg("bias") is not None)) * (1000 - out_last)
    bn = sum(t.numel() for e in rec.events if e.name == "batch_norm" for t in (e.arg("weight"), e.arg("bias"))
             if isinstance(t, torch.Tensor))
    if batch_norm and n_1000 - bn == VGG16_PARAMS:
        result.note(f"매개변수는 배치 정규화의 {bn:,}개를 빼면 {VGG16_PARAMS:,}개로 VGG16과 같습니다.",
                    f"Batch norm's {bn:,} parameters aside, the {VGG16_PARAMS:,} parameters are VGG16's.")
        return
    unused = [(name, p.numel()) for name, p in model.named_parameters() if id(p) not in rec.used]
    extra_ko = extra_en = ""
    if unused:
        names = ", ".join(name for name, _ in unused[:4]) + (" …" if len(unused) > 4 else "")
        count = sum(k for _, k in unused)
        extra_ko = f" forward가 쓰지 않는 매개변수가 {count:,}개 있습니다: {names}."
        extra_en = f" forward never uses {count:,} of them: {names}."
    which = ("(num_classes=1000)", "(num_classes=1000)") if is_class else \
        (f"(지금 {n:,}개, num_classes=1000이면)", f"({n:,} now, with num_classes=1000)")
    result.expect(n_1000 == VGG16_PARAMS,
                  (f"매개변수(parameter) {n_1000:,}개 {which[0]} — torchvision의 vgg16과 같습니다.",
                   f"{n_1000:,} parameters {which[1]}, the same as torchvision's vgg16."),
                  (f"매개변수가 {n_1000:,}개입니다 {which[0]}. {VGG16_PARAMS:,}개여야 합니다.{extra_ko}",
                   f"{n_1000:,} parameters {which[1]}; VGG16 has {VGG16_PARAMS:,}.{extra_en}"))


def _links(result: CheckResult, rec: Recording, structure_ok: bool) -> None:
    """Did every op get what the op before it produced, and did forward return the last op's output?"""
    names = _event_names(rec.events)
    broken = next((i for i, e in enumerate(rec.events) if e.linked is False), None)
    active = [i for i, e in enumerate(rec.events) if trace.dropout_active(e)]
    for i in active[:1]:
        p = rec.events[i].arg("p", 0.5)
        result.fail(f"{names[i][0]}: eval() 모드인데도 dropout이 값을 지웁니다. F.dropout(x, {p})의 training 인자는 "
                    "기본값이 True라서 model.eval()을 따르지 않고, 같은 입력에도 출력이 매번 달라집니다.",
                    f"{names[i][1]}: the dropout still drops values in eval() mode. F.dropout(x, {p})'s training "
                    "argument defaults to True, so it ignores model.eval() and the same input gives a different "
                    "output every time.",
                    f"F.dropout(x, {p}, training=self.training)로 쓰거나, __init__에서 만든 nn.Dropout({p})을 쓰세요.",
                    f"Write F.dropout(x, {p}, training=self.training), or use an nn.Dropout({p}) made in __init__.")
    diff = rec.events[broken].link_diff if broken is not None else rec.out_diff
    diff_ko, diff_en = ("", "") if diff is None else (f", 최대 차이 {diff:.3g}", f", max difference {diff:.3g}")
    if broken == 0:
        result.fail(f"{josa(names[0][0], '이')} 입력 이미지를 그대로 받지 않습니다: forward가 첫 계층 앞에서 입력을 "
                    f"바꿉니다{diff_ko}.",
                    f"{names[0][1]} does not receive the input image as it is: forward changes it before the first "
                    f"layer{diff_en}.",
                    "forward는 x를 첫 합성곱에 그대로 넣어야 합니다.",
                    "forward must pass x to the first conv as it is.")
    elif broken is not None:
        result.fail(f"{josa(names[broken][0], '이')} {names[broken - 1][0]}의 출력을 그대로 받지 않습니다: 둘 사이에서 "
                    f"값을 바꾸는 연산이 있습니다{diff_ko}.",
                    f"{names[broken][1]} does not get exactly what {names[broken - 1][1]} produced: something "
                    f"between them changes the values{diff_en}.",
                    "forward에 VGG16 밖의 연산(더하기, 곱하기, 순서 바꾸기 등)이 있는지 확인하세요.",
                    "Look for operations in forward that are not part of VGG16 (adds, scaling, reordering).")
    elif rec.out_linked is False:
        diff_ko, diff_en = ("", "") if diff is None else (f" (최대 차이 {diff:.3g})", f" (max difference {diff:.3g})")
        result.fail(f"forward가 마지막 계층 {names[-1][0]}의 출력을 바꿔서 돌려줍니다{diff_ko}.",
                    f"forward changes the output of the last layer, {names[-1][1]}, before returning it{diff_en}.",
                    "마지막 nn.Linear의 출력을 그대로 return 하세요 (softmax, 곱하기 등 없이).",
                    "Return the last nn.Linear's output as it is (no softmax, no scaling).")
    elif structure_ok and not active:
        result.ok("같은 가중치로 VGG16과 똑같이 계산합니다: 계층마다 앞 계층의 출력을 그대로 받고, forward는 fc8의 "
                  "출력을 그대로 돌려줍니다.",
                  "With these weights it computes exactly what VGG16 computes: every layer gets the previous "
                  "layer's output unchanged, and forward returns fc8's output as it is.")


# ------------------------------------------------------------------------ the structure, layer by layer
def _fc_shape(e: OpEvent) -> tuple[int, int] | None:
    """``(in_features, out_features)`` of a linear layer, or of a convolution that computes one.

    A convolution whose kernel covers its whole input (no padding, a 1×1 output) is a fully connected layer:
    ``Conv2d(512, 4096, 7)`` on 512×7×7 features is ``Linear(25088, 4096)``.
    """
    w = e.arg("weight")
    if not isinstance(w, torch.Tensor):
        return None
    if e.name == "linear":
        return int(w.shape[1]), int(w.shape[0])
    if e.name == "conv2d" and e.in_shape and e.out_shape and len(e.in_shape) == 4:
        g = conv_geometry(e)
        if (tuple(e.in_shape[-2:]) == g["kernel"] and tuple(e.out_shape[-2:]) == (1, 1)
                and g["padding"] == (0, 0) and g["groups"] == 1):
            return int(w[0].numel()), int(w.shape[0])
    return None


def _no_op_pool(e: OpEvent) -> bool:
    """A 1×1 pooling with stride 1 (pytorch-cifar's trailing ``AvgPool2d(kernel_size=1, stride=1)``): it changes
    nothing."""
    if e.name not in _POOLS:
        return False
    g = pool_geometry(e)
    return g["kernel"] == g["stride"] == (1, 1) and g["padding"] == (0, 0)


def _split(events: list[OpEvent], drop_batch_norm: bool) -> tuple[list[OpEvent], list[OpEvent]]:
    """(features, classifier): the ops that matter, before and from the first fully connected layer.

    Dropout and poolings that change nothing (an adaptive 7×7 → 7×7, a 1×1 with stride 1) do not matter, nor does
    a ReLU that follows a max pooling rather than precedes it (the same numbers), comes twice, or comes again after
    the max pooling of a ReLU's output.
    """
    ops = [e for e in events if e.name != "dropout" and not (drop_batch_norm and e.name == "batch_norm")
           and not (e.name.startswith("adaptive") and e.in_shape is not None and e.out_shape is not None
                    and e.in_shape[-2:] == e.out_shape[-2:]) and not _no_op_pool(e)]
    for i in range(1, len(ops) - 1):  # conv → max pool → ReLU computes what conv → ReLU → max pool does
        if ops[i - 1].name == "conv2d" and ops[i].name == "max_pool2d" and ops[i + 1].name == "relu":
            ops[i], ops[i + 1] = ops[i + 1], ops[i]
    ops = [e for i, e in enumerate(ops) if not (e.name == "relu" and i and (  # ReLU twice, or again after a max pool
        ops[i - 1].name == "relu" or (ops[i - 1].name == "max_pool2d" and i > 1 and ops[i - 2].name == "relu")))]
    first = next((i for i, e in enumerate(ops) if _fc_shape(e) is not None), len(ops))
    return ops[:first], ops[first:]


def _conv_problems(e: OpEvent, expected_in: int, out_ch: int) -> list[tuple[str, str]]:
    g = conv_geometry(e)
    problems = []
    if g["kernel"] != (3, 3):
        problems.append((f"커널 크기가 {g['kernel']}입니다 (3×3이어야 함)",
                         f"kernel size is {g['kernel']}, expected 3×3"))
    if g["stride"] != (1, 1):
        problems.append((f"보폭(stride)이 {g['stride']}입니다 (1이어야 함: 크기를 줄이는 일은 풀링이 맡습니다)",
                         f"stride is {g['stride']}, expected 1 (only pooling shrinks the image)"))
    if g["padding"] != (1, 1):
        problems.append((f"패딩(padding)이 {g['padding']}입니다 (1이어야 크기가 유지됩니다)",
                         f"padding is {g['padding']}, expected 1 (keeps the size)"))
    if g["padding_mode"]:
        problems.append((f"가장자리를 0이 아니라 '{g['padding_mode']}' 방식으로 채웁니다 (VGG는 0으로 채웁니다: "
                         "padding_mode='zeros', 기본값)",
                         f"it pads in '{g['padding_mode']}' mode; VGG pads with zeros (padding_mode='zeros', the "
                         "default)"))
    if g["dilation"] != (1, 1) or g["groups"] != 1:
        problems.append((f"dilation={g['dilation']}, groups={g['groups']}입니다 (둘 다 1이어야 함)",
                         f"dilation={g['dilation']}, groups={g['groups']}, expected 1 and 1"))
    if g["in"] is not None and (g["in"] != expected_in or g["out"] != out_ch):
        problems.append((f"채널이 {g['in']}→{g['out']}입니다 ({expected_in}→{out_ch}이어야 함)",
                         f"channels are {g['in']}→{g['out']}, expected {expected_in}→{out_ch}"))
    if not g["bias"]:
        problems.append(("편향(bias)이 없습니다 (VGG16의 합성곱에는 편향이 있습니다)",
                         "it has no bias (VGG16's convs have one)"))
    return problems


def _notes(result: CheckResult, events: list[OpEvent]) -> None:
    """ℹ️ for what :func:`_split` leaves aside as computing the same numbers."""
    if any(_no_op_pool(e) for e in events):
        result.note("커널 1, 보폭 1인 풀링(AvgPool2d(kernel_size=1, stride=1) 등)은 아무것도 바꾸지 않아 "
                    "건너뛰었습니다: 지워도 됩니다.",
                    "A pooling with kernel 1 and stride 1 (AvgPool2d(kernel_size=1, stride=1) …) changes nothing, so "
                    "it was passed over: you may remove it.")
    names = [e.name for e in events]
    if any(names[i - 1:i + 2] == ["conv2d", "max_pool2d", "relu"] for i in range(1, len(names) - 1)):
        result.note("최대 풀링 뒤에 ReLU를 두었습니다: 최대 풀링과 ReLU는 순서를 바꿔도 같은 값이 나오므로 통과입니다. "
                    "논문과 torchvision은 합성곱 → ReLU → 풀링 순서입니다.",
                    "The ReLU comes after the max pooling: max and ReLU commute, so the numbers are the same and it "
                    "passes. The paper and torchvision go conv → ReLU → pool.")


def _check_features(result: CheckResult, ops: list[OpEvent], complete: bool, in_channels: int) -> bool:
    """Walk the feature ops against configuration D; report the first place they part.

    ``complete=False``: the forward pass stopped (a crash explained elsewhere), so running out of ops is not a
    mistake and nothing is claimed about the layers never reached.
    """
    pos, sizes = 0, []
    convs_ok = relu_ok = pools_ok = True
    for b, channels in enumerate(_BLOCKS, start=1):
        for i, out_ch in enumerate(channels, start=1):
            e = ops[pos] if pos < len(ops) else None
            if e is None and not complete:
                return False
            where = f"({e.module})" if e is not None and e.module else ""
            at = f" {where}" if where else ""
            if e is None or e.name != "conv2d":
                if e is not None and e.name in _POOLS:
                    result.fail(f"블록 {b}에 합성곱이 {i - 1}개뿐입니다{at}. {len(channels)}개여야 합니다.",
                                f"Block {b} has only {i - 1} conv(s){at}; VGG16 has {len(channels)} there.",
                                "VGG16(구성 D)의 블록별 합성곱 수는 2-2-3-3-3입니다.",
                                "VGG16 (configuration D) has 2-2-3-3-3 convs per block.")
                else:
                    found = e.name if e else "끝 / end"
                    result.fail(f"conv{b}_{josa(i, '이')} 있어야 할 자리에 '{found}'{josa(at, '이')} 있습니다.",
                                f"Expected conv{b}_{i} here, found '{found}'{at}.",
                                "features의 순서를 논문의 표 1(구성 D)과 비교해 보세요.",
                                "Compare the order of your features with Table 1 (configuration D).")
                return False
            pos += 1
            expected_in = in_channels if (b, i) == (1, 1) else (_BLOCKS[b - 2][-1] if i == 1 else out_ch)
            problems = _conv_problems(e, expected_in, out_ch)
            if problems and convs_ok:
                convs_ok = False
                result.fail(f"conv{b}_{i}{where}: " + "; ".join(p[0] for p in problems),
                            f"conv{b}_{i}{at}: " + "; ".join(p[1] for p in problems),
                            "nn.Conv2d(입력 채널, 출력 채널, kernel_size=3, padding=1)을 쓰세요.",
                            "Use nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1).")
            e = ops[pos] if pos < len(ops) else None  # the ReLU after it
            if e is not None and (e.name == "relu" or (e.name in _ACTIVATIONS and not relu_ok)):
                pos += 1
            elif e is None and not complete:
                return False
            elif relu_ok:
                relu_ok = False
                pos += e is not None and e.name in _ACTIVATIONS  # another activation in its place: the walk goes on
                found = f"'{_ACTIVATIONS.get(e.name, e.name)}' ({e.module})" if e is not None else "끝 / end"
                result.fail(f"conv{b}_{i}{where} 뒤에 ReLU가 없습니다 (대신 {found}).",
                            f"No ReLU after conv{b}_{i}{at} (found {found} instead).",
                            "합성곱마다 바로 뒤에 nn.ReLU(inplace=True)(또는 F.relu)를 두세요.",
                            "Put nn.ReLU(inplace=True) (or F.relu) right after every conv.")
        e = ops[pos] if pos < len(ops) else None  # the pool closing the block
        if e is None and not complete:
            return False
        if e is None or e.name == "conv2d":
            result.fail(f"블록 {b}에 합성곱이 {len(channels)}개보다 많거나, 블록 끝에 풀링(pool{b})이 없습니다.",
                        f"Block {b} has more than {len(channels)} convs, or no pooling (pool{b}) at its end.",
                        "VGG16의 블록별 합성곱 수는 2-2-3-3-3이고, 블록마다 MaxPool2d(2, 2)로 끝납니다.",
                        "VGG16 has 2-2-3-3-3 convs per block, each block ending in MaxPool2d(2, 2).")
            return False
        pos += 1
        where = f"pool{b} ({e.module})" if e.module else f"pool{b}"
        if e.name != "max_pool2d":
            kind = ("평균 풀링(average pooling)", "average pooling") if e.name == "avg_pool2d" else \
                (f"'{e.name}'", f"'{e.name}'")
            result.fail(f"블록 {b}의 끝({where})에 최대 풀링 대신 {josa(kind[0], '이')} 있습니다.",
                        f"Block {b} ends in {kind[1]} instead of max pooling ({where}).",
                        "nn.MaxPool2d(kernel_size=2, stride=2)를 쓰세요.", "Use nn.MaxPool2d(kernel_size=2, stride=2).")
            return False
        g = pool_geometry(e)
        k, s, p = g["kernel"], g["stride"], g["padding"]
        if (k, s, p) != ((2, 2), (2, 2), (0, 0)) and pools_ok:
            pools_ok = False
            same = k == s and k != (2, 2)
            result.fail(f"{where}의 최대 풀링이 kernel={k}, stride={s}, padding={p}입니다.",
                        f"{where}: the max pooling has kernel={k}, stride={s}, padding={p}.",
                        "VGG는 2×2 창, 보폭 2의 최대 풀링만 씁니다: nn.MaxPool2d(2, 2)."
                        + (f" 보폭을 주지 않으면 보폭도 커널 크기({k[0]})가 됩니다." if same else ""),
                        "VGG only uses 2×2 max pooling with stride 2: nn.MaxPool2d(2, 2)."
                        + (f" Without a stride, the stride is the kernel size ({k[0]}) too." if same else ""))
        if e.out_shape:
            sizes.append(int(e.out_shape[-1]))
    if convs_ok:
        result.ok("합성곱 13개: 모두 3×3, 보폭 1, 패딩 1, 블록 2-2-3-3-3, 채널 64-128-256-512-512.",
                  "13 convs: all 3×3, stride 1, padding 1, blocks of 2-2-3-3-3, channels 64-128-256-512-512.")
    if relu_ok:
        result.ok("합성곱마다 뒤에 ReLU가 있습니다.", "A ReLU follows every conv.")
    if pools_ok:
        result.ok("블록마다 2×2, 보폭 2의 최대 풀링으로 끝납니다.", "Every block ends in 2×2 max pooling, stride 2.")
    result.expect(sizes == [112, 56, 28, 14, 7],
                  ("공간 크기: 224 → 112 → 56 → 28 → 14 → 7.", "Spatial path: 224 → 112 → 56 → 28 → 14 → 7."),
                  (f"풀링 뒤 공간 크기가 {sizes}입니다 (112, 56, 28, 14, 7이어야 함).",
                   f"Spatial sizes after pooling are {sizes}, expected 112, 56, 28, 14, 7."))
    if pos < len(ops) and ops[pos].name.startswith("adaptive") and ops[pos].out_shape is not None:
        _check_avgpool(result, ops[pos], sizes)  # torchvision's avgpool, required, but not a no-op here
        return False
    if pos < len(ops):  # something left between pool5 and fc6
        extra = ops[pos]
        result.fail(f"특징 추출부(features) 끝(pool5)과 fc6 사이에 "
                    f"'{extra.name}'({extra.module}){particle(extra.module, '이')} 있습니다.",
                    f"'{extra.name}' ({extra.module}) sits between the end of the features (pool5) and fc6.",
                    "마지막 풀링의 7×7×512 출력을 펼쳐서(flatten) 바로 nn.Linear(25088, 4096)에 넣으세요.",
                    "Flatten the 7×7×512 output of the last pool straight into nn.Linear(25088, 4096).")
        return False
    return convs_ok and relu_ok and pools_ok


def _check_avgpool(result: CheckResult, e: OpEvent, sizes: list[int]) -> None:
    """An adaptive pooling after pool5 that changes the size: it belongs there (torchvision's ``avgpool``), but as
    ``AdaptiveAvgPool2d((7, 7))``, which does nothing at 224×224; here it hides a slip or makes one."""
    before, after = tuple(e.in_shape[-2:]), tuple(e.out_shape[-2:])
    pool = "avgpool" if e.module == "avgpool" else f"avgpool({e.module})"
    if after == (7, 7):  # the avgpool is right: pool5 is not 7×7 because of a slip above
        result.fail(f"pool5가 7×7이 아니라 {josa(f'{before[0]}×{before[1]}', '이라')}서 {josa(pool, '이')}"
                    f" 7×7로 늘려 맞추고 "
                    "있습니다. avgpool은 그대로 두고, 공간 크기를 바꾼 위의 ❌부터 고치세요.",
                    f"pool5 is {before[0]}×{before[1]}, not 7×7, so {pool} stretches it to 7×7. "
                    "Keep the avgpool and fix the ❌ above that changed the spatial size.")
        return
    old, new = f"{before[0]}×{before[1]}", f"{after[0]}×{after[1]}"
    result.fail(f"{josa(pool, '이')} pool5의 {josa(old, '을')} {josa(new, '로')} 줄입니다. "
                "이 "
                "연습의 avgpool은 torchvision처럼 nn.AdaptiveAvgPool2d((7, 7))입니다: 224×224에서는 아무것도 바꾸지 "
                "않고, 다른 크기의 이미지에서도 fc6에 512·7·7 = 25,088개를 보내 줍니다.",
                f"The {pool} shrinks pool5's {before[0]}×{before[1]} to {after[0]}×{after[1]}. This "
                "exercise's avgpool is torchvision's nn.AdaptiveAvgPool2d((7, 7)): it changes nothing at 224×224 and "
                "still hands fc6 512·7·7 = 25,088 values for an image of another size.",
                "self.avgpool = nn.AdaptiveAvgPool2d((7, 7)), 그리고 fc6은 nn.Linear(512 * 7 * 7, 4096).",
                "self.avgpool = nn.AdaptiveAvgPool2d((7, 7)), and fc6 is nn.Linear(512 * 7 * 7, 4096).")


def _check_classifier(result: CheckResult, ops: list[OpEvent], num_classes: int) -> bool:
    """fc6–fc8: 25088 → 4096 → 4096 → ``num_classes``, a ReLU after fc6 and fc7, raw logits out."""
    fcs = [e for e in ops if _fc_shape(e) is not None]
    shapes = [_fc_shape(e) for e in fcs]
    expected = [(512 * 7 * 7, 4096), (4096, 4096), (4096, num_classes)]
    ok = result.expect(
        shapes == expected,
        (f"분류기(classifier): 25088 → 4096 → 4096 → {num_classes}.",
         f"Classifier: 25088 → 4096 → 4096 → {num_classes}."),
        (f"완전 연결 계층이 {' → '.join(str(s) for s in shapes) + '입니다' if shapes else '없습니다'} "
         f"(25088→4096, 4096→4096, 4096→{num_classes}이어야 함).",
         f"Linear layers are {shapes or 'missing'}; expected 25088→4096, 4096→4096, 4096→{num_classes}."),
        _classifier_hint(shapes, expected))
    if not fcs:
        return False
    tail = ["linear" if _fc_shape(e) is not None else e.name for e in ops]
    last = len(tail) - 1 - tail[::-1].index("linear")
    squashers = [e for e in ops[last + 1:] if e.name in ("softmax", "log_softmax", "sigmoid", "tanh", "relu")]
    if squashers:
        s = squashers[0]
        result.fail(f"마지막 계층 뒤에 '{s.name}'({s.module}){particle(s.module, '이')} 있습니다: "
                    "출력은 소프트맥스를 거치지 않은 로짓(logit)이어야 합니다.",
                    f"'{s.name}' ({s.module}) follows the last layer: the output must be raw logits.",
                    *(("softmax는 손실 함수(nn.CrossEntropyLoss)가 안에서 계산합니다. forward에서 빼세요.",
                       "nn.CrossEntropyLoss applies log-softmax itself: remove it from forward.")
                      if "softmax" in s.name else
                      (f"마지막 {josa(s.name, '을')} 빼세요: 로짓은 음수를 포함해 어떤 값이든 될 수 "
                       "있어야 하고, 확률로 바꾸는 일은 손실 함수(nn.CrossEntropyLoss)가 합니다.",
                       f"Remove the last {s.name}: logits must be free to take any value, negative ones too; "
                       "nn.CrossEntropyLoss turns them into probabilities itself.")))
        return False
    norms = [e for e in ops[:last] if e.name == "batch_norm"]
    if norms:
        result.fail(f"분류기에 배치 정규화({norms[0].module})가 있습니다: VGG16의 fc6과 fc7 뒤에는 ReLU와 Dropout만 "
                    "있습니다.",
                    f"The classifier has batch norm ({norms[0].module}): VGG16 has only a ReLU and a Dropout after fc6 "
                    "and fc7.",
                    "분류기에서 nn.BatchNorm1d를 빼세요: Linear → ReLU → Dropout → Linear → ReLU → Dropout → Linear.",
                    "Remove nn.BatchNorm1d from the classifier: Linear → ReLU → Dropout → Linear → ReLU → Dropout → "
                    "Linear.")
        return False
    if tail[:5] != ["linear", "relu", "linear", "relu", "linear"] and len(fcs) == 3:
        result.fail("fc6과 fc7 뒤에 각각 ReLU가 있어야 합니다.", "A ReLU must follow fc6 and fc7.",
                    "Linear → ReLU → Dropout → Linear → ReLU → Dropout → Linear 순서입니다.",
                    "The order is Linear → ReLU → Dropout → Linear → ReLU → Dropout → Linear.")
        return False
    unbiased = [f"fc{6 + i}({e.module})" for i, e in enumerate(fcs) if e.arg("bias") is None]
    if ok and unbiased:
        en = ", ".join(u.replace("(", " (") for u in unbiased)
        result.fail(f"{', '.join(unbiased)}에 편향(bias)이 없습니다: VGG16의 완전 연결 계층에는 모두 편향이 있습니다.",
                    f"{en} {'has' if len(unbiased) == 1 else 'have'} no bias: every fully connected layer of VGG16 "
                    "has one.",
                    "nn.Linear(…, bias=False)에서 bias=False를 빼세요.", "Drop bias=False from nn.Linear(…).")
        return False
    if ok:
        result.ok("fc6과 fc7 뒤에 ReLU, 마지막 출력은 소프트맥스를 거치지 않은 로짓입니다.",
                  "ReLU after fc6 and fc7; the output is raw logits.")
    return ok


def _classifier_hint(shapes: list[tuple[int, int] | None], expected: list[tuple[int, int]]) -> tuple[str, str]:
    """The hint for the first fully connected layer that differs from VGG16's."""
    if len(shapes) != len(expected):
        return ("VGG16의 완전 연결 계층은 fc6, fc7, fc8 세 개입니다: nn.Linear(512 * 7 * 7, 4096) → "
                "nn.Linear(4096, 4096) → nn.Linear(4096, num_classes).",
                "VGG16 has three fully connected layers, fc6, fc7 and fc8: nn.Linear(512 * 7 * 7, 4096) → "
                "nn.Linear(4096, 4096) → nn.Linear(4096, num_classes).")
    i = next((i for i, (a, b) in enumerate(zip(shapes, expected)) if a != b), None)
    if i is None:
        return "", ""
    if i == 2 and shapes[2][0] == 4096:
        return ("마지막 계층(fc8)의 출력 수는 num_classes 인자를 그대로 쓰세요.",
                "The last layer's (fc8's) output size must be the num_classes argument.")
    if i == 0 and shapes[0][0] != 512 * 7 * 7:
        return ("fc6은 pool5의 512·7·7 = 25,088개를 받습니다: nn.Linear(512 * 7 * 7, 4096).",
                "fc6 takes pool5's 512·7·7 = 25,088 values: nn.Linear(512 * 7 * 7, 4096).")
    name = f"fc{6 + i}"
    return (f"{josa(name, '은')} nn.Linear({expected[i][0]}, {expected[i][1]})입니다: fc6과 fc7은 4096개를 내고, "
            "num_classes는 마지막 fc8만 씁니다.",
            f"{name} is nn.Linear({expected[i][0]}, {expected[i][1]}): fc6 and fc7 give 4096 values each, and only "
            "the last layer, fc8, uses num_classes.")


def _event_names(events: list[OpEvent]) -> list[tuple[str, str]]:
    """A (ko, en) name for every event: ``conv3_3 (features[14])``, ``ReLU after fc6 (classifier[1])`` …"""
    names: list[tuple[str, str]] = []
    block, index, fc, last = 1, 0, 0, ""
    for e in events:
        if _fc_shape(e) is not None:
            ko = en = last = f"fc{6 + fc}"
            fc += 1
        elif e.name == "conv2d":
            index += 1
            ko = en = last = f"conv{block}_{index}"
        elif e.name in _POOLS:
            ko = en = last = f"pool{block}"
            block, index = block + 1, 0
        else:
            op = {"relu": "ReLU", "batch_norm": "batch norm"}.get(e.name, e.name)
            ko, en = (f"{last} 뒤의 {op}", f"{op} after {last}") if last else (op, op)
        names.append((f"{ko}({e.module})", f"{en} ({e.module})") if e.module else (ko, en))
    return names


# ------------------------------------------------------------------------ variants, and crashes explained
@dataclass
class _Variants:
    batch_norm: bool = False
    cifar: bool = False
    grayscale: bool = False


def _side(n: int) -> int | None:
    """``s`` when ``n`` = 512·s·s, else ``None``."""
    s = math.isqrt(n // 512) if n % 512 == 0 else 0
    return s if s and s * s * 512 == n else None


def _arithmetic(n: int) -> str:
    """``25088`` → ``"512·7·7 = 25,088"``; a number that is not 512·s·s stays ``"12,345"``."""
    s = _side(n)
    return f"512·{s}·{s} = {n:,}" if s else f"{n:,}"


def _recognise(result: CheckResult, rec: Recording) -> _Variants:
    """One line per well-known variant found (before any other line of the check), and which were found."""
    v = _Variants()
    features, classifier = _split(rec.events, drop_batch_norm=False)
    bns = [e for e in features if e.name == "batch_norm"]
    if bns:
        v.batch_norm = True
        result.fail(f"이것은 VGG16-BN입니다: 합성곱 뒤에 배치 정규화(batch normalization)가 {len(bns)}개 있습니다 "
                    f"(첫 번째: {bns[0].module}). 이 연습은 배치 정규화가 없는 논문의 VGG16입니다.",
                    f"This is VGG16-BN: {len(bns)} batch norm layers follow the convolutions (the first: "
                    f"{bns[0].module}). The exercise is the paper's VGG16, without batch norm.",
                    "nn.BatchNorm2d를 모두 빼세요. 아래 검사는 배치 정규화를 빼고 본 나머지 구조입니다.",
                    "Remove every nn.BatchNorm2d. The lines below judge the rest of the structure, batch norm aside.")
    f = rec.failed
    if f is not None and f.name == "conv2d" and not any(e.name == "conv2d" for e in rec.events):
        g = conv_geometry(f)
        if g["in"] == 1 and f.in_shape and len(f.in_shape) == 4 and f.in_shape[1] == 3:
            v.grayscale = True
            result.fail(f"conv1_1({f.module})이 입력 채널 1개(흑백 이미지)로 만들어졌습니다. 이 연습의 이미지는 "
                        "RGB, 채널 3개입니다.",
                        f"conv1_1 ({f.module}) is built for 1 input channel (grayscale images); the exercise's "
                        "images are RGB, with 3 channels.",
                        *[f"nn.Conv2d(3, {g['out']}, kernel_size=3, padding=1)"] * 2)
    _, fc6s = _split(rec.events, drop_batch_norm=True)  # fc6: recorded, or the linear layer that raised
    fc6, shape = (fc6s[0], _fc_shape(fc6s[0])) if fc6s else (f, None)
    if not fc6s and f is not None and f.name == "linear" and isinstance(f.arg("weight"), torch.Tensor):
        shape = int(f.arg("weight").shape[1]), int(f.arg("weight").shape[0])
    small = shape is not None and (_side(shape[0]) in (1, 2, 4) or shape[1] == 512)  # 32×32 halved 5, 4 or 3 times
    shrunk = any(e.name.startswith("adaptive") and e.in_shape and e.out_shape and e.in_shape[-2:] != e.out_shape[-2:]
                 for e in features)  # an avgpool made fc6's input small: said with the avgpool, not a CIFAR head
    if small and not shrunk:
        v.cifar = True
        n_in = _arithmetic(shape[0])
        result.fail(f"이것은 32×32 CIFAR용 헤드(head)입니다: fc6({fc6.module})이 입력 {n_in}개를 받아 "
                    f"{shape[1]}개를 냅니다. 이 연습은 224×224 ImageNet 이미지의 VGG16이라, 특징 추출부가 "
                    "512·7·7로 끝나고 fc6에는 512·7·7 = 25,088개의 입력이 필요합니다.",
                    f"This is the 32×32 CIFAR head: fc6 ({fc6.module}) takes {n_in} inputs and gives {shape[1]}. "
                    "The exercise is VGG16 for 224×224 ImageNet images, whose features end at 512·7·7, so fc6 "
                    "needs 512·7·7 = 25,088 inputs.",
                    *["nn.Linear(512 * 7 * 7, 4096) → nn.Linear(4096, 4096) → nn.Linear(4096, num_classes)"] * 2)
    convs = [e for e in classifier if e.name == "conv2d" and _fc_shape(e) is not None]
    if convs:
        names = ", ".join(e.module for e in convs)
        result.note(f"완전 연결 계층을 합성곱으로 썼습니다({names}): 7×7×512 특징 위의 7×7 합성곱은 "
                    "Linear(25088, 4096)과, 1×1 위의 1×1 합성곱은 Linear(4096, 4096)과 같은 계산입니다 "
                    "(출력 하나하나가 입력 전부를 봅니다). 그래서 같은 것으로 보고 검사합니다 — 논문의 조밀한 "
                    "평가(dense evaluation) 형태이고, 레슨 06에서 이 변환을 다룹니다.",
                    f"The fully connected layers are written as convolutions ({names}): a 7×7 convolution over the "
                    "7×7×512 features computes Linear(25088, 4096), a 1×1 convolution over 1×1 computes "
                    "Linear(4096, 4096) (every output sees every input). They are checked as those linear layers: "
                    "this is the paper's dense-evaluation form, and lesson 06 shows the conversion.")
    return v


def _explain_crash(rec: Recording) -> tuple[str, str, str, str] | None:
    """(ko, en, hint_ko, hint_en) explaining why the op in ``rec.failed`` could not run; ``None`` if unknown."""
    f, events = rec.failed, rec.events
    if f is None or not f.in_shape:
        return None
    block, index = 1, 0  # where the next conv goes: conv{block}_{index + 1}
    for e in events:
        block, index = (block + 1, 0) if e.name in _POOLS else (block, index + (e.name == "conv2d"))
    if f.name == "linear" and isinstance(f.arg("weight"), torch.Tensor):
        w_in = int(f.arg("weight").shape[1])
        n_fc = sum(_fc_shape(e) is not None for e in events)
        name = f"fc{6 + n_fc} ({f.module})"
        if len(f.in_shape) == 1 or (len(f.in_shape) == 2 and f.in_shape[0] == 1 and f.in_shape[1] == 2 * w_in):
            n = math.prod(f.in_shape)
            return (f"{name}에 이미지 2장이 한 줄({n:,}개)로 합쳐져 들어갑니다: 배치 차원까지 펼쳤습니다"
                    "(torch.flatten(x), x.view(-1), nn.Flatten(0) …).",
                    f"{name} gets both images as one row of {n:,} values: the batch axis was flattened too "
                    "(torch.flatten(x), x.view(-1), nn.Flatten(0) …).",
                    "배치 차원(0)은 두고 나머지를 펴세요: torch.flatten(x, 1) 또는 x.view(x.size(0), -1).",
                    "Keep the batch axis (0) and flatten the rest: torch.flatten(x, 1) or x.view(x.size(0), -1).")
        if len(f.in_shape) > 2 and math.prod(f.in_shape[1:]) == w_in:
            return (f"{name}에 {f.in_shape} 모양의 4차원 텐서가 그대로 들어갑니다: 펼치지(flatten) 않았습니다.",
                    f"{name} receives a 4-D tensor of shape {f.in_shape}: it was not flattened.",
                    "완전 연결 계층 앞에서 x = torch.flatten(x, 1) (또는 nn.Flatten())로 이미지마다 한 줄로 펴세요.",
                    "Flatten before the linear layers: x = torch.flatten(x, 1) (or nn.Flatten()).")
        n_in = int(f.in_shape[-1]) if len(f.in_shape) == 2 else math.prod(f.in_shape[1:])
        if n_fc:
            return (f"{josa(name, '은')} 입력 {w_in:,}개를 받도록 만들어졌는데, 앞 계층 fc{josa(5 + n_fc, '은')} "
                    f"{n_in:,}개를 냅니다.",
                    f"{name} is built for {w_in:,} inputs, but the layer before it, fc{5 + n_fc}, gives {n_in:,}.",
                    "각 계층의 in_features는 앞 계층의 out_features와 같아야 합니다: 4096 → 4096.",
                    "Each layer's in_features must be the previous layer's out_features: 4096 → 4096.")
        shape = next((e.out_shape for e in reversed(events) if e.out_shape and len(e.out_shape) == 4), None)
        have = f"{shape[1]}·{shape[2]}·{shape[3]} = {n_in:,}" if shape and math.prod(shape[1:]) == n_in else f"{n_in:,}"
        s = _side(w_in)
        if s == 7:  # fc6 is right: the features are not 512·7·7
            return (f"{josa(name, '은')} 입력 {_arithmetic(w_in)}개를 받도록 올바르게 만들어졌지만, 224×224 이미지에서 "
                    f"특징 추출부가 {have}개를 내놓습니다.",
                    f"{name} is rightly built for {_arithmetic(w_in)} inputs, but at 224×224 the features give "
                    f"{have}.",
                    "fc6은 그대로 두고, 공간 크기를 바꾼 위의 ❌부터 고치세요: 224 → 112 → 56 → 28 → 14 → 7.",
                    "Keep fc6 and fix the ❌ above that changed the spatial size: 224 → 112 → 56 → 28 → 14 → 7.")
        why_ko = f" ({32 * s}×{32 * s} 이미지라면 특징이 {_arithmetic(w_in)}개입니다)" if s else ""
        why_en = f" ({_arithmetic(w_in)} is what a {32 * s}×{32 * s} image gives)" if s else ""
        return (f"{josa(name, '은')} 입력 {_arithmetic(w_in)}개를 받도록 만들어졌는데, 224×224 이미지에서 특징 "
                "추출부는 "
                f"{have}개를 내놓습니다{why_ko}.",
                f"{name} is built for {_arithmetic(w_in)} inputs, but at 224×224 the features give {have}{why_en}.",
                "224를 다섯 번 반으로 줄이면 7이므로 fc6에는 512·7·7 = 25,088개의 입력이 필요합니다: "
                "nn.Linear(512 * 7 * 7, 4096).",
                "224 halved five times is 7, so fc6 needs 512·7·7 = 25,088 inputs: nn.Linear(512 * 7 * 7, 4096).")
    if f.name == "conv2d" and len(f.in_shape) == 4 and isinstance(f.arg("weight"), torch.Tensor):
        g = conv_geometry(f)
        name = f"conv{block}_{index + 1} ({f.module})"
        if g["in"] != f.in_shape[1] and (block, index) == (1, 0) and g["in"] == 1:
            return (f"{name}: 흑백용 첫 계층에 RGB 이미지(채널 3개)가 들어갑니다.",
                    f"{name}: a first layer for grayscale gets RGB images (3 channels).", "", "")
        if g["in"] != f.in_shape[1]:
            return (f"{josa(name, '은')} 입력 채널 {g['in']}개를 기대하는데, 앞 계층은 {f.in_shape[1]}개를 냅니다.",
                    f"{name} expects {g['in']} input channels, but the layer before gives {f.in_shape[1]}.",
                    f"합성곱의 입력 채널은 앞 합성곱의 출력 채널과 같아야 합니다: nn.Conv2d({f.in_shape[1]}, "
                    f"{g['out']}, kernel_size=3, padding=1).",
                    f"A conv's in_channels must be the previous conv's out_channels: nn.Conv2d({f.in_shape[1]}, "
                    f"{g['out']}, kernel_size=3, padding=1).")
    if f.name in _POOLS and len(f.in_shape) == 4:
        g = pool_geometry(f)
        sizes = [224] + [int(e.out_shape[-1]) for e in events if e.name in _POOLS and e.out_shape]
        if sizes[-1] != f.in_shape[-1]:
            sizes.append(int(f.in_shape[-1]))
        path = " → ".join(str(s) for s in sizes)
        k = g["kernel"][0]
        same = g["stride"] == g["kernel"] and k != 2
        return (f"pool{block} ({f.module}): {k}×{k} 창이 {f.in_shape[-2]}×{f.in_shape[-1]} 입력에 들어가지 않습니다. "
                f"풀링을 지날 때마다 공간 크기: {path}."
                + (f" MaxPool2d({k})는 커널 {k}, 보폭 {k}입니다: 보폭을 주지 않으면 커널 크기와 같아집니다."
                   if same else ""),
                f"pool{block} ({f.module}): its {k}×{k} window does not fit into the {f.in_shape[-2]}×"
                f"{f.in_shape[-1]} input. The spatial size after each pooling: {path}."
                + (f" MaxPool2d({k}) means kernel {k} and stride {k}: the stride defaults to the kernel size."
                   if same else ""),
                "nn.MaxPool2d(2, 2)는 크기를 반으로 줄입니다: 224 → 112 → 56 → 28 → 14 → 7.",
                "nn.MaxPool2d(2, 2) halves the size: 224 → 112 → 56 → 28 → 14 → 7.")
    if f.name in ("view", "reshape"):
        per_image = math.prod(f.in_shape[1:])
        return (f"{f.module}에서 {f.in_shape} 모양(이미지마다 숫자 {per_image:,}개)을 다른 모양으로 바꾸려다 "
                "실패했습니다: 숫자 개수가 맞지 않습니다.",
                f"{f.module} reshapes a tensor of shape {f.in_shape} ({per_image:,} numbers per image) into a shape "
                "those numbers do not fill.",
                "torch.flatten(x, 1) (또는 x.view(x.size(0), -1))은 크기를 직접 쓰지 않아도 됩니다.",
                "torch.flatten(x, 1) (or x.view(x.size(0), -1)) needs no size written by hand.")
    return None


# ------------------------------------------------------------------------ make_layers
_RULE = ("'M'은 MaxPool2d(2, 2), 정수는 3×3 합성곱(padding=1) + [BN] + ReLU, (채널, 커널) 튜플은 그 커널 크기의 "
         "합성곱(padding=커널//2) + [BN] + ReLU입니다.",
         "'M' is MaxPool2d(2, 2); an int is a 3×3 conv (padding=1) + [BN] + ReLU; a (channels, kernel) tuple is a "
         "conv of that kernel size (padding=kernel//2) + [BN] + ReLU.")
_SEQUENTIAL = ("계층 리스트를 nn.Sequential(*layers)로 감싸서 돌려주세요.", "Return nn.Sequential(*layers).")


@lru_cache(maxsize=None)
def _reference(key: str, batch_norm: bool) -> tuple[tuple[OpEvent, ...], tuple[str, ...], tuple[Any, ...]]:
    """(ops, paper names, the configuration entry of each op) of the reference features."""
    with torch.device("meta"):
        ref = reference_make_layers(CFGS[key], batch_norm=batch_norm)
    events = record_ops(ref, torch.empty(1, 3, 224, 224, device="meta"), root="features").events
    names, specs = [], []
    for spec, name in zip(CFGS[key], conv_layer_names(key)):
        n_ops = 1 if spec == "M" else (3 if batch_norm else 2)
        names += [name] + ([f"bn{name[4:]}"] if n_ops == 3 else []) + ([f"relu{name[4:]}"] if n_ops > 1 else [])
        specs += [spec] * n_ops
    return tuple(events), tuple(names), tuple(specs)


def _slip(mine: list[OpEvent], i: int, ref_sigs: tuple[tuple[Any, ...], ...], spec: Any) -> tuple[str, str] | None:
    """A (ko, en) hint naming the known slip behind the first difference at op ``i``, if it is one."""
    a, b = mine[i] if i < len(mine) else None, ref_sigs[i]
    my_sigs = [op_signature(e) for e in mine]

    def count(sigs: Any, name: str) -> int:
        return sum(s[0] == name for s in sigs)

    if b[0] == "batch_norm" and a is not None and a.name == "relu":
        if i + 1 < len(mine) and mine[i + 1].name == "batch_norm":
            return ("배치 정규화를 ReLU 뒤에 두었습니다: torchvision의 vgg16_bn은 배치 정규화 논문(Ioffe & Szegedy, "
                    "2015; VGG 논문에는 배치 정규화가 없습니다)처럼 합성곱 → BatchNorm2d → ReLU 순서입니다.",
                    "Batch norm comes after the ReLU: torchvision's vgg16_bn is conv → BatchNorm2d → ReLU, as in the "
                    "batch-norm paper (Ioffe & Szegedy, 2015; the VGG paper has no batch norm).")
        if count(my_sigs, "batch_norm") == 0:
            return ("batch_norm=True인데 BatchNorm2d가 하나도 없습니다: 합성곱마다 뒤에 nn.BatchNorm2d(출력 채널)을 "
                    "넣으세요.",
                    "batch_norm=True but there is no BatchNorm2d at all: put nn.BatchNorm2d(out_channels) after "
                    "every conv.")
    if isinstance(spec, tuple) and b[0] == "conv2d":
        channels, kernel = spec
        if a is not None and a.name == "conv2d":
            g = conv_geometry(a)
            if (g["out"], g["kernel"]) == (kernel, (channels, channels)):
                return (f"튜플 {josa(spec, '을')} (커널, 채널)로 읽었습니다: 이 강좌의 튜플은 (채널, 커널)입니다 — "
                        "출력 채널 "
                        f"{channels}개, {kernel}×{kernel} 커널.",
                        f"The tuple {spec} was read as (kernel, channels): the course's tuples are (channels, "
                        f"kernel) — {channels} output channels, a {kernel}×{kernel} kernel.")
            if g["out"] == channels and g["kernel"] != (kernel, kernel):
                return (f"튜플 {spec}의 커널 크기({kernel})를 쓰지 않고 {g['kernel'][0]}×{g['kernel'][1]} 합성곱을 "
                        "만들었습니다: 튜플의 둘째 값이 커널 크기입니다.",
                        f"The kernel size of the tuple {spec} ({kernel}) is ignored: a {g['kernel'][0]}×"
                        f"{g['kernel'][1]} conv was built. The tuple's second value is the kernel size.")
        if count(my_sigs, "max_pool2d") > count(ref_sigs, "max_pool2d"):
            return (f"튜플 {josa(spec, '이')} 풀링이 되었습니다: 풀링은 'M'뿐이고, 튜플은 (채널, 커널) 합성곱입니다.",
                    f"The tuple {spec} became a pooling layer: only 'M' is pooling; a tuple is a (channels, kernel) "
                    "conv.")
        if count(my_sigs, "conv2d") < count(ref_sigs, "conv2d"):
            return (f"구성 C의 1×1 합성곱({spec} 같은 튜플)이 빠졌습니다: 튜플도 (채널, 커널) 합성곱입니다.",
                    f"Configuration C's 1×1 convs (tuples like {spec}) are missing: a tuple is a (channels, kernel) "
                    "conv too.")
    if b[0] == "max_pool2d" and a is not None and a.name == "max_pool2d":
        g = pool_geometry(a)
        k = g["kernel"][0]
        if g["stride"] == g["kernel"] and k != 2:
            return (f"MaxPool2d({k})는 커널 {k}, 보폭 {k}입니다(보폭을 주지 않으면 커널 크기와 같음): "
                    f"크기가 반이 아니라 1/{josa(k, '로')} 줄어듭니다. nn.MaxPool2d(kernel_size=2, stride=2)를 쓰세요.",
                    f"MaxPool2d({k}) means kernel {k} and stride {k} (the stride defaults to the kernel size): it "
                    f"divides the size by {k}, not 2. Use nn.MaxPool2d(kernel_size=2, stride=2).")
    if b[0] == "conv2d" and a is not None and a.name == "conv2d":
        g = conv_geometry(a)
        if not g["bias"] and op_signature(a)[:8] == b[:8]:
            return ("합성곱을 bias=False로 만들었습니다. 배치 정규화 앞에서는 흔한 습관이지만, torchvision의 VGG는 "
                    "배치 정규화가 있어도 모든 합성곱에 편향을 둡니다: 그래야 사전 학습된 가중치(레슨 04)가 그대로 "
                    "들어갑니다.",
                    "The conv was built with bias=False. That is a common habit before batch norm, but torchvision's "
                    "VGG keeps a bias in every conv, batch norm or not: that is how its pretrained weights (lesson "
                    "04) load as they are.")
        if g["padding"] != b[5] and g["kernel"] == b[3]:
            return (f"패딩이 {g['padding']}입니다: 크기를 유지하려면 padding = 커널 // 2 (3×3이면 1, 1×1이면 0; "
                    "padding='same'도 됩니다)여야 합니다.",
                    f"The padding is {g['padding']}: to keep the size it must be kernel // 2 (1 for 3×3, 0 for 1×1; "
                    "padding='same' works too).")
    return None


def _channels_not_carried(e: OpEvent | None, name: str) -> tuple[str, str] | None:
    """A convolution built for other input channels than the layer before it gives: ``in_channels`` never updated."""
    weight = e.arg("weight") if e is not None and e.name == "conv2d" else None
    if weight is None or e.in_shape is None or len(e.in_shape) < 2 or weight.shape[1] == e.in_shape[1]:
        return None
    want, got = int(weight.shape[1]), int(e.in_shape[1])
    if name.startswith("conv1_1"):  # the first conv: what comes before it is the image
        return (f"{josa(name, '은')} 입력 채널 {want}개를 받도록 만들어졌는데, 이미지는 RGB라 채널이 {got}개입니다: "
                "in_channels는 3에서 시작하세요(MNIST 같은 흑백 예제의 1을 그대로 쓰지 마세요).",
                f"{name} is built for {want} input channel{'s' if want != 1 else ''}, but the images are RGB, with "
                f"{got}: start with in_channels = 3 (not the 1 of a grayscale example such as MNIST).")
    return (f"{josa(name, '은')} 입력 채널 {want}개를 받도록 만들어졌는데, 앞 계층에서 {got}개가 옵니다. 합성곱의 "
            "입력 채널은 "
            "바로 앞 합성곱의 출력 채널입니다: 합성곱을 하나 만든 뒤 in_channels = 그 합성곱의 출력 채널로 바꾸세요.",
            f"{name} is built for {want} input channels, but the layer before it gives {got}. A conv's input channels "
            "are the previous conv's output channels: after building each conv, set in_channels to its "
            "out_channels.")


def _batch_norm_channels(e: OpEvent | None) -> tuple[str, str] | None:
    """A BatchNorm2d made for other channels than the conv before it gives (``in_channels`` instead of ``v``)."""
    mean = e.arg("running_mean") if e is not None and e.name == "batch_norm" else None
    if mean is None or e.in_shape is None or len(e.in_shape) < 2 or mean.shape[0] == e.in_shape[1]:
        return None
    return (f"BatchNorm2d({mean.shape[0]})인데 앞 합성곱은 채널 {e.in_shape[1]}개를 냅니다. 배치 정규화는 바로 앞 "
            "합성곱의 출력 채널로 만듭니다: nn.BatchNorm2d(out_channels) (in_channels를 바꾸기 전의 값이 아닙니다).",
            f"BatchNorm2d({mean.shape[0]}), but the conv before it gives {e.in_shape[1]} channels. Batch norm is "
            "built for the conv's output channels: nn.BatchNorm2d(out_channels), not in_channels before it is "
            "updated.")


def _compare(result: CheckResult, rec: Recording, key: str, batch_norm: bool, label: tuple[str, str]) -> bool:
    """Op by op against the reference; ❌ at the first difference, or at the crash. True when all agree."""
    ref_events, names, specs = _reference(key, batch_norm)
    ref_sigs = tuple(op_signature(e) for e in ref_events)
    mine = rec.events
    for i, want in enumerate(ref_sigs):
        if i >= len(mine) and rec.error is not None:  # it crashed before this op: say what it was about to do
            ko, en = describe_exception(rec.error)
            at = rec.failed.module if rec.failed is not None else "?"
            result.fail(f"{label[0]}: {at}에서 실패했습니다 ({names[i]} 자리). {ko}",
                        f"{label[1]}: failed at {at} (where {names[i]} goes). {en}",
                        *(_channels_not_carried(rec.failed, names[i]) or _batch_norm_channels(rec.failed) or _RULE))
            return False
        if i >= len(mine):
            result.fail(f"{label[0]}: {names[i]}부터 계층이 없습니다 (연산 {len(mine)}개, {len(ref_sigs)}개여야 함).",
                        f"{label[1]}: the layers stop before {names[i]} ({len(mine)} ops, expected {len(ref_sigs)}).",
                        *_RULE)
            return False
        if op_signature(mine[i]) != want:
            a = mine[i]
            result.fail(f"{label[0]}: {a.module}({names[i]} 자리){particle(a.module, '이')} {describe_op(a)}입니다. "
                        f"{describe_op(ref_events[i])}이어야 합니다.",
                        f"{label[1]}: {a.module} (where {names[i]} goes) is {describe_op(a)}, expected "
                        f"{describe_op(ref_events[i])}.", *(_slip(mine, i, ref_sigs, specs[i]) or _RULE))
            return False
    if len(mine) > len(ref_sigs):
        extra = mine[len(ref_sigs)]
        result.fail(f"{label[0]}: pool5 뒤에 계층이 더 있습니다: {extra.module} {describe_op(extra)}.",
                    f"{label[1]}: there are more layers after pool5: {extra.module} {describe_op(extra)}.", *_RULE)
        return False
    return True


@never_raises("check_make_layers")
def check_make_layers(result: CheckResult, make_layers: Callable[..., nn.Module]) -> CheckResult:
    """Does ``make_layers(cfg, batch_norm=False)`` build A–E like torchvision, ops and ``state_dict`` keys alike?"""
    if result.not_a_function(make_layers):
        return result
    for batch_norm in (False, True):
        for key in "ABCDE":
            bn = " + BN" if batch_norm else ""
            label = (f"구성 {key}{bn}", f"configuration {key}{bn}")
            cfg: list[LayerSpec] = list(CFGS[key])
            try:
                with torch.device("meta"):
                    ours = make_layers(cfg, batch_norm=True) if batch_norm else make_layers(cfg)
            except Exception as exc:  # noqa: BLE001 - explained below, never raised
                if is_stub(exc):
                    raise
                if isinstance(exc, TypeError) and batch_norm and "batch_norm" in printable(exc):
                    result.fail("make_layers가 batch_norm 인자를 받지 않습니다.",
                                "make_layers does not take a batch_norm argument.",
                                "def make_layers(cfg, batch_norm=False): 로 정의하세요.",
                                "Define it as def make_layers(cfg, batch_norm=False):.")
                    return result
                ko, en = describe_exception(exc)
                hint = exception_hint(exc) if not any(isinstance(s, tuple) for s in cfg) else (
                    "구성 C에는 (256, 1) 같은 튜플이 있습니다: (채널, 커널) 순서로, 출력 채널 256개에 1×1 커널인 "
                    "합성곱입니다. out_channels, kernel = spec으로 풀어서 nn.Conv2d(in_channels, out_channels, "
                    "kernel_size=kernel, padding=kernel // 2)를 만드세요.",
                    "Configuration C has tuples like (256, 1): (channels, kernel), a conv with 256 output channels "
                    "and a 1×1 kernel. Unpack it with out_channels, kernel = spec and build nn.Conv2d(in_channels, "
                    "out_channels, kernel_size=kernel, padding=kernel // 2).")
                result.fail(f"{josa(label[0], '을')} 만들다가 실패했습니다. "
                            f"{ko}", f"Building {label[1]} failed. {en}", *hint)
                return result
            if isinstance(ours, nn.ModuleList):
                result.fail("make_layers가 nn.ModuleList를 돌려줍니다: 계층을 담고 있지만 호출할 수 없어서(forward가 "
                            "없음) model.features(x)가 실패합니다.",
                            "make_layers returns an nn.ModuleList: it holds the layers but cannot be called (it has no "
                            "forward), so model.features(x) fails.", *_SEQUENTIAL)
                return result
            if not isinstance(ours, nn.Module):
                result.fail(f"make_layers가 nn.Module이 아니라 {josa(type(ours).__name__, '을')} 돌려줍니다.",
                            f"make_layers returns a {type(ours).__name__}, not an nn.Module.", *_SEQUENTIAL)
                return result
            rec = record_ops(ours, torch.empty(1, 3, 224, 224, device="meta"), root="features")
            if rec.error is not None and is_stub(rec.error):
                raise rec.error
            if not _compare(result, rec, key, batch_norm, label):
                return result
            with torch.device("meta"):
                ref_keys = list(reference_make_layers(CFGS[key], batch_norm=batch_norm).state_dict())
            my_keys = list(ours.state_dict())
            if my_keys != ref_keys:
                first = next((i for i, (a, b) in enumerate(zip(my_keys, ref_keys)) if a != b),
                             min(len(my_keys), len(ref_keys)))
                mine_k, ref_k = (ks[first] if first < len(ks) else "—" for ks in (my_keys, ref_keys))
                result.fail(f"{label[0]}: 계산은 같지만 state_dict 키가 torchvision과 다릅니다 (여러분: {mine_k}, "
                            f"torchvision: {ref_k}).",
                            f"{label[1]}: it computes the same, but the state_dict keys differ from torchvision's "
                            f"(yours: {mine_k}, torchvision's: {ref_k}).",
                            "계층을 하나의 nn.Sequential에 순서대로 담으면 키가 0.weight, 2.weight … 처럼 맞습니다.",
                            "Put the layers in one flat nn.Sequential, in order, so keys match torchvision's "
                            "(0.weight, 2.weight …).")
                return result
    result.ok("구성 A–E 모두 배치 정규화가 있든 없든 torchvision과 계층 하나하나가 같은 계산을 하고 state_dict 키도 "
              "같습니다.",
              "Configurations A–E, with and without batch norm, compute what torchvision's do, layer by layer, with "
              "the same state_dict keys.")
    return result
