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

Batches made on the device: random crop and flip of a whole batch at once, normalization, :class:`DeviceLoader`.

The random offsets, flips and shuffling come from a CPU generator seeded by ``(seed, epoch)``, so a
run is repeatable, a resumed run sees the same batches as an uninterrupted one, and the CPU and the
GPU see the same augmentation. With several processes (``rank``/``world_size``, see :mod:`.distributed`) every
process draws the same permutation and augmentation for the *global* batch and takes its own slice of it, so
together they see exactly the batches of one process.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence, Union

import torch
import torch.nn.functional as F

from ..errors import DataError, bilingual
from .distributed import local_batch

# ---- from vgg_teach.training.data (phase-1 merge)
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


# ---- from vgg_teach.training.augment (phase-1 merge)
def random_crop_flip(images: torch.Tensor, shift_x: torch.Tensor, shift_y: torch.Tensor,
                     flip: torch.Tensor, padding: int = 4) -> torch.Tensor:
    """Random crop (zero padding) and horizontal flip of a whole batch at once, on its device.

    Same result as torchvision's ``RandomCrop(32, padding=4)`` + ``RandomHorizontalFlip()`` applied
    image by image: pad every image by ``padding`` zeros, then read the H×W window whose top-left
    corner is (``shift_y``, ``shift_x``) (each in ``0 … 2·padding``); a flipped image reads its
    columns right to left. One gather does it all — no Python loop over images.
    """
    b, c, h, w = images.shape
    dev = images.device
    padded = F.pad(images, (padding, padding, padding, padding))
    rows = shift_y[:, None] + torch.arange(h, device=dev)                 # B×H
    cols = shift_x[:, None] + torch.arange(w, device=dev)                 # B×W
    cols = torch.where(flip[:, None], cols.flip(1), cols)                 # flip = read columns backwards
    return padded[torch.arange(b, device=dev)[:, None, None, None],
                  torch.arange(c, device=dev)[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


def normalize(images: torch.Tensor, mean: Sequence[float], std: Sequence[float],
              channels_last: bool = False) -> torch.Tensor:
    """uint8 images → float32 ``(x/255 − mean) / std``, optionally in channels_last memory format."""
    mean_t = torch.tensor(mean, device=images.device).view(1, -1, 1, 1)
    std_t = torch.tensor(std, device=images.device).view(1, -1, 1, 1)
    x = (images.float().div_(255) - mean_t).div_(std_t)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


class DeviceLoader:
    """Batches of an :class:`ImageTensors` data set, made directly on ``device``.

    The uint8 images go to the device once; each batch is gathered, augmented
    (:func:`random_crop_flip`, training only) and normalized there. ``train=True`` shuffles, augments
    and drops the last incomplete batch; ``train=False`` keeps the order and every image.
    Call :meth:`set_epoch` before each epoch (the engine does): epoch ``e`` with seed ``s`` always
    gives the same batches. Iterating without it moves on to the next epoch by itself.

    ``rank``/``world_size`` (several processes): in training ``batch_size`` is the global batch and this process
    gets images ``rank·b … (rank + 1)·b − 1`` of each one (``b = batch_size / world_size``, which must divide), so
    the union over the ranks is the one-process batch, augmentation included; in evaluation it gets the
    ``rank``-th of ``world_size`` contiguous parts of the data, in batches of ``batch_size``.
    """

    def __init__(self, data: ImageTensors, batch_size: int, device: Union[str, torch.device] = "cpu", *,
                 train: bool = False, augment: bool = True, seed: int = 0, channels_last: bool = False,
                 padding: int = 4, rank: int = 0, world_size: int = 1) -> None:
        if batch_size < 1:
            raise DataError(bilingual(f"배치 크기(batch size)는 1 이상이어야 합니다 (받은 값: {batch_size}).",
                                      f"The batch size must be at least 1 (got {batch_size})."))
        self.device = torch.device(device)
        self.images = data.images.to(self.device)
        self.labels = data.labels.to(self.device)
        self.classes = list(data.classes)
        self.batch_size = batch_size
        self.train = train
        self.augment = augment and train
        self.seed = seed
        self.channels_last = channels_last
        self.padding = padding
        self.mean, self.std = data.mean, data.std
        self.epoch = 0
        self.rank, self.world_size = rank, world_size
        # the global batch must divide among the ranks (else a message saying which sizes would)
        self.local_batch = local_batch(batch_size, world_size) if train else batch_size
        n = int(self.labels.numel())
        self.shard = slice(n * rank // world_size, n * (rank + 1) // world_size) if not train else slice(0, n)
        if train and len(self) == 0:
            raise DataError(bilingual(
                f"학습 이미지({self.labels.numel()}장)가 배치 크기 {batch_size}보다 적습니다. 배치 크기를 줄이세요.",
                f"There are fewer training images ({self.labels.numel()}) than one batch ({batch_size}). "
                "Use a smaller batch size.",
            ))

    def __len__(self) -> int:
        if self.train:  # global steps: the same on every rank
            return int(self.labels.numel()) // self.batch_size
        return math.ceil((self.shard.stop - self.shard.start) / self.batch_size)

    @property
    def num_images(self) -> int:
        """Images per epoch that this process sees (training drops the last incomplete batch)."""
        return len(self) * self.local_batch if self.train else self.shard.stop - self.shard.start

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n, bs = int(self.labels.numel()), self.batch_size
        order = torch.arange(self.shard.start, self.shard.stop, device=self.device)
        if self.train:
            # All of this epoch's randomness, drawn on the CPU in one go and sent over once.
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(n, generator=gen).to(self.device)
            shifts = torch.randint(0, 2 * self.padding + 1, (2, n), generator=gen).to(self.device)
            flips = torch.randint(0, 2, (n,), generator=gen).bool().to(self.device)
        self.epoch += 1
        for i in range(len(self)):
            start = i * bs + self.rank * self.local_batch if self.train else i * bs
            part = slice(start, start + self.local_batch)  # this rank's slice of the global batch
            idx = order[part]
            images = self.images[idx]
            if self.augment:
                images = random_crop_flip(images, shifts[0, part], shifts[1, part], flips[part], self.padding)
            yield normalize(images, self.mean, self.std, self.channels_last), self.labels[idx]
