"""vgg_teach.training.sources, offline: CIFAR-10 through torchvision's real code (a fake archive in its format),
the download's deadline, the Hugging Face copy (a fake ``datasets``), and image folders as learners make them
(folder layouts a learner gets wrong: the CLI's table in test_train_cli.py)."""

from __future__ import annotations

import io
import itertools
import os
import pickle
import shutil
import struct
import sys
import tarfile
import unicodedata
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.fakes import fake_datasets_module, korean_first, make_fake_cifar10, patch_cifar10_md5
from vgg_teach.errors import DataError
from vgg_teach.training import sources
from vgg_teach.training.data import CIFAR10_CLASSES, ImageTensors
from vgg_teach.training.sources import (
    load_cifar10,
    load_image_folder,
    load_image_folder_splits,
    load_jpeg_tarball,
    make_image_folder,
)


def test_a_broken_archive_offline_is_a_bilingual_error_even_in_smoke_mode(fake_cifar, no_network, smoke_on):
    with pytest.raises(DataError) as err:  # torchvision really checks the MD5s: without the patch it downloads
        load_cifar10(fake_cifar[0])
    korean_first(str(err.value), "CIFAR-10을 불러오지 못했습니다", "Could not load CIFAR-10")
    assert no_network.attempts and "cifar-10-python.tar.gz" in str(err.value) and "Colab" in str(err.value)


def test_smoke_mode_without_cifar10_uses_fake_data_and_says_so(tmp_path, no_network, smoke_on, capsys):
    train, test = load_cifar10(tmp_path / "data")
    korean_first(capsys.readouterr().out, "가짜 CIFAR-10", "FAKE CIFAR-10")
    assert (len(train), len(test)) == (500, 100) and train.classes == CIFAR10_CLASSES and not no_network.attempts
    assert not (tmp_path / "data").exists()  # the real data's place stays empty


@pytest.fixture
def served(tmp_path, monkeypatch, smoke_off, no_network):
    """A fake archive (torchvision's MD5s patched to it) served by a stand-in ``urlopen`` whose reads each take
    ``per_read`` seconds of a fake clock (an eighth of the body each); ``serve`` and the archive's data."""
    md5s = make_fake_cifar10(tmp_path / "made")
    monkeypatch.setattr(sources, "CIFAR10_PER_CLASS", {"train": 25, "test": 5})
    patch_cifar10_md5(monkeypatch, md5s)
    reference = load_cifar10(tmp_path / "made")
    body = (tmp_path / "made" / "cifar-10-python.tar.gz").read_bytes()

    def serve(data: bytes = body, per_read: float = 0.0) -> list[str]:
        asked, clock, chunk = [], itertools.count(per_read, per_read), max(1, len(data) // 8)

        def urlopen(request, timeout):
            asked.append(request.full_url)
            response = io.BytesIO(data)
            response.headers, read = {"Content-Length": str(len(data))}, response.read
            response.read = lambda n=-1: read(chunk)
            return response

        monkeypatch.setattr(sources.urllib.request, "urlopen", urlopen)
        monkeypatch.setattr(sources.time, "monotonic", lambda: next(clock))
        return asked

    return serve, reference


def test_the_archive_loads_through_torchvision_without_downloading(served, tmp_path):
    _, (train, test) = served  # loaded from tmp_path/made, offline
    assert (len(train), len(test)) == (250, 50) and train.classes == CIFAR10_CLASSES
    with open(tmp_path / "made" / "cifar-10-batches-py" / "data_batch_1", "rb") as f:  # the pickled pixels, CHW
        batch = pickle.load(f, encoding="latin1")
    assert torch.equal(train.images[:50].reshape(50, -1), torch.from_numpy(batch["data"]))
    assert train.labels[:50].tolist() == batch["labels"] and train.images.dtype == torch.uint8


@pytest.mark.parametrize("per_read, timeout, why", [
    (0.0, 300, None),  # in time: torchvision's archive, with a progress bar
    (30.0, 120, "would take"),  # judged after 20 s of the 120 s deadline: the hub copy instead
    (30.0, 10, "over the 10 s deadline"),
])
def test_the_download_keeps_its_deadline_or_gives_up_for_the_hub_copy(served, tmp_path, monkeypatch, capsys,
                                                                      per_read, timeout, why):
    serve, reference = served
    asked = serve(per_read=per_read)
    hub = fake_datasets_module(*reference, names=list(reversed(CIFAR10_CLASSES)))  # the classes in another order
    monkeypatch.setitem(sys.modules, "datasets", hub if why else None)  # in time, the hub must not be needed
    for got, want in zip(load_cifar10(tmp_path / "data", timeout=timeout), reference):  # labels follow the names
        assert torch.equal(got.images, want.images) and torch.equal(got.labels, want.labels)
        assert got.classes == CIFAR10_CLASSES and (got.mean, got.std) == (want.mean, want.std)
    from torchvision.datasets import CIFAR10
    said = capsys.readouterr()
    assert asked == [CIFAR10.url] and "cifar-10-python.tar.gz" in said.err  # tqdm names the file
    if why:
        assert why in said.out and "Hugging Face" in said.out and not list((tmp_path / "data").iterdir())
        assert hub.calls == [("uoft-cs/cifar10", (), {"cache_dir": str(tmp_path / "data" / "huggingface")})]


def test_neither_source_says_both_reasons(served, tmp_path, monkeypatch):
    serve, _ = served
    serve(b"not the archive")  # downloads, but the MD5 is wrong
    monkeypatch.setitem(sys.modules, "datasets", None)  # datasets not installed
    with pytest.raises(DataError) as err:
        load_cifar10(tmp_path / "data")
    korean_first(str(err.value), "CIFAR-10을 받지 못했습니다", "Could not get CIFAR-10")
    assert all(why in str(err.value) for why in ("MD5", "pip install datasets", "Settings → Internet"))
    monkeypatch.setitem(sys.modules, "datasets", fake_datasets_module(error=ConnectionError("hub unreachable")))
    with pytest.raises(DataError, match="(?s)hub unreachable.*hub unreachable"):
        load_cifar10(tmp_path / "data")


def test_a_hub_copy_that_is_not_cifar10_is_refused(served, tmp_path, monkeypatch):
    serve, (train, test) = served
    serve(b"")
    relabelled = ImageTensors(train.images, torch.cat([(train.labels[:1] + 1) % 10, train.labels[1:]]),
                              train.classes, train.mean, train.std)
    for copy, problem in [(train.subset(torch.arange(249)), r"images \(249, 3, 32, 32\).*not \(250"),
                          (relabelled, "images per class.*not 25 each")]:
        monkeypatch.setitem(sys.modules, "datasets", fake_datasets_module(copy, test))
        with pytest.raises(DataError, match=f"(?s)예상과 다릅니다.*{problem}"):
            load_cifar10(tmp_path / "data")


def test_image_folders_load_with_their_classes_and_the_training_statistics(image_folder, tmp_path, capsys):
    train, test = load_image_folder_splits(image_folder)
    assert train.classes == test.classes == ["cat", "dog", "frog"] and train.images.shape == (48, 3, 32, 32)
    assert train.class_counts() == [16] * 3 and test.class_counts() == [4] * 3 and test.mean == train.mean
    means = torch.stack([train.images[train.labels == c].float().mean((0, 2, 3)) for c in range(3)])
    assert torch.cdist(means, means).max() > 10  # every class its own color: the pixels are the files'
    root = make_image_folder(tmp_path / "d", classes=("a", "b"), n_train=3, n_test=0, size=48, fmt="jpg")
    (root / "train" / "a" / "notes.txt").write_text("not an image")
    (root / "train" / "a" / ".hidden.jpg").write_bytes(b"")
    copies = [root / "train" / ".ipynb_checkpoints" / "a.jpg", root / "train" / "a" / ".ipynb_checkpoints" / "b.jpg",
              root / "train" / "b" / "x" / ".thumbnails" / "c.jpg"]  # hidden copies of images, at every depth
    for copy in copies:
        copy.parent.mkdir(parents=True)
        copy.write_bytes(next((root / "train" / "a").glob("*.jpg")).read_bytes())
    capsys.readouterr()
    assert load_image_folder(root / "train").images.shape == (6, 3, 32, 32)  # resized; hidden things skipped
    with tarfile.open(tmp_path / "d.tar", "w") as tar:
        tar.add(root / "train", arcname="train")
    assert len(load_jpeg_tarball(tmp_path / "d.tar")) == 6
    said = capsys.readouterr().out
    assert said.count("skipped 4 images, hidden or inside hidden folders") == 2 and "a/.hidden.jpg" in said
    korean_first(said, "이미지 4장은 데이터가 아니므로 건너뛰었습니다", "skipped 4 images")
    korean_first(said, "읽을 수 없는 형식의 파일 1개", "skipped 1 file in a format not read here (.txt 1)")


def test_files_left_out_of_an_image_folder_are_said_and_a_misplaced_data_dir_gets_the_one_to_give(tmp_path, capsys):
    """A learner's folder: iPhone photos (.heic), scans (.tif), an image beside the class folders and the __MACOSX
    folder of a Mac's zip are not data, and each is said; the data folder given one level too deep or too high, a zip
    instead of a folder, or no test/ get the folder to give (or --holdout)."""
    root = make_image_folder(tmp_path / "data", classes=("a", "b"), n_train=4, n_test=1)
    image = next((root / "train" / "a").glob("*.png")).read_bytes()
    for name in ("a/IMG_0001.HEIC", "a/scan.tif", "b/Thumbs.db", "loose.png", "__MACOSX/a/._0.png"):
        (root / "train" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "train" / name).write_bytes(image)
    capsys.readouterr()
    assert len(load_image_folder(root / "train")) == 8  # the class folders' own images, nothing else
    said = capsys.readouterr().out
    korean_first(said, "읽을 수 없는 형식의 파일 2개", "skipped 2 files in a format not read here (.heic 1, .tif 1)")
    korean_first(said, "클래스 폴더 밖에 있는 이미지 1장", "skipped 1 image lying in no class folder")
    korean_first(said, "맥의 __MACOSX", "__MACOSX/a/._0.png")
    (tmp_path / "top").mkdir()
    shutil.copytree(root, tmp_path / "top" / "unzipped")
    (tmp_path / "data.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    shutil.rmtree(root / "test")
    for given, korean, english in (
            (root / "train", "한 단계 위의", f"is the train folder itself: give its parent, {root}."),
            (tmp_path / "top", "그 폴더를 주세요", f"{tmp_path / 'top' / 'unzipped'} has it: give that folder."),
            (tmp_path / "data.zip", "먼저 푼 뒤", "a file, not a folder. If it is an archive, unpack it first"),
            (root, "--holdout N", "--holdout N on the command line")):
        with pytest.raises(DataError) as refused:
            load_image_folder_splits(given)
        korean_first(str(refused.value), korean, english)


def test_the_cache_is_used_and_refreshed_and_a_tarball_reads_the_same(tmp_path, monkeypatch):
    root = make_image_folder(tmp_path / "d", classes=("y", "x"), n_train=70, n_test=0)
    cache = tmp_path / "cache.pt"
    first = load_image_folder(root / "train", cache=cache)
    with monkeypatch.context() as m:
        m.setattr(sources, "decode_all", lambda *a, **k: pytest.fail("decoded although the cache is valid"))
        assert torch.equal(load_image_folder(root / "train", cache=cache).images, first.images)
    make_image_folder(tmp_path / "d", classes=("y", "x", "z"), n_train=2, n_test=0)  # the data changed
    assert load_image_folder(root / "train", cache=cache).classes == ["x", "y", "z"]
    archive = tmp_path / "t.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted((root / "train").rglob("*.png"), reverse=True):  # stored in reverse order
            tar.add(path, arcname=str(path.relative_to(root)))
    data, folder = load_jpeg_tarball(archive, workers=2, cache=tmp_path / "t.pt"), load_image_folder(root / "train")
    assert data.classes == folder.classes and torch.equal(data.images, folder.images)
    assert torch.equal(data.labels, folder.labels)
    assert torch.equal(load_jpeg_tarball(archive, cache=tmp_path / "t.pt").images, data.images)


def _png16(path: Path, pixels: np.ndarray) -> None:
    """A 16-bit PNG (grey H×W or RGB H×W×3) written by hand: PIL cannot write 16-bit RGB."""
    h, w = pixels.shape[:2]
    rows = b"".join(b"\0" + row.tobytes() for row in pixels.astype(">u2").reshape(h, -1))
    chunks = [(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 0 if pixels.ndim == 2 else 2, 0, 0, 0)),
              (b"IDAT", zlib.compress(rows)), (b"IEND", b"")]
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d)) for k, d in chunks))


@pytest.fixture(params=["torchvision", "PIL"])
def decoder(request, monkeypatch) -> str:
    """Each test with torchvision's decoders, and again with PIL standing in (as when torchvision drops them)."""
    if request.param == "PIL":
        import torchvision.io
        monkeypatch.setattr(torchvision.io, "decode_image", lambda *a, **k: (_ for _ in ()).throw(RuntimeError()))
    return request.param


def test_every_png_mode_becomes_8_bit_rgb_scaled_not_clipped(tmp_path, decoder):
    band16 = np.tile(np.array([0, 257 * 64, 257 * 128, 65535], dtype=np.uint16).repeat(8), (32, 1))  # 4 bands
    band8 = np.tile(np.array([0, 64, 128, 255], dtype=np.uint8).repeat(8), (32, 1))                 # the same
    palette = Image.fromarray(np.tile(np.arange(4, dtype=np.uint8).repeat(8), (32, 1)), "P")
    palette.putpalette([0, 0, 0, 64, 64, 64, 128, 128, 128, 255, 255, 255])
    writers = {"grey16.png": lambda p: _png16(p, band16), "P.png": palette.save,
               "RGBA.png": lambda p: Image.fromarray(np.stack([band8] * 3 + [band8 // 9], -1), "RGBA").save(p),
               "rgb16.png": lambda p: _png16(p, np.stack([band16, band16[:, ::-1], np.full_like(band16, 65535)], -1))}
    (tmp_path / "modes").mkdir()
    for name, write in writers.items():
        write(tmp_path / "modes" / name)
    image = dict(zip(sorted(writers), load_image_folder(tmp_path).images.long()))
    expected = torch.from_numpy(band8.astype(np.int64)).expand(3, -1, -1)
    for name in ("grey16.png", "P.png", "RGBA.png"):
        assert torch.equal(image[name], expected), name
    rgb = image["rgb16.png"]
    assert torch.equal(rgb[0], expected[0]) and torch.equal(rgb[1], expected[0].flip(1)) and rgb[2].eq(255).all()
    # 16 bits scaled to 0–255 (257 * 64 → 64), neither clipped nor cut to their low byte


def test_a_phone_photo_stored_sideways_is_turned_upright(tmp_path, decoder):
    stored = np.zeros((40, 40, 3), dtype=np.uint8)
    stored[:20, :, 0], stored[20:, :, 2] = 255, 255  # red on top, blue below, EXIF: "rotate 90° clockwise"
    exif = Image.Exif()
    exif[0x0112] = 6
    (tmp_path / "a").mkdir()
    Image.fromarray(stored).save(tmp_path / "a" / "portrait.jpg", "JPEG", quality=95, exif=exif.tobytes())
    img = load_image_folder(tmp_path, image_size=40).images[0]
    assert img[0, 20, 35] > 200 and img[2, 20, 35] < 60 and img[2, 20, 5] > 200 and img[0, 20, 5] < 60


@pytest.mark.parametrize("case, korean, english", [
    ("empty", "빈 파일(0바이트)", "empty file (0 bytes)"),
    ("truncated", "파일이 중간에 잘림", "the file is truncated"),
    ("not an image", "이미지 형식을 알아볼 수 없음", "not an image format that can be read"),
])
def test_a_broken_file_is_named_in_a_bilingual_message(tmp_path, case, korean, english):
    make_image_folder(tmp_path, classes=("a", "b"), n_train=2, n_test=0, fmt="jpg")
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    content = {"empty": b"", "truncated": buf.getvalue()[:len(buf.getvalue()) // 2],
               "not an image": b"<html>a web page saved as .jpg</html>"}[case]
    (tmp_path / "train" / "b" / "broken.jpg").write_bytes(content)
    with pytest.raises(DataError) as err:
        load_image_folder(tmp_path / "train")
    korean_first(str(err.value), "읽을 수 없습니다", "cannot be read")
    korean_first(str(err.value), korean, english)
    assert "b/broken.jpg" in str(err.value) and "BytesIO" not in str(err.value) and err.value.__cause__ is None


def test_every_broken_file_is_counted_at_once(tmp_path):
    make_image_folder(tmp_path, classes=("a", "b"), n_train=5, n_test=0)
    for i in range(12):
        (tmp_path / "train" / "a" / f"empty{i:02d}.png").write_bytes(b"")
    with pytest.raises(DataError) as err:
        load_image_folder(tmp_path / "train")
    assert "12 of 22 images cannot be read" in str(err.value) and "empty09.png" in str(err.value)
    assert "(+2)" in str(err.value)  # ten named, the rest counted


def test_cp949_and_nfd_names_from_windows_and_macos(tmp_path):
    root = os.fsencode(tmp_path / "zip")
    for cls in ("고양이", "개"):  # a zip from a Korean Windows computer: CP949 bytes
        os.makedirs(root + f"/{cls}".encode("cp949"))
        for i in range(3):
            Image.new("RGB", (32, 32), (40 * i, 9, 99)).save(os.fsdecode(root + f"/{cls}/사진{i}.png".encode("cp949")))
    broken = [root + "/개/깨진 사진.png".encode("cp949"), root + "/개/".encode("cp949") + b"\xff\xfe.png"]
    for name in broken:
        Path(os.fsdecode(name)).write_bytes(b"")
    with pytest.raises(DataError) as err:  # broken files with such names are still named readably
        load_image_folder(os.fsdecode(root))
    assert "개/깨진 사진.png" in str(err.value) and "��.png" in str(err.value)
    for name in broken:
        os.unlink(name)
    data = load_image_folder(os.fsdecode(root), cache=tmp_path / "cache.pt")
    assert data.classes == ["개", "고양이"] and data.class_counts() == [3, 3]
    assert load_image_folder(os.fsdecode(root), cache=tmp_path / "cache.pt").classes == data.classes
    for split, form in (("train", "NFC"), ("test", "NFD")):  # a macOS copy writes Hangul decomposed
        for cls in ("개", "고양이"):
            (tmp_path / "mac" / split / unicodedata.normalize(form, cls)).mkdir(parents=True)
            Image.new("RGB", (32, 32)).save(tmp_path / "mac" / split / unicodedata.normalize(form, cls) / "0.png")
    train, test = load_image_folder_splits(tmp_path / "mac")
    assert train.classes == test.classes == ["개", "고양이"] and test.class_counts() == [1, 1]


def test_ctrl_c_while_decoding_drops_the_queued_chunks_instead_of_decoding_them_first(monkeypatch):
    """A Ctrl-C (or SIGTERM) during decoding used to wait until every queued chunk of photos was decoded (seconds, in
    silence), and a second Ctrl-C in that wait aborted Python. Only the chunk being decoded is waited for now."""
    import time

    decoded = []

    def decode(part, size):
        if not decoded:
            decoded.append(part)
            raise KeyboardInterrupt  # as if Ctrl-C came while the first chunk was decoded
        decoded.append(part)
        time.sleep(0.5)
        return [], []

    monkeypatch.setattr(sources, "_decode_chunk", decode)
    items = ((f"{i}.png", b"") for i in range(10 * sources.CHUNK))
    with pytest.raises(KeyboardInterrupt):
        sources.decode_all(items, 32, workers=1)
    assert len(decoded) <= 2  # the first, and at most the one being decoded then
