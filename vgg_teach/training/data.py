"""A whole image data set as one uint8 tensor — with its class names and its normalization — and how to split it.

Why not a ``DataLoader`` with PIL transforms? For CIFAR-sized images a GPU is *faster than the
data pipeline*: a default ``DataLoader`` decodes, crops, flips and normalizes one PIL image at a
time in Python worker processes and then copies every batch to the GPU. On an H100 that is several
times slower than VGG16's forward and backward pass, so the GPU would sit idle most of the time.
Here instead:

1. the whole data set is decoded **once** into one ``uint8`` tensor (50,000 × 3 × 32 × 32 bytes is
   only 150 MB) — :mod:`.cifar10`, :mod:`.folders` (which can cache the tensor to a ``.pt`` file);
2. that tensor is copied to the GPU once, and every batch is augmented and normalized there, all
   images at once (:mod:`.augment`).

An :class:`ImageTensors` carries the per-channel ``mean`` and ``std`` it is normalized with: CIFAR-10's
published statistics for CIFAR-10, the training images' own for an image folder (a test set takes its
training set's). Training, evaluation and prediction all read them from the data, never from a default.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from typing import Optional, Union

import torch

from ..errors import DataError, bilingual

__all__ = ["CIFAR10_CLASSES", "CIFAR10_MEAN", "CIFAR10_STD", "IMAGE_EXTENSIONS", "PathLike", "ImageTensors",
           "channel_stats", "stratified_split", "hold_out", "subsample"]

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]
#: Per-channel mean and standard deviation of the 50,000 CIFAR-10 training images (0–1 scale).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")

PathLike = Union[str, "os.PathLike[str]"]
Stats = tuple[float, float, float]


def channel_stats(images: torch.Tensor) -> tuple[Stats, Stats]:
    """Per-channel mean and standard deviation (0–1 scale) of uint8 N×3×H×W images, in float64 chunks."""
    n = int(images.shape[0])
    if n == 0:
        return (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    total = torch.zeros(3, dtype=torch.float64)
    squares = torch.zeros(3, dtype=torch.float64)
    for start in range(0, n, 4096):
        chunk = images[start:start + 4096].to(torch.float64) / 255
        total += chunk.sum(dim=(0, 2, 3))
        squares += chunk.square().sum(dim=(0, 2, 3))
    count = n * images.shape[2] * images.shape[3]
    mean = total / count
    std = (squares / count - mean.square()).clamp(min=1e-12).sqrt()
    return tuple(round(float(v), 4) for v in mean), tuple(round(max(float(v), 1e-3), 4) for v in std)


@dataclass
class ImageTensors:
    """A whole image data set as tensors: ``images`` uint8 N×3×H×W, ``labels`` int64 N, ``classes``.

    ``mean``/``std`` (0–1 scale, per channel) are the normalization every batch of it gets; left out, they
    are computed from ``images`` — right for a training set, while a test set is given its training set's.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    mean: Optional[Stats] = field(default=None)
    std: Optional[Stats] = field(default=None)

    def __post_init__(self) -> None:
        if self.mean is None or self.std is None:
            mean, std = channel_stats(self.images)
            self.mean = tuple(self.mean) if self.mean is not None else mean
            self.std = tuple(self.std) if self.std is not None else std
        self.mean, self.std = tuple(float(v) for v in self.mean), tuple(float(v) for v in self.std)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index: torch.Tensor) -> "ImageTensors":
        """The images at ``index`` (a 1-D index tensor), with the same classes and normalization."""
        return ImageTensors(self.images[index], self.labels[index], list(self.classes), self.mean, self.std)

    def with_stats(self, mean: Stats, std: Stats) -> "ImageTensors":
        """The same images, normalized with ``mean``/``std`` (a test set takes its training set's)."""
        return ImageTensors(self.images, self.labels, list(self.classes), tuple(mean), tuple(std))

    def class_counts(self) -> list[int]:
        """Images per class, in the order of ``classes``."""
        return torch.bincount(self.labels.cpu(), minlength=len(self.classes)).tolist()

    def fingerprint(self) -> dict:
        """What identifies this data set: size, classes, images per class, normalization and a content hash.

        A checkpoint keeps the fingerprint of its data, so resuming on other images — even with the same
        class names — is refused. The hash is SHA-256 over the uint8 pixels and the labels (about 0.1 s for
        CIFAR-10's 150 MB).
        """
        digest = hashlib.sha256()
        for tensor in (self.images, self.labels):
            digest.update(memoryview(tensor.detach().cpu().contiguous().numpy()).cast("B"))
        return {"images": len(self), "shape": list(self.images.shape[1:]), "classes": list(self.classes),
                "class_counts": self.class_counts(), "mean": list(self.mean), "std": list(self.std),
                "sha256": digest.hexdigest()[:16]}

    def require_classes(self, minimum: int = 2) -> None:
        """Raise :class:`~vgg_teach.errors.DataError` unless at least ``minimum`` classes have images.

        A classifier of one class reaches "100 %" without learning anything.
        """
        present = [c for c, n in zip(self.classes, self.class_counts()) if n]
        if len(present) < minimum:
            raise DataError(bilingual(
                f"학습 데이터에 이미지가 있는 클래스가 {len(present)}개({present})뿐입니다. 분류기는 클래스가 적어도 "
                f"{minimum}개 있어야 배울 것이 있습니다(하나뿐이면 아무것도 배우지 않고도 정확도가 100%입니다). "
                "train/ 아래에 클래스마다 폴더를 하나씩 두세요.",
                f"The training data has images of only {len(present)} class(es) ({present}). A classifier needs at "
                f"least {minimum} classes to learn anything (with one, it scores 100 % without learning). Put one "
                "folder per class under train/.",
            ))


def stratified_split(labels: torch.Tensor, n_holdout: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices ``(keep, holdout)``: ``n_holdout`` images, each class in its share, chosen by ``seed``.

    Each class gets ``n_holdout × class_size / N`` images, rounded by largest remainder so the
    total is exactly ``n_holdout`` (500 per class for 5,000 of CIFAR-10's balanced 50,000).
    """
    n = int(labels.numel())
    if not 0 < n_holdout < n:
        raise DataError(bilingual(
            f"떼어 둘 이미지 수는 1 이상 {n - 1} 이하여야 합니다 (받은 값: {n_holdout}).",
            f"The number of held-out images must be between 1 and {n - 1} (got {n_holdout}).",
        ))
    counts = torch.bincount(labels).tolist()
    exact = [c * n_holdout / n for c in counts]
    quota = [math.floor(e) for e in exact]
    by_remainder = sorted(range(len(counts)), key=lambda c: (-(exact[c] - quota[c]), c))
    for c in by_remainder[: n_holdout - sum(quota)]:
        quota[c] += 1
    gen = torch.Generator().manual_seed(seed)
    keep, hold = [], []
    for c, q in enumerate(quota):
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(idx.numel(), generator=gen)]
        hold.append(idx[:q])
        keep.append(idx[q:])
    return torch.cat(keep).sort().values, torch.cat(hold).sort().values


def subsample(data: ImageTensors, n: int, seed: int = 0) -> ImageTensors:
    """At most ``n`` images of ``data``, stratified by class (smoke mode keeps a few hundred)."""
    return data if n >= len(data) else hold_out(data, n, seed)[1]


def hold_out(data: ImageTensors, n_holdout: int, seed: int = 0) -> tuple[ImageTensors, ImageTensors]:
    """Split off ``n_holdout`` images (stratified, seeded) as a test set: ``(train, held_out)``."""
    keep, hold = stratified_split(data.labels, n_holdout, seed)
    return data.subset(keep), data.subset(hold)
