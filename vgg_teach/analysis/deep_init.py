"""How the paper trained its deep configurations: D initialized from a trained A, and why that was needed.

Simonyan & Zisserman (arXiv:1409.1556), section 3.1: "we began with training the configuration A […],
shallow enough to be trained with random initialisation. Then, when training deeper architectures, we
initialised the first four convolutional layers and the last three fully-connected layers with the
layers of net A (the intermediate layers were initialised randomly). […] For random initialisation […]
we sampled the weights from a normal distribution with the zero mean and 10⁻² variance. […] after the
paper submission we found that it is possible to initialise the weights without pre-training by using
the random initialisation procedure of Glorot & Bengio (2010)."

- :func:`init_from_shallower` copies those layers from A into D. The paper does not say which of D's
  layers receive A's first four convolutions; A's are 3→64, 64→128, 128→256, 256→256, and the only
  reading that fits their shapes is "the next layer of D with the same shape": conv1_1, conv2_1, conv3_1,
  conv3_2. The fully connected layers have the same shapes in every configuration.
- :func:`activation_scales`: the spread of the activations layer by layer under each initialization —
  a fixed σ multiplies it by ``fan_in·σ²/2`` per ReLU layer (far from 1, and more layers go further),
  Glorot's σ² = 2/(fan_in + fan_out) keeps it within a factor ≈ √2 per layer, Kaiming's 2/fan_in at 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ..errors import UsageError, bilingual
from ..models import CFGS, conv_layer_names, make_layers
from ..show.tables import Table, fmt_int, fmt_pct

__all__ = ["InitRow", "init_from_shallower", "INIT_SCHEMES", "activation_scales"]


@dataclass(frozen=True)
class InitRow:
    """One weight layer of the deep net: its name, shape, parameters, and where its first values come from."""

    layer: str
    shape: tuple[int, ...]
    params: int
    source: str  # the shallow net's layer it was copied from, or "" (new, random)

    @property
    def copied(self) -> bool:
        return bool(self.source)


def _weight_layers(model: nn.Module, cfg: str) -> list[tuple[str, nn.Module]]:
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    names = [n for n in conv_layer_names(cfg) if n.startswith("conv")]
    fcs = [m for m in model.classifier if isinstance(m, nn.Linear)]
    if len(convs) != len(names):
        raise UsageError(bilingual(f"모델의 합성곱 계층 수({len(convs)})가 구성 {cfg}({len(names)})와 다릅니다.",
                                   f"The model has {len(convs)} convolutions; configuration {cfg} has {len(names)}."))
    return [*zip(names, convs), *((f"fc{6 + i}", m) for i, m in enumerate(fcs))]


@torch.no_grad()
def init_from_shallower(deep: nn.Module, shallow: nn.Module, deep_cfg: str = "D", shallow_cfg: str = "A",
                        n_conv: int = 4) -> Table:
    """Copy the first ``n_conv`` convolutions and every fully connected layer of ``shallow`` into ``deep``.

    Each of the shallow net's first convolutions goes into the deep net's next convolution with the same
    weight shape (for A → D: conv1_1, conv2_1, conv3_1, conv3_2); the fully connected layers go one to
    one. The other layers keep the values ``deep`` already has (its random initialization). Changes
    ``deep`` in place; returns a :class:`~vgg_teach.show.tables.Table` of :class:`InitRow`.
    """
    deep_layers, shallow_layers = _weight_layers(deep, deep_cfg), _weight_layers(shallow, shallow_cfg)
    sources: dict[int, str] = {}
    start = 0
    shallow_convs = [(n, m) for n, m in shallow_layers if isinstance(m, nn.Conv2d)][:n_conv]
    for name, src in shallow_convs:
        for j in range(start, len(deep_layers)):
            dst = deep_layers[j][1]
            if isinstance(dst, nn.Conv2d) and dst.weight.shape == src.weight.shape:
                sources[j], start = name, j + 1
                break
        else:
            raise UsageError(bilingual(f"{shallow_cfg}의 {name}과 모양이 같은 계층이 {deep_cfg}에 없습니다.",
                                       f"No layer of {deep_cfg} has the shape of {shallow_cfg}'s {name}."))
    deep_fcs = [j for j, (_, m) in enumerate(deep_layers) if isinstance(m, nn.Linear)]
    shallow_fcs = [(n, m) for n, m in shallow_layers if isinstance(m, nn.Linear)]
    for j, (name, src) in zip(deep_fcs, shallow_fcs):
        if deep_layers[j][1].weight.shape != src.weight.shape:
            raise UsageError(bilingual(f"{name}의 모양이 두 모델에서 다릅니다.", f"{name} differs in shape."))
        sources[j] = name
    shallow_modules = dict(shallow_layers)
    for j, name in sources.items():
        dst, src = deep_layers[j][1], shallow_modules[name]
        dst.weight.copy_(src.weight)
        if dst.bias is not None and src.bias is not None:
            dst.bias.copy_(src.bias)
    rows = [InitRow(name, tuple(m.weight.shape), sum(p.numel() for p in m.parameters()), sources.get(j, ""))
            for j, (name, m) in enumerate(deep_layers)]
    total = sum(r.params for r in rows)
    copied = sum(r.params for r in rows if r.copied)
    return Table(rows, columns=[
        (f"{deep_cfg}의 계층 / layer of {deep_cfg}", lambda r: r.layer, False),
        ("가중치 모양 / Weight shape", lambda r: "×".join(map(str, r.shape)), False),
        ("매개변수 / Params", lambda r: fmt_int(r.params), True),
        ("처음 값 / Starts from", lambda r: f"{shallow_cfg}의 {r.source} / {shallow_cfg}'s {r.source}" if r.copied
         else "무작위 (새 계층) / random (new)", False),
    ], title=f"{shallow_cfg}에서 {deep_cfg}로 / Initializing {deep_cfg} from {shallow_cfg}",
        footer=["합계 / Total", "", fmt_int(total), f"복사 / copied {fmt_int(copied)} ({fmt_pct(copied / total)})"])


def _fixed(std: float) -> Callable[[nn.Conv2d], None]:
    return lambda m: nn.init.normal_(m.weight, 0.0, std)


#: name → how it sets a convolution's weight (biases are zero, as in the paper).
INIT_SCHEMES: dict[str, Callable[[nn.Conv2d], None]] = {
    "σ = 0.1 (분산 / variance 10⁻²)": _fixed(0.1),
    "σ = 0.01": _fixed(0.01),
    "Glorot (Xavier)": lambda m: nn.init.xavier_normal_(m.weight),
    "Kaiming (He)": lambda m: nn.init.kaiming_normal_(m.weight, nonlinearity="relu"),
}


@torch.no_grad()
def activation_scales(cfg: str = "D", scheme: str = "Kaiming (He)", input_size: int = 64, batch: int = 2,
                      seed: int = 0) -> list[float]:
    """The standard deviation of each convolution's output (after its ReLU) for random weights and input.

    ``cfg`` is a configuration letter ("A"–"E"), ``scheme`` a key of :data:`INIT_SCHEMES`; the input is
    ``batch`` images of standard normal noise, ``input_size`` pixels a side. Returns one number per
    convolution (log scale is the natural way to look at it: each layer multiplies it by a factor).
    """
    if scheme not in INIT_SCHEMES:
        raise UsageError(bilingual(f"알 수 없는 초기화 '{scheme}'입니다: {', '.join(INIT_SCHEMES)} 중 하나를 쓰세요.",
                                   f"Unknown initialization '{scheme}': use one of {', '.join(INIT_SCHEMES)}."))
    gen = torch.Generator().manual_seed(seed)
    with torch.device("meta"):  # no default initialisation to pay for: the scheme sets every weight below
        features = make_layers(CFGS[cfg.upper()]).to_empty(device="cpu")
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for m in features:
            if isinstance(m, nn.Conv2d):
                INIT_SCHEMES[scheme](m)
                nn.init.zeros_(m.bias)
    x = torch.randn(batch, 3, input_size, input_size, generator=gen)
    out = []
    for m in features:
        x = m(x)
        if isinstance(m, nn.ReLU):
            s = float(x.std())
            out.append(s if s > 0 else math.nan)
    return out
