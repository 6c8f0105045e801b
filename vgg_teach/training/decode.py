"""Encoded images (JPEG, PNG, …) to uint8 3×size×size tensors: torchvision's decoders, PIL standing by."""

from __future__ import annotations

import io
import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Sequence

import torch

from ..errors import DataError, bilingual

__all__ = ["decode_image", "decode_all"]


def decode_image(data: bytes, image_size: int, name: str) -> torch.Tensor:
    """One encoded image → uint8 3×size×size (shorter side resized, then centre-cropped)."""
    from torchvision.transforms.v2 import functional as TF

    try:  # torchvision's decoders (deprecated in 0.29 in favour of TorchCodec, so PIL stands by)
        from torchvision.io import ImageReadMode
        from torchvision.io import decode_image as tv_decode
        img = tv_decode(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.RGB)
    except (ImportError, RuntimeError):
        img = _decode_with_pil(data, name)
    if img.ndim == 4:  # an animated GIF: keep the first frame
        img = img[0]
    if img.shape[-2:] != (image_size, image_size):
        img = TF.center_crop(TF.resize(img, [image_size], antialias=True), [image_size, image_size])
    return img


def _decode_with_pil(data: bytes, name: str) -> torch.Tensor:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            rgb = im.convert("RGB")
    except (UnidentifiedImageError, OSError) as err:
        raise DataError(bilingual(
            f"이미지 파일을 읽을 수 없습니다: {name} ({err}). 손상된 파일이면 지우고 다시 실행하세요.",
            f"Cannot read the image file {name} ({err}). If it is broken, delete it and run again.",
        )) from None
    return torch.frombuffer(bytearray(rgb.tobytes()), dtype=torch.uint8).view(
        rgb.height, rgb.width, 3).permute(2, 0, 1).contiguous()


def decode_all(items: Sequence[tuple[str, bytes]], image_size: int,
                workers: Optional[int] = None) -> torch.Tensor:
    """Decode many images in a thread pool, in chunks.

    torchvision's decoders release the GIL, so large photos decode in parallel on all cores; for
    32×32 JPEGs the per-image Python overhead dominates and 50,000 take about a second or two
    either way — hence the ``.pt`` cache.
    """
    if not items:
        return torch.empty(0, 3, image_size, image_size, dtype=torch.uint8)
    workers = workers or min(8, os.cpu_count() or 1)
    chunk = max(1, math.ceil(len(items) / (workers * 4)))
    chunks = [items[i:i + chunk] for i in range(0, len(items), chunk)]

    def decode_chunk(part: Sequence[tuple[str, bytes]]) -> torch.Tensor:
        return torch.stack([decode_image(data, image_size, name) for name, data in part])

    # torchvision 0.29 deprecates its decoders (one warning per image); PIL takes over once they go.
    with warnings.catch_warnings(), ThreadPoolExecutor(max_workers=workers) as pool:
        warnings.filterwarnings("ignore", message="The image decoding and encoding capabilities of TorchVision",
                                category=DeprecationWarning)
        return torch.cat(list(pool.map(decode_chunk, chunks)))
