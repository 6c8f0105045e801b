"""vgg_teach.training.sources, offline: CIFAR-10 through torchvision's real code (a fake archive in its format),
the download's deadline, the Hugging Face copy (a fake ``datasets``), and image folders as learners make them."""

from __future__ import annotations

import io
import os
import pickle
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

from tests.fakes import FakeHFSplit, fake_datasets_module, make_fake_cifar10, patched_cifar10_md5
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


def _korean_first(message: str, korean: str, english: str) -> None:
    assert korean in message and english in message, message
    assert message.index(korean) < message.index(english)


# --- CIFAR-10 ------------------------------------------------------------------------------------------------------

def test_the_archive_loads_through_torchvision_without_downloading(fake_cifar, no_network):
    root, md5s = fake_cifar
    with patched_cifar10_md5(md5s):
        train, test = load_cifar10(root, download=True)
    assert no_network.attempts == [] and (len(train), len(test)) == (250, 50) and train.classes == CIFAR10_CLASSES
    with open(root / "cifar-10-batches-py" / "data_batch_1", "rb") as f:  # the pickled pixels, CHW, as they are
        batch = pickle.load(f, encoding="latin1")
    assert torch.equal(train.images[:50].reshape(50, -1), torch.from_numpy(batch["data"]))
    assert train.labels[:50].tolist() == batch["labels"] and train.images.dtype == torch.uint8
    from torchvision.datasets import CIFAR10
    assert CIFAR10.tgz_md5 == "c58f30108f718f92721af3b95e74349a"  # restored after the block


def test_a_broken_archive_offline_is_a_bilingual_error_even_in_smoke_mode(fake_cifar, no_network, smoke_on):
    root, md5s = fake_cifar
    with pytest.raises(DataError) as err:  # torchvision really checks the MD5s: without the patch it downloads
        load_cifar10(root)
    _korean_first(str(err.value), "CIFAR-10을 불러오지 못했습니다", "Could not load CIFAR-10")
    assert no_network.attempts and "cifar-10-python.tar.gz" in str(err.value) and "Colab" in str(err.value)


def test_smoke_mode_without_cifar10_uses_fake_data_and_says_so(tmp_path, no_network, smoke_on, capsys):
    train, test = load_cifar10(tmp_path / "data")
    out = capsys.readouterr().out
    assert out.index("가짜 CIFAR-10") < out.index("FAKE CIFAR-10") and not no_network.attempts
    assert (len(train), len(test)) == (500, 100) and train.classes == CIFAR10_CLASSES
    assert not (tmp_path / "data").exists()  # the real data's place stays empty


@pytest.fixture
def served(tmp_path, monkeypatch, smoke_off, no_network):
    """A fake archive (torchvision's MD5s patched to it) served by a stand-in ``urlopen`` whose reads each take
    ``per_read`` seconds of a fake clock (an eighth of the body each); yields ``serve`` and the archive's data."""
    md5s = make_fake_cifar10(tmp_path / "made")
    monkeypatch.setattr(sources, "CIFAR10_PER_CLASS", {"train": 25, "test": 5})
    with patched_cifar10_md5(md5s):
        reference = load_cifar10(tmp_path / "made")
        body = (tmp_path / "made" / "cifar-10-python.tar.gz").read_bytes()

        def serve(data: bytes = body, per_read: float = 0.0) -> list[str]:
            asked, clock, chunk = [], [0.0], max(1, len(data) // 8)

            def urlopen(request, timeout):
                asked.append(request.full_url)
                response = io.BytesIO(data)
                response.headers = {"Content-Length": str(len(data))}
                read = response.read
                response.read = lambda n=-1: read(chunk)
                return response

            def monotonic() -> float:
                clock[0] += per_read
                return clock[0]

            monkeypatch.setattr(sources.urllib.request, "urlopen", urlopen)
            monkeypatch.setattr(sources.time, "monotonic", monotonic)
            return asked

        yield serve, reference


def _same(got: tuple[ImageTensors, ImageTensors], want: tuple[ImageTensors, ImageTensors]) -> None:
    for a, b in zip(got, want):
        assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
        assert a.classes == b.classes == CIFAR10_CLASSES and (a.mean, a.std) == (b.mean, b.std)


def test_the_download_shows_a_progress_bar(served, tmp_path, monkeypatch, capsys):
    serve, reference = served
    asked = serve()
    monkeypatch.setitem(sys.modules, "datasets", None)  # the hub must not be needed
    _same(load_cifar10(tmp_path / "data"), reference)
    from torchvision.datasets import CIFAR10
    assert asked == [CIFAR10.url] and "cifar-10-python.tar.gz" in capsys.readouterr().err  # tqdm names the file


def test_a_slow_download_gives_up_early_for_the_hub_copy(served, tmp_path, monkeypatch, capsys):
    serve, reference = served
    serve(per_read=30.0)
    hub = fake_datasets_module(*reference, names=list(reversed(CIFAR10_CLASSES)))  # the classes in another order
    monkeypatch.setitem(sys.modules, "datasets", hub)
    _same(load_cifar10(tmp_path / "data", timeout=120), reference)  # labels follow the class names
    out = capsys.readouterr().out
    assert "would take" in out and "Hugging Face" in out  # judged after 20 s of the 120 s deadline
    assert hub.calls == [("uoft-cs/cifar10", (), {"cache_dir": str(tmp_path / "data" / "huggingface")})]
    assert not list((tmp_path / "data").iterdir())  # no half archive that looks whole


def test_neither_source_says_both_reasons(served, tmp_path, monkeypatch):
    serve, _ = served
    serve(b"not the archive")  # downloads, but the MD5 is wrong
    monkeypatch.setitem(sys.modules, "datasets", None)  # datasets not installed
    with pytest.raises(DataError) as err:
        load_cifar10(tmp_path / "data")
    _korean_first(str(err.value), "CIFAR-10을 받지 못했습니다", "Could not get CIFAR-10")
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
    renamed = FakeHFSplit(test)
    renamed.features["label"].names[9] = "lorry"
    with pytest.raises(DataError, match="lorry"):
        sources.convert_split(renamed, "test")


def test_fetch_keeps_its_deadline_and_checks_the_md5(served, tmp_path):
    serve, _ = served
    serve(b"x" * 100, per_read=1.0)
    assert sources.fetch("https://example.invalid/f", tmp_path / "f", deadline=60).read_bytes() == b"x" * 100
    serve(b"x" * 100, per_read=10.0)
    with pytest.raises(TimeoutError, match="deadline"):
        sources.fetch("https://example.invalid/g", tmp_path / "g", deadline=55, judge_after=1000)
    serve(b"x" * 100)
    with pytest.raises(OSError, match="MD5"):
        sources.fetch("https://example.invalid/h", tmp_path / "h", md5="0" * 32)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f", "made"]


# --- image folders and tarballs ------------------------------------------------------------------------------------

def test_image_folders_load_with_their_classes_and_the_training_statistics(image_folder, tmp_path):
    train, test = load_image_folder_splits(image_folder)
    assert train.classes == test.classes == ["cat", "dog", "frog"] and train.images.shape == (48, 3, 32, 32)
    assert train.class_counts() == [16] * 3 and test.class_counts() == [4] * 3 and test.mean == train.mean
    means = torch.stack([train.images[train.labels == c].float().mean((0, 2, 3)) for c in range(3)])
    assert torch.cdist(means, means).max() > 10  # every class its own color: the pixels are the files'
    root = make_image_folder(tmp_path / "d", classes=("a", "b"), n_train=3, n_test=0, size=48, fmt="jpg")
    (root / "train" / ".ipynb_checkpoints").mkdir()
    (root / "train" / "a" / "notes.txt").write_text("not an image")
    (root / "train" / "a" / ".hidden.jpg").write_bytes(b"")
    assert load_image_folder(root / "train").images.shape == (6, 3, 32, 32)  # resized; hidden things skipped


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
    data = load_jpeg_tarball(archive, workers=2, cache=tmp_path / "t.pt")
    folder = load_image_folder(root / "train")
    assert data.classes == folder.classes and torch.equal(data.images, folder.images)
    assert torch.equal(data.labels, folder.labels)
    assert torch.equal(load_jpeg_tarball(archive, cache=tmp_path / "t.pt").images, data.images)


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
        make_image_folder(root, classes=("a", "b"), n_train=0 if layout in ("no_train", "no_classes") else 2)
    if layout == "no_classes":
        (root / "train").mkdir()
    elif layout == "empty_class":
        (root / "train" / "c").mkdir()
    elif layout == "unknown_test_class":
        make_image_folder(root, classes=("zebra",), n_train=0, n_test=1)
    with pytest.raises(DataError) as err:
        load_image_folder_splits(root)
    _korean_first(str(err.value), korean, english)


def _png16(path: Path, pixels: np.ndarray) -> None:
    """A 16-bit PNG (grey H×W or RGB H×W×3) written by hand: PIL cannot write 16-bit RGB."""
    h, w = pixels.shape[:2]
    rows = pixels.astype(">u2").reshape(h, -1).tobytes()
    raw = b"".join(b"\0" + rows[i * len(rows) // h:(i + 1) * len(rows) // h] for i in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 16, 0 if pixels.ndim == 2 else 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
                     + chunk(b"IEND", b""))


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
    alpha = np.full_like(band8, 7)
    palette = Image.fromarray(np.tile(np.arange(4, dtype=np.uint8).repeat(8), (32, 1)), "P")
    palette.putpalette([0, 0, 0, 64, 64, 64, 128, 128, 128, 255, 255, 255])
    writers = {"grey16.png": lambda p: _png16(p, band16), "L.png": lambda p: Image.fromarray(band8).save(p),
               "LA.png": lambda p: Image.fromarray(np.stack([band8, alpha], -1), "LA").save(p),
               "P.png": palette.save, "bits.png": lambda p: Image.fromarray(band8 > 100).save(p),
               "RGBA.png": lambda p: Image.fromarray(np.stack([band8] * 3 + [alpha], -1), "RGBA").save(p),
               "rgb16.png": lambda p: _png16(p, np.stack([band16, band16[:, ::-1], np.full_like(band16, 65535)], -1))}
    (tmp_path / "modes").mkdir()
    for name, write in writers.items():
        write(tmp_path / "modes" / name)
    _png16(tmp_path / "all16" / "a.png", np.random.default_rng(0).integers(0, 65536, (32, 32, 3), dtype=np.uint16))
    data = load_image_folder(tmp_path)
    image = dict(zip(["all16/a.png", *sorted(writers)], data.images.long()))
    expected = torch.from_numpy(band8.astype(np.int64)).expand(3, -1, -1)
    for name in ("grey16.png", "L.png", "LA.png", "P.png", "RGBA.png"):
        assert torch.equal(image[name], expected), name
    assert torch.equal(image["bits.png"], (expected > 100).long() * 255)
    rgb = image["rgb16.png"]
    assert torch.equal(rgb[0], expected[0]) and torch.equal(rgb[1], expected[0].flip(1)) and rgb[2].eq(255).all()
    assert image["all16/a.png"].float().std() > 50  # 16 random bits spread over 0–255, neither clipped nor lost


def test_a_phone_photo_stored_sideways_is_turned_upright(decoder):
    stored = np.zeros((40, 40, 3), dtype=np.uint8)
    stored[:20, :, 0], stored[20:, :, 2] = 255, 255  # red on top, blue below, EXIF: "rotate 90° clockwise"
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(stored).save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    img = sources.decode_all([("portrait.jpg", buffer.getvalue())], 40)[0]
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
    msg = str(err.value)
    _korean_first(msg, "읽을 수 없습니다", "cannot be read")
    _korean_first(msg, korean, english)
    assert "b/broken.jpg" in msg and "BytesIO" not in msg and err.value.__cause__ is None


def test_every_broken_file_is_listed_at_once_and_decoding_streams(tmp_path, monkeypatch):
    make_image_folder(tmp_path, classes=("a", "b"), n_train=100, n_test=0)
    reads, first_decode = [], []
    real_read, real_decode = Path.read_bytes, sources._decode
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or real_read(self))
    monkeypatch.setattr(sources, "_decode", lambda *a: first_decode.append(len(reads)) or real_decode(*a))
    assert len(load_image_folder(tmp_path / "train", workers=1)) == len(reads) == 200
    assert first_decode[0] <= sources.CHUNK  # the first image was decoded before the 65th was read
    for i in range(12):
        (tmp_path / "train" / "a" / f"empty{i:02d}.png").write_bytes(b"")
    with pytest.raises(DataError) as err:
        load_image_folder(tmp_path / "train")
    assert "12 of 212 images cannot be read" in str(err.value) and "empty09.png" in str(err.value)
    assert "(+2)" in str(err.value)


def test_cp949_and_nfd_names_from_windows_and_macos(tmp_path):
    root = os.fsencode(tmp_path / "zip")
    for cls in ("고양이", "개"):  # a zip from a Korean Windows computer: CP949 bytes
        os.makedirs(root + b"/" + cls.encode("cp949"))
        for i in range(3):
            Image.new("RGB", (32, 32), (40 * i, 90, 200)).save(os.fsdecode(root + b"/" + cls.encode("cp949")
                                                                           + f"/사진{i}.png".encode("cp949")))
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
