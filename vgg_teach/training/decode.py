"""Encoded images (JPEG, PNG, …) to uint8 3×size×size tensors: torchvision's decoders, PIL standing by.

Every image becomes 8-bit RGB, whatever it was: gray, palette, with alpha, or 16 bits per channel (scaled
to 0–255, not clipped), turned upright as its EXIF orientation says (a phone's portrait photo is stored
sideways). Files are read and decoded a few chunks at a time (:func:`decode_all`), so a folder of large photos
never sits in memory as encoded bytes. A file that cannot be decoded does not stop at the first one: every
broken file is named in one bilingual :class:`~vgg_teach.errors.DataError`.
"""

from __future__ import annotations

import io
import itertools
import os
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Optional, Union

import numpy as np
import torch

from ..errors import DataError, bilingual, cause

__all__ = ["decode_image", "decode_all", "to_uint8"]

#: An image to decode: its name (for messages) and its bytes, or the path to read them from.
Source = Union[bytes, Path]
#: Images per chunk handed to a decoding thread; at most ``2 × workers`` chunks are in flight.
CHUNK = 64
#: How many broken files one message lists by name.
LIST_AT_MOST = 10


class _Unreadable(Exception):
    """One file could not be decoded: why, in Korean and English."""

    def __init__(self, korean: str, english: str) -> None:
        super().__init__(english)
        self.korean, self.english = korean, english


def to_uint8(img: torch.Tensor) -> torch.Tensor:
    """A 16-bit image (uint16 from torchvision, int32 from PIL) → uint8: ``round(v · 255 / 65535)``, not clipped."""
    if img.dtype == torch.uint8:
        return img
    top = 65535  # uint16 from torchvision, int32 from PIL's 16-bit modes
    wide = img.to(torch.int64).clamp(0, top)
    return torch.div(wide * 255 + top // 2, top, rounding_mode="floor").to(torch.uint8)


def _decode(data: bytes, image_size: int) -> torch.Tensor:
    from torchvision.transforms.v2 import functional as TF

    if not data:
        raise _Unreadable("빈 파일(0바이트)", "empty file (0 bytes)")
    try:  # torchvision's decoders (deprecated in 0.29 in favour of TorchCodec, so PIL stands by)
        from torchvision.io import ImageReadMode
        from torchvision.io import decode_image as tv_decode
        img = tv_decode(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.RGB,
                        apply_exif_orientation=True)
    except (ImportError, RuntimeError, ValueError):
        img = _decode_with_pil(data)
    if img.ndim == 4:  # an animated GIF: keep the first frame
        img = img[0]
    img = to_uint8(img)
    if img.shape[-2:] != (image_size, image_size):
        img = TF.center_crop(TF.resize(img, [image_size], antialias=True), [image_size, image_size])
    return img


def _decode_with_pil(data: bytes) -> torch.Tensor:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            im = ImageOps.exif_transpose(opened)  # upright, as the EXIF orientation says (a copy, or itself)
            if im.mode == "I" or im.mode.startswith("I;16"):  # 16-bit grey: PIL's RGB would clip it at 255
                grey = to_uint8(torch.from_numpy(np.asarray(im).astype(np.int32)))
                return grey.unsqueeze(0).expand(3, -1, -1).contiguous()
            rgb = im.convert("RGB")
    except UnidentifiedImageError:
        raise _Unreadable("이미지 형식을 알아볼 수 없음", "not an image format that can be read") from None
    except (OSError, ValueError, SyntaxError) as err:  # PIL raises SyntaxError for some broken headers
        if "truncated" in str(err).lower():
            raise _Unreadable("파일이 중간에 잘림(내려받기나 압축 풀기가 덜 끝났나요?)",
                              "the file is truncated (an unfinished download or unzip?)") from None
        raise _Unreadable(f"손상된 파일({cause(err)})", f"broken file ({cause(err)})") from None
    return torch.frombuffer(bytearray(rgb.tobytes()), dtype=torch.uint8).view(
        rgb.height, rgb.width, 3).permute(2, 0, 1).contiguous()


def _broken(failures: list[tuple[str, _Unreadable]], total: int) -> DataError:
    lines = [f"  - {name}: {why.korean} / {why.english}" for name, why in failures[:LIST_AT_MOST]]
    if len(failures) > LIST_AT_MOST:
        lines.append(f"  … (+{len(failures) - LIST_AT_MOST})")
    return DataError(bilingual(
        f"이미지 {total}개 중 {len(failures)}개를 읽을 수 없습니다. 아래 파일을 고치거나 지운 뒤 다시 실행하세요.",
        f"{len(failures)} of {total} images cannot be read. Repair or delete the files below and run again.",
    ) + "\n" + "\n".join(lines))


def decode_image(data: bytes, image_size: int, name: str) -> torch.Tensor:
    """One encoded image → uint8 3×size×size (shorter side resized, then center-cropped).

    Raises :class:`~vgg_teach.errors.DataError` naming ``name`` when it cannot be decoded.
    """
    try:
        return _decode(data, image_size)
    except _Unreadable as why:
        raise _broken([(name, why)], 1) from None


def _decode_chunk(part: list[tuple[str, Source]], image_size: int):
    images, failures = [], []
    for name, source in part:
        try:
            data = source.read_bytes() if isinstance(source, Path) else source
            images.append(_decode(data, image_size))
        except _Unreadable as why:
            failures.append((name, why))
        except Exception as err:  # the file vanished, cannot be read, or PIL refuses it (a "decompression bomb" …)
            failures.append((name, _Unreadable(f"읽을 수 없음({cause(err)})", f"cannot be read ({cause(err)})")))
    return images, failures


def decode_all(items: Iterable[tuple[str, Source]], image_size: int, workers: Optional[int] = None) -> torch.Tensor:
    """Decode many images in a thread pool, streaming: N×3×size×size uint8, in the order of ``items``.

    ``items`` holds ``(name, bytes)`` or ``(name, path)``; a path is read by the decoding thread, and
    ``items`` may be a generator (a tar archive read as it goes): only a few chunks of encoded bytes exist at
    any time. torchvision's decoders release the GIL, so large photos decode in parallel on all cores; for
    32×32 JPEGs the per-image Python overhead dominates and 50,000 take a few seconds either way — hence the
    ``.pt`` cache of :mod:`.folders`. Raises :class:`~vgg_teach.errors.DataError` listing every broken file.
    """
    workers = workers or min(8, os.cpu_count() or 1)
    chunks: list[torch.Tensor] = []
    failures: list[tuple[str, _Unreadable]] = []
    total = 0

    def collect(future) -> None:
        images, bad = future.result()
        failures.extend(bad)
        if images and not failures:  # after the first failure only the names of the others matter
            chunks.append(torch.stack(images))

    # torchvision 0.29 deprecates its decoders (one warning per image); PIL takes over once they go.
    with warnings.catch_warnings(), ThreadPoolExecutor(max_workers=workers) as pool:
        warnings.filterwarnings("ignore", message="The image decoding and encoding capabilities of TorchVision",
                                category=DeprecationWarning)
        pending: deque = deque()
        items = iter(items)
        while part := list(itertools.islice(items, CHUNK)):
            total += len(part)
            pending.append(pool.submit(_decode_chunk, part, image_size))
            while len(pending) > 2 * workers:
                collect(pending.popleft())
        while pending:
            collect(pending.popleft())
    if failures:
        raise _broken(failures, total)
    return torch.cat(chunks) if chunks else torch.empty(0, 3, image_size, image_size, dtype=torch.uint8)
