"""The check of ``count_parameters(model)``: total, trainable and frozen numbers, not tensors or buffers.

The learner's function is compared with the truth on small models built to expose the usual slips
(counting tensors instead of numbers, counting the batch-norm buffers of ``state_dict``, swapping
trainable and frozen, counting a shared parameter twice) and on the swapped VGG16-BN. Never raises.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from ..answers import count_parameters as reference_count
from .feedback import CheckResult, never_raises
from .head import head_swap_counts

__all__ = ["check_parameter_count"]


class _Tiny(nn.Module):
    """Conv + BatchNorm (with buffers) + a linear layer: small enough to count by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
        self.head = nn.Linear(4, 5)


class _Tied(nn.Module):
    """Two layers sharing one weight: model.parameters() lists it once."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(6, 6)
        self.b = nn.Linear(6, 6, bias=False)
        self.b.weight = self.a.weight


def _cases() -> list[tuple[str, str, nn.Module]]:
    half = _Tiny()
    half.features.requires_grad_(False)
    none = _Tiny().requires_grad_(False)
    tied = _Tied()
    tied.a.bias.requires_grad_(False)
    with torch.device("meta"):
        import torchvision

        vgg = torchvision.models.vgg16_bn(weights=None)
    vgg.classifier[6] = nn.Linear(4096, 10, device="meta")
    vgg.features.requires_grad_(False)
    return [("작은 모델(일부 얼림)", "a small model, partly frozen", half),
            ("모두 얼린 작은 모델", "a small model, all frozen", none),
            ("가중치를 나눠 쓰는 모델", "a model whose two layers share one weight", tied),
            ("머리를 바꾼 VGG16-BN", "VGG16-BN with its head swapped", vgg)]


def _as_counts(value: Any) -> tuple[int, int, int] | None:
    try:
        items = list(value)
    except TypeError:
        return None
    if len(items) != 3:
        return None
    try:
        return tuple(int(v) for v in items)  # type: ignore[return-value]
    except (TypeError, ValueError):
        return None


def _diagnose(got: tuple[int, int, int], want: tuple[int, int, int], model: nn.Module) -> tuple[str, str, str, str]:
    """(ko, en, hint_ko, hint_en) for a wrong count."""
    params = list(model.parameters())
    n_tensors = len(params)
    trainable_tensors = sum(p.requires_grad for p in params)
    buffers = sum(b.numel() for b in model.buffers())
    all_named = sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False))
    msg = (f"(전체, 학습, 고정) = {got}, 정답은 {want}.", f"(total, trainable, frozen) = {got}; expected {want}.")
    if got == (want[0], want[2], want[1]) and want[1] != want[2]:
        return (*msg, "학습과 고정이 뒤바뀌었습니다: requires_grad가 True인 것이 학습되는 매개변수입니다.",
                "Trainable and frozen are swapped: parameters with requires_grad=True are the trainable ones.")
    if got[0] == n_tensors or got[1] == trainable_tensors and want[1] != trainable_tensors:
        return (*msg, "매개변수 텐서의 개수를 셌습니다. 각 텐서에 든 숫자의 개수 p.numel()을 더하세요.",
                "That counts parameter tensors; add up the numbers inside each one, p.numel().")
    if buffers and got[0] == want[0] + buffers:
        return (*msg, "state_dict()에는 배치 정규화의 running_mean/running_var 같은 버퍼(buffer)도 들어 있습니다. "
                      "model.parameters()를 세세요.",
                "state_dict() also holds buffers such as batch norm's running_mean/running_var; "
                "count model.parameters().")
    if all_named != want[0] and got[0] == all_named:
        return (*msg, "나눠 쓰는 매개변수를 두 번 셌습니다. model.parameters()는 같은 텐서를 한 번만 돌려줍니다.",
                "A shared parameter was counted twice; model.parameters() yields each tensor once.")
    if got[0] != got[1] + got[2]:
        return (*msg, "전체 = 학습 + 고정이어야 합니다.", "total must equal trainable + frozen.")
    return (*msg, "p.numel()을 requires_grad에 따라 나눠 더하세요.", "Add up p.numel(), split by p.requires_grad.")


@never_raises("check_parameter_count")
def check_parameter_count(result: CheckResult, count_parameters: Callable[[nn.Module], Any]) -> CheckResult:
    """Does ``count_parameters(model)`` return ``(total, trainable, frozen)`` correctly?

    Tried on a small conv + batch-norm model partly frozen and all frozen (its ``state_dict`` holds
    buffers that are not parameters), on a model whose two layers share one weight, and on
    VGG16-BN after the head swap (134,309,962 = 119,586,826 + 14,723,136, counted on ``meta``).
    """
    if result.not_a_function(count_parameters):
        return result
    passed = []
    for ko, en, model in _cases():
        want = tuple(reference_count(model))
        value = count_parameters(model)
        got = _as_counts(value)
        if got is None:
            result.fail(f"{ko}: (전체, 학습, 고정) 세 정수를 돌려줘야 하는데 {type(value).__name__}을(를) 돌려줍니다"
                        f" ({value!r:.60}).",
                        f"{en}: it should return three integers (total, trainable, frozen), got a "
                        f"{type(value).__name__} ({value!r:.60}).",
                        "return total, trainable, frozen", "return total, trainable, frozen")
            return result
        if got != want:
            m_ko, m_en, h_ko, h_en = _diagnose(got, want, model)
            result.fail(f"{ko}: {m_ko}", f"{en}: {m_en}", h_ko, h_en)
            return result
        passed.append(ko)
    total, trainable, frozen = head_swap_counts(10)
    result.ok("네 가지 모델 모두 맞습니다 — 머리를 바꾼 VGG16-BN: "
              f"전체 {total:,} = 학습 {trainable:,} + 고정 {frozen:,}.",
              f"Right for all four models — VGG16-BN with its head swapped: {total:,} = {trainable:,} trainable "
              f"+ {frozen:,} frozen.")
    return result
