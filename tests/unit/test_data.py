"""vgg_teach.training.data: stratified splits, batches made on the device (one process, or a rank's slice of the
global batch), augmentation and normalization as torchvision does them."""

from __future__ import annotations

import pytest
import torch

from vgg_teach.errors import DataError, UsageError
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


def test_stratified_split_is_exact_disjoint_and_seeded():
    labels = torch.arange(10).repeat_interleave(100)
    keep, hold = stratified_split(labels, 100, seed=1)
    assert torch.bincount(labels[hold]).tolist() == [10] * 10
    assert sorted(keep.tolist() + hold.tolist()) == list(range(1000))
    assert torch.equal(hold, stratified_split(labels, 100, seed=1)[1])
    assert not torch.equal(hold, stratified_split(labels, 100, seed=2)[1])
    unbalanced = torch.tensor([0] * 7 + [1] * 2 + [2])  # largest remainder: exactly 5 in all
    assert torch.bincount(unbalanced[stratified_split(unbalanced, 5)[1]], minlength=3).tolist() in ([4, 1, 0],
                                                                                                   [3, 1, 1])


def test_hold_out_and_subsample_keep_every_class_and_say_what_is_wrong():
    data = _data(60, 3)
    train, held = hold_out(data, 15)
    assert (len(train), len(held)) == (45, 15) and held.class_counts() == [5, 5, 5]
    assert subsample(data, 1000) is data and subsample(data, 30).class_counts() == [10, 10, 10]
    with pytest.raises(DataError) as err:
        hold_out(data, 60)
    ko, en = str(err.value).split("\n")
    assert "떼어 둘" in ko and "between 1 and 59" in en


def test_random_crop_flip_reads_windows_of_the_padded_image():
    images = _data(6).images
    sx, sy = torch.tensor([0, 8, 4, 1, 7, 4]), torch.tensor([0, 8, 4, 6, 2, 4])
    flip = torch.tensor([False, False, False, True, True, True])
    out = random_crop_flip(images, sx, sy, flip, padding=4)
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    for i in range(6):
        window = padded[i, :, sy[i]:sy[i] + 32, sx[i]:sx[i] + 32]
        assert torch.equal(out[i], window.flip(-1) if flip[i] else window), i
    assert torch.equal(out[2], images[2]) and out[0, :, :4, :].eq(0).all()  # centered: unchanged; shifted: zeros


def test_normalize_matches_torchvision():
    from torchvision.transforms import v2

    images = _data(4).images
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
    with pytest.raises(DataError, match="fewer training images"):
        DeviceLoader(data, 64, train=True)


@pytest.mark.parametrize("augment", [True, False])
def test_the_slices_of_the_ranks_make_one_process_batch(augment):
    data = _data(40, 2)
    one = DeviceLoader(data, 8, train=True, augment=augment, seed=5)
    ranks = [DeviceLoader(data, 8, train=True, augment=augment, seed=5, rank=r, world_size=4) for r in range(4)]
    for loader in (one, *ranks):
        loader.set_epoch(3)
    assert len(one) == len(ranks[0]) == 5 and (one.num_images, ranks[0].num_images) == (40, 10)
    for (images, labels), *parts in zip(one, *ranks):
        assert torch.equal(torch.cat([x for x, _ in parts]), images)  # the same images, crops and flips
        assert torch.equal(torch.cat([y for _, y in parts]), labels)
    tests = [DeviceLoader(_data(14, 2), 2, rank=r, world_size=3) for r in range(3)]  # each tests its own part
    assert [t.num_images for t in tests] == [4, 5, 5]
    assert torch.equal(torch.cat([y for t in tests for _, y in t]), _data(14, 2).labels)
    with pytest.raises(UsageError, match="multiple of 3"):
        DeviceLoader(data, 8, train=True, world_size=3)
