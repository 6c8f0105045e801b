"""vgg_teach.training data: loading, caching, splitting, GPU-style augmentation, fake data sets."""

from __future__ import annotations

import pickle
import tarfile

import pytest
import torch

from tests.fakes import patched_cifar10_md5
from vgg_teach.errors import DataError
from vgg_teach.training import sources as folders
from vgg_teach.training.data import (
    CIFAR10_CLASSES,
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
from vgg_teach.training.sources import (
    load_cifar10,
    load_image_folder,
    load_image_folder_splits,
    load_jpeg_tarball,
    make_image_folder,
)


def _korean_first(message: str, korean: str, english: str) -> None:
    assert korean in message and english in message
    assert message.index(korean) < message.index(english)


# --- splits -----------------------------------------------------------------------------------

def test_stratified_split_is_exact_disjoint_and_seeded():
    labels = torch.arange(10).repeat_interleave(100)  # 10 balanced classes, 1,000 images
    keep, hold = stratified_split(labels, 100, seed=1)
    assert torch.bincount(labels[hold]).tolist() == [10] * 10
    assert len(set(keep.tolist()) | set(hold.tolist())) == 1000 and not set(keep.tolist()) & set(hold.tolist())
    assert torch.equal(hold, stratified_split(labels, 100, seed=1)[1])
    assert not torch.equal(hold, stratified_split(labels, 100, seed=2)[1])


def test_stratified_split_unbalanced_rounds_to_the_exact_total():
    labels = torch.tensor([0] * 7 + [1] * 2 + [2] * 1)
    _, hold = stratified_split(labels, 5)
    assert hold.numel() == 5
    assert torch.bincount(labels[hold], minlength=3).tolist() in ([4, 1, 0], [3, 1, 1])


def test_hold_out_and_subsample_keep_classes():
    data = ImageTensors(torch.zeros(60, 3, 32, 32, dtype=torch.uint8), torch.arange(3).repeat(20), ["a", "b", "c"])
    train, held = hold_out(data, 15)
    assert (len(train), len(held)) == (45, 15) and held.class_counts() == [5, 5, 5]
    assert subsample(data, 1000) is data and len(subsample(data, 30)) == 30
    with pytest.raises(DataError) as err:
        hold_out(data, 60)
    _korean_first(str(err.value), "떼어 둘", "held-out")


# --- image folders and tarballs ------------------------------------------------------------------

def test_load_image_folder_splits(image_folder):
    train, test = load_image_folder_splits(image_folder)
    assert train.classes == test.classes == ["cat", "dog", "frog"]
    assert train.images.shape == (48, 3, 32, 32) and train.images.dtype == torch.uint8
    assert train.class_counts() == [16, 16, 16] and test.class_counts() == [4, 4, 4]
    # make_image_folder gives every class its own mean colour: the loaded pixels must show it.
    means = torch.stack([train.images[train.labels == c].float().mean((0, 2, 3)) for c in range(3)])
    assert torch.cdist(means, means).max() > 10


def test_load_image_folder_resizes_skips_hidden_and_decodes_jpeg(tmp_path):
    root = make_image_folder(tmp_path / "d", classes=("a", "b"), n_train=3, n_test=0, size=48, fmt="jpg")
    (root / "train" / ".ipynb_checkpoints").mkdir()
    (root / "train" / "a" / "notes.txt").write_text("not an image")
    data = load_image_folder(root / "train")
    assert data.classes == ["a", "b"] and data.images.shape == (6, 3, 32, 32)


def test_image_folder_cache_is_used_and_refreshed(tmp_path, monkeypatch):
    root = make_image_folder(tmp_path / "d", classes=("a", "b"), n_train=2, n_test=0)
    cache = tmp_path / "cache.pt"
    first = load_image_folder(root / "train", cache=cache)
    assert cache.is_file()

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded although the cache is valid")

    monkeypatch.setattr(folders, "decode_all", no_decoding)
    again = load_image_folder(root / "train", cache=cache)
    assert torch.equal(first.images, again.images) and again.classes == ["a", "b"]
    monkeypatch.undo()
    make_image_folder(tmp_path / "d", classes=("a", "b", "c"), n_train=2, n_test=0)  # the data changed
    assert load_image_folder(root / "train", cache=cache).classes == ["a", "b", "c"]


def test_load_jpeg_tarball_with_cache(tmp_path):
    root = make_image_folder(tmp_path / "d", classes=("x", "y"), n_train=5, n_test=0, fmt="jpg")
    archive = tmp_path / "imgs.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root / "train", arcname="train")
    data = load_jpeg_tarball(archive, cache=tmp_path / "c.pt")
    assert data.classes == ["x", "y"] and data.class_counts() == [5, 5]
    assert torch.equal(load_jpeg_tarball(archive, cache=tmp_path / "c.pt").images, data.images)


@pytest.mark.parametrize("layout, korean, english", [
    ("missing", "데이터 폴더가 없습니다", "No such data folder"),
    ("no_train", "'train' 폴더가 없습니다", "has no 'train' folder"),
    ("empty_class", "이미지가 없습니다", "holds no images"),
    ("unknown_test_class", "학습 데이터에 없는 클래스", "does not have"),
    ("no_classes", "클래스 폴더가 없습니다", "has no class folders"),
])
def test_bad_image_folders_give_bilingual_errors(tmp_path, layout, korean, english):
    root = tmp_path / "d"
    if layout != "missing":
        make_image_folder(root, classes=("a", "b"), n_train=2, n_test=1)
    if layout == "no_train":
        for f in (root / "train").rglob("*.png"):
            f.unlink()
        for d in sorted((root / "train").rglob("*"), reverse=True):
            d.rmdir()
        (root / "train").rmdir()
    elif layout == "empty_class":
        (root / "train" / "c").mkdir()
    elif layout == "unknown_test_class":
        make_image_folder(root, classes=("zebra",), n_train=0, n_test=1)
    elif layout == "no_classes":
        for f in sorted((root / "train").rglob("*"), reverse=True):
            f.unlink() if f.is_file() else f.rmdir()
    with pytest.raises(DataError) as err:
        load_image_folder_splits(root)
    _korean_first(str(err.value), korean, english)


# --- CIFAR-10 through torchvision's real download path -----------------------------------------

def test_fake_cifar10_loads_through_torchvision_download(fake_cifar, no_network):
    root, md5s = fake_cifar
    assert not (root / "cifar-10-batches-py").exists()  # only the archive: torchvision must extract it
    with patched_cifar10_md5(md5s):
        train, test = load_cifar10(root, download=True)
    assert no_network.attempts == []  # the archive's MD5 matched, so nothing was downloaded
    assert (len(train), len(test)) == (250, 50) and train.classes == CIFAR10_CLASSES
    assert train.images.shape == (250, 3, 32, 32) and train.images.dtype == torch.uint8
    # The pixels are exactly those pickled in data_batch_1 (CHW order), not a re-encoding.
    with open(root / "cifar-10-batches-py" / "data_batch_1", "rb") as f:
        batch = pickle.load(f, encoding="latin1")
    assert torch.equal(train.images[:50].reshape(50, -1), torch.from_numpy(batch["data"]))
    assert train.labels[:50].tolist() == batch["labels"]
    from torchvision.datasets import CIFAR10
    assert CIFAR10.tgz_md5 == "c58f30108f718f92721af3b95e74349a"  # restored after the block


def test_fake_cifar10_without_the_patch_is_rejected_by_torchvision(fake_cifar, no_network, smoke_off):
    """Honesty check: torchvision really verifies the MD5s, so the patch above is needed."""
    root, _ = fake_cifar
    with pytest.raises(DataError) as err:
        load_cifar10(root, download=True)
    _korean_first(str(err.value), "CIFAR-10을 불러오지 못했습니다", "Could not load CIFAR-10")
    assert no_network.attempts  # the MD5 mismatch made torchvision try to download


def test_corrupted_cifar10_file_and_no_network_gives_bilingual_error(fake_cifar, no_network, smoke_on):
    """Even in smoke mode: CIFAR-10 is there (broken), so it is not replaced by fake data."""
    root, md5s = fake_cifar
    with patched_cifar10_md5(md5s):
        load_cifar10(root)
        (root / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"broken")
        (root / "cifar-10-python.tar.gz").unlink()
        with pytest.raises(DataError) as err:
            load_cifar10(root)
    assert "cifar-10-python.tar.gz" in str(err.value) and "Colab" in str(err.value)


def test_smoke_mode_without_cifar10_uses_fake_data_and_says_so(tmp_path, no_network, smoke_on, capsys):
    train, test = load_cifar10(tmp_path / "data")
    out = capsys.readouterr().out
    assert out.index("가짜 CIFAR-10") < out.index("FAKE CIFAR-10")
    assert (len(train), len(test)) == (500, 100) and train.classes == CIFAR10_CLASSES
    assert not no_network.attempts
    assert not (tmp_path / "data" / "cifar-10-batches-py").exists()  # the real location stays empty


def test_without_smoke_mode_a_missing_cifar10_is_downloaded(tmp_path, no_network, smoke_off):
    with pytest.raises(DataError):
        load_cifar10(tmp_path / "data")
    assert no_network.attempts  # it tried the real download


# --- augmentation and batches -------------------------------------------------------------------

def test_random_crop_flip_reads_windows_of_the_padded_image():
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 3, 32, 32), generator=gen, dtype=torch.uint8)
    sx, sy = torch.tensor([0, 8, 4, 1, 7, 4]), torch.tensor([0, 8, 4, 6, 2, 4])
    flip = torch.tensor([False, False, False, True, True, True])
    out = random_crop_flip(images, sx, sy, flip, padding=4)
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    for i in range(6):
        window = padded[i, :, sy[i]:sy[i] + 32, sx[i]:sx[i] + 32]
        assert torch.equal(out[i], window.flip(-1) if flip[i] else window), i
    assert torch.equal(out[2], images[2]) and torch.equal(out[5], images[5].flip(-1))
    assert out[0, :, :4, :].eq(0).all()  # shifted to the corner: the zero padding shows


def test_normalize_matches_torchvision():
    from torchvision.transforms import v2
    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    expected = v2.Normalize(CIFAR10_MEAN, CIFAR10_STD)(v2.ToDtype(torch.float32, scale=True)(images))
    out = normalize(images, CIFAR10_MEAN, CIFAR10_STD, channels_last=True)
    assert torch.allclose(out, expected, atol=1e-5)
    assert out.is_contiguous(memory_format=torch.channels_last)


def test_device_loader_epochs_are_seeded_and_complete():
    data = ImageTensors(torch.randint(0, 256, (50, 3, 32, 32), dtype=torch.uint8), torch.arange(50) % 5, list("abcde"))
    train = DeviceLoader(data, 16, train=True, seed=3)
    assert len(train) == 3 and train.num_images == 48  # the last incomplete batch is dropped

    def epoch(loader, e):
        loader.set_epoch(e)
        return [(x.clone(), y.clone()) for x, y in loader]

    a, b, c = epoch(train, 1), epoch(train, 1), epoch(train, 2)
    assert all(torch.equal(x1, x2) for (x1, _), (x2, _) in zip(a, b))
    assert not torch.equal(a[0][0], c[0][0])
    test = DeviceLoader(data, 16)
    assert len(test) == 4
    labels = torch.cat([y for _, y in test])
    assert torch.equal(labels, data.labels)  # every image, in order, not augmented
    assert torch.allclose(next(iter(test))[0], normalize(data.images[:16], data.mean, data.std))
    with pytest.raises(DataError):
        DeviceLoader(data, 64, train=True)
