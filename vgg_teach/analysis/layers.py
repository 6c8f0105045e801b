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
from torch.overrides import TorchFunctionMode

from ..errors import UsageError
from ..models import conv_layer_names, vgg, vgg_cifar

__all__ = ["pair", "leaf_layers", "layer_names", "meta_vgg", "eval_mode", "input_shape", "trace", "model_device",
           "forward_path"]


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


def _vgg_like(leaves: Sequence[tuple[str, nn.Module]]) -> bool:
    """Every convolution is 3×3 (or 1×1) with stride 1, so only poolings shrink the image: VGG's naming fits."""
    return all(pair(m.stride) == (1, 1) and pair(m.kernel_size) in ((3, 3), (1, 1))
               for _, m in leaves if isinstance(m, nn.Conv2d))


def layer_names(leaves: Sequence[tuple[str, nn.Module]]) -> list[str]:
    """Paper-style names for the leaves of a model: conv1_1 … pool5, fc6 … fc8 for a VGG-like one.

    In a VGG-like model (:func:`_vgg_like`) convolutions and pools are named by
    :func:`vgg_teach.models.conv_layer_names` and linear layers are ``fc6``, ``fc7``, … (numbered after
    the last pooling block, as in Caffe's VGG). Any other network (AlexNet's 11×11 stride-4 first layer,
    ResNet's 7×7 stem) is named the Caffe way: ``conv1``, ``conv2``, … in order, a pooling after the
    n-th convolution ``pool<n>`` (AlexNet: pool1, pool2, pool5), linear layers numbered on from the
    last convolution. A batch norm, ReLU or dropout after a layer takes its number (``bn1_1``,
    ``relu1_1``, ``relu6``, ``drop6``); anything else keeps its module path (``avgpool``).
    """
    vgg_like = _vgg_like(leaves)
    spec = ["M" if isinstance(m, _POOLS) else 0 for _, m in leaves if isinstance(m, (nn.Conv2d, *_POOLS))]
    paper = iter(conv_layer_names(spec))
    fc = spec.count("M") + 1 if vgg_like else spec.count(0) + 1
    n_conv = 0
    names: list[str] = []
    last = ""  # suffix of the last conv ("1_1", or "3" outside VGG) or linear layer ("6")
    for path, m in leaves:
        if isinstance(m, (nn.Conv2d, *_POOLS)) and vgg_like:
            name = next(paper)
            last = name[4:] if name.startswith("conv") else ""
        elif isinstance(m, nn.Conv2d):
            n_conv += 1
            name, last = f"conv{n_conv}", str(n_conv)
        elif isinstance(m, _POOLS):
            name, last = f"pool{max(n_conv, 1)}", ""
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


class _Stop(Exception):
    """Raised by a hook to end the forward pass at the first whole-image layer."""


_LAYER_OPS = {"conv2d", "conv1d", "conv3d", "max_pool2d", "avg_pool2d", "max_pool2d_with_indices", "_max_pool2d",
              "lp_pool2d", "conv_transpose2d"}


class _Flow(TorchFunctionMode):
    """Follows the activations through the ops: finds two of them meeting (a shortcut's add, a cat)."""

    def __init__(self, x: torch.Tensor, calls: list[tuple[str, nn.Module]], depth: list[int]) -> None:
        super().__init__()
        self.acts = [x]  # kept alive, so that no id is reused while we look
        self.ids = {id(x)}
        self.calls, self.depth = calls, depth
        self.problem: tuple[str, str] | None = None  # (what happened, after which layer)

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        kwargs = kwargs or {}
        flat = [a for a in (*args, *kwargs.values()) for a in (a if isinstance(a, (list, tuple)) else (a,))]
        inputs = {id(a) for a in flat if isinstance(a, torch.Tensor) and id(a) in self.ids}
        name = getattr(func, "__name__", str(func))
        after = self.calls[-1][0] if self.calls else "input"
        if self.problem is None and len(inputs) > 1:
            self.problem = (f"merge:{name}", after)
        elif self.problem is None and inputs and not self.depth[0] and name in _LAYER_OPS:
            self.problem = (f"functional:{name}", after)
        out = func(*args, **kwargs)
        if inputs:
            for t in out if isinstance(out, (list, tuple)) else (out,):
                if isinstance(t, torch.Tensor) and id(t) not in self.ids:
                    self.acts.append(t)
                    self.ids.add(id(t))
        return out


def forward_path(module: nn.Module, stop_at: tuple[type, ...] = (),
                 input_size: int | Sequence[int] | None = None) -> list[tuple[str, nn.Module]] | None:
    """The leaf layers in the order a forward pass calls them (on ``meta``: no memory, no time), up to and
    including the first layer of a ``stop_at`` type. A module called twice (a shared ``nn.ReLU`` or
    ``nn.MaxPool2d``) is listed twice.

    Raises :class:`UsageError` when the activations do not run down a single path — two of them meet
    in one op (ResNet's ``out += identity``, a concatenation) — or when a convolution or pooling is
    called as a function in ``forward`` (``F.max_pool2d``), outside any layer. Returns ``None`` when
    the module cannot be run on ``meta`` at that size (then nothing is known about its order).
    """
    leaves = leaf_layers(module)
    paths = {id(m): path for path, m in leaves}
    first_conv = next((m for _, m in leaves if isinstance(m, nn.Conv2d)), None)
    channels = first_conv.in_channels if first_conv is not None else 3
    shape = (channels, *input_shape(input_size or 224)[1:])
    calls: list[tuple[str, nn.Module]] = []
    depth = [0]

    def enter(m: nn.Module, _inp: Any) -> None:
        calls.append((paths[id(m)], m))
        if isinstance(m, stop_at):
            raise _Stop
        depth[0] += 1

    def leave(_m: nn.Module, _inp: Any, _out: Any) -> None:
        depth[0] -= 1

    x = torch.empty(1, *shape, device="meta")
    flow = _Flow(x, calls, depth)
    handles = [h for _, m in leaves for h in (m.register_forward_pre_hook(enter), m.register_forward_hook(leave))]
    try:
        with eval_mode(module), torch.no_grad(), flow:
            _meta_forward(module, x)
    except _Stop:
        pass
    except Exception:  # noqa: BLE001 - it cannot run at this size: the order is unknown
        if flow.problem is None:
            return None
    finally:
        for h in handles:
            h.remove()
    if flow.problem is not None:
        what, after = flow.problem
        kind, _, op = what.partition(":")
        if kind == "merge":
            raise UsageError(
                f"{after} 뒤에서 두 갈래의 활성값이 '{op}'(으)로 합쳐집니다(ResNet의 지름길 연결처럼): "
                "이 모델은 계층이 한 줄로 이어진 모델이 아니어서 수용 영역(receptive field) 표를 "
                "계층 순서대로 계산할 수 없습니다. "
                "한 줄로 이어진 부분만 nn.Sequential로 잘라서 넘기세요. / "
                f"After {after}, two branches of activations meet in '{op}' (like ResNet's shortcut): this network "
                "is not a single chain of layers, so a receptive-field table cannot be computed layer after layer. "
                "Pass an nn.Sequential of a part that is a single path.")
        raise UsageError(
            f"{after} 뒤에서 forward가 '{op}'을(를) 계층이 아닌 함수로 직접 부릅니다(F.max_pool2d 같은): "
            "수용 영역 표는 계층(모듈)만 읽습니다. nn.MaxPool2d, nn.Conv2d 같은 계층으로 쓰세요. / "
            f"After {after}, forward calls '{op}' directly as a function (like F.max_pool2d): receptive-field "
            "tables read layers (modules) only. Use layers such as nn.MaxPool2d and nn.Conv2d.")
    return calls
