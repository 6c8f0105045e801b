"""Batches made on the device: random crop and flip of a whole batch at once, normalization, :class:`DeviceLoader`.

The random offsets, flips and shuffling come from a CPU generator seeded by ``(seed, epoch)``, so a
run is repeatable, a resumed run sees the same batches as an uninterrupted one, and the CPU and the
GPU see the same augmentation. With several processes (``rank``/``world_size``, see :mod:`.distributed`) every
process draws the same permutation and augmentation for the *global* batch and takes its own slice of it, so
together they see exactly the batches of one process.
"""

from __future__ import annotations

import math
from typing import Iterator, Sequence, Union

import torch
import torch.nn.functional as F

from ..errors import DataError, bilingual
from .data import ImageTensors
from .distributed import local_batch

__all__ = ["random_crop_flip", "normalize", "DeviceLoader"]


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
