"""A whole image data set as one uint8 tensor (:class:`ImageTensors`), its splits, and :class:`DeviceLoader`:
for CIFAR-sized images the GPU outruns a ``DataLoader`` of PIL images, so the data go to the device once and every
batch is cropped, flipped and normalized there, all images at once."""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Union

import torch
import torch.nn.functional as F

from ..errors import DataError, bilingual
from .distributed import local_batch

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)  # per channel, of the 50,000 training images (0–1 scale)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
PathLike = Union[str, "os.PathLike[str]"]
Stats = tuple[float, float, float]


def channel_stats(images: torch.Tensor) -> tuple[Stats, Stats]:
    """Per-channel mean and standard deviation (0–1 scale) of uint8 N×3×H×W images, in float64 chunks."""
    if images.shape[0] == 0:
        return (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    total, squares = torch.zeros(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    for start in range(0, images.shape[0], 4096):
        chunk = images[start:start + 4096].to(torch.float64) / 255
        total += chunk.sum(dim=(0, 2, 3))
        squares += chunk.square().sum(dim=(0, 2, 3))
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = total / count
    std = (squares / count - mean.square()).clamp(min=1e-12).sqrt()
    return tuple(round(float(v), 4) for v in mean), tuple(round(max(float(v), 1e-3), 4) for v in std)


@dataclass
class ImageTensors:
    """``images`` uint8 N×3×H×W, ``labels`` int64 N, ``classes``, and the ``mean``/``std`` (0–1 scale) every batch
    is normalized with: CIFAR-10's, or computed from ``images`` (a test set is given its training set's)."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    mean: Optional[Stats] = None
    std: Optional[Stats] = None

    def __post_init__(self) -> None:
        images, labels = self.images, self.labels
        if not (isinstance(images, torch.Tensor) and images.dtype == torch.uint8 and images.dim() == 4
                and images.shape[1] in (1, 3)):
            got = f"{images.dtype} {tuple(images.shape)}" if isinstance(images, torch.Tensor) else type(images).__name__
            raise DataError(bilingual(
                f"images는 uint8(0–255) 텐서, 모양 N×3×H×W여야 합니다 (받은 것: {got}). 0–1 사이의 실수라면 "
                "(images * 255).round().to(torch.uint8), N×H×W×3이라면 .permute(0, 3, 1, 2)로 바꾸세요.",
                f"images must be a uint8 (0–255) tensor of shape N×3×H×W (got {got}). From floats in 0–1 use "
                "(images * 255).round().to(torch.uint8); from N×H×W×3 use .permute(0, 3, 1, 2)."))
        if not (isinstance(labels, torch.Tensor) and labels.dim() == 1 and len(labels) == len(images)
                and not labels.is_floating_point()):
            raise DataError(bilingual(f"labels는 이미지마다 클래스 번호 하나인 정수 텐서(길이 {len(images)})여야 "
                                      "합니다.",
                                      f"labels must be an integer tensor with one class index per image "
                                      f"({len(images)} of them)."))
        if self.mean is None or self.std is None:
            mean, std = channel_stats(self.images)
            self.mean = mean if self.mean is None else self.mean
            self.std = std if self.std is None else self.std
        self.mean, self.std = tuple(float(v) for v in self.mean), tuple(float(v) for v in self.std)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index: torch.Tensor) -> ImageTensors:
        """The images at ``index`` (a 1-D index tensor), with the same classes and normalization."""
        return ImageTensors(self.images[index], self.labels[index], list(self.classes), self.mean, self.std)

    def with_stats(self, mean: Stats, std: Stats) -> ImageTensors:
        """The same images, normalized with ``mean``/``std`` (a test set takes its training set's)."""
        return ImageTensors(self.images, self.labels, list(self.classes), tuple(mean), tuple(std))

    def class_counts(self) -> list[int]:
        """Images per class, in the order of ``classes``."""
        return torch.bincount(self.labels.cpu(), minlength=len(self.classes)).tolist()

    def fingerprint(self) -> dict:
        """Size, classes, images per class, normalization and a SHA-256 of the pixels and labels (about 0.1 s for
        CIFAR-10): a checkpoint keeps it, so a resume on other images, even of the same classes, is refused."""
        digest = hashlib.sha256()
        for tensor in (self.images, self.labels):
            digest.update(memoryview(tensor.detach().cpu().contiguous().numpy()).cast("B"))
        return {"images": len(self), "shape": list(self.images.shape[1:]), "classes": list(self.classes),
                "class_counts": self.class_counts(), "mean": list(self.mean), "std": list(self.std),
                "sha256": digest.hexdigest()[:16]}

    def require_classes(self, minimum: int = 2) -> None:
        """Raise :class:`~vgg_teach.errors.DataError` unless at least ``minimum`` classes have images."""
        present = [c for c, n in zip(self.classes, self.class_counts()) if n]
        if len(present) < minimum:
            raise DataError(bilingual(
                f"학습 데이터에 이미지가 있는 클래스가 {len(present)}개({present})뿐입니다. 분류기는 클래스가 적어도 "
                f"{minimum}개 있어야 배울 것이 있습니다(하나뿐이면 아무것도 배우지 않고도 정확도가 100%입니다). "
                "train/ 아래에 클래스마다 폴더를 하나씩 두세요.",
                f"The training data has images of only {len(present)} class(es) ({present}). A classifier needs at "
                f"least {minimum} classes to learn anything (with one, it scores 100 % without learning). Put one "
                "folder per class under train/."))


def stratified_split(labels: torch.Tensor, n_holdout: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices ``(keep, holdout)``: ``n_holdout`` images chosen by ``seed``, each class in its share."""
    n = int(labels.numel())
    if not 0 < n_holdout < n:
        raise DataError(bilingual(f"떼어 둘 이미지 수는 1 이상 {n - 1} 이하여야 합니다 (받은 값: {n_holdout}).",
                                  f"The number of held-out images must be between 1 and {n - 1} (got {n_holdout})."))
    counts = torch.bincount(labels).tolist()
    exact = [c * n_holdout / n for c in counts]
    quota = [math.floor(e) for e in exact]
    for c in sorted(range(len(counts)), key=lambda c: (quota[c] - exact[c], c))[: n_holdout - sum(quota)]:  # exact
        quota[c] += 1
    gen = torch.Generator().manual_seed(seed)
    keep, hold = [], []
    for c, q in enumerate(quota):
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(idx.numel(), generator=gen)]
        hold.append(idx[:q])
        keep.append(idx[q:])
    return torch.cat(keep).sort().values, torch.cat(hold).sort().values


def hold_out(data: ImageTensors, n_holdout: int, seed: int = 0) -> tuple[ImageTensors, ImageTensors]:
    """Split off ``n_holdout`` images (stratified, seeded) as a test set: ``(train, held_out)``."""
    keep, hold = stratified_split(data.labels, n_holdout, seed)
    return data.subset(keep), data.subset(hold)


def subsample(data: ImageTensors, n: int, seed: int = 0) -> ImageTensors:
    """At most ``n`` images of ``data``, stratified by class (smoke mode keeps a few hundred)."""
    return data if n >= len(data) else hold_out(data, n, seed)[1]


def random_crop_flip(images: torch.Tensor, shift_x: torch.Tensor, shift_y: torch.Tensor,
                     flip: torch.Tensor, padding: int = 4) -> torch.Tensor:
    """torchvision's ``RandomCrop(32, padding=4)`` + ``RandomHorizontalFlip()`` on a whole batch in one gather:
    each padded image is read in the window at (``shift_y``, ``shift_x``), a flipped one right to left."""
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
    """Batches of an :class:`ImageTensors` made on ``device``. ``train=True`` shuffles, augments and drops the last
    incomplete batch, the same for the same (seed, :meth:`set_epoch`); ``train=False`` keeps order and every image.
    With ``rank``/``world_size``: in training, this process's slice of every global batch (the union over the ranks
    is one process's batch, augmentation included); in evaluation, its contiguous part of the data."""

    def __init__(self, data: ImageTensors, batch_size: int, device: Union[str, torch.device] = "cpu", *,
                 train: bool = False, augment: bool = True, seed: int = 0, channels_last: bool = False,
                 padding: int = 4, rank: int = 0, world_size: int = 1) -> None:
        if batch_size < 1:
            raise DataError(bilingual(f"배치 크기(batch size)는 1 이상이어야 합니다 (받은 값: {batch_size}).",
                                      f"The batch size must be at least 1 (got {batch_size})."))
        self.device = torch.device(device)
        self.images, self.labels = data.images.to(self.device), data.labels.to(self.device)
        self.classes, self.mean, self.std = list(data.classes), data.mean, data.std
        self.batch_size, self.train, self.augment, self.seed = batch_size, train, augment and train, seed
        self.channels_last, self.padding, self.epoch = channels_last, padding, 0
        self.rank, self.world_size = rank, world_size
        self.local_batch = local_batch(batch_size, world_size) if train else batch_size
        n = int(self.labels.numel())
        self.shard = slice(0, n) if train else slice(n * rank // world_size, n * (rank + 1) // world_size)
        if train and len(self) == 0:
            raise DataError(bilingual(
                f"학습 이미지({n}장)가 배치 크기 {batch_size}보다 적습니다. 배치 크기를 줄이세요.",
                f"There are fewer training images ({n}) than one batch ({batch_size}). Use a smaller batch size."))

    def __len__(self) -> int:  # training: global steps, the same on every rank
        return (self.shard.stop - self.shard.start) // self.batch_size if self.train else \
            math.ceil((self.shard.stop - self.shard.start) / self.batch_size)

    @property
    def num_images(self) -> int:
        """Images per epoch that this process sees (training drops the last incomplete batch)."""
        return len(self) * self.local_batch if self.train else self.shard.stop - self.shard.start

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = torch.arange(self.shard.start, self.shard.stop, device=self.device)
        if self.train:  # all of this epoch's randomness, drawn on the CPU in one go and sent over once
            n, gen = int(self.labels.numel()), torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(n, generator=gen).to(self.device)
            shifts = torch.randint(0, 2 * self.padding + 1, (2, n), generator=gen).to(self.device)
            flips = torch.randint(0, 2, (n,), generator=gen).bool().to(self.device)
        self.epoch += 1
        for i in range(len(self)):
            start = i * self.batch_size + (self.rank * self.local_batch if self.train else 0)
            part = slice(start, start + self.local_batch)  # this rank's slice of the global batch
            images = self.images[order[part]]
            if self.augment:
                images = random_crop_flip(images, shifts[0, part], shifts[1, part], flips[part], self.padding)
            yield normalize(images, self.mean, self.std, self.channels_last), self.labels[order[part]]
