"""Tiny fake data sets in the real formats — a CIFAR-10 archive, image folders, the Hugging Face copy of
CIFAR-10 — for the tests and smoke mode.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import tarfile
import tempfile
import types
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch

from vgg_teach.training.data import CIFAR10_CLASSES, ImageTensors, PathLike
from vgg_teach.training.sources import _fake_images


# ---- from vgg_teach.training.fakes (phase-1 merge)
def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def make_fake_cifar10(root: PathLike, n_train: int = 250, n_test: int = 50, seed: int = 0) -> dict[str, str]:
    """Write a tiny ``root/cifar-10-python.tar.gz`` in CIFAR-10's real format; return its MD5s.

    The archive holds ``cifar-10-batches-py/data_batch_1…5``, ``test_batch`` and ``batches.meta``
    (pickles, like the real one), with ``n_train`` training images (split over the five batches)
    and ``n_test`` test images of the 10 classes. The returned table maps each of those file names,
    and the archive's own name, to its MD5: pass it to :func:`patched_cifar10_md5` so torchvision's
    integrity check accepts them.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    md5s: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "cifar-10-batches-py"
        work.mkdir()
        batches = [(f"data_batch_{i + 1}", n_train // 5 + (i < n_train % 5)) for i in range(5)]
        for name, count in batches + [("test_batch", n_test)]:
            labels = torch.arange(count) % 10
            labels = labels[torch.randperm(count, generator=gen)]
            images = _fake_images(labels, 32, gen, seed)
            entry = {"batch_label": name, "labels": labels.tolist(),
                     "data": images.reshape(count, -1).numpy(),
                     "filenames": [f"fake_{name}_{i}.png" for i in range(count)]}
            (work / name).write_bytes(pickle.dumps(entry, protocol=2))
        (work / "batches.meta").write_bytes(pickle.dumps(
            {"label_names": CIFAR10_CLASSES, "num_cases_per_batch": n_train // 5, "num_vis": 3072}, protocol=2))
        for path in sorted(work.iterdir()):
            md5s[path.name] = _md5(path)
        archive = root / "cifar-10-python.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(work, arcname="cifar-10-batches-py")
    md5s[archive.name] = _md5(archive)
    return md5s


@contextlib.contextmanager
def patched_cifar10_md5(md5s: dict[str, str]) -> Iterator[None]:
    """Make ``torchvision.datasets.CIFAR10`` expect the MD5s of a :func:`make_fake_cifar10` archive.

    torchvision checks the archive's MD5 (``tgz_md5``) before extracting it, then the MD5 of every
    file in ``train_list``/``test_list`` and of ``batches.meta``. Inside this block those tables hold
    the fake files' MD5s, so the real download code path runs — finds the archive already present,
    verifies it, extracts and checks it — without the internet. Restored on exit.
    """
    from torchvision.datasets import CIFAR10

    saved = (CIFAR10.tgz_md5, CIFAR10.train_list, CIFAR10.test_list, CIFAR10.meta)
    CIFAR10.tgz_md5 = md5s[CIFAR10.filename]
    CIFAR10.train_list = [[name, md5s[name]] for name, _ in saved[1]]
    CIFAR10.test_list = [[name, md5s[name]] for name, _ in saved[2]]
    CIFAR10.meta = {**saved[3], "md5": md5s[saved[3]["filename"]]}
    try:
        yield
    finally:
        CIFAR10.tgz_md5, CIFAR10.train_list, CIFAR10.test_list, CIFAR10.meta = saved


class _ClassLabel:
    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)


class FakeHFSplit:
    """What :mod:`.hf_cifar10` reads of a ``datasets.Dataset``: ``features["label"].names``, ``len()`` and the
    columns ``img`` (RGB PIL images) and ``label`` (ints, in this copy's own class order ``names``)."""

    def __init__(self, data: ImageTensors, names: Sequence[str] | None = None) -> None:
        names = list(names or data.classes)
        to_ours = [names.index(c) for c in data.classes]
        self.features = {"img": "Image()", "label": _ClassLabel(names)}
        self._images = data.images
        self._labels = [to_ours[y] for y in data.labels.tolist()]

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, column: str) -> list[Any]:
        from PIL import Image

        if column == "img":
            return [Image.fromarray(img.permute(1, 2, 0).numpy()) for img in self._images]
        if column == "label":
            return list(self._labels)
        raise KeyError(column)


def fake_hf_cifar10(train: ImageTensors, test: ImageTensors, names: Sequence[str] | None = None) -> dict:
    """The ``DatasetDict`` ``datasets.load_dataset("uoft-cs/cifar10")`` returns, holding ``train``/``test``'s
    images (``names``: the copy's class order, torchvision's unless given)."""
    return {"train": FakeHFSplit(train, names), "test": FakeHFSplit(test, names)}


def fake_datasets_module(splits: dict | None = None, error: Exception | None = None) -> types.ModuleType:
    """A stand-in ``datasets`` module whose ``load_dataset`` returns ``splits`` (or raises ``error``) and
    records each call's arguments in ``.calls``; put it in ``sys.modules["datasets"]``."""
    module = types.ModuleType("datasets")
    module.calls = []

    def load_dataset(path: str, *args: Any, **kwargs: Any) -> dict:
        module.calls.append((path, args, kwargs))
        if error is not None:
            raise error
        return splits

    module.load_dataset = load_dataset
    return module
