"""Lesson 06: VGG at the paper's test time, scale jittering, and initializing a deep net from a shallow one.

Simonyan & Zisserman (arXiv:1409.1556) §3.2: the fully connected layers become convolutions
(``answers.to_fully_convolutional``), the net runs on the whole image, and the class score map is averaged. Dense
evaluation equals the head on every pool5 window exactly, and cropping only without padding (:class:`TinyValidNet`).
§3.1: scale jittering, and D initialized from a trained A because a fixed variance of 10⁻² (σ = 0.1) drifts with depth.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any, Iterable, Sequence

import torch
from torch import nn

from .answers import to_fully_convolutional
from .counting import count_flops, eval_mode, input_shape, meta_vgg
from .errors import UsageError, bilingual, josa
from .models import CFGS, conv_layer_names, make_layers
from .receptive_field import RFTable, rf_tables
from .show import Table

#: The paper's names of the three fully connected layers (Caffe's VGG16: fc6, fc7, fc8).
HEAD_NAMES = ("fc6", "fc7", "fc8")


class ScoreMap(namedtuple("ScoreMap", "input_size size stride receptive_field start table")):
    """The class score map of a fully convolutional net for one input size: ``size`` ``(h, w)`` scores, ``stride``
    pixels apart, each seeing ``receptive_field`` pixels a side; ``start``: ``(y, x)`` of the first score's center;
    ``table``: the receptive-field rows (height), the head's convolutions named fc6, fc7, fc8."""

    def centre(self, i: int, j: int) -> tuple[float, float]:
        """``(y, x)`` of score ``(i, j)``'s center in input pixels."""
        return self.start[0] + i * self.stride, self.start[1] + j * self.stride


def score_map_geometry(fcn: nn.Module | None = None, input_size: int | Sequence[int] = 384) -> ScoreMap:
    """Size, stride and receptive field of the score map of ``fcn`` (VGG16's by default), from the receptive-field
    table: for VGG16 ``⌊S/32⌋ − 6`` scores a side, 32 pixels apart, each seeing 404×404 pixels."""
    fcn = fcn if fcn is not None else to_fully_convolutional(meta_vgg("D"))
    hw = input_shape(input_size)[1:]
    rows, cols = rf_tables(fcn, hw)
    if not (rows[-1].output_size and cols[-1].output_size):
        raise UsageError(bilingual(
            f"{hw[0]}×{hw[1]} 입력은 너무 작습니다: 점수 맵이 비어 있습니다 (VGG16은 224×224 이상이어야 합니다).",
            f"A {hw[0]}×{hw[1]} input is too small: the score map is empty (VGG16 needs at least 224×224)."))
    pools = [i for i, r in enumerate(rows) if r.type != "Conv2d"]
    head = range(pools[-1] + 1 if pools else len(rows), len(rows))
    names = dict(zip(head, (*HEAD_NAMES, *(f"fc{9 + n}" for n in range(len(head))))))
    rows = RFTable([r._replace(layer=names.get(i, r.layer)) for i, r in enumerate(rows)], columns=rows.columns,
                   title=rows.title)
    return ScoreMap(hw, (rows[-1].output_size, cols[-1].output_size), rows[-1].jump, rows[-1].receptive_field,
                    (rows[-1].start, cols[-1].start), rows)


@torch.no_grad()
def head_on_windows(classifier: nn.Module, features: torch.Tensor, window: int = 7) -> torch.Tensor:
    """The original fully connected ``classifier`` on every ``window × window`` patch of a pool5 map, each flattened
    as ``torch.flatten`` flattens a 7×7 map: ``(N, classes, H − 6, W − 6)``, what the converted head computes."""
    n, c = features.shape[:2]
    patches = features.unfold(2, window, 1).unfold(3, window, 1)  # N, C, h', w', k, k
    hh, ww = patches.shape[2:4]
    flat = patches.permute(0, 2, 3, 1, 4, 5).reshape(n * hh * ww, c * window * window)
    return classifier(flat).view(n, hh, ww, -1).permute(0, 3, 1, 2)


def crop_offsets(size: Sequence[int], crop: int = 224, stride: int = 32) -> list[tuple[int, int]]:
    """Top-left corners ``(y, x)`` of the crops at ``stride`` that fit in an image of ``size = (H, W)``, row by row."""
    h, w = input_shape(size)[1:]
    return [(y, x) for y in range(0, h - crop + 1, stride) for x in range(0, w - crop + 1, stride)]


@torch.no_grad()
def crop_scores(model: nn.Module, images: torch.Tensor, offsets: Iterable[tuple[int, int]] | None = None,
                crop: int = 224, stride: int = 32) -> torch.Tensor:
    """The original classifier on each crop on its own: ``(N, classes, crops)``, crops in :func:`crop_offsets`'
    order (that of a flattened score map) unless ``offsets`` gives the top-left corners."""
    offsets = list(offsets) if offsets is not None else crop_offsets(images.shape[-2:], crop, stride)
    if not offsets:
        h, w = images.shape[-2:]
        raise UsageError(bilingual(f"{h}×{w} 이미지에는 {crop}×{crop} 조각이 들어가지 않습니다: 이미지가 조각 "
                                   "이상으로 커야 합니다.",
                                   f"A {h}×{w} image holds no {crop}×{crop} crop: the image must be at least as large "
                                   "as the crop."))
    with eval_mode(model):
        return torch.stack([model(images[..., y:y + crop, x:x + crop]) for y, x in offsets], dim=-1)


class TinyValidNet(nn.Module):
    """A VGG in miniature *without padding*, where dense evaluation equals cropping exactly: a 20×20 crop becomes
    ``channels × 3 × 3`` (stride 4), then two linear layers. ``valid=False`` pads with zeros, as VGG does, and the
    equality breaks."""

    crop, stride = 20, 4

    def __init__(self, channels: int = 8, hidden: int = 16, num_classes: int = 5, valid: bool = True) -> None:
        super().__init__()
        pad, c = 0 if valid else 1, channels
        self.features = nn.Sequential(
            nn.Conv2d(3, c, 3, padding=pad), nn.ReLU(), nn.Conv2d(c, c, 3, padding=pad), nn.ReLU(),
            nn.MaxPool2d(2), nn.Conv2d(c, c, 3, padding=pad), nn.ReLU(), nn.MaxPool2d(2))
        side = 3 if valid else 5
        self.classifier = nn.Sequential(nn.Linear(c * side * side, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


def evaluation_cost_table(sizes: Sequence[int] = (256, 384, 512), crop: int = 224, stride: int = 32) -> Table:
    """FLOPs of dense evaluation of an ``S × S`` image against VGG16 on each of the crops its scores stand for."""
    vgg = meta_vgg("D")
    fcn, per_crop = to_fully_convolutional(vgg), count_flops(vgg, crop)
    counts = [(s, len(crop_offsets((s, s), crop, stride))) for s in sizes]
    return Table([(s, n, count_flops(fcn, s), n * per_crop) for s, n in counts], columns=[
        ("크기 / Size", lambda r: f"{r[0]}×{r[0]}", False),
        ("점수 / Scores", lambda r: f"{r[1]} = {math.isqrt(r[1])}×{math.isqrt(r[1])}", True),
        ("조밀 / Dense (GFLOP)", lambda r: f"{r[2] / 1e9:.1f}", True),
        ("잘라서 / Crops (GFLOP)", lambda r: f"{r[3] / 1e9:.1f}", True),
        ("배 / Ratio", lambda r: f"{r[3] / r[2]:.1f}×", True),
    ], title=f"조밀한 평가 대 창마다 따로 평가 / Dense vs crop-by-crop — VGG16, {crop}×{crop} 크롭 하나 / one crop "
             f"= {per_crop / 1e9:.1f} GFLOP",
        notes=[f"창마다 따로: {stride}픽셀 간격, 점수 하나에 크롭 하나 / crops {stride} px apart, one per score; "
               "FlopCounterMode, 곱셈-덧셈 하나 = 2 FLOP / one multiply-add = 2 FLOPs."])


#: Table 5 of the paper: (configuration, evaluation method, top-1 val. error %, top-5 val. error %).
TABLE5 = (("D", "dense", 24.8, 7.5), ("D", "multi-crop", 24.6, 7.5), ("D", "multi-crop & dense", 24.4, 7.2),
          ("E", "dense", 24.8, 7.5), ("E", "multi-crop", 24.6, 7.4), ("E", "multi-crop & dense", 24.4, 7.1))


def paper_table5() -> Table:
    """Table 5 of the paper ("ConvNet evaluation techniques comparison"), with its caption and source."""
    return Table(TABLE5, columns=[
        ("구성 / Config", lambda r: r[0], False), ("평가 방법 / Evaluation", lambda r: r[1], False),
        ("top-1 오류 / error (%)", lambda r: f"{r[2]:.1f}", True),
        ("top-5 오류 / error (%)", lambda r: f"{r[3]:.1f}", True),
    ], title="논문의 표 5: 평가 방법 비교 / The paper's Table 5: evaluation techniques (ILSVRC-2012 val.)",
        notes=["학습 크기 S는 [256, 512]에서 뽑았고, 시험 크기 Q는 {256, 384, 512} 세 가지입니다. / "
               "In all experiments the training scale S was sampled from [256; 512], and three test scales Q "
               "were considered: {256, 384, 512}.",
               "multi-crop: 크기마다 50개(5×5 격자 × 좌우 뒤집기 2), 모두 150개 / 50 crops per scale "
               "(5 × 5 grid, 2 flips), 150 in all.",
               "출처 / Source: K. Simonyan & A. Zisserman, \"Very Deep Convolutional Networks for Large-Scale Image "
               "Recognition\", ICLR 2015, arXiv:1409.1556 (v6), Table 5 and section 3.2."])


#: One draw of :class:`ScaleJitter`: the crop, the scale ``S``, the rescaled size, and the crop's
#: ``(top, left, height, width)`` in the rescaled image (``box``) and in the original's pixels (floats).
JitterSample = namedtuple("JitterSample", "image scale resized_size box box_in_original")


class ScaleJitter:
    """Rescale so that the shorter side is ``S ~ U{s_min, …, s_max}``, then take a random ``crop × crop`` window.

    A PIL image or a ``(C, H, W)`` tensor in, the same type out; ``s_min == s_max`` is single-scale training; ``seed``
    makes the draws repeatable. (The paper's flips and color shifts are left out.)
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

    def sample(self, image: Any) -> JitterSample:
        """One random scale and crop of ``image``, with where the crop lies in the original."""
        from torchvision.transforms import functional as TF  # slow to import: only jittering needs it

        def randint(low: int, high: int) -> int:  # both included
            return int(torch.randint(low, high + 1, (1,), generator=self.generator))

        _, h, w = TF.get_dimensions(image)
        scale = randint(self.s_min, self.s_max)
        resized = TF.resize(image, scale, antialias=True)
        _, rh, rw = TF.get_dimensions(resized)
        top, left, c = randint(0, rh - self.crop), randint(0, rw - self.crop), self.crop
        fy, fx = h / rh, w / rw
        return JitterSample(TF.crop(resized, top, left, c, c), scale, (rh, rw), (top, left, c, c),
                            (top * fy, left * fx, c * fy, c * fx))

    def __call__(self, image: Any) -> Any:
        return self.sample(image).image


#: One weight layer of the deep net; ``source`` is the shallow net's layer it was copied from, "" if new.
InitRow = namedtuple("InitRow", "layer shape params source copied")


def _weight_layers(model: nn.Module, cfg: str) -> list[tuple[str, nn.Module]]:
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    names = [n for n in conv_layer_names(cfg) if n.startswith("conv")]
    if len(convs) != len(names):
        raise UsageError(bilingual(f"모델의 합성곱 계층 수({len(convs)})가 구성 {cfg}({len(names)})와 다릅니다.",
                                   f"The model has {len(convs)} convolutions; configuration {cfg} has {len(names)}."))
    fcs = [m for m in model.classifier if isinstance(m, nn.Linear)]
    return [*zip(names, convs), *((f"fc{6 + i}", m) for i, m in enumerate(fcs))]


@torch.no_grad()
def init_from_shallower(deep: nn.Module, shallow: nn.Module, deep_cfg: str = "D", shallow_cfg: str = "A",
                        n_conv: int = 4) -> Table:
    """Copy the first ``n_conv`` convolutions and every fully connected layer of ``shallow`` into ``deep``, in place.

    The paper does not say which layers of D receive A's first four convolutions (3→64, 64→128, 128→256,
    256→256); the simplest reading is "the next layer of D with the same shape": conv1_1, conv2_1, conv3_1,
    conv3_2 (256→256 fits conv3_3 too). The other layers keep their values.
    """
    deep_layers, shallow_layers = _weight_layers(deep, deep_cfg), _weight_layers(shallow, shallow_cfg)
    sources: dict[int, tuple[str, nn.Module]] = {}  # deep layer → the shallow layer it starts from
    deep_convs = iter(j for j, (_, m) in enumerate(deep_layers) if isinstance(m, nn.Conv2d))
    for name, src in [(n, m) for n, m in shallow_layers if isinstance(m, nn.Conv2d)][:n_conv]:
        j = next((j for j in deep_convs if deep_layers[j][1].weight.shape == src.weight.shape), None)
        if j is None:
            raise UsageError(bilingual(f"{shallow_cfg}의 {josa(name, '과')} 모양이 같은 계층이 {deep_cfg}에 없습니다.",
                                       f"No layer of {deep_cfg} has the shape of {shallow_cfg}'s {name}."))
        sources[j] = name, src
    deep_fcs = [j for j, (_, m) in enumerate(deep_layers) if isinstance(m, nn.Linear)]
    for j, (name, src) in zip(deep_fcs, [(n, m) for n, m in shallow_layers if isinstance(m, nn.Linear)]):
        if deep_layers[j][1].weight.shape != src.weight.shape:
            raise UsageError(bilingual(f"{name}의 모양이 두 모델에서 다릅니다.", f"{name} differs in shape."))
        sources[j] = name, src
    for j, (_, src) in sources.items():  # copied only once every layer is known to fit
        dst = deep_layers[j][1]
        dst.weight.copy_(src.weight)
        if dst.bias is not None and src.bias is not None:
            dst.bias.copy_(src.bias)
    rows = [InitRow(name, tuple(m.weight.shape), sum(p.numel() for p in m.parameters()), sources.get(j, ("",))[0],
                    j in sources) for j, (name, m) in enumerate(deep_layers)]
    total, copied = sum(r.params for r in rows), sum(r.params for r in rows if r.copied)
    return Table(rows, columns=[
        (f"{deep_cfg}의 계층 / layer of {deep_cfg}", lambda r: r.layer, False),
        ("가중치 모양 / Weight shape", lambda r: "×".join(map(str, r.shape)), False),
        ("매개변수 / Params", lambda r: f"{r.params:,}", True),
        ("처음 값 / Starts from", lambda r: f"{shallow_cfg}의 {r.source} / {shallow_cfg}'s {r.source}" if r.copied
         else "무작위 (새 계층) / random (new)", False),
    ], title=f"{shallow_cfg}에서 {josa(deep_cfg, '로')} / Initializing {deep_cfg} from {shallow_cfg}",
        footer=["합계 / Total", "", f"{total:,}", f"복사 / copied {copied:,} ({copied / total:.1%})"])


#: name → how it sets a convolution's weight (biases are zero, as in the paper).
INIT_SCHEMES = {
    "σ = 0.1 (분산 / variance 10⁻²)": lambda m: nn.init.normal_(m.weight, 0.0, 0.1),
    "σ = 0.01": lambda m: nn.init.normal_(m.weight, 0.0, 0.01),
    "Glorot (Xavier)": lambda m: nn.init.xavier_normal_(m.weight),
    "Kaiming (He)": lambda m: nn.init.kaiming_normal_(m.weight, nonlinearity="relu"),
}


@torch.no_grad()
def activation_scales(cfg: str = "D", scheme: str = "Kaiming (He)", input_size: int = 64, batch: int = 2,
                      seed: int = 0) -> list[float]:
    """The standard deviation of each convolution's output (after its ReLU) for random weights and input.

    A fixed σ multiplies the variance by ``fan_in·σ²/2`` per layer (the spread by its square root), Glorot's keeps
    it within ≈ √2, Kaiming's at 1: look at it on a log scale.
    """
    if scheme not in INIT_SCHEMES:
        raise UsageError(bilingual(f"알 수 없는 초기화 '{scheme}'입니다: {', '.join(INIT_SCHEMES)} 중 하나를 쓰세요.",
                                   f"Unknown initialization '{scheme}': use one of {', '.join(INIT_SCHEMES)}."))
    gen = torch.Generator().manual_seed(seed)
    with torch.device("meta"):  # no default initialization to pay for: the scheme sets every weight below
        features = make_layers(CFGS[cfg.upper()]).to_empty(device="cpu")
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for m in features:
            if isinstance(m, nn.Conv2d):
                INIT_SCHEMES[scheme](m)
                nn.init.zeros_(m.bias)
    x, out = torch.randn(batch, 3, input_size, input_size, generator=gen), []
    for m in features:
        x = m(x)
        if isinstance(m, nn.ReLU):
            out.append(float(x.std()) or math.nan)
    return out
