"""Your own images: ``DIR/<class>/…`` folders and ``.tar(.gz)`` archives of them, decoded once and cached."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch

from ..errors import DataError, bilingual
from .checkpoint import atomic_save
from .data import IMAGE_EXTENSIONS, ImageTensors, PathLike
from .decode import decode_all

__all__ = ["load_image_folder", "load_image_folder_splits", "load_jpeg_tarball"]


def _cached(cache: Optional[PathLike], key: str, build: Callable[[], ImageTensors]) -> ImageTensors:
    """Load ``cache`` if it was made from the same source (``key``), else build and save it."""
    if cache is not None and Path(cache).is_file():
        try:
            saved = torch.load(Path(cache), map_location="cpu", weights_only=True)
        except Exception:  # an unreadable cache is rebuilt, never fatal
            saved = None
        if isinstance(saved, dict) and saved.get("key") == key:
            return ImageTensors(saved["images"], saved["labels"], list(saved["classes"]))
    data = build()
    if cache is not None:
        atomic_save({"key": key, "images": data.images, "labels": data.labels,
                     "classes": data.classes}, cache)
    return data


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def _class_dirs(folder: Path) -> list[Path]:
    # Hidden folders (.ipynb_checkpoints, .DS_Store …) are never classes.
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def load_image_folder(folder: PathLike, classes: Optional[Sequence[str]] = None, image_size: int = 32,
                      cache: Optional[PathLike] = None, workers: Optional[int] = None) -> ImageTensors:
    """Every image of ``folder/<class>/…`` as one uint8 tensor, resized to ``image_size``.

    ``classes`` fixes the class order (pass the training set's classes when loading the test set;
    a test class that is not among them is an error). Images that are not ``image_size`` square are
    resized (shorter side) and centre-cropped. ``cache`` names a ``.pt`` file that keeps the
    decoded tensor for the next run; it is rebuilt when the files change.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(bilingual(f"폴더가 없습니다: {folder}", f"No such folder: {folder}"))
    found = [p.name for p in _class_dirs(folder)]
    if not found:
        raise DataError(bilingual(
            f"{folder} 안에 클래스 폴더가 없습니다. 이미지를 {folder}/<클래스 이름>/사진.jpg 처럼 넣으세요.",
            f"{folder} has no class folders. Put images at {folder}/<class name>/photo.jpg.",
        ))
    classes = list(classes) if classes is not None else found
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise DataError(bilingual(
            f"{folder} 에 학습 데이터에 없는 클래스 폴더가 있습니다: {unknown}. 학습(train)과 시험(test) 폴더의 "
            "클래스 이름을 같게 맞추세요.",
            f"{folder} has class folders that the training data does not have: {unknown}. Use the same "
            "class names under train/ and test/.",
        ))
    files: list[tuple[Path, int]] = []
    for label, name in enumerate(classes):
        class_dir = folder / name
        images = sorted(p for p in class_dir.rglob("*") if p.is_file() and _is_image(p)) \
            if class_dir.is_dir() else []
        if class_dir.is_dir() and not images:
            raise DataError(bilingual(
                f"클래스 폴더 {class_dir} 에 이미지가 없습니다 ({', '.join(IMAGE_EXTENSIONS)} 파일을 넣거나 "
                "폴더를 지우세요).",
                f"The class folder {class_dir} holds no images (add {', '.join(IMAGE_EXTENSIONS)} files "
                "or delete the folder).",
            ))
        files += [(p, label) for p in images]

    digest = hashlib.sha1(f"folder:{image_size}:{classes}".encode())
    for path, label in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}:{label}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())

    def build() -> ImageTensors:
        items = [(str(p), p.read_bytes()) for p, _ in files]
        return ImageTensors(decode_all(items, image_size, workers),
                            torch.tensor([label for _, label in files], dtype=torch.int64), classes)

    return _cached(cache, digest.hexdigest(), build)


def load_image_folder_splits(data_dir: PathLike, image_size: int = 32,
                             cache_dir: Optional[PathLike] = None) -> tuple[ImageTensors, ImageTensors]:
    """``data_dir/train/<class>/…`` and ``data_dir/test/<class>/…`` → ``(train, test)``.

    Both are normalised with the training images' per-channel mean and standard deviation.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(bilingual(f"데이터 폴더가 없습니다: {data_dir}", f"No such data folder: {data_dir}"))
    for split in ("train", "test"):
        if not (data_dir / split).is_dir():
            raise DataError(bilingual(
                f"{data_dir} 안에 '{split}' 폴더가 없습니다. {data_dir}/train/<클래스>/… 와 "
                f"{data_dir}/test/<클래스>/… 로 나눠 넣으세요.",
                f"{data_dir} has no '{split}' folder. Arrange the images as {data_dir}/train/<class>/… "
                f"and {data_dir}/test/<class>/….",
            ))
    cache = (lambda split: Path(cache_dir) / f"{split}-{image_size}px.pt") if cache_dir else (lambda split: None)
    train = load_image_folder(data_dir / "train", image_size=image_size, cache=cache("train"))
    test = load_image_folder(data_dir / "test", classes=train.classes, image_size=image_size,
                             cache=cache("test"))
    return train, test.with_stats(train.mean, train.std)


def load_jpeg_tarball(path: PathLike, image_size: int = 32, cache: Optional[PathLike] = None,
                      workers: Optional[int] = None) -> ImageTensors:
    """An image-folder data set packed as ``.tar``/``.tar.gz`` (``…/<class>/<image>``), read in memory.

    Used by ``benchmarks/train_speed.py`` for the 50,000 CIFAR-10 training images as JPEGs: the
    archive is read once, the images are decoded in parallel, and ``cache`` keeps the uint8 tensor
    (150 MB) so that later runs start in about a second.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(bilingual(f"압축 파일이 없습니다: {path}", f"No such archive: {path}"))
    stat = path.stat()
    key = f"tar:{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{image_size}"

    def build() -> ImageTensors:
        items: list[tuple[str, bytes]] = []
        with tarfile.open(path) as tar:
            for member in tar:
                name = Path(member.name)
                if member.isfile() and _is_image(name) and len(name.parts) >= 2:
                    items.append((member.name, tar.extractfile(member).read()))
        if not items:
            raise DataError(bilingual(f"{path} 안에 이미지가 없습니다.", f"{path} holds no images."))
        items.sort()
        classes = sorted({Path(name).parent.name for name, _ in items})
        index = {c: i for i, c in enumerate(classes)}
        labels = torch.tensor([index[Path(name).parent.name] for name, _ in items], dtype=torch.int64)
        return ImageTensors(decode_all(items, image_size, workers), labels, classes)

    return _cached(cache, key, build)
