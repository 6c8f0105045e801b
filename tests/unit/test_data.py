"""vgg_teach.training.data: stratified splits, batches made on the device, augmentation and normalization as
torchvision does them. (A rank's slice of the global batch: test_distributed_torchrun.py, where two processes
train to the weights of one.)"""

from __future__ import annotations

import pytest
import torch

from tests.fakes import korean_first
from vgg_teach.errors import DataError
from vgg_teach.training.data import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    DeviceLoader,
    ImageTensors,
    hold_out,
    normalize,
    random_crop_flip,
    stratified_split,
    subsample,
)


def _data(n: int = 50, classes: int = 5) -> ImageTensors:
    images = torch.randint(0, 256, (n, 3, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    return ImageTensors(images, torch.arange(n) % classes, [chr(97 + c) for c in range(classes)])


def test_splits_are_stratified_exact_seeded_and_say_what_is_wrong():
    labels = torch.arange(10).repeat_interleave(100)
    keep, hold = stratified_split(labels, 100, seed=1)
    assert torch.bincount(labels[hold]).tolist() == [10] * 10
    assert sorted(keep.tolist() + hold.tolist()) == list(range(1000))
    assert torch.equal(hold, stratified_split(labels, 100, seed=1)[1])
    assert not torch.equal(hold, stratified_split(labels, 100, seed=2)[1])
    data = _data(60, 3)
    train, held = hold_out(data, 15)
    assert (len(train), len(held)) == (45, 15) and held.class_counts() == [5, 5, 5]
    assert subsample(data, 1000) is data and subsample(data, 30).class_counts() == [10, 10, 10]
    with pytest.raises(DataError) as err:
        hold_out(data, 60)
    korean_first(str(err.value), "떼어 둘", "between 1 and 59")


def test_augmentation_and_normalization_are_torchvisions():
    from torchvision.transforms import v2

    images = _data(6).images
    sx, sy = torch.tensor([0, 8, 4, 1, 7, 4]), torch.tensor([0, 8, 4, 6, 2, 4])
    flip = torch.tensor([False, False, False, True, True, True])
    out, padded = random_crop_flip(images, sx, sy, flip, padding=4), v2.Pad(4)(images)  # RandomCrop's padding
    for i in range(6):
        window = padded[i, :, sy[i]:sy[i] + 32, sx[i]:sx[i] + 32]
        assert torch.equal(out[i], window.flip(-1) if flip[i] else window), i
    expected = v2.Normalize(CIFAR10_MEAN, CIFAR10_STD)(v2.ToDtype(torch.float32, scale=True)(images))
    out = normalize(images, CIFAR10_MEAN, CIFAR10_STD, channels_last=True)
    assert torch.allclose(out, expected, atol=1e-5) and out.is_contiguous(memory_format=torch.channels_last)


def test_device_loader_epochs_are_seeded_and_complete():
    data = _data()
    train = DeviceLoader(data, 16, train=True, seed=3)
    assert len(train) == 3 and train.num_images == 48  # the last incomplete batch is dropped

    def epoch(e: int) -> list[torch.Tensor]:
        train.set_epoch(e)
        return [x for x, _ in train]

    assert all(torch.equal(a, b) for a, b in zip(epoch(1), epoch(1))) and not torch.equal(epoch(1)[0], epoch(2)[0])
    test = DeviceLoader(data, 16)
    assert len(test) == 4 and torch.equal(torch.cat([y for _, y in test]), data.labels)  # every image, in order
    assert torch.allclose(next(iter(test))[0], normalize(data.images[:16], data.mean, data.std))
