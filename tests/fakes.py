"""Tiny fakes in the real formats, so the real loading code runs offline: a CIFAR-10 archive as torchvision
downloads it (with torchvision's MD5 tables patched to it), and a ``datasets`` module serving the Hugging Face copy."""

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

from vgg_teach.training.data import CIFAR10_CLASSES, ImageTensors


def make_fake_cifar10(root: Path, n_train: int = 250, n_test: int = 50) -> dict[str, str]:
    """Write ``root/cifar-10-python.tar.gz`` in CIFAR-10's format (pickled ``data_batch_1…5``, ``test_batch``,
    ``batches.meta``) with random images of the 10 classes; return the MD5 of every file and of the archive."""
    root.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    md5s: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "cifar-10-batches-py"
        work.mkdir()
        batches = [(f"data_batch_{i + 1}", n_train // 5 + (i < n_train % 5)) for i in range(5)]
        for name, count in batches + [("test_batch", n_test)]:
            labels = (torch.arange(count) % 10)[torch.randperm(count, generator=gen)]
            images = (torch.rand(count, 3, 32, 32, generator=gen) * 255).to(torch.uint8)
            images[:, 0] = images[:, 0] // 2 + (labels * 12).view(-1, 1, 1).to(torch.uint8)  # learnable
            (work / name).write_bytes(pickle.dumps({"batch_label": name, "labels": labels.tolist(),
                                                    "data": images.reshape(count, -1).numpy()}, protocol=2))
        (work / "batches.meta").write_bytes(pickle.dumps({"label_names": CIFAR10_CLASSES}, protocol=2))
        archive = root / "cifar-10-python.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(work, arcname="cifar-10-batches-py")
        for path in [*work.iterdir(), archive]:
            md5s[path.name] = hashlib.md5(path.read_bytes()).hexdigest()
    return md5s


@contextlib.contextmanager
def patched_cifar10_md5(md5s: dict[str, str]) -> Iterator[None]:
    """``torchvision.datasets.CIFAR10`` expecting the MD5s of a :func:`make_fake_cifar10` archive (the archive's,
    then every file's), so its real code path finds, verifies and extracts it; restored on exit."""
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


class FakeHFSplit:
    """What is read of a ``datasets.Dataset`` split: ``features["label"].names`` and the columns ``img`` (RGB PIL
    images) and ``label`` (ints in this copy's class order ``names``)."""

    def __init__(self, data: ImageTensors, names: Sequence[str] | None = None) -> None:
        names = list(names or data.classes)
        self.features = {"img": "Image()", "label": types.SimpleNamespace(names=names)}
        self._images, self._labels = data.images, [names.index(data.classes[y]) for y in data.labels.tolist()]

    def __getitem__(self, column: str) -> list[Any]:
        from PIL import Image

        if column == "img":
            return [Image.fromarray(img.permute(1, 2, 0).numpy()) for img in self._images]
        return list(self._labels)


def fake_datasets_module(train: ImageTensors | None = None, test: ImageTensors | None = None,
                         names: Sequence[str] | None = None, error: Exception | None = None) -> types.ModuleType:
    """A ``datasets`` module (for ``sys.modules``) whose ``load_dataset`` serves ``train``/``test`` as the hub copy
    (classes in the order ``names``) or raises ``error``, recording each call in ``.calls``."""
    module = types.ModuleType("datasets")
    module.calls = []

    def load_dataset(path: str, *args: Any, **kwargs: Any) -> dict:
        module.calls.append((path, args, kwargs))
        if error is not None:
            raise error
        return {"train": FakeHFSplit(train, names), "test": FakeHFSplit(test, names)}

    module.load_dataset = load_dataset
    return module
