"""The check of the hand-written VGG16.

It returns a :class:`~vgg_teach.feedback.CheckResult` (bilingual, renders in the notebook),
never raises, and judges *behaviour*: it records the ops the learner's model really runs
(:mod:`vgg_teach.trace`), compares them with configuration D layer by layer, and finally runs the
learner's weights through a reference VGG16 forward pass to prove the outputs are the same.
"""

from __future__ import annotations

import inspect
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..models import CFGS, LayerSpec
from .feedback import CheckResult, describe_exception, never_raises
from .trace import OpEvent, record_ops

__all__ = ["check_vgg16", "VGG16_PARAMS"]

#: torchvision.models.vgg16() has this many parameters (1000 classes).
VGG16_PARAMS = 138_357_544


def _blocks(cfg: Sequence[LayerSpec]) -> list[list[int]]:
    """Output channels of each conv, grouped by pooling block: D → [[64,64],[128,128],[256]*3,…]."""
    blocks: list[list[int]] = [[]]
    for spec in cfg:
        if spec == "M":
            blocks.append([])
        else:
            blocks[-1].append(spec[0] if isinstance(spec, tuple) else int(spec))
    return [b for b in blocks if b]


_D_BLOCKS = _blocks(CFGS["D"])  # 2-2-3-3-3 convs, 64-128-256-512-512 channels


def _pair(value: Any, default: int | None = None) -> tuple[int, int] | str:
    if value is None or (isinstance(value, (list, tuple)) and len(value) == 0):
        value = default
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return (value, value)
    return tuple(int(v) for v in value)  # type: ignore[return-value]


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _instantiate(candidate: Any, num_classes: int, meta: bool) -> nn.Module:
    if meta:
        with torch.device("meta"):
            return candidate(num_classes=num_classes)
    return candidate(num_classes=num_classes)


def _where(block: int, index: int) -> tuple[str, str]:
    return (f"블록 {block}의 {index}번째 합성곱(conv{block}_{index})",
            f"block {block}, conv {index} (conv{block}_{index})")


def _is_identity_pool(e: OpEvent) -> bool:
    return (e.name.startswith("adaptive") and e.in_shape is not None and e.out_shape is not None
            and e.in_shape[-2:] == e.out_shape[-2:])


def _check_features(result: CheckResult, ops: list[OpEvent]) -> bool:
    """Walk the feature ops against configuration D; report the first place they part."""
    pos = 0
    convs_ok = relu_ok = pools_ok = True
    sizes: list[int] = []

    def peek() -> OpEvent | None:
        return ops[pos] if pos < len(ops) else None

    for b, channels in enumerate(_D_BLOCKS, start=1):
        for i, out_ch in enumerate(channels, start=1):
            ko_w, en_w = _where(b, i)
            e = peek()
            if e is None or e.name != "conv2d":
                found = e.name if e else "끝 / end"
                if e is not None and e.name in ("max_pool2d", "avg_pool2d"):
                    result.fail(f"블록 {b}에 합성곱이 {i - 1}개뿐입니다. {len(channels)}개여야 합니다.",
                                f"Block {b} has only {i - 1} conv(s); VGG16 has {len(channels)} there.",
                                "VGG16(구성 D)의 블록별 합성곱 수는 2-2-3-3-3입니다.",
                                "VGG16 (configuration D) has 2-2-3-3-3 convs per block.")
                elif e is not None and e.name == "batch_norm":
                    result.fail(f"{ko_w} 뒤에 배치 정규화(batch norm)가 있습니다.",
                                f"Batch norm found after {en_w}.",
                                "논문의 VGG16에는 배치 정규화가 없습니다(그건 vgg16_bn입니다). 빼 보세요.",
                                "The paper's VGG16 has no batch norm (that is vgg16_bn): remove it.")
                else:
                    result.fail(f"{ko_w}가 있어야 할 자리에 '{found}'이(가) 있습니다.",
                                f"Expected {en_w} here, found '{found}'.",
                                "features의 순서를 논문의 표 1(구성 D)과 비교해 보세요.",
                                "Compare the order of your features with Table 1 (configuration D).")
                return False
            pos += 1
            # -- the conv itself -----------------------------------------------------------
            w = e.arg("weight")
            k = tuple(w.shape[-2:]) if isinstance(w, torch.Tensor) else None
            in_ch = w.shape[1] if isinstance(w, torch.Tensor) else None
            stride = _pair(e.arg("stride"), 1)
            padding = _pair(e.arg("padding"), 0)
            if padding == "same" and k == (3, 3):
                padding = (1, 1)
            dilation = _pair(e.arg("dilation"), 1)
            groups = e.arg("groups", 1) or 1
            expected_in = 3 if (b, i) == (1, 1) else (_D_BLOCKS[b - 2][-1] if i == 1 else out_ch)
            problems = []
            if k != (3, 3):
                problems.append((f"커널 크기가 {k}입니다 (3×3이어야 함)", f"kernel size is {k}, expected 3×3"))
            if stride != (1, 1):
                problems.append((f"보폭(stride)이 {stride}입니다 (1이어야 함: 크기를 줄이는 일은 풀링이 맡습니다)",
                                 f"stride is {stride}, expected 1 (only pooling shrinks the image)"))
            if padding != (1, 1):
                problems.append((f"패딩(padding)이 {padding}입니다 (1이어야 크기가 유지됩니다)",
                                 f"padding is {padding}, expected 1 (keeps the size)"))
            if dilation != (1, 1) or groups != 1:
                problems.append((f"dilation={dilation}, groups={groups}입니다 (둘 다 1이어야 함)",
                                 f"dilation={dilation}, groups={groups}, expected 1 and 1"))
            if in_ch is not None and (in_ch != expected_in or w.shape[0] != out_ch):
                problems.append((f"채널이 {in_ch}→{w.shape[0]}입니다 ({expected_in}→{out_ch}이어야 함)",
                                 f"channels are {in_ch}→{w.shape[0]}, expected {expected_in}→{out_ch}"))
            if e.arg("bias") is None:
                problems.append(("편향(bias)이 없습니다 (VGG16의 합성곱에는 편향이 있습니다)",
                                 "it has no bias (VGG16's convs have one)"))
            if problems and convs_ok:
                convs_ok = False
                result.fail(f"{ko_w}: " + "; ".join(p[0] for p in problems),
                            f"{en_w}: " + "; ".join(p[1] for p in problems),
                            "nn.Conv2d(입력 채널, 출력 채널, kernel_size=3, padding=1)을 쓰세요.",
                            "Use nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1).")
            # -- the ReLU after it -------------------------------------------------------------
            e = peek()
            if e is not None and e.name == "relu":
                pos += 1
            elif relu_ok:
                relu_ok = False
                found = e.name if e else "끝 / end"
                result.fail(f"{ko_w} 뒤에 ReLU가 없습니다 (대신 '{found}').",
                            f"No ReLU after {en_w} (found '{found}' instead).",
                            "합성곱마다 바로 뒤에 nn.ReLU(inplace=True)(또는 F.relu)를 두세요.",
                            "Put nn.ReLU(inplace=True) (or F.relu) right after every conv.")
        # -- the pool closing the block -------------------------------------------------------
        e = peek()
        if e is None or e.name == "conv2d":
            result.fail(f"블록 {b}에 합성곱이 {len(channels)}개보다 많거나, 블록 끝에 풀링이 없습니다.",
                        f"Block {b} has more than {len(channels)} convs, or no pooling at its end.",
                        "VGG16의 블록별 합성곱 수는 2-2-3-3-3이고, 블록마다 MaxPool2d(2, 2)로 끝납니다.",
                        "VGG16 has 2-2-3-3-3 convs per block, each block ending in MaxPool2d(2, 2).")
            return False
        pos += 1
        if e.name != "max_pool2d":
            kind = {"avg_pool2d": ("평균 풀링(average pooling)", "average pooling")}.get(
                e.name, (f"'{e.name}'", f"'{e.name}'"))
            result.fail(f"블록 {b}의 끝에 최대 풀링 대신 {kind[0]}이(가) 있습니다.",
                        f"Block {b} ends in {kind[1]} instead of max pooling.",
                        "nn.MaxPool2d(kernel_size=2, stride=2)를 쓰세요.",
                        "Use nn.MaxPool2d(kernel_size=2, stride=2).")
            return False
        k = _pair(e.arg("kernel_size"))
        s = _pair(e.arg("stride"), None) if e.arg("stride") not in (None, [], ()) else k
        p = _pair(e.arg("padding"), 0)
        if (k, s, p) != ((2, 2), (2, 2), (0, 0)) and pools_ok:
            pools_ok = False
            result.fail(f"블록 {b}의 최대 풀링이 kernel={k}, stride={s}, padding={p}입니다.",
                        f"Block {b}'s max pooling has kernel={k}, stride={s}, padding={p}.",
                        "VGG는 2×2 창, 보폭 2의 최대 풀링만 씁니다: nn.MaxPool2d(2, 2).",
                        "VGG only uses 2×2 max pooling with stride 2: nn.MaxPool2d(2, 2).")
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
    if pos < len(ops):  # something left between pool5 and the first linear layer
        extra = ops[pos].name
        result.fail(f"특징 추출부(features) 끝과 첫 완전 연결 계층 사이에 '{extra}'이(가) 있습니다.",
                    f"'{extra}' sits between the end of the features and the first linear layer.",
                    "마지막 풀링의 7×7×512 출력을 펼쳐서(flatten) 바로 nn.Linear(25088, 4096)에 넣으세요.",
                    "Flatten the 7×7×512 output of the last pool straight into nn.Linear(25088, 4096).")
        return False
    return convs_ok and relu_ok and pools_ok


def _check_classifier(result: CheckResult, ops: list[OpEvent], num_classes: int) -> bool:
    expected = [(512 * 7 * 7, 4096), (4096, 4096), (4096, num_classes)]
    linears = [e for e in ops if e.name == "linear"]
    shapes = [tuple(e.arg("weight").shape[::-1]) for e in linears if isinstance(e.arg("weight"), torch.Tensor)]
    ok = result.expect(
        shapes == expected,
        (f"분류기(classifier): 25088 → 4096 → 4096 → {num_classes}.",
         f"Classifier: 25088 → 4096 → 4096 → {num_classes}."),
        (f"완전 연결 계층이 {' → '.join(str(s) for s in shapes) or '없음'}입니다 "
         f"(25088→4096, 4096→4096, 4096→{num_classes}이어야 함).",
         f"Linear layers are {shapes or 'missing'}; expected 25088→4096, 4096→4096, 4096→{num_classes}."),
        ("마지막 계층의 출력 수는 num_classes 인자를 그대로 쓰세요.",
         "The last layer's output size must be the num_classes argument."))
    if not linears:
        return False
    # ReLU after the first two linear layers, nothing but logits after the last one.
    first = ops.index(linears[0])
    tail = [e.name for e in ops[first:]]
    wanted = ["linear", "relu", "linear", "relu", "linear"]
    last = len(tail) - 1 - tail[::-1].index("linear")
    after_last = tail[last + 1:]
    squashers = [n for n in after_last if n in ("softmax", "log_softmax", "sigmoid", "tanh", "relu")]
    if squashers:
        result.fail(f"마지막 계층 뒤에 '{squashers[0]}'이(가) 있습니다: 출력은 날것의 로짓(logit)이어야 합니다.",
                    f"'{squashers[0]}' follows the last layer: the output must be raw logits.",
                    "softmax는 손실 함수(nn.CrossEntropyLoss)가 안에서 계산합니다. forward에서 빼세요.",
                    "nn.CrossEntropyLoss applies log-softmax itself: remove it from forward.")
        ok = False
    elif tail[:5] != wanted and len(linears) == 3:
        result.fail("처음 두 완전 연결 계층 뒤에 각각 ReLU가 있어야 합니다.",
                    "A ReLU must follow each of the first two linear layers.",
                    "Linear → ReLU → Dropout → Linear → ReLU → Dropout → Linear 순서입니다.",
                    "The order is Linear → ReLU → Dropout → Linear → ReLU → Dropout → Linear.")
        ok = False
    elif ok:
        result.ok("처음 두 완전 연결 계층 뒤에 ReLU, 마지막 출력은 날것의 로짓입니다.",
                  "ReLU after the first two linear layers; the output is raw logits.")
    return ok


def _reference_forward(x: torch.Tensor, ops: list[OpEvent]) -> torch.Tensor:
    """VGG16's forward pass written with functional ops, using the weights the learner's model used."""
    convs = [e for e in ops if e.name == "conv2d"]
    linears = [e for e in ops if e.name == "linear"]
    it = iter(convs)
    for channels in _D_BLOCKS:
        for _ in channels:
            e = next(it)
            x = F.relu(F.conv2d(x, e.arg("weight"), e.arg("bias"), padding=1))
        x = F.max_pool2d(x, 2, 2)
    x = torch.flatten(x, 1)
    for j, e in enumerate(linears):
        x = F.linear(x, e.arg("weight"), e.arg("bias"))
        if j < 2:
            x = F.relu(x)
    return x


@never_raises("check_vgg16")
def check_vgg16(result: CheckResult, candidate: Any, num_classes: int = 10) -> CheckResult:
    """Is ``candidate`` (a class called with ``num_classes=...``, or an instance) a correct VGG16?

    Checks configuration D (13 3×3 padding-1 convs in blocks of 2-2-3-3-3 with 64-128-256-512-512
    channels), a ReLU after every conv and after the first two linear layers, 2×2 stride-2 max
    pooling after each block, a 4096-4096-``num_classes`` head, raw logits out, ``num_classes``
    honoured, the parameter count, and — with the learner's own weights — the same outputs as a
    reference VGG16. Never raises: errors in the learner's code become ❌ lines.
    """
    is_class = inspect.isclass(candidate)
    if is_class:
        try:
            model = _instantiate(candidate, num_classes, meta=False)
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001
            ko, en = describe_exception(exc)
            result.fail(f"{candidate.__name__}(num_classes={num_classes})을(를) 만들 수 없습니다. {ko}",
                        f"Could not build {candidate.__name__}(num_classes={num_classes}). {en}",
                        "__init__이 num_classes 인자를 받고 super().__init__()을 먼저 부르는지 확인하세요.",
                        "Check that __init__ takes num_classes and calls super().__init__() first.")
            return result
    elif isinstance(candidate, nn.Module):
        model = candidate
    else:
        result.fail(f"nn.Module 클래스나 인스턴스를 넘겨 주세요 (받은 것: {type(candidate).__name__}).",
                    f"Pass an nn.Module class or instance (got {type(candidate).__name__}).")
        return result

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 224, 224, generator=gen)
    try:
        out, ops = record_ops(model, x.clone())
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001
        ko, en = describe_exception(exc)
        result.fail(f"224×224 이미지 2장으로 순전파(forward)하다가 실패했습니다. {ko}",
                    f"The forward pass on two 224×224 images failed. {en}",
                    "각 계층의 출력 모양을 print로 찍어 보며 어디서 어긋나는지 찾아보세요.",
                    "Print each layer's output shape to find where the shapes stop matching.")
        return result
    if not isinstance(out, torch.Tensor):
        result.fail(f"forward가 텐서가 아니라 {type(out).__name__}을(를) 돌려줍니다.",
                    f"forward returns a {type(out).__name__}, not a tensor.")
        return result
    if not is_class:
        num_classes = int(out.shape[-1]) if out.dim() == 2 else num_classes
    result.expect(tuple(out.shape) == (2, num_classes),
                  (f"출력 모양 (2, {num_classes}) — 이미지마다 클래스 점수 {num_classes}개.",
                   f"Output shape (2, {num_classes}): {num_classes} class scores per image."),
                  (f"출력 모양이 {tuple(out.shape)}입니다 ((2, {num_classes})이어야 함).",
                   f"Output shape is {tuple(out.shape)}, expected (2, {num_classes})."))

    dropouts = [e for e in ops if e.name == "dropout"]
    significant = [e for e in ops if e.name != "dropout" and not _is_identity_pool(e)]
    first_linear = next((i for i, e in enumerate(significant) if e.name == "linear"), len(significant))
    features_ok = _check_features(result, significant[:first_linear])
    classifier_ok = _check_classifier(result, significant[first_linear:], num_classes)

    # num_classes honoured and the parameter count, on cheap "meta" copies when the class allows it.
    if is_class:
        try:
            try:
                probe = _instantiate(candidate, 7, meta=True)
                n_1000 = _count(_instantiate(candidate, 1000, meta=True))
                probe_out = probe(torch.empty(1, 3, 224, 224, device="meta"))
            except NotImplementedError:
                raise
            except Exception:  # noqa: BLE001 - some code cannot run on "meta": use real tensors
                probe = _instantiate(candidate, 7, meta=False)
                n_1000 = _count(probe) + (4096 + 1) * (1000 - 7)
                with torch.no_grad():
                    probe_out = probe.eval()(x[:1])
            result.expect(tuple(probe_out.shape) == (1, 7),
                          ("num_classes=7로 만들면 출력도 7개입니다: num_classes를 제대로 씁니다.",
                           "Built with num_classes=7 it outputs 7 scores: num_classes is honoured."),
                          (f"num_classes=7로 만들었는데 출력 모양이 {tuple(probe_out.shape)}입니다.",
                           f"Built with num_classes=7, the output shape is {tuple(probe_out.shape)}."),
                          ("마지막 nn.Linear의 출력 수로 1000 같은 숫자 대신 num_classes를 쓰세요.",
                           "Use num_classes, not a fixed number like 1000, for the last nn.Linear."))
            result.expect(n_1000 == VGG16_PARAMS,
                          (f"매개변수(parameter) {n_1000:,}개 (num_classes=1000) — torchvision의 vgg16과 같습니다.",
                           f"{n_1000:,} parameters (num_classes=1000), the same as torchvision's vgg16."),
                          (f"매개변수가 {n_1000:,}개입니다 (num_classes=1000일 때 {VGG16_PARAMS:,}개여야 함).",
                           f"{n_1000:,} parameters; VGG16 with 1000 classes has {VGG16_PARAMS:,}."))
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001
            ko, en = describe_exception(exc)
            result.fail(f"num_classes=7로 다시 만들어 보다가 실패했습니다. {ko}",
                        f"Building again with num_classes=7 failed. {en}")
    else:
        n = _count(model)
        n_1000 = n + (4096 + 1) * (1000 - num_classes)
        result.expect(n_1000 == VGG16_PARAMS,
                      (f"매개변수 {n:,}개 (num_classes=1000이면 {n_1000:,}개).",
                       f"{n:,} parameters ({n_1000:,} with 1000 classes)."),
                      (f"매개변수가 {n:,}개입니다 (num_classes=1000으로 환산하면 {n_1000:,}개, "
                       f"{VGG16_PARAMS:,}개여야 함).",
                       f"{n:,} parameters ({n_1000:,} for 1000 classes; expected {VGG16_PARAMS:,})."))
        result.note("인스턴스를 받아서 num_classes를 바꿔 보는 검사는 건너뛰었습니다: 클래스를 넘기면 함께 검사합니다.",
                    "Got an instance, so num_classes could not be varied: pass the class to check that too.")

    # Same weights, same outputs: the behaviour is VGG16's, whatever the code looks like.
    if features_ok and classifier_ok:
        with torch.no_grad():
            ref = _reference_forward(x, ops)
        diff = (ref - out).abs().max().item()
        scale = ref.abs().max().item() + 1e-12
        result.expect(diff <= 1e-4 * max(1.0, scale),
                      (f"같은 가중치로 참고 VGG16과 출력이 같습니다 (최대 차이 {diff:.1e}).",
                       f"With the same weights it matches a reference VGG16 (max difference {diff:.1e})."),
                      (f"같은 가중치인데 참고 VGG16과 출력이 다릅니다 (최대 차이 {diff:.3g}).",
                       f"With the same weights its output differs from a reference VGG16 (max difference {diff:.3g})."),
                      ("forward에 구조 밖의 연산(더하기, 곱하기, 순서 바꾸기 등)이 있는지 확인하세요.",
                       "Look for extra operations in forward (adds, scaling, reordering)."))
    if not dropouts:
        result.note("Dropout이 없어도 통과입니다. 다만 논문은 처음 두 완전 연결 계층 뒤에 dropout 0.5를 씁니다.",
                    "Passing without Dropout is fine, but the paper uses "
                    "dropout 0.5 after the first two linear layers.")
    elif any(abs(float(e.arg("p", 0.5)) - 0.5) > 1e-9 for e in dropouts):
        result.note("Dropout 확률이 0.5가 아닙니다. 논문은 0.5를 씁니다.",
                    "Your dropout probability is not 0.5; the paper uses 0.5.")
    return result
