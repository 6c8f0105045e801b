"""Data for lesson 05: CIFAR-10 or your own image folders, kept on the GPU as uint8 tensors.

Why not a ``DataLoader`` with PIL transforms? For CIFAR-sized images a GPU is *faster than the
data pipeline*: a default ``DataLoader`` decodes, crops, flips and normalises one PIL image at a
time in Python worker processes and then copies every batch to the GPU. On an H100 that is several
times slower than VGG16's forward and backward pass, so the GPU would sit idle most of the time.
Here instead:

1. the whole data set is decoded **once** into one ``uint8`` tensor (50,000 × 3 × 32 × 32 bytes is
   only 150 MB) — :func:`load_cifar10`, :func:`load_image_folder`, :func:`load_jpeg_tarball` (the
   last two can cache the tensor to a ``.pt`` file so the next run skips decoding);
2. that tensor is copied to the GPU once (:class:`DeviceLoader`);
3. every batch is augmented **on the GPU, all images at once** (:func:`random_crop_flip`: random
   crops as "pad by 4 pixels, then read a 32×32 window at a random offset", flips as
   ``torch.where`` on the column index) and normalised there (:func:`normalize`).

The random offsets, flips and shuffling come from a CPU generator seeded by ``(seed, epoch)``, so a
run is repeatable, a resumed run sees the same batches as an uninterrupted one, and the CPU and the
GPU see the same augmentation.

The ``make_fake_*`` functions write tiny CIFAR-10-format archives and image folders for the tests
and for smoke mode.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import pickle
import tarfile
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Union

import torch
import torch.nn.functional as F

from .env import is_smoke

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "IMAGE_EXTENSIONS",
    "DataError",
    "bilingual",
    "smoke_note",
    "ImageTensors",
    "load_cifar10",
    "load_image_folder",
    "load_image_folder_splits",
    "load_jpeg_tarball",
    "stratified_split",
    "hold_out",
    "subsample",
    "random_crop_flip",
    "normalize",
    "DeviceLoader",
    "make_fake_cifar10",
    "patched_cifar10_md5",
    "make_image_folder",
]

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]
#: Per-channel mean and standard deviation of the 50,000 CIFAR-10 training images (0–1 scale).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")

PathLike = Union[str, "os.PathLike[str]"]


def bilingual(korean: str, english: str) -> str:
    """A message in Korean, then in English, on two lines (the course's convention)."""
    return f"{korean}\n{english}"


def smoke_note(korean: str, english: str) -> str:
    """A boxed, hard-to-miss note (Korean, then English) for what smoke mode replaced."""
    rule = "=" * 78
    return f"{rule}\n⚠ {korean}\n⚠ {english}\n{rule}"


class DataError(ValueError):
    """The data cannot be used as given; the message (Korean, then English) says what to fix."""


@dataclass
class ImageTensors:
    """A whole image data set as tensors: ``images`` uint8 N×3×H×W, ``labels`` int64 N."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index: torch.Tensor) -> "ImageTensors":
        """The images at ``index`` (a 1-D index tensor), with the same class list."""
        return ImageTensors(self.images[index], self.labels[index], list(self.classes))

    def class_counts(self) -> list[int]:
        return torch.bincount(self.labels, minlength=len(self.classes)).tolist()


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

def load_cifar10(root: PathLike = "data", download: bool = True) -> tuple[ImageTensors, ImageTensors]:
    """CIFAR-10's 50,000 training and 10,000 test images, through ``torchvision.datasets.CIFAR10``.

    The download (about 170 MB) happens once into ``root``; torchvision checks every file's MD5.
    Returns ``(train, test)`` as :class:`ImageTensors`. In smoke mode (``VGG_TEACH_SMOKE=1``) with no
    CIFAR-10 in ``root`` it does not download: it writes a tiny fake CIFAR-10 (500 + 100 random
    images) under ``root/smoke-fake-cifar10``, loads that through the same torchvision code, and says so.
    """
    from torchvision.datasets import CIFAR10

    root = Path(root)
    present = (root / CIFAR10.base_folder).is_dir() or (root / CIFAR10.filename).is_file()
    if is_smoke() and not present:
        fake_root = root / "smoke-fake-cifar10"
        print(smoke_note(*(text.format(root=root) for text in _SMOKE_CIFAR_NOTE)), flush=True)
        with patched_cifar10_md5(make_fake_cifar10(fake_root, n_train=500, n_test=100)):
            return _load_cifar10(fake_root, download)
    return _load_cifar10(root, download)


_SMOKE_CIFAR_NOTE = (
    "점검(smoke) 모드: {root} 에 CIFAR-10이 없어 내려받지 않고, 무작위 이미지로 만든 작은 가짜 CIFAR-10을 "
    "씁니다. 아래 정확도는 의미가 없습니다.",
    "Smoke mode: no CIFAR-10 in {root}, so instead of downloading it a tiny FAKE CIFAR-10 of random "
    "images is used. The accuracies below mean nothing.",
)


def _load_cifar10(root: Path, download: bool) -> tuple[ImageTensors, ImageTensors]:
    from torchvision.datasets import CIFAR10

    splits = []
    for train in (True, False):
        try:
            ds = CIFAR10(str(root), train=train, download=download)
        except (OSError, RuntimeError) as err:  # URLError is an OSError
            archive = root / CIFAR10.filename
            raise DataError(bilingual(
                f"CIFAR-10을 불러오지 못했습니다 ({type(err).__name__}: {err}). 인터넷 연결을 확인하고 다시 "
                f"실행하거나, {CIFAR10.url} 에서 받은 파일을 {archive} 에 두고 다시 실행하세요. "
                "Colab이라면 런타임을 다시 연결한 뒤 이 셀을 다시 실행하세요.",
                f"Could not load CIFAR-10 ({type(err).__name__}: {err}). Check the internet connection and "
                f"run again, or download {CIFAR10.url} yourself, put it at {archive} and run again. "
                "On Colab, reconnect the runtime and re-run this cell.",
            )) from None
        images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()  # N×H×W×C → N×C×H×W
        splits.append(ImageTensors(images, torch.tensor(ds.targets, dtype=torch.int64), list(ds.classes)))
    return splits[0], splits[1]


def _decode(data: bytes, image_size: int, name: str) -> torch.Tensor:
    """One encoded image → uint8 3×size×size (shorter side resized, then centre-cropped)."""
    from torchvision.transforms.v2 import functional as TF

    try:  # torchvision's decoders (deprecated in 0.29 in favour of TorchCodec, so PIL stands by)
        from torchvision.io import ImageReadMode, decode_image
        img = decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.RGB)
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


def _decode_all(items: Sequence[tuple[str, bytes]], image_size: int,
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
        return torch.stack([_decode(data, image_size, name) for name, data in part])

    # torchvision 0.29 deprecates its decoders (one warning per image); PIL takes over once they go.
    with warnings.catch_warnings(), ThreadPoolExecutor(max_workers=workers) as pool:
        warnings.filterwarnings("ignore", message="The image decoding and encoding capabilities of TorchVision",
                                category=DeprecationWarning)
        return torch.cat(list(pool.map(decode_chunk, chunks)))


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
        from .checkpoint import atomic_save
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
        return ImageTensors(_decode_all(items, image_size, workers),
                            torch.tensor([label for _, label in files], dtype=torch.int64), classes)

    return _cached(cache, digest.hexdigest(), build)


def load_image_folder_splits(data_dir: PathLike, image_size: int = 32,
                             cache_dir: Optional[PathLike] = None) -> tuple[ImageTensors, ImageTensors]:
    """``data_dir/train/<class>/…`` and ``data_dir/test/<class>/…`` → ``(train, test)``."""
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
    return train, test


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
        return ImageTensors(_decode_all(items, image_size, workers), labels, classes)

    return _cached(cache, key, build)


# --------------------------------------------------------------------------------------------
# Splitting
# --------------------------------------------------------------------------------------------

def stratified_split(labels: torch.Tensor, n_holdout: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices ``(keep, holdout)``: ``n_holdout`` images, each class in its share, chosen by ``seed``.

    Each class gets ``n_holdout × class_size / N`` images, rounded by largest remainder so the
    total is exactly ``n_holdout`` (500 per class for 5,000 of CIFAR-10's balanced 50,000).
    """
    n = int(labels.numel())
    if not 0 < n_holdout < n:
        raise DataError(bilingual(
            f"떼어 둘 이미지 수는 1 이상 {n - 1} 이하여야 합니다 (받은 값: {n_holdout}).",
            f"The number of held-out images must be between 1 and {n - 1} (got {n_holdout}).",
        ))
    counts = torch.bincount(labels).tolist()
    exact = [c * n_holdout / n for c in counts]
    quota = [math.floor(e) for e in exact]
    by_remainder = sorted(range(len(counts)), key=lambda c: (-(exact[c] - quota[c]), c))
    for c in by_remainder[: n_holdout - sum(quota)]:
        quota[c] += 1
    gen = torch.Generator().manual_seed(seed)
    keep, hold = [], []
    for c, q in enumerate(quota):
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(idx.numel(), generator=gen)]
        hold.append(idx[:q])
        keep.append(idx[q:])
    return torch.cat(keep).sort().values, torch.cat(hold).sort().values


def subsample(data: ImageTensors, n: int, seed: int = 0) -> ImageTensors:
    """At most ``n`` images of ``data``, stratified by class (smoke mode keeps a few hundred)."""
    return data if n >= len(data) else hold_out(data, n, seed)[1]


def hold_out(data: ImageTensors, n_holdout: int, seed: int = 0) -> tuple[ImageTensors, ImageTensors]:
    """Split off ``n_holdout`` images (stratified, seeded) as a test set: ``(train, held_out)``."""
    keep, hold = stratified_split(data.labels, n_holdout, seed)
    return data.subset(keep), data.subset(hold)


# --------------------------------------------------------------------------------------------
# Augmentation and batches on the device
# --------------------------------------------------------------------------------------------

def random_crop_flip(images: torch.Tensor, shift_x: torch.Tensor, shift_y: torch.Tensor,
                     flip: torch.Tensor, padding: int = 4) -> torch.Tensor:
    """Random crop (zero padding) and horizontal flip of a whole batch at once, on its device.

    Same result as torchvision's ``RandomCrop(32, padding=4)`` + ``RandomHorizontalFlip()`` applied
    image by image: pad every image by ``padding`` zeros, then read the H×W window whose top-left
    corner is (``shift_y``, ``shift_x``) (each in ``0 … 2·padding``); a flipped image reads its
    columns right to left. One gather does it all — no Python loop over images.
    """
    b, c, h, w = images.shape
    dev = images.device
    padded = F.pad(images, (padding, padding, padding, padding))
    rows = shift_y[:, None] + torch.arange(h, device=dev)                 # B×H
    cols = shift_x[:, None] + torch.arange(w, device=dev)                 # B×W
    cols = torch.where(flip[:, None], cols.flip(1), cols)                 # flip = read columns backwards
    return padded[torch.arange(b, device=dev)[:, None, None, None],
                  torch.arange(c, device=dev)[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


def normalize(images: torch.Tensor, mean: Sequence[float] = CIFAR10_MEAN, std: Sequence[float] = CIFAR10_STD,
              channels_last: bool = False) -> torch.Tensor:
    """uint8 images → float32 ``(x/255 − mean) / std``, optionally in channels_last memory format."""
    mean_t = torch.tensor(mean, device=images.device).view(1, -1, 1, 1)
    std_t = torch.tensor(std, device=images.device).view(1, -1, 1, 1)
    x = (images.float().div_(255) - mean_t).div_(std_t)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


class DeviceLoader:
    """Batches of an :class:`ImageTensors` data set, made directly on ``device``.

    The uint8 images go to the device once; each batch is gathered, augmented
    (:func:`random_crop_flip`, training only) and normalised there. ``train=True`` shuffles, augments
    and drops the last incomplete batch; ``train=False`` keeps the order and every image.
    Call :meth:`set_epoch` before each epoch (the engine does): epoch ``e`` with seed ``s`` always
    gives the same batches. Iterating without it moves on to the next epoch by itself.
    """

    def __init__(self, data: ImageTensors, batch_size: int, device: Union[str, torch.device] = "cpu", *,
                 train: bool = False, augment: bool = True, seed: int = 0, channels_last: Optional[bool] = None,
                 padding: int = 4, mean: Sequence[float] = CIFAR10_MEAN, std: Sequence[float] = CIFAR10_STD) -> None:
        if batch_size < 1:
            raise DataError(bilingual(f"배치 크기(batch size)는 1 이상이어야 합니다 (받은 값: {batch_size}).",
                                      f"The batch size must be at least 1 (got {batch_size})."))
        self.device = torch.device(device)
        self.images = data.images.to(self.device)
        self.labels = data.labels.to(self.device)
        self.classes = list(data.classes)
        self.batch_size = batch_size
        self.train = train
        self.augment = augment and train
        self.seed = seed
        self.channels_last = self.device.type == "cuda" if channels_last is None else channels_last
        self.padding = padding
        self.mean, self.std = tuple(mean), tuple(std)
        self.epoch = 0
        if train and len(self) == 0:
            raise DataError(bilingual(
                f"학습 이미지({self.labels.numel()}장)가 배치 크기 {batch_size}보다 적습니다. 배치 크기를 줄이세요.",
                f"There are fewer training images ({self.labels.numel()}) than one batch ({batch_size}). "
                "Use a smaller batch size.",
            ))

    def __len__(self) -> int:
        n = int(self.labels.numel())
        return n // self.batch_size if self.train else math.ceil(n / self.batch_size)

    @property
    def num_images(self) -> int:
        """Images per epoch (training drops the last incomplete batch)."""
        return len(self) * self.batch_size if self.train else int(self.labels.numel())

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n, bs = int(self.labels.numel()), self.batch_size
        order = torch.arange(n, device=self.device)
        if self.train:
            # All of this epoch's randomness, drawn on the CPU in one go and sent over once.
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(n, generator=gen).to(self.device)
            shifts = torch.randint(0, 2 * self.padding + 1, (2, n), generator=gen).to(self.device)
            flips = torch.randint(0, 2, (n,), generator=gen).bool().to(self.device)
        self.epoch += 1
        for i in range(len(self)):
            part = slice(i * bs, (i + 1) * bs)
            idx = order[part]
            images = self.images[idx]
            if self.augment:
                images = random_crop_flip(images, shifts[0, part], shifts[1, part], flips[part], self.padding)
            yield normalize(images, self.mean, self.std, self.channels_last), self.labels[idx]


# --------------------------------------------------------------------------------------------
# Tiny fake data sets (tests and smoke mode)
# --------------------------------------------------------------------------------------------

def _fake_images(labels: torch.Tensor, size: int, gen: torch.Generator, seed: int) -> torch.Tensor:
    """Random uint8 images whose average colour depends on the class, so they can be learned."""
    palette = torch.rand(64, 3, 1, 1, generator=torch.Generator().manual_seed(seed)) * 160 + 48
    noise = torch.randn(labels.numel(), 3, size, size, generator=gen) * 40
    return (palette[labels] + noise).clamp(0, 255).to(torch.uint8)


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


def make_image_folder(root: PathLike, classes: Sequence[str] = ("cat", "dog", "frog"), n_train: int = 8,
                      n_test: int = 4, size: int = 32, fmt: str = "png", seed: int = 0) -> Path:
    """Write ``root/train/<class>/NNNN.<fmt>`` (and ``root/test/…`` if ``n_test``) with random images.

    ``n_train``/``n_test`` are images per class; ``fmt`` is ``"png"`` or ``"jpg"``. Each class has its
    own average colour, so a model can learn them. Returns ``root``.
    """
    from PIL import Image

    root = Path(root)
    gen = torch.Generator().manual_seed(seed)
    for split, count in (("train", n_train), ("test", n_test)):
        if count <= 0:
            continue
        labels = torch.arange(len(classes)).repeat_interleave(count)
        images = _fake_images(labels, size, gen, seed)
        for i, (img, label) in enumerate(zip(images, labels.tolist())):
            folder = root / split / classes[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img.permute(1, 2, 0).numpy()).save(folder / f"{i % count:04d}.{fmt}")
    return root
