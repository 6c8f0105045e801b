"""VGG at the paper's test time: fully connected layers as convolutions, and dense evaluation at any image size.

Simonyan & Zisserman (arXiv:1409.1556), section 3.2: "the fully-connected layers are first converted to
convolutional layers (the first FC layer to a 7 × 7 conv. layer, the last two FC layers to 1 × 1 conv.
layers). The resulting fully-convolutional net is then applied to the whole (uncropped) image. The result
is a class score map […] Finally, […] the class score map is spatially averaged (sum-pooled)."

- :func:`to_fully_convolutional`: fc6 → ``Conv2d(512, 4096, 7)``, fc7 and fc8 → 1×1 convolutions, with
  the very same numbers (``weight.view(4096, 512, 7, 7)``: ``torch.flatten`` reads pool5 channel by
  channel, row by row) — no new parameter, 138,357,544 for VGG16;
- :func:`score_map_geometry`: the size, stride and receptive field of the class score map for an input
  size, from the receptive-field table of lesson 03 (:mod:`.receptive_field`);
- :func:`head_on_windows` / :func:`crop_scores`: what dense evaluation equals — the original classifier on
  every 7×7 window of pool5 (exact, any network), or the whole network on every crop at stride 32
  (exact only without zero padding, see :class:`TinyValidNet`; VGG's padded convolutions see context
  beyond a crop, the paper's "convolution boundary conditions");
- :func:`dense_predict` (score map → average → softmax, optional flip) and :func:`evaluation_cost_table`
  (FLOPs of dense vs multi-crop evaluation, counted by :func:`.params.count_flops`); :func:`paper_table5`.

Scale jittering, the paper's training-time augmentation (Simonyan & Zisserman 2014, section 3.1).

"Let S be the smallest side of an isotropically-rescaled training image, from which the ConvNet input is
cropped […] multi-scale training, where each training image is individually rescaled by randomly sampling
S from a certain range [S_min, S_max] (we used S_min = 256 and S_max = 512)." A random 224×224 crop of
the rescaled image is the network's input: at S = 256 it covers most of the short side, at S = 512 less
than half of it, so one object is seen at many sizes.

:class:`ScaleJitter` does exactly that to a PIL image or a ``(C, H, W)`` tensor, with its own seeded
generator, and :meth:`ScaleJitter.sample` also says which part of the original image each crop shows.
(The paper also flips the crops and shifts their colors; those are left out here.)

How the paper trained its deep configurations: D initialized from a trained A, and why that was needed.

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
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn

from .answers import to_fully_convolutional
from .counting import count_flops, meta_vgg
from .errors import UsageError, bilingual
from .models import CFGS, conv_layer_names, make_layers
from .receptive_field import RFTable, input_hw, rf_tables
from .show import Table, fmt_int, fmt_pct

# ---- from vgg_teach.analysis.dense (phase-1 merge)
#: Where the numbers of this lesson come from.
PAPER = ("K. Simonyan & A. Zisserman, \"Very Deep Convolutional Networks for Large-Scale Image Recognition\", "
         "ICLR 2015, arXiv:1409.1556 (v6)")


#: The paper's names of the three fully connected layers (Caffe's VGG16: fc6, fc7, fc8).
HEAD_NAMES = ("fc6", "fc7", "fc8")


# ------------------------------------------------------------------------------------ geometry
@dataclass(frozen=True)
class ScoreMap:
    """The class score map of a fully convolutional net for one input size (see :func:`score_map_geometry`).

    ``size``: ``(h, w)`` scores; ``stride``: pixels between neighboring scores; ``receptive_field``: the
    input pixels one score sees (one side); ``start``: ``(y, x)`` of the first score's center in input
    pixels; ``table``: the receptive-field rows, the head's convolutions named fc6, fc7, fc8.
    """

    input_size: tuple[int, int]
    size: tuple[int, int]
    stride: int
    receptive_field: int
    start: tuple[float, float]
    table: RFTable

    def centre(self, i: int, j: int) -> tuple[float, float]:
        """``(y, x)`` of score ``(i, j)``'s center in input pixels."""
        return self.start[0] + i * self.stride, self.start[1] + j * self.stride


def _rename_head(table: RFTable) -> RFTable:
    pools = [i for i, r in enumerate(table) if r.type != "Conv2d"]
    after = list(range(pools[-1] + 1, len(table))) if pools else []
    names = dict(zip(after, (*HEAD_NAMES, *(f"fc{9 + n}" for n in range(len(after))))))
    rows = [replace(r, layer=names[i]) if i in names else r for i, r in enumerate(table)]
    return RFTable(rows, columns=table.columns, title=table.title)


def score_map_geometry(fcn: nn.Module | None = None, input_size: int | Sequence[int] = 384) -> ScoreMap:
    """Size, stride and receptive field of the score map of ``fcn`` (VGG16's by default) for ``input_size``.

    Computed layer by layer with :func:`.receptive_field.receptive_field_table` (no forward pass): for
    VGG16 the map is ``⌊S/32⌋ − 6`` scores a side (384 → 6), 32 pixels apart, each seeing 404×404 pixels.
    """
    fcn = fcn if fcn is not None else to_fully_convolutional(meta_vgg("D"))
    hw = input_hw(input_size)
    rows, cols = (_rename_head(t) for t in rf_tables(fcn, hw))
    last_r, last_c = rows[-1], cols[-1]
    if not (last_r.output_size and last_c.output_size):
        raise UsageError(bilingual(
            f"{hw[0]}×{hw[1]} 입력은 너무 작습니다: 점수 맵이 비어 있습니다 (VGG16은 224×224 이상이어야 합니다).",
            f"A {hw[0]}×{hw[1]} input is too small: the score map is empty (VGG16 needs at least 224×224)."))
    return ScoreMap(hw, (last_r.output_size, last_c.output_size), last_r.jump, last_r.receptive_field,
                    (last_r.start, last_c.start), rows)


# ------------------------------------------------------------------------------ evaluation
@torch.no_grad()
def dense_predict(fcn: nn.Module, images: torch.Tensor, flip: bool = False) -> torch.Tensor:
    """Class probabilities ``(N, classes)``: the score map averaged over its positions, then softmax.

    With ``flip`` the mirrored images go through too and the two softmax outputs are averaged, as the
    paper does at test time. ``fcn`` runs in eval mode (its own mode is restored afterwards).
    """
    from .counting import eval_mode

    with eval_mode(fcn):
        probs = fcn(images).mean(dim=(2, 3)).softmax(dim=1)
        if flip:
            probs = (probs + fcn(images.flip(-1)).mean(dim=(2, 3)).softmax(dim=1)) / 2
    return probs


@torch.no_grad()
def head_on_windows(classifier: nn.Module, features: torch.Tensor, window: int = 7) -> torch.Tensor:
    """The original (fully connected) ``classifier`` applied to every ``window × window`` patch of ``features``.

    ``features`` is a pool5 map ``(N, C, H, W)``; each patch is flattened exactly as ``torch.flatten``
    flattens a 7×7 map, so the result ``(N, classes, H − 6, W − 6)`` is what the converted head computes
    in one pass — one window per 32 input pixels.
    """
    n, c, h, w = features.shape
    patches = features.unfold(2, window, 1).unfold(3, window, 1)            # N, C, h', w', k, k
    hh, ww = patches.shape[2], patches.shape[3]
    flat = patches.permute(0, 2, 3, 1, 4, 5).reshape(n * hh * ww, c * window * window)
    return classifier(flat).view(n, hh, ww, -1).permute(0, 3, 1, 2)


def crop_offsets(size: Sequence[int], crop: int = 224, stride: int = 32) -> list[tuple[int, int]]:
    """Top-left corners ``(y, x)`` of the crops at ``stride`` that fit in an image of ``size = (H, W)``, row by row."""
    h, w = input_hw(size)
    return [(y, x) for y in range(0, h - crop + 1, stride) for x in range(0, w - crop + 1, stride)]


@torch.no_grad()
def crop_scores(model: nn.Module, images: torch.Tensor, offsets: Iterable[tuple[int, int]] | None = None,
                crop: int = 224, stride: int = 32) -> torch.Tensor:
    """``model`` (the original classifier) on ``crop × crop`` crops of ``images``: ``(N, classes, crops)``.

    ``offsets`` are top-left corners (default: every crop at ``stride``, :func:`crop_offsets`, in the order
    of a flattened score map). Each crop is run on its own, padded with zeros at its borders.
    """
    from .counting import eval_mode

    offsets = list(offsets) if offsets is not None else crop_offsets(images.shape[-2:], crop, stride)
    with eval_mode(model):
        scores = [model(images[..., y:y + crop, x:x + crop]) for y, x in offsets]
    return torch.stack(scores, dim=-1)


class TinyValidNet(nn.Module):
    """A VGG in miniature *without padding*: the small case where dense evaluation equals cropping exactly.

    ``features``: 3×3 conv, 3×3 conv, 2×2 max pool, 3×3 conv, 2×2 max pool (all ``padding=0``): a
    20×20 crop becomes ``channels × 3 × 3`` and the total stride is 4. ``classifier``: two linear layers,
    as in VGG's head. With ``padding=1`` (``valid=False``) the convolutions pad every crop with zeros
    and the equality breaks, as in VGG itself.
    """

    crop, stride = 20, 4

    def __init__(self, channels: int = 8, hidden: int = 16, num_classes: int = 5, valid: bool = True) -> None:
        super().__init__()
        pad = 0 if valid else 1
        c = channels
        self.features = nn.Sequential(
            nn.Conv2d(3, c, 3, padding=pad), nn.ReLU(), nn.Conv2d(c, c, 3, padding=pad), nn.ReLU(),
            nn.MaxPool2d(2), nn.Conv2d(c, c, 3, padding=pad), nn.ReLU(), nn.MaxPool2d(2))
        side = 3 if valid else 5
        self.classifier = nn.Sequential(nn.Linear(c * side * side, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


# ------------------------------------------------------------------------------------- cost
def evaluation_cost_table(sizes: Sequence[int] = (256, 384, 512), crop: int = 224, stride: int = 32) -> Table:
    """FLOPs of dense evaluation vs running VGG16 on every crop that one score stands for (square images).

    Dense: one pass of the fully convolutional VGG16 over the ``S × S`` image. Crops: ``crop × crop``
    crops at ``stride`` — as many as the score map has scores — each a full pass at 224. Counted by
    :func:`.params.count_flops` on the ``meta`` device (2 FLOPs per multiply-add, batch 1).
    """
    vgg = meta_vgg("D")
    fcn = to_fully_convolutional(vgg)
    per_crop = count_flops(vgg, crop)
    rows = []
    for s in sizes:
        n = len(crop_offsets((s, s), crop, stride))
        dense = count_flops(fcn, s)
        rows.append((s, n, dense, n * per_crop))
    return Table(rows, columns=[
        ("크기 / Size", lambda r: f"{r[0]}×{r[0]}", False),
        ("점수 / Scores", lambda r: f"{r[1]} = {math.isqrt(r[1])}×{math.isqrt(r[1])}", True),
        ("조밀 / Dense (GFLOP)", lambda r: f"{r[2] / 1e9:.1f}", True),
        ("잘라서 / Crops (GFLOP)", lambda r: f"{r[3] / 1e9:.1f}", True),
        ("배 / Ratio", lambda r: f"{r[3] / r[2]:.1f}×", True),
    ], title=f"조밀한 평가 대 잘라 보기 / Dense vs crop-by-crop — VGG16, {crop}×{crop} 잘라 보기 한 번 / one crop "
             f"= {per_crop / 1e9:.1f} GFLOP",
        notes=[f"잘라 보기: {stride}픽셀 간격, 점수 하나에 잘라 보기 하나 / crops {stride} px apart, one per score; "
               "FlopCounterMode, 곱셈-덧셈 하나 = 2 FLOP / one multiply-add = 2 FLOPs."])


#: Table 5 of the paper: (configuration, evaluation method, top-1 val. error %, top-5 val. error %).
TABLE5 = (("D", "dense", 24.8, 7.5), ("D", "multi-crop", 24.6, 7.5), ("D", "multi-crop & dense", 24.4, 7.2),
          ("E", "dense", 24.8, 7.5), ("E", "multi-crop", 24.6, 7.4), ("E", "multi-crop & dense", 24.4, 7.1))


def paper_table5() -> Table:
    """Table 5 of the paper ("ConvNet evaluation techniques comparison"), with its caption and source."""
    return Table(TABLE5, columns=[
        ("구성 / Config", lambda r: r[0], False),
        ("평가 방법 / Evaluation", lambda r: r[1], False),
        ("top-1 오류 / error (%)", lambda r: f"{r[2]:.1f}", True),
        ("top-5 오류 / error (%)", lambda r: f"{r[3]:.1f}", True),
    ], title="논문의 표 5: 평가 방법 비교 / The paper's Table 5: evaluation techniques (ILSVRC-2012 val.)",
        notes=["학습 크기 S는 [256, 512]에서 뽑았고, 시험 크기 Q는 {256, 384, 512} 세 가지입니다. / "
               "In all experiments the training scale S was sampled from [256; 512], and three test scales Q "
               "were considered: {256, 384, 512}.",
               "multi-crop: 크기마다 50개(5×5 격자 × 좌우 뒤집기 2), 모두 150개 / 50 crops per scale "
               "(5 × 5 grid, 2 flips), 150 in all.",
               f"출처 / Source: {PAPER}, Table 5 and section 3.2."])


# ---- from vgg_teach.analysis.jitter (phase-1 merge)
def image_size(image: Any) -> tuple[int, int]:
    """``(H, W)`` of a PIL image or a ``(…, H, W)`` tensor."""
    if isinstance(image, torch.Tensor):
        return int(image.shape[-2]), int(image.shape[-1])
    width, height = image.size
    return int(height), int(width)


@dataclass(frozen=True)
class JitterSample:
    """One draw of :class:`ScaleJitter`: the crop, the scale ``S`` and where the crop lies.

    ``box`` is ``(top, left, height, width)`` in the rescaled image; ``box_in_original`` the same
    window in the original image's pixels (floats).
    """

    image: Any
    scale: int
    resized_size: tuple[int, int]
    box: tuple[int, int, int, int]
    box_in_original: tuple[float, float, float, float]


class ScaleJitter:
    """Rescale so that the shorter side is ``S ~ U{s_min, …, s_max}``, then take a random ``crop × crop`` window.

    ``ScaleJitter()(image)`` returns the crop (same type as the input: PIL image or tensor); with
    ``s_min == s_max`` it is single-scale training at that ``S``. ``seed`` makes the draws repeatable.
    """

    def __init__(self, s_min: int = 256, s_max: int = 512, crop: int = 224, seed: int | None = None) -> None:
        if not crop <= s_min <= s_max:
            raise UsageError(bilingual(
                f"crop ≤ s_min ≤ s_max 이어야 합니다 (받은 값: crop={crop}, s_min={s_min}, s_max={s_max}): "
                "잘라 낼 창보다 짧은 변이 작으면 자를 수 없습니다.",
                f"Need crop ≤ s_min ≤ s_max (got crop={crop}, s_min={s_min}, s_max={s_max}): the shorter side "
                "cannot be smaller than the crop."))
        self.s_min, self.s_max, self.crop = int(s_min), int(s_max), int(crop)
        self.generator = torch.Generator()
        self.generator.manual_seed(seed if seed is not None else int(torch.initial_seed()) % 2**63)

    def __repr__(self) -> str:
        return f"ScaleJitter(s_min={self.s_min}, s_max={self.s_max}, crop={self.crop})"

    def _randint(self, low: int, high: int) -> int:
        """A uniform integer in ``[low, high]`` (both included)."""
        return int(torch.randint(low, high + 1, (1,), generator=self.generator))

    def sample(self, image: Any) -> JitterSample:
        """One random scale and crop of ``image``, with where the crop lies in the original."""
        from torchvision.transforms import functional as TF

        h, w = image_size(image)
        scale = self._randint(self.s_min, self.s_max)
        resized = TF.resize(image, scale, antialias=True)
        rh, rw = image_size(resized)
        top, left = self._randint(0, rh - self.crop), self._randint(0, rw - self.crop)
        out = TF.crop(resized, top, left, self.crop, self.crop)
        fy, fx = h / rh, w / rw
        return JitterSample(out, scale, (rh, rw), (top, left, self.crop, self.crop),
                            (top * fy, left * fx, self.crop * fy, self.crop * fx))

    def __call__(self, image: Any) -> Any:
        return self.sample(image).image


# ---- from vgg_teach.analysis.deep_init (phase-1 merge)
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
