"""CIFAR-10's second source: the Hugging Face copy (``uoft-cs/cifar10``), as the same uint8 tensors as torchvision's.

``load_cifar10`` comes here only when torchvision's download fails or is too slow. Colab ships both
``datasets`` and ``huggingface_hub``; elsewhere ``pip install datasets`` makes this source available.

The copy has the columns ``img`` (a 32×32 RGB PIL image) and ``label`` (a ``ClassLabel`` with names). It is
converted to N×3×32×32 ``uint8`` images and int64 labels in torchvision's class order (labels are mapped by
class *name*, so a copy that lists the classes in another order still gets the right labels), then checked
before anything trains on it — :func:`verify_cifar10` — for what is known of CIFAR-10 without a second copy:

- 50,000 training and 10,000 test images, each 3×32×32 ``uint8``;
- exactly 5,000 training and 1,000 test images of every class (the data set is balanced by construction);
- the ten class names, the same as torchvision's;
- :func:`content_digest`, an order-independent SHA-256 of the (label, pixels) pairs: the same for any copy of
  the same images and labels, in any order. Its value for the real data is :data:`CIFAR10_DIGESTS`; it was not
  recorded yet (this repository's machines have no internet). Until someone fills it in, the digest is
  printed, not compared: run ``python -m vgg_teach.training.cifar10 DATA_ROOT`` on a machine with internet,
  which loads both sources, says whether their digests agree, and prints the values to record.
"""

from __future__ import annotations

import hashlib

import torch

from ..errors import DataError, bilingual
from .data import CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD, ImageTensors, PathLike

__all__ = ["HF_DATASET", "CIFAR10_PER_CLASS", "CIFAR10_DIGESTS", "load_hf_cifar10", "convert_split",
           "verify_cifar10", "content_digest"]

HF_DATASET = "uoft-cs/cifar10"
#: Images per class in each split of the real CIFAR-10.
CIFAR10_PER_CLASS = {"train": 5000, "test": 1000}
#: :func:`content_digest` of the real splits — to be recorded on a machine with internet (module docstring).
CIFAR10_DIGESTS: dict[str, str | None] = {"train": None, "test": None}


def load_hf_cifar10(cache_dir: PathLike) -> tuple[ImageTensors, ImageTensors]:
    """``(train, test)`` from the Hugging Face hub, cached under ``cache_dir``, converted and verified.

    Raises ``ImportError`` when ``datasets`` is not installed, whatever ``datasets`` raises when the hub
    cannot be reached, and :class:`DataError` when the converted data fail :func:`verify_cifar10`.
    """
    import datasets

    splits = datasets.load_dataset(HF_DATASET, cache_dir=str(cache_dir))
    return convert_split(splits["train"], "train"), convert_split(splits["test"], "test")


def convert_split(split, name: str) -> ImageTensors:
    """One split of the copy (``img``/``label`` columns) → verified :class:`ImageTensors` in torchvision's order."""
    import numpy as np

    names = list(split.features["label"].names)
    if sorted(names) != sorted(CIFAR10_CLASSES):
        raise DataError(_bad(name, f"classes {names}, not CIFAR-10's {CIFAR10_CLASSES}"))
    to_torchvision = torch.tensor([CIFAR10_CLASSES.index(n) for n in names])
    pixels = np.stack([np.asarray(img.convert("RGB"), dtype=np.uint8) for img in split["img"]])
    images = torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous()  # N×H×W×C → N×C×H×W
    labels = to_torchvision[torch.tensor(list(split["label"]), dtype=torch.int64)]
    data = ImageTensors(images, labels, list(CIFAR10_CLASSES), CIFAR10_MEAN, CIFAR10_STD)
    verify_cifar10(data, name)
    return data


def content_digest(images: torch.Tensor, labels: torch.Tensor) -> str:
    """SHA-256 of the sorted SHA-256s of every (label, image bytes) pair: equal for two copies of the same
    images and labels whatever their order (torchvision's and the hub's are compared this way)."""
    flat = images.reshape(images.shape[0], -1).contiguous().numpy()
    pairs = sorted(hashlib.sha256(bytes([int(y)]) + row.tobytes()).digest() for y, row in zip(labels.tolist(), flat))
    return hashlib.sha256(b"".join(pairs)).hexdigest()


def verify_cifar10(data: ImageTensors, split: str) -> None:
    """Raise :class:`DataError` unless ``data`` is what CIFAR-10's ``split`` must be (module docstring)."""
    per_class = CIFAR10_PER_CLASS[split]
    n = per_class * len(CIFAR10_CLASSES)
    if data.images.dtype != torch.uint8 or tuple(data.images.shape) != (n, 3, 32, 32):
        raise DataError(_bad(split, f"images {tuple(data.images.shape)} {data.images.dtype}, not ({n}, 3, 32, 32) "
                                    "uint8"))
    if list(data.classes) != CIFAR10_CLASSES:
        raise DataError(_bad(split, f"class names {data.classes}"))
    counts = data.class_counts()
    if len(data.labels) != n or counts != [per_class] * len(CIFAR10_CLASSES):
        raise DataError(_bad(split, f"images per class {counts}, not {per_class} each"))
    digest, known = content_digest(data.images, data.labels), CIFAR10_DIGESTS.get(split)
    if known is not None and digest != known:
        raise DataError(_bad(split, f"content digest {digest[:16]}…, not the recorded {known[:16]}…"))
    if known is None:
        print(f"CIFAR-10 {split}: content digest {digest[:16]}… (no recorded value to compare it with yet)")


def _bad(split: str, what: str) -> str:
    return bilingual(
        f"Hugging Face의 CIFAR-10({HF_DATASET}) {split} 세트가 예상과 다릅니다: {what}. "
        "이 데이터로는 학습하지 않습니다.",
        f"The Hugging Face copy of CIFAR-10 ({HF_DATASET}), {split} split, is not as expected: {what}. "
        "It is not used for training.")
