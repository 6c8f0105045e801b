"""Walking a model's layers: leaves in forward order, paper-style names, shapes and FLOPs on the ``meta`` device.

Shared by the parameter tables (:mod:`.params`), the receptive-field tables (:mod:`.receptive_field`) and
the checks. Assumption: a model's leaf modules run in the order they are registered — true for
``nn.Sequential`` stacks and for VGG (``features``, ``avgpool``, ``classifier``).
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..errors import UsageError
from ..models import conv_layer_names, vgg, vgg_cifar

__all__ = ["pair", "leaf_layers", "layer_names", "meta_vgg", "eval_mode", "input_shape", "trace", "model_device"]


def pair(value: int | Sequence[int]) -> tuple[int, int]:
    """``3`` → ``(3, 3)``; ``(3, 5)`` stays: a module's kernel/stride/padding as a pair."""
    if isinstance(value, int):
        return value, value
    a, b = value
    return int(a), int(b)


def leaf_layers(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(path, module)`` for every module without children, in registration order.

    For ``nn.Sequential`` stacks and for VGG (``features``, ``avgpool``, ``classifier``) this is also
    the order of the forward pass — the assumption the layer tables rely on. A model whose
    ``forward`` calls its layers in another order, or calls one twice, is not described correctly.
    """
    leaves = [(name, m) for name, m in module.named_modules() if next(m.children(), None) is None]
    return [(name or type(m).__name__, m) for name, m in leaves]


_POOLS = (nn.MaxPool2d, nn.AvgPool2d)


def layer_names(leaves: Sequence[tuple[str, nn.Module]]) -> list[str]:
    """Paper-style names (conv1_1 … pool5, fc6 … fc8) for the leaves of a VGG-like model.

    Convolutions and pools are named by :func:`vgg_teach.models.conv_layer_names`; a batch norm,
    ReLU or dropout after one of them takes its number (``bn1_1``, ``relu1_1``, ``relu6``, ``drop6``);
    linear layers are ``fc6``, ``fc7``, … (numbered after the last pooling block, as in Caffe's VGG);
    anything else keeps its module path (``avgpool``).
    """
    spec = ["M" if isinstance(m, _POOLS) else 0 for _, m in leaves if isinstance(m, (nn.Conv2d, *_POOLS))]
    paper = iter(conv_layer_names(spec))
    fc = spec.count("M") + 1
    names: list[str] = []
    last = ""  # suffix of the last conv ("1_1") or linear layer ("6")
    for path, m in leaves:
        if isinstance(m, (nn.Conv2d, *_POOLS)):
            name = next(paper)
            last = name[4:] if name.startswith("conv") else ""
        elif isinstance(m, nn.Linear):
            name, last, fc = f"fc{fc}", str(fc), fc + 1
        elif last and isinstance(m, nn.modules.batchnorm._BatchNorm):
            name = f"bn{last}"
        elif last and isinstance(m, (nn.ReLU, nn.modules.dropout._DropoutNd)):
            name = f"{'relu' if isinstance(m, nn.ReLU) else 'drop'}{last}"
        else:
            name = path
        names.append(name)
    return names


def meta_vgg(cfg: str = "D", batch_norm: bool = False, num_classes: int = 1000, cifar: bool = False,
             **kwargs: Any) -> nn.Module:
    """A VGG built on the ``meta`` device: real shapes and parameter counts, no memory, no init cost.

    ``cifar=True`` builds :func:`vgg_teach.models.vgg_cifar` instead of :func:`vgg_teach.models.architecture`.
    """
    with torch.device("meta"):
        if cifar:
            return vgg_cifar(cfg, batch_norm=batch_norm, num_classes=num_classes, **kwargs)
        return vgg(cfg, batch_norm=batch_norm, num_classes=num_classes, **kwargs)


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """Put every submodule in eval mode for the block, then restore each one's own mode."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training


def _meta_forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Run ``model`` with every parameter and buffer swapped for a meta tensor: shapes, no memory."""
    state = {k: torch.empty_like(v, device="meta") for k, v in
             [*model.named_parameters(), *model.named_buffers()]}
    return torch.func.functional_call(model, state, (x.to("meta"),))


def input_shape(input_size: int | Sequence[int]) -> tuple[int, int, int]:
    """``224``, ``(224, 224)`` or ``(3, 224, 224)`` → ``(C, H, W)``."""
    if isinstance(input_size, int):
        return 3, input_size, input_size
    shape = tuple(int(s) for s in input_size)
    if len(shape) == 2:
        return (3, *shape)  # type: ignore[return-value]
    if len(shape) != 3:
        raise UsageError(f"입력 크기는 224, (224, 224) 또는 (3, 224, 224) 꼴이어야 합니다 (받은 값: {input_size}). / "
                         f"input_size must look like 224, (224, 224) or (3, 224, 224), got {input_size}.")
    return shape  # type: ignore[return-value]


def trace(model: nn.Module, input_size: int | Sequence[int]
          ) -> tuple[list[tuple[str, nn.Module]], dict[str, tuple[int, ...]], int]:
    """Leaves, their output shapes (batch 1, batch dim dropped) and FlopCounterMode's total FLOPs."""
    from torch.utils.flop_counter import FlopCounterMode

    leaves = leaf_layers(model)
    shapes: dict[str, tuple[int, ...]] = {}

    def hook(path: str) -> Callable[..., None]:
        def record(_m: nn.Module, _inp: Any, out: Any) -> None:
            if isinstance(out, torch.Tensor):
                shapes.setdefault(path, tuple(out.shape[1:]))
        return record

    handles = [m.register_forward_hook(hook(path)) for path, m in leaves]
    shape = input_shape(input_size)
    try:
        with eval_mode(model), torch.no_grad(), FlopCounterMode(display=False) as counter:
            try:
                _meta_forward(model, torch.empty(1, *shape, device="meta"))
            except NotImplementedError:  # an op without a meta kernel: one real pass at batch 1
                shapes.clear()
                counter.flop_counts.clear()
                model(torch.zeros(1, *shape, device=model_device(model)))
    finally:
        for h in handles:
            h.remove()
    return leaves, shapes, int(counter.get_total_flops())


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (the CPU for a model without any)."""
    for t in [*model.parameters(), *model.buffers()]:
        return t.device
    return torch.device("cpu")
