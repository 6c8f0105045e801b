"""The check of the hand-written VGG16.

It returns a :class:`~vgg_teach.checks.feedback.CheckResult` (bilingual, renders in the notebook),
never raises, and judges *behavior*, in one forward pass:

1. a class is built once, cheaply and deterministically (:mod:`.build`: ``__init__`` runs on the
   ``meta`` device, lazy modules learn their shapes, then real memory is filled from a fixed
   pattern); an instance is used as it is, with the input on the model's own device;
2. :func:`~vgg_teach.checks.trace.record_ops` records the ops it really runs on two 224×224 images,
   seeded, and keeps what it saw up to a crash;
3. well-known variants are named first and once (:mod:`.diagnose`: VGG16-BN, the CIFAR head, a
   grayscale first layer, fully connected layers written as convolutions), then the structure is
   compared with configuration D layer by layer (:mod:`.vgg16_structure`), then a crash is explained
   with its arithmetic;
4. ``num_classes`` is tried on a ``meta`` copy, parameters are counted on the model that ran (lazy
   modules included), and the recorded ops are *linked* — each op got exactly what the previous one
   produced and ``forward`` returned the last one's output — which, with the structure right, proves
   the model computes what VGG16 computes. Dropout that stays on in ``eval()`` is named.

**fc6/fc7 written as convolutions** (timm's ``ConvMlp``, the paper's dense-evaluation form: a 7×7
convolution over the 512×7×7 features, then 1×1 convolutions) *pass, with a note*: at 224×224 they
compute exactly ``Linear(25088, 4096)`` and ``Linear(4096, 4096)``, with the same parameter count.

The helpers are imported when the check runs, so ``from vgg_teach.checks import check_vgg16`` stays light.
"""

from __future__ import annotations

import inspect
from typing import Any, Sequence

import torch
from torch import nn

from ..models import CFGS, LayerSpec
from .feedback import CheckResult, describe_exception, exception_hint, is_stub, never_raises
from .trace import dropout_active, record_ops

__all__ = ["check_vgg16", "VGG16_PARAMS"]

#: torchvision.models.vgg16() has this many parameters (1000 classes).
VGG16_PARAMS = 138_357_544

_FEATURE_OPS = ("conv2d", "max_pool2d", "avg_pool2d", "relu", "batch_norm")


def _blocks(cfg: Sequence[LayerSpec]) -> list[list[int]]:
    """Output channels of each conv, grouped by pooling block: D → [[64,64],[128,128],[256]*3,…]."""
    blocks: list[list[int]] = [[]]
    for spec in cfg:
        if spec == "M":
            blocks.append([])
        else:
            blocks[-1].append(spec[0] if isinstance(spec, tuple) else int(spec))
    return [b for b in blocks if b]


_D_BLOCKS = _blocks(CFGS["D"])  # VGG16: 2-2-3-3-3 convs, 64-128-256-512-512 channels


def _is_factory(candidate: Any) -> bool:
    """A class, or a function such as ``torchvision.models.vgg16``: called with ``num_classes=...``."""
    return inspect.isclass(candidate) or (callable(candidate) and not isinstance(candidate, nn.Module))


def _build(result: CheckResult, candidate: Any, num_classes: int) -> nn.Module | None:
    from .build import build_for_check

    if _is_factory(candidate):
        try:
            return build_for_check(candidate, num_classes)
        except Exception as exc:  # noqa: BLE001
            if is_stub(exc):
                raise
            ko, en = describe_exception(exc)
            name = getattr(candidate, "__name__", type(candidate).__name__)
            result.fail(f"{name}(num_classes={num_classes})을(를) 만들 수 없습니다. {ko}",
                        f"Could not build {name}(num_classes={num_classes}). {en}",
                        "__init__이 num_classes 인자를 받고 super().__init__()을 먼저 부르는지 확인하세요.",
                        "Check that __init__ takes num_classes and calls super().__init__() first.")
            return None
    if isinstance(candidate, nn.Module):
        return candidate
    result.fail(f"nn.Module 클래스나 인스턴스를 넘겨 주세요 (받은 것: {type(candidate).__name__}).",
                f"Pass an nn.Module class or instance (got {type(candidate).__name__}).")
    return None


def _crash(result: CheckResult, rec: Any, variants: Any) -> None:
    """The failed forward pass, explained — briefly when a variant named above already explains it."""
    from .diagnose import explain_crash

    ko, en = describe_exception(rec.error)
    f = rec.failed
    if f is not None and ((variants.cifar and f.name == "linear") or (variants.grayscale and f.name == "conv2d")):
        result.fail(f"그래서 224×224 이미지 2장으로 순전파(forward)하다가 {f.module}에서 멈췄습니다 ({ko}).",
                    f"So the forward pass on two 224×224 images stops at {f.module} ({en}).")
        return
    explained = explain_crash(rec)
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
    from .build import built_on_meta, dry_run, has_uninitialized

    shape, probe = None, None
    try:
        probe = built_on_meta(candidate, 7)
        shape = tuple(dry_run(probe).shape)
    except Exception as exc:  # noqa: BLE001 - fall back on the parameters' shapes
        if is_stub(exc):
            raise
    if shape is None:
        if not isinstance(probe, nn.Module) or has_uninitialized(probe):
            result.note("num_classes=7로 다시 만들어 보는 검사는 건너뛰었습니다 (meta 장치에서 만들 수 없음).",
                        "Skipped building it again with num_classes=7 (it cannot be built on the meta device).")
            return
        mine = [tuple(p.shape) for p in model.parameters()]
        theirs = [tuple(p.shape) for p in probe.parameters()]
        changed = [b for a, b in zip(mine, theirs) if a != b]
        good = len(mine) == len(theirs) and bool(changed) and all(7 in s for s in changed)
        got = f"{changed}" if changed else "모두 같음 / all the same"
    else:
        good, got = shape[-1:] == (7,), str(shape)
    result.expect(good,
                  ("num_classes=7로 만들면 출력도 7개입니다: num_classes를 제대로 씁니다.",
                   "Built with num_classes=7 it outputs 7 scores: num_classes is honored."),
                  (f"num_classes=7로 만들었는데 출력 모양이 {got}입니다.",
                   f"Built with num_classes=7, the output shape is {got}."),
                  ("마지막 nn.Linear의 출력 수로 1000 같은 숫자 대신 num_classes를 쓰세요.",
                   "Use num_classes, not a fixed number like 1000, for the last nn.Linear."))


def _parameters(result: CheckResult, model: nn.Module, rec: Any, classifier: list, is_class: bool,
                batch_norm: bool) -> None:
    """Count on the model that ran; say which parameters forward never used."""
    from .vgg16_structure import fc_shape

    fcs = [e for e in classifier if fc_shape(e) is not None]
    if not fcs:
        return
    n = sum(p.numel() for p in model.parameters())
    in_last, out_last = fc_shape(fcs[-1])
    n_1000 = n + (in_last + (fcs[-1].arg("bias") is not None)) * (1000 - out_last)
    bn = sum(t.numel() for e in rec.events if e.name == "batch_norm" for t in (e.arg("weight"), e.arg("bias"))
             if isinstance(t, torch.Tensor))
    unused = [(name, p.numel()) for name, p in model.named_parameters() if id(p) not in rec.used]
    if batch_norm and n_1000 - bn == VGG16_PARAMS:
        result.note(f"매개변수는 배치 정규화의 {bn:,}개를 빼면 {VGG16_PARAMS:,}개로 VGG16과 같습니다.",
                    f"Batch norm's {bn:,} parameters aside, the {VGG16_PARAMS:,} parameters are VGG16's.")
        return
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


def _links(result: CheckResult, rec: Any, structure_ok: bool) -> None:
    """Did every op get what the op before it produced, and did forward return the last op's output?"""
    from .vgg16_structure import event_names

    names = event_names(rec.events)
    broken = next((i for i, e in enumerate(rec.events) if e.linked is False), None)
    active = [i for i, e in enumerate(rec.events) if dropout_active(e)]
    for i in active[:1]:
        p = rec.events[i].arg("p", 0.5)
        result.fail(f"{names[i][0]}: eval() 모드인데도 dropout이 값을 지웁니다. F.dropout(x, {p})의 training 인자는 "
                    "기본값이 True라서 model.eval()을 따르지 않고, 같은 입력에도 출력이 매번 달라집니다.",
                    f"{names[i][1]}: the dropout still drops values in eval() mode. F.dropout(x, {p})'s training "
                    "argument defaults to True, so it ignores model.eval() and the same input gives a different "
                    "output every time.",
                    f"F.dropout(x, {p}, training=self.training)로 쓰거나, __init__에서 만든 nn.Dropout({p})을 쓰세요.",
                    f"Write F.dropout(x, {p}, training=self.training), or use an nn.Dropout({p}) made in __init__.")
    if broken is not None:
        e = rec.events[broken]
        diff = "" if e.link_diff is None else f", 최대 차이 {e.link_diff:.3g}"
        diff_en = "" if e.link_diff is None else f", max difference {e.link_diff:.3g}"
        if broken == 0:
            result.fail(f"{names[0][0]}이(가) 입력 이미지를 그대로 받지 않습니다: forward가 첫 계층 앞에서 입력을 "
                        f"바꿉니다{diff}.",
                        f"{names[0][1]} does not receive the input image as it is: forward changes it before the "
                        f"first layer{diff_en}.",
                        "forward는 x를 첫 합성곱에 그대로 넣어야 합니다.",
                        "forward must pass x to the first conv as it is.")
        else:
            result.fail(f"{names[broken][0]}이(가) {names[broken - 1][0]}의 출력을 그대로 받지 않습니다: 둘 사이에서 "
                        f"값을 바꾸는 연산이 있습니다{diff}.",
                        f"{names[broken][1]} does not get exactly what {names[broken - 1][1]} produced: something "
                        f"between them changes the values{diff_en}.",
                        "forward에 VGG16 밖의 연산(더하기, 곱하기, 순서 바꾸기 등)이 있는지 확인하세요.",
                        "Look for operations in forward that are not part of VGG16 (adds, scaling, reordering).")
    elif rec.out_linked is False:
        diff = "" if rec.out_diff is None else f" (최대 차이 {rec.out_diff:.3g})"
        diff_en = "" if rec.out_diff is None else f" (max difference {rec.out_diff:.3g})"
        result.fail(f"forward가 마지막 계층 {names[-1][0]}의 출력을 바꿔서 돌려줍니다{diff}.",
                    f"forward changes the output of the last layer, {names[-1][1]}, before returning it{diff_en}.",
                    "마지막 nn.Linear의 출력을 그대로 return 하세요 (softmax, 곱하기 등 없이).",
                    "Return the last nn.Linear's output as it is (no softmax, no scaling).")
    elif structure_ok and not active:
        result.ok("같은 가중치로 VGG16과 똑같이 계산합니다: 계층마다 앞 계층의 출력을 그대로 받고, forward는 fc8의 "
                  "출력을 그대로 돌려줍니다.",
                  "With these weights it computes exactly what VGG16 computes: every layer gets the previous "
                  "layer's output unchanged, and forward returns fc8's output as it is.")


@never_raises("check_vgg16")
def check_vgg16(result: CheckResult, candidate: Any, num_classes: int = 10) -> CheckResult:
    """Is ``candidate`` (a class or function called with ``num_classes=...``, or an instance) a correct VGG16?

    Checks configuration D (13 3×3 padding-1 convs in blocks of 2-2-3-3-3 with 64-128-256-512-512
    channels), a ReLU after every conv and after fc6 and fc7, 2×2 stride-2 max pooling after each
    block, a 4096-4096-``num_classes`` head, raw logits out, ``num_classes`` honored, the
    parameter count, and that the model computes what VGG16 computes with its weights (see the module
    docstring). fc6/fc7 written as convolutions pass with a note. Never raises.
    """
    from ..analysis.layers import model_device
    from .build import build_for_check, built_on_meta
    from .diagnose import recognise
    from .vgg16_structure import check_classifier, check_features, split

    is_class = _is_factory(candidate)
    model = _build(result, candidate, num_classes)
    if model is None:
        return result
    device = model_device(model)
    if device.type == "meta":
        result.fail("모델이 meta 장치에 있어서 값을 계산할 수 없습니다.",
                    "The model is on the meta device: it has no values.",
                    "클래스를 넘기거나, 실제 가중치가 있는 모델을 넘기세요.",
                    "Pass the class, or a model with real weights.")
        return result
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0)).to(device)
    rec = record_ops(model, x)
    if is_class and rec.error is not None and "meta" in str(rec.error).lower():
        model = build_for_check(candidate, num_classes, real=True)  # __init__ made tensors we could not recreate
        rec = record_ops(model, x)
    if rec.error is not None and is_stub(rec.error):
        raise rec.error
    variants = recognise(result, rec)
    structure = rec
    if variants.grayscale:  # the rest of the structure, seen with the one channel it was built for
        try:
            gray = built_on_meta(candidate, num_classes) if is_class else model
            structure = record_ops(gray, torch.zeros(2, 1, 224, 224, device="meta" if is_class else device))
        except Exception as exc:  # noqa: BLE001 - then only what ran before the crash is judged
            if is_stub(exc):
                raise
    if rec.error is None:
        if not isinstance(rec.out, torch.Tensor):
            result.fail(f"forward가 텐서가 아니라 {type(rec.out).__name__}을(를) 돌려줍니다.",
                        f"forward returns a {type(rec.out).__name__}, not a tensor.")
            return result
        if not is_class and rec.out.dim() == 2:
            num_classes = int(rec.out.shape[-1])
        result.expect(tuple(rec.out.shape) == (2, num_classes),
                      (f"출력 모양 (2, {num_classes}) — 이미지마다 클래스 점수 {num_classes}개.",
                       f"Output shape (2, {num_classes}): {num_classes} class scores per image."),
                      (f"출력 모양이 {tuple(rec.out.shape)}입니다 ((2, {num_classes})이어야 함).",
                       f"Output shape is {tuple(rec.out.shape)}, expected (2, {num_classes})."))
    features, classifier = split(structure.events, drop_batch_norm=variants.batch_norm)
    failed = structure.failed
    done = structure.error is None or bool(classifier) or (failed is not None and failed.name not in _FEATURE_OPS)
    features_ok = check_features(result, features, _D_BLOCKS, complete=done,
                                 in_channels=1 if variants.grayscale else 3)
    classifier_ok = structure.error is None and check_classifier(result, classifier, num_classes)
    if rec.error is not None:
        _crash(result, rec, variants)
    if is_class:
        _num_classes(result, candidate, model)
    if rec.error is None:
        _parameters(result, model, rec, classifier, is_class, variants.batch_norm)
        if not is_class:
            result.note("인스턴스를 받아서 num_classes를 바꿔 보는 검사는 건너뛰었습니다: "
                        "클래스를 넘기면 함께 검사합니다.",
                        "Got an instance, so num_classes could not be varied: pass the class to check that too.")
        _links(result, rec, features_ok and classifier_ok and not variants.batch_norm)
    dropouts = [e for e in rec.events if e.name == "dropout"]
    if rec.error is None and not dropouts:
        result.note("Dropout이 없어도 통과입니다. 다만 논문은 fc6과 fc7 뒤에 dropout 0.5를 씁니다.",
                    "Passing without Dropout is fine, but the paper uses dropout 0.5 after fc6 and fc7.")
    elif any(abs(float(e.arg("p", 0.5)) - 0.5) > 1e-9 for e in dropouts):
        result.note("Dropout 확률이 0.5가 아닙니다. 논문은 0.5를 씁니다.",
                    "Your dropout probability is not 0.5; the paper uses 0.5.")
    return result
