"""Your own images: ``DIR/<class>/…`` folders and ``.tar(.gz)`` archives of them, decoded once and cached.

Folders are taken as learners make them: class names are compared in NFC (a macOS copy writes Hangul
decomposed), names that are not UTF-8 (a zip from a Korean Windows computer: CP949) are handled as bytes
and shown readably (:func:`vgg_teach.errors.readable`), and files are read while they are decoded.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import torch

from ..errors import DataError, bilingual, readable
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


def _class_dirs(folder: Path) -> dict[str, list[Path]]:
    """Class name (readable, NFC) → its folders (two when NFC and NFD copies of one name sit side by side)."""
    found: dict[str, list[Path]] = {}
    for p in sorted(folder.iterdir()):
        if p.is_dir() and not p.name.startswith("."):  # .ipynb_checkpoints, .DS_Store … are never classes
            found.setdefault(readable(p.name), []).append(p)
    return dict(sorted(found.items()))


def _shown(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder``, readable even when the name is not UTF-8."""
    return readable(str(path.relative_to(folder)))


def load_image_folder(folder: PathLike, classes: Optional[Sequence[str]] = None, image_size: int = 32,
                      cache: Optional[PathLike] = None, workers: Optional[int] = None) -> ImageTensors:
    """Every image of ``folder/<class>/…`` as one uint8 tensor, resized to ``image_size``.

    ``classes`` fixes the class order (pass the training set's classes when loading the test set;
    a test class that is not among them is an error). Images that are not ``image_size`` square are
    resized (shorter side) and center-cropped. ``cache`` names a ``.pt`` file that keeps the
    decoded tensor for the next run; it is rebuilt when the files change.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(bilingual(f"폴더가 없습니다: {folder}", f"No such folder: {folder}"))
    found = _class_dirs(folder)
    if not found:
        raise DataError(bilingual(
            f"{folder} 안에 클래스 폴더가 없습니다. 이미지를 {folder}/<클래스 이름>/사진.jpg 처럼 넣으세요.",
            f"{folder} has no class folders. Put images at {folder}/<class name>/photo.jpg.",
        ))
    classes = [readable(c) for c in classes] if classes is not None else list(found)
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
        for class_dir in found.get(name, []):
            images = sorted(p for p in class_dir.rglob("*") if p.is_file() and _is_image(p))
            if not images:
                shown = folder / _shown(class_dir, folder)
                raise DataError(bilingual(
                    f"클래스 폴더 {shown} 에 이미지가 없습니다 ({', '.join(IMAGE_EXTENSIONS)} 파일을 넣거나 "
                    "폴더를 지우세요).",
                    f"The class folder {shown} holds no images (add {', '.join(IMAGE_EXTENSIONS)} files "
                    "or delete the folder).",
                ))
            files += [(p, label) for p in images]

    # File names as bytes: a name that is not UTF-8 cannot be encoded as text, but it is still a name.
    digest = hashlib.sha1(f"folder:{image_size}:{classes}".encode())
    for path, label in files:
        stat = path.stat()
        digest.update(os.fsencode(path.relative_to(folder)) + f":{label}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())

    def build() -> ImageTensors:  # each file is read by the thread that decodes it
        items = ((_shown(p, folder), p) for p, _ in files)
        return ImageTensors(decode_all(items, image_size, workers),
                            torch.tensor([label for _, label in files], dtype=torch.int64), classes)

    return _cached(cache, digest.hexdigest(), build)


def load_image_folder_splits(data_dir: PathLike, image_size: int = 32,
                             cache_dir: Optional[PathLike] = None) -> tuple[ImageTensors, ImageTensors]:
    """``data_dir/train/<class>/…`` and ``data_dir/test/<class>/…`` → ``(train, test)``.

    Both are normalized with the training images' per-channel mean and standard deviation.
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
        names: list[str] = []

        def members(tar: tarfile.TarFile) -> Iterator[tuple[str, bytes]]:  # read as the decoder asks for them
            for member in tar:
                name = Path(member.name)
                if member.isfile() and _is_image(name) and len(name.parts) >= 2:
                    names.append(member.name)
                    yield readable(member.name), tar.extractfile(member).read()

        with tarfile.open(path) as tar:
            images = decode_all(members(tar), image_size, workers)
        if not names:
            raise DataError(bilingual(f"{path} 안에 이미지가 없습니다.", f"{path} holds no images."))
        order = sorted(range(len(names)), key=names.__getitem__)
        class_of = [readable(Path(names[i]).parent.name) for i in order]
        classes = sorted(set(class_of))
        index = {c: i for i, c in enumerate(classes)}
        labels = torch.tensor([index[c] for c in class_of], dtype=torch.int64)
        return ImageTensors(images[torch.tensor(order, dtype=torch.int64)], labels, classes)

    return _cached(cache, key, build)
