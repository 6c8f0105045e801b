"""Reading a recorded VGG16 forward pass against configuration D, layer by layer (used by :mod:`.vgg16`).

The events of :func:`vgg_teach.checks.trace.record_ops` are split into the features (13 convs with
their ReLUs and 5 poolings) and the classifier (fc6–fc8). Layers are named as in the paper and by
where they live in the learner's model — ``conv4_3 (features[21])``, ``fc6 (classifier[0])`` — never
by an ordinal. fc6 and fc7 written as convolutions (a 7×7 convolution over the 512×7×7 features,
then 1×1 convolutions: the paper's dense-evaluation form, timm's ``ConvMlp``) are read as the linear
layers they equal (:func:`fc_shape`).
"""

from __future__ import annotations

import torch

from .feedback import CheckResult
from .trace import OpEvent, conv_geometry, pool_geometry

__all__ = ["fc_shape", "is_identity_pool", "split", "check_features", "check_classifier",
           "conv_name", "event_names"]


def fc_shape(e: OpEvent) -> tuple[int, int] | None:
    """``(in_features, out_features)`` of a linear layer — or of a convolution that computes one.

    A convolution whose kernel covers its whole input (no padding, stride 1, a 1×1 output) is a
    fully connected layer written as a convolution: ``Conv2d(512, 4096, 7)`` on 512×7×7 features is
    ``Linear(25088, 4096)`` (``in_features`` = 512·7·7), ``Conv2d(4096, 4096, 1)`` on 4096×1×1 is
    ``Linear(4096, 4096)``.
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


def is_identity_pool(e: OpEvent) -> bool:
    """An adaptive pooling that changes nothing (7×7 → 7×7, 1×1 → 1×1)."""
    return (e.name.startswith("adaptive") and e.in_shape is not None and e.out_shape is not None
            and e.in_shape[-2:] == e.out_shape[-2:])


def split(events: list[OpEvent], drop_batch_norm: bool) -> tuple[list[OpEvent], list[OpEvent]]:
    """(features, classifier): the ops that matter, before and from the first fully connected layer."""
    ops = [e for e in events if e.name != "dropout" and not is_identity_pool(e)
           and not (drop_batch_norm and e.name == "batch_norm")]
    first = next((i for i, e in enumerate(ops) if fc_shape(e) is not None), len(ops))
    return ops[:first], ops[first:]


def conv_name(b: int, i: int, e: OpEvent | None) -> tuple[str, str]:
    where = f"({e.module})" if e is not None and e.module else ""
    return f"conv{b}_{i}{where}", f"conv{b}_{i}{' ' + where if where else ''}"


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


def check_features(result: CheckResult, ops: list[OpEvent], blocks: list[list[int]], complete: bool = True,
                   in_channels: int = 3) -> bool:
    """Walk the feature ops against a configuration's ``blocks`` (VGG16: D's); report the first place they part.

    ``complete=False``: the forward pass stopped (a crash explained elsewhere), so running out of ops
    is not a mistake and nothing is claimed about the layers never reached.
    """
    pos = 0
    convs_ok = relu_ok = pools_ok = True
    sizes: list[int] = []

    def peek() -> OpEvent | None:
        return ops[pos] if pos < len(ops) else None

    for b, channels in enumerate(blocks, start=1):
        for i, out_ch in enumerate(channels, start=1):
            e = peek()
            ko_w, en_w = conv_name(b, i, e)
            if e is None and not complete:
                return False
            if e is None or e.name != "conv2d":
                found = e.name if e else "끝 / end"
                at_ko, at_en = (f" ({e.module})", f" ({e.module})") if e is not None and e.module else ("", "")
                if e is not None and e.name in ("max_pool2d", "avg_pool2d"):
                    result.fail(f"블록 {b}에 합성곱이 {i - 1}개뿐입니다{at_ko}. {len(channels)}개여야 합니다.",
                                f"Block {b} has only {i - 1} conv(s){at_en}; VGG16 has {len(channels)} there.",
                                "VGG16(구성 D)의 블록별 합성곱 수는 2-2-3-3-3입니다.",
                                "VGG16 (configuration D) has 2-2-3-3-3 convs per block.")
                else:
                    result.fail(f"conv{b}_{i}가 있어야 할 자리에 '{found}'{at_ko}이(가) 있습니다.",
                                f"Expected conv{b}_{i} here, found '{found}'{at_en}.",
                                "features의 순서를 논문의 표 1(구성 D)과 비교해 보세요.",
                                "Compare the order of your features with Table 1 (configuration D).")
                return False
            pos += 1
            expected_in = in_channels if (b, i) == (1, 1) else (blocks[b - 2][-1] if i == 1 else out_ch)
            problems = _conv_problems(e, expected_in, out_ch)
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
            elif e is None and not complete:
                return False
            elif relu_ok:
                relu_ok = False
                found = f"'{e.name}' ({e.module})" if e is not None else "끝 / end"
                result.fail(f"{ko_w} 뒤에 ReLU가 없습니다 (대신 {found}).",
                            f"No ReLU after {en_w} (found {found} instead).",
                            "합성곱마다 바로 뒤에 nn.ReLU(inplace=True)(또는 F.relu)를 두세요.",
                            "Put nn.ReLU(inplace=True) (or F.relu) right after every conv.")
        # -- the pool closing the block -------------------------------------------------------
        e = peek()
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
            kind = {"avg_pool2d": ("평균 풀링(average pooling)", "average pooling")}.get(
                e.name, (f"'{e.name}'", f"'{e.name}'"))
            result.fail(f"블록 {b}의 끝({where})에 최대 풀링 대신 {kind[0]}이(가) 있습니다.",
                        f"Block {b} ends in {kind[1]} instead of max pooling ({where}).",
                        "nn.MaxPool2d(kernel_size=2, stride=2)를 쓰세요.",
                        "Use nn.MaxPool2d(kernel_size=2, stride=2).")
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
    if pos < len(ops):  # something left between pool5 and fc6
        extra = ops[pos]
        result.fail(f"특징 추출부(features) 끝(pool5)과 fc6 사이에 '{extra.name}'({extra.module})이(가) 있습니다.",
                    f"'{extra.name}' ({extra.module}) sits between the end of the features (pool5) and fc6.",
                    "마지막 풀링의 7×7×512 출력을 펼쳐서(flatten) 바로 nn.Linear(25088, 4096)에 넣으세요.",
                    "Flatten the 7×7×512 output of the last pool straight into nn.Linear(25088, 4096).")
        return False
    return convs_ok and relu_ok and pools_ok


def check_classifier(result: CheckResult, ops: list[OpEvent], num_classes: int) -> bool:
    """fc6–fc8: 25088 → 4096 → 4096 → ``num_classes``, a ReLU after fc6 and fc7, raw logits out."""
    expected = [(512 * 7 * 7, 4096), (4096, 4096), (4096, num_classes)]
    fcs = [e for e in ops if fc_shape(e) is not None]
    shapes = [fc_shape(e) for e in fcs]
    ok = result.expect(
        shapes == expected,
        (f"분류기(classifier): 25088 → 4096 → 4096 → {num_classes}.",
         f"Classifier: 25088 → 4096 → 4096 → {num_classes}."),
        (f"완전 연결 계층이 {' → '.join(str(s) for s in shapes) or '없음'}입니다 "
         f"(25088→4096, 4096→4096, 4096→{num_classes}이어야 함).",
         f"Linear layers are {shapes or 'missing'}; expected 25088→4096, 4096→4096, 4096→{num_classes}."),
        ("마지막 계층의 출력 수는 num_classes 인자를 그대로 쓰세요.",
         "The last layer's output size must be the num_classes argument."))
    if not fcs:
        return False
    tail = ["linear" if fc_shape(e) is not None else e.name for e in ops]
    wanted = ["linear", "relu", "linear", "relu", "linear"]
    last = len(tail) - 1 - tail[::-1].index("linear")
    squashers = [ops[i] for i in range(last + 1, len(ops))
                 if ops[i].name in ("softmax", "log_softmax", "sigmoid", "tanh", "relu")]
    if squashers:
        s = squashers[0]
        result.fail(f"마지막 계층 뒤에 '{s.name}'({s.module})이(가) 있습니다: "
                    "출력은 소프트맥스를 거치지 않은 로짓(logit)이어야 합니다.",
                    f"'{s.name}' ({s.module}) follows the last layer: the output must be raw logits.",
                    "softmax는 손실 함수(nn.CrossEntropyLoss)가 안에서 계산합니다. forward에서 빼세요.",
                    "nn.CrossEntropyLoss applies log-softmax itself: remove it from forward.")
        ok = False
    elif tail[:5] != wanted and len(fcs) == 3:
        result.fail("fc6과 fc7 뒤에 각각 ReLU가 있어야 합니다.",
                    "A ReLU must follow fc6 and fc7.",
                    "Linear → ReLU → Dropout → Linear → ReLU → Dropout → Linear 순서입니다.",
                    "The order is Linear → ReLU → Dropout → Linear → ReLU → Dropout → Linear.")
        ok = False
    elif ok:
        result.ok("fc6과 fc7 뒤에 ReLU, 마지막 출력은 소프트맥스를 거치지 않은 로짓입니다.",
                  "ReLU after fc6 and fc7; the output is raw logits.")
    return ok


def event_names(events: list[OpEvent]) -> list[tuple[str, str]]:
    """A (ko, en) name for every event: ``conv3_3 (features[14])``, ``ReLU after fc6 (classifier[1])`` …"""
    names: list[tuple[str, str]] = []
    block, index, fc, last = 1, 0, 0, ""
    for e in events:
        if fc_shape(e) is not None:
            ko = en = last = f"fc{6 + fc}"
            fc += 1
        elif e.name == "conv2d":
            index += 1
            ko = en = last = f"conv{block}_{index}"
        elif e.name in ("max_pool2d", "avg_pool2d"):
            ko = en = last = f"pool{block}"
            block, index = block + 1, 0
        else:
            op = {"relu": "ReLU", "batch_norm": "batch norm"}.get(e.name, e.name)
            ko, en = (f"{last} 뒤의 {op}", f"{op} after {last}") if last else (op, op)
        names.append((f"{ko}({e.module})", f"{en} ({e.module})") if e.module else (ko, en))
    return names
