"""Test helpers, offline: a CIFAR-10 archive as torchvision downloads it (with torchvision's MD5 tables patched to
it), a ``datasets`` module serving the Hugging Face copy, a script loaded as a module, and the check that a message
is Korean, then English."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import pickle
import tarfile
import tempfile
import types
from pathlib import Path
from typing import Sequence

import torch

from vgg_teach.training.data import CIFAR10_CLASSES, ImageTensors


def script(path: Path, name: str) -> types.ModuleType:
    """A script outside any package (``.ci/``, ``benchmarks/``, a test's worker) as a module."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def metrics(out: Path) -> dict:
    """``OUT/metrics.json`` of a run."""
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


def korean_first(text: str, korean: str, english: str) -> None:
    assert korean in text and english in text and text.index(korean) < text.index(english), text


def make_fake_cifar10(root: Path, n_train: int = 250, n_test: int = 50) -> dict[str, str]:
    """Write ``root/cifar-10-python.tar.gz`` in CIFAR-10's format (pickled ``data_batch_1…5``, ``test_batch``,
    ``batches.meta``) with random images of the 10 classes; return the MD5 of every file and of the archive."""
    root.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
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
        return {path.name: hashlib.md5(path.read_bytes()).hexdigest() for path in [*work.iterdir(), archive]}


def patch_cifar10_md5(monkeypatch, md5s: dict[str, str]) -> None:
    """``torchvision.datasets.CIFAR10`` expecting the MD5s of a :func:`make_fake_cifar10` archive, so its real code
    path finds, verifies and extracts it (until the test ends)."""
    from torchvision.datasets import CIFAR10

    monkeypatch.setattr(CIFAR10, "tgz_md5", md5s[CIFAR10.filename])
    for table in ("train_list", "test_list"):
        monkeypatch.setattr(CIFAR10, table, [[name, md5s[name]] for name, _ in getattr(CIFAR10, table)])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5s[CIFAR10.meta["filename"]]})


class _HFSplit(dict):
    """What is read of a ``datasets.Dataset`` split: ``features["label"].names`` and its columns."""


def fake_datasets_module(train: ImageTensors | None = None, test: ImageTensors | None = None,
                         names: Sequence[str] | None = None, error: Exception | None = None) -> types.ModuleType:
    """A ``datasets`` module (for ``sys.modules``) whose ``load_dataset`` serves ``train``/``test`` as the hub copy
    does (columns ``img`` of RGB PIL images and ``label`` in the class order ``names``) or raises ``error``; it
    records each call in ``.calls``."""
    from PIL import Image

    def split(data: ImageTensors) -> _HFSplit:
        order = list(names or data.classes)
        columns = _HFSplit(img=[Image.fromarray(img.permute(1, 2, 0).numpy()) for img in data.images],
                           label=[order.index(data.classes[y]) for y in data.labels.tolist()])
        columns.features = {"label": types.SimpleNamespace(names=order)}
        return columns

    module = types.ModuleType("datasets")
    module.calls = []

    def load_dataset(path: str, *args, **kwargs) -> dict:
        module.calls.append((path, args, kwargs))
        if error is not None:
            raise error
        return {"train": split(train), "test": split(test)}

    module.load_dataset = load_dataset
    return module
