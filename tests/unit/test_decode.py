"""Image folders as learners make them: broken, empty and 16-bit files, every PNG mode, CP949 and NFD names.

Each test builds the folder the issue's sweep used (issue 12) and loads it the way the CLI and lesson 05 do.
"""

from __future__ import annotations

import io
import os
import struct
import unicodedata
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vgg_teach.errors import DataError
from vgg_teach.training import sources as decode
from vgg_teach.training.sources import load_image_folder, load_image_folder_splits, load_jpeg_tarball, make_image_folder


def _png16(path: Path, pixels: np.ndarray) -> None:
    """Write a 16-bit PNG (grey H×W or RGB H×W×3, uint16) by hand: PIL cannot write 16-bit RGB."""
    grey = pixels.ndim == 2
    h, w = pixels.shape[:2]
    rows = pixels.astype(">u2").reshape(h, -1).tobytes()
    stride = len(rows) // h
    raw = b"".join(b"\0" + rows[i * stride:(i + 1) * stride] for i in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 16, 0 if grey else 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
                     + chunk(b"IEND", b""))


def _korean_first(message: str, korean: str, english: str) -> None:
    assert korean in message and english in message, message
    assert message.index(korean) < message.index(english)


@pytest.fixture(params=["torchvision", "PIL"])
def decoder(request, monkeypatch) -> str:
    """Run a test with torchvision's decoders, and again with PIL standing in (as when torchvision drops them)."""
    if request.param == "PIL":
        import torchvision.io

        def gone(*args, **kwargs):
            raise RuntimeError("decoder unavailable")
        monkeypatch.setattr(torchvision.io, "decode_image", gone)
    return request.param


def test_every_png_mode_becomes_8_bit_rgb_correctly_scaled(tmp_path, decoder):
    """16-bit grey and RGB are scaled (v·255/65535), not clipped; grey, palette, alpha, 1-bit become RGB."""
    band16 = np.tile(np.array([0, 257 * 64, 257 * 128, 65535], dtype=np.uint16).repeat(8), (32, 1))  # 4 bands
    band8 = np.tile(np.array([0, 64, 128, 255], dtype=np.uint8).repeat(8), (32, 1))                 # the same
    alpha = np.full_like(band8, 7)
    palette = Image.fromarray(np.tile(np.arange(4, dtype=np.uint8).repeat(8), (32, 1)), "P")  # indices 0–3
    palette.putpalette([0, 0, 0, 64, 64, 64, 128, 128, 128, 255, 255, 255])
    folder = tmp_path / "modes"
    folder.mkdir()
    writers = {
        "grey16.png": lambda p: _png16(p, band16),
        "L.png": lambda p: Image.fromarray(band8).save(p),
        "LA.png": lambda p: Image.fromarray(np.stack([band8, alpha], -1), "LA").save(p),
        "P.png": palette.save,
        "RGBA.png": lambda p: Image.fromarray(np.stack([band8] * 3 + [alpha], -1), "RGBA").save(p),
        "bits.png": lambda p: Image.fromarray(band8 > 100).save(p),
    }
    if decoder == "torchvision":  # PIL opens 16-bit RGB as 8-bit RGB itself (its high bytes): nothing to scale
        rgb16 = np.stack([band16, band16[:, ::-1], np.full_like(band16, 65535)], -1)
        writers["rgb16.png"] = lambda p: _png16(p, rgb16)
    for name, write in writers.items():
        write(folder / name)
    data = load_image_folder(tmp_path)
    assert data.images.dtype == torch.uint8 and data.images.shape == (len(writers), 3, 32, 32)
    image = dict(zip(sorted(writers), data.images.long()))  # the folder's files, in sorted order
    expected = torch.from_numpy(band8.astype(np.int64)).expand(3, -1, -1)
    for name in ("grey16.png", "L.png", "LA.png", "P.png", "RGBA.png"):
        assert torch.equal(image[name], expected), name
    assert torch.equal(image["bits.png"], (expected > 100).long() * 255)
    if decoder == "torchvision":
        rgb = image["rgb16.png"]
        assert torch.equal(rgb[0], expected[0]) and torch.equal(rgb[1], expected[0].flip(1)) and rgb[2].eq(255).all()


def test_an_all_16_bit_folder_normalises_like_an_8_bit_one(tmp_path):
    """The sweep's all-16-bit folder trained on values up to 1053 after normalisation; now ≤ about 2."""
    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        for i in range(4):
            _png16(tmp_path / cls / f"{i}.png", rng.integers(0, 65536, (32, 32, 3), dtype=np.uint16))
    data = load_image_folder(tmp_path)
    assert data.images.dtype == torch.uint8 and data.images.max() > 200
    x = (data.images.float() / 255 - torch.tensor(data.mean).view(1, 3, 1, 1)) / torch.tensor(data.std).view(1, 3, 1, 1)
    assert x.abs().max() < 3


def test_one_16_bit_png_among_8_bit_ones(tmp_path):
    make_image_folder(tmp_path, classes=("a", "b"), n_train=3, n_test=0)
    _png16(tmp_path / "train" / "a" / "deep.png", np.full((32, 32), 65535, dtype=np.uint16))
    data = load_image_folder(tmp_path / "train")
    assert len(data) == 7 and data.images.dtype == torch.uint8
    deep = data.images[3]  # a/0000 a/0001 a/0002 a/deep …
    assert deep.eq(255).all()


@pytest.mark.parametrize("case, korean, english", [
    ("empty", "빈 파일(0바이트)", "empty file (0 bytes)"),
    ("truncated", "파일이 중간에 잘림", "the file is truncated"),
    ("not an image", "이미지 형식을 알아볼 수 없음", "not an image format that can be read"),
])
def test_a_broken_file_is_named_in_a_bilingual_message(tmp_path, case, korean, english):
    make_image_folder(tmp_path, classes=("a", "b"), n_train=2, n_test=0, fmt="jpg")
    bad = tmp_path / "train" / "b" / "broken.jpg"
    if case == "empty":
        bad.write_bytes(b"")
    elif case == "truncated":
        buf = io.BytesIO()
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
        bad.write_bytes(buf.getvalue()[:len(buf.getvalue()) // 2])
    else:
        bad.write_text("<html>a web page saved as .jpg</html>")
    with pytest.raises(DataError) as err:
        load_image_folder(tmp_path / "train")
    msg = str(err.value)
    _korean_first(msg, "읽을 수 없습니다", "cannot be read")
    _korean_first(msg, korean, english)
    assert "b/broken.jpg" in msg and "BytesIO" not in msg and "0x" not in msg
    assert err.value.__cause__ is None


def test_every_broken_file_is_listed_at_once(tmp_path):
    make_image_folder(tmp_path, classes=("a", "b"), n_train=2, n_test=0)
    for i in range(12):
        (tmp_path / "train" / "a" / f"empty{i:02d}.png").write_bytes(b"")
    with pytest.raises(DataError) as err:
        load_image_folder(tmp_path / "train")
    msg = str(err.value)
    assert "12 of 16 images cannot be read" in msg and "empty09.png" in msg and "(+2)" in msg


def test_cp949_file_and_folder_names_from_a_korean_windows_zip(tmp_path):
    """Names that are not UTF-8 are handled as bytes and shown in Korean (the sweep: UnicodeEncodeError)."""
    root = os.fsencode(tmp_path)
    for cls in ("고양이", "개"):
        folder = root + b"/" + cls.encode("cp949")
        os.mkdir(folder)
        for i in range(3):
            Image.new("RGB", (32, 32), (40 * i, 90, 200)).save(os.fsdecode(folder + f"/사진{i}.png".encode("cp949")))
    (tmp_path / "x").mkdir()
    Image.new("RGB", (32, 32)).save(tmp_path / "x" / "ok.png")
    broken = [root + "/x/깨진 사진.png".encode("cp949"), root + b"/x/\xff\xfe.png"]  # CP949, and neither
    for name in broken:
        Path(os.fsdecode(name)).write_bytes(b"")
    with pytest.raises(DataError) as err:  # broken files with such names are still named readably
        load_image_folder(tmp_path)
    assert "x/깨진 사진.png" in str(err.value) and "x/��.png" in str(err.value)
    for name in broken:
        os.unlink(name)
    data = load_image_folder(tmp_path, cache=tmp_path / "cache.pt")
    assert data.classes == ["x", "개", "고양이"] and data.class_counts() == [1, 3, 3]
    assert load_image_folder(tmp_path, cache=tmp_path / "cache.pt").classes == data.classes  # cache key by bytes


def test_nfc_train_and_nfd_test_class_names_are_the_same_classes(tmp_path):
    """A macOS copy writes Hangul decomposed (NFD): '고양이' in NFC and NFD look identical, and now are."""
    for split, form in (("train", "NFC"), ("test", "NFD")):
        for cls in ("개", "고양이"):
            folder = tmp_path / split / unicodedata.normalize(form, cls)
            folder.mkdir(parents=True)
            for i in range(2):
                Image.new("RGB", (32, 32), (i * 90, 10, 10)).save(folder / f"{i}.png")
    assert sorted(os.listdir(tmp_path / "test")) != sorted(os.listdir(tmp_path / "train"))  # really NFD on disk
    train, test = load_image_folder_splits(tmp_path)
    assert train.classes == test.classes == ["개", "고양이"]
    assert all(unicodedata.is_normalized("NFC", c) for c in test.classes)
    assert test.class_counts() == [2, 2]


def test_decoding_streams_instead_of_reading_every_file_first(tmp_path, monkeypatch):
    make_image_folder(tmp_path, classes=("a", "b"), n_train=100, n_test=0)
    reads, reads_at_first_decode = [], []
    real_read, real_decode = Path.read_bytes, decode._decode

    def counting_read(self):
        reads.append(self)
        return real_read(self)

    def watching_decode(data, image_size):
        if not reads_at_first_decode:
            reads_at_first_decode.append(len(reads))
        return real_decode(data, image_size)

    monkeypatch.setattr(Path, "read_bytes", counting_read)
    monkeypatch.setattr(decode, "_decode", watching_decode)
    data = load_image_folder(tmp_path / "train", workers=1)
    assert len(data) == len(reads) == 200
    assert reads_at_first_decode[0] <= decode.CHUNK  # the first image was decoded before the 65th was read


def test_tarball_streams_and_keeps_name_order(tmp_path):
    import tarfile
    root = make_image_folder(tmp_path / "d", classes=("y", "x"), n_train=70, n_test=0)
    archive = tmp_path / "t.tar"
    with tarfile.open(archive, "w") as tar:
        for path in sorted((root / "train").rglob("*.png"), reverse=True):  # stored in reverse order
            tar.add(path, arcname=str(path.relative_to(root)))
    data = load_jpeg_tarball(archive, workers=2)
    folder = load_image_folder(root / "train")
    assert data.classes == folder.classes == ["x", "y"]
    assert torch.equal(data.images, folder.images) and torch.equal(data.labels, folder.labels)


def test_a_phone_photo_stored_sideways_is_turned_upright(tmp_path, decoder):
    """EXIF orientation 6 ("rotate 90° clockwise to view"), as phones write portrait photos: red on top, blue below
    in the stored pixels must come out red on the right, blue on the left — with either decoder."""
    stored = np.zeros((40, 40, 3), dtype=np.uint8)
    stored[:20, :, 0] = 255  # top half red
    stored[20:, :, 2] = 255  # bottom half blue
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(stored).save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    img = decode.decode_all([("portrait.jpg", buffer.getvalue())], 40)[0]  # as a folder is loaded
    left, right = img[:, 20, 5].tolist(), img[:, 20, 35].tolist()
    assert right[0] > 200 and right[2] < 60, right  # red went to the right
    assert left[2] > 200 and left[0] < 60, left     # blue to the left
