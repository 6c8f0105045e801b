"""CIFAR-10 as :class:`~.data.ImageTensors`: torchvision's download first, the Hugging Face copy if that fails.

1. **torchvision** (``datasets.CIFAR10``, MD5-checked): the 170 MB archive is downloaded with a progress bar and
   a deadline (:func:`~.download.fetch`: ``timeout`` seconds, and it gives up early when the speed so far says
   it would not make it — that host has been reported taking close to an hour);
2. **the Hugging Face copy** (:mod:`.hf_cifar10`), when the download fails or is too slow and ``datasets`` is
   installed (Colab has it): converted to the same uint8 tensors, class names in torchvision's order, checked;
3. neither: one bilingual message that says what each source said and what to do — or, when the lesson asks
   for it (``stand_in=True``), a small fake CIFAR-10 with that message in a loud box (:data:`STAND_IN_SIZE`
   images), so the rest of the lesson runs. The command line never asks: it does not train on fake data.

CIFAR-10's second source: the Hugging Face copy (``uoft-cs/cifar10``), as the same uint8 tensors as torchvision's.

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

One file over HTTP with a progress bar and a deadline, so that a slow host cannot stall a lesson.

:func:`fetch` writes to ``<dest>.part`` and renames it when complete, so an interrupted download never
leaves a file that looks whole. It gives up with :class:`DownloadTooSlow` (a ``TimeoutError``) when

- the whole download takes longer than ``deadline`` seconds, or
- after ``judge_after`` seconds the speed so far says it would: at 100 kB/s the 170 MB CIFAR-10 archive
  would take half an hour, and there is no point in waiting to find that out;

and with an ``OSError`` when the host does not answer within ``stall`` seconds. An MD5, when given, is
checked before the rename. The caller decides what comes next (``load_cifar10`` tries a second source).

Your own images: ``DIR/<class>/…`` folders and ``.tar(.gz)`` archives of them, decoded once and cached.

Folders are taken as learners make them: class names are compared in NFC (a macOS copy writes Hangul
decomposed), names that are not UTF-8 (a zip from a Korean Windows computer: CP949) are handled as bytes
and shown readably (:func:`vgg_teach.errors.readable`), and files are read while they are decoded.

Encoded images (JPEG, PNG, …) to uint8 3×size×size tensors: torchvision's decoders, PIL standing by.

Every image becomes 8-bit RGB, whatever it was: gray, palette, with alpha, or 16 bits per channel (scaled
to 0–255, not clipped), turned upright as its EXIF orientation says (a phone's portrait photo is stored
sideways). Files are read and decoded a few chunks at a time (:func:`decode_all`), so a folder of large photos
never sits in memory as encoded bytes. A file that cannot be decoded does not stop at the first one: every
broken file is named in one bilingual :class:`~vgg_teach.errors.DataError`.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import tarfile
import time
import urllib.request
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence, Union

import numpy as np
import torch

from ..env import is_smoke
from ..errors import DataError, bilingual, cause, readable, smoke_note
from .checkpoint import atomic_save
from .data import CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD, IMAGE_EXTENSIONS, ImageTensors, PathLike

# ---- from vgg_teach.training.cifar10 (phase-1 merge)
#: Seconds torchvision's download may take before the Hugging Face copy is tried instead.
DOWNLOAD_TIMEOUT = 300.0


#: Training and test images of the fake CIFAR-10 that ``stand_in=True`` falls back on (smoke mode: 500 and 100).
STAND_IN_SIZE = (2000, 500)


def load_cifar10(root: PathLike = "data", download: bool = True, timeout: float = DOWNLOAD_TIMEOUT,
                 fallback: bool = True, stand_in: bool = False) -> tuple[ImageTensors, ImageTensors]:
    """CIFAR-10's 50,000 training and 10,000 test images, through ``torchvision.datasets.CIFAR10``.

    The download (about 170 MB) happens once into ``root``; torchvision checks every file's MD5. If it fails
    or would take more than ``timeout`` seconds, and ``fallback`` is on, the Hugging Face copy is loaded
    instead (cached under ``root/huggingface``; see :mod:`.hf_cifar10` for what is checked).
    Returns ``(train, test)`` as :class:`ImageTensors`. In smoke mode (``VGG_TEACH_SMOKE=1``) with no
    CIFAR-10 in ``root`` it does not download: it writes a tiny fake CIFAR-10 (500 + 100 random
    images) under ``root/smoke-fake-cifar10``, loads that through the same torchvision code, and says so.
    With ``stand_in=True``, when neither source works (offline), it does the same with :data:`STAND_IN_SIZE`
    images under ``root/stand-in-fake-cifar10`` and says why, instead of raising :class:`DataError`.
    """
    from torchvision.datasets import CIFAR10

    root = Path(root)
    present = (root / CIFAR10.base_folder).is_dir() or (root / CIFAR10.filename).is_file()
    if is_smoke() and not present:
        note = (text.format(root=root) for text in _SMOKE_CIFAR_NOTE)
        return _fake(500, 100, note)
    try:
        return _load_real(root, present, download, timeout, fallback)
    except DataError as err:
        if not stand_in:
            raise
        why_ko, _, why_en = str(err).partition("\n")
        n_train, n_test = STAND_IN_SIZE
        note = (text.format(why=why, n_train=n_train, n_test=n_test)
                for text, why in zip(_STAND_IN_NOTE, (why_ko, why_en or why_ko)))
        return _fake(n_train, n_test, note)


def _fake(n_train: int, n_test: int, note) -> tuple[ImageTensors, ImageTensors]:
    """Say ``note`` (ko, en) in a loud box, then make a fake CIFAR-10: random images, one average color per class."""
    print(smoke_note(*note), flush=True)
    gen = torch.Generator().manual_seed(0)

    def split(n: int) -> ImageTensors:
        labels = (torch.arange(n) % len(CIFAR10_CLASSES))[torch.randperm(n, generator=gen)]
        return ImageTensors(_fake_images(labels, 32, gen, 0), labels, list(CIFAR10_CLASSES), CIFAR10_MEAN, CIFAR10_STD)

    return split(n_train), split(n_test)


def _load_real(root: Path, present: bool, download: bool, timeout: float,
               fallback: bool) -> tuple[ImageTensors, ImageTensors]:
    from torchvision.datasets import CIFAR10

    if present or not download:
        return _load_cifar10(root, download)

    try:
        fetch(CIFAR10.url, root / CIFAR10.filename, deadline=timeout, md5=CIFAR10.tgz_md5)
    except OSError as err:  # TimeoutError, URLError and an MD5 mismatch are OSErrors
        first = f"{type(err).__name__}: {err}"
        if not fallback:
            raise DataError(_neither(root, first, None)) from None
        print(bilingual(f"torchvision의 CIFAR-10 내려받기가 실패했습니다 ({first}). Hugging Face의 사본을 씁니다.",
                        f"torchvision's CIFAR-10 download failed ({first}); using the Hugging Face copy."), flush=True)
        return _load_from_hub(root, first)
    return _load_cifar10(root, download)


def _load_from_hub(root: Path, first: str) -> tuple[ImageTensors, ImageTensors]:

    try:
        return load_hf_cifar10(root / "huggingface")
    except ImportError as err:
        second = (f"{err} — `pip install datasets`",) * 2
    except DataError as err:  # a copy that is not CIFAR-10: its own message is already bilingual
        ko, _, en = str(err).partition("\n")
        second = (ko, en or ko)
    except Exception as err:  # the hub unreachable, or anything else from datasets: say both reasons
        second = (f"{type(err).__name__}: {err}",) * 2
    raise DataError(_neither(root, first, second)) from None


def _neither(root: Path, first: str, second: tuple[str, str] | None) -> str:
    from torchvision.datasets import CIFAR10

    archive = root / CIFAR10.filename
    hub_ko = f" Hugging Face의 사본도 쓰지 못했습니다 ({second[0]})." if second else ""
    hub_en = f" The Hugging Face copy could not be used either ({second[1]})." if second else ""
    return bilingual(
        f"CIFAR-10을 받지 못했습니다. torchvision: {first}.{hub_ko} 인터넷 연결을 확인하고 이 셀을 다시 "
        "실행하세요(Colab이라면 런타임을 다시 연결, Kaggle이라면 Settings → Internet 켜기). 또는 다른 컴퓨터에서 "
        f"{CIFAR10.url} 을(를) 받아 {archive} 에 두고 다시 실행하세요.",
        f"Could not get CIFAR-10. torchvision: {first}.{hub_en} Check the internet connection and run this cell "
        f"again (on Colab reconnect the runtime, on Kaggle turn on Settings → Internet), or download {CIFAR10.url} "
        f"on another computer, put it at {archive} and run again.")


_SMOKE_CIFAR_NOTE = (
    "점검(smoke) 모드: {root} 에 CIFAR-10이 없어 내려받지 않고, 무작위 이미지로 만든 작은 가짜 CIFAR-10을 "
    "씁니다. 아래 정확도는 의미가 없습니다.",
    "Smoke mode: no CIFAR-10 in {root}, so instead of downloading it a tiny FAKE CIFAR-10 of random "
    "images is used. The accuracies below mean nothing.",
)


_STAND_IN_NOTE = (
    "대체 데이터: CIFAR-10을 받지 못해, 무작위 이미지로 만든 작은 가짜 CIFAR-10(학습 {n_train:,}장, "
    "시험 {n_test:,}장)으로 레슨을 이어 갑니다. 클래스마다 평균 색만 달라서 진짜보다 훨씬 쉽습니다: "
    "아래 정확도와 그림은 CIFAR-10의 것이 아닙니다. 진짜 데이터의 결과는 '기대 결과' 표에 있습니다. 이유: {why}",
    "Stand-in data: CIFAR-10 could not be had, so the lesson goes on with a small FAKE CIFAR-10 of random images "
    "({n_train:,} training, {n_test:,} test) whose classes differ only in their average color, far easier than "
    "the real thing: the accuracies and pictures below are not CIFAR-10's. The expected-results table has the real "
    "data's. Why: {why}",
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
        labels = torch.tensor(ds.targets, dtype=torch.int64)
        splits.append(ImageTensors(images, labels, list(ds.classes), CIFAR10_MEAN, CIFAR10_STD))
    return splits[0], splits[1]


def _compare_sources(root: str) -> int:  # pragma: no cover - needs the internet; see hf_cifar10's docstring
    """Load CIFAR-10 from both sources, say whether their content digests agree and print them to record."""

    ours = load_cifar10(root, fallback=False)
    hub = load_hf_cifar10(Path(root) / "huggingface")
    same = True
    for split, a, b in zip(("train", "test"), ours, hub):
        da, db = content_digest(a.images, a.labels), content_digest(b.images, b.labels)
        same &= da == db
        print(f"{split:5}  torchvision {da}\n       hub         {db}  {'same' if da == db else 'DIFFERENT'}")
    print("record these in hf_cifar10.CIFAR10_DIGESTS" if same else "the two sources differ: record nothing")
    return 0 if same else 1


if __name__ == "__main__":  # pragma: no cover
    import sys

    raise SystemExit(_compare_sources(sys.argv[1] if len(sys.argv) > 1 else "data"))


# ---- from vgg_teach.training.hf_cifar10 (phase-1 merge)
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


# ---- from vgg_teach.training.download (phase-1 merge)
class DownloadTooSlow(TimeoutError):
    """The download would not finish before its deadline."""


def fetch(url: str, dest: Path, deadline: float = 300.0, stall: float = 30.0, judge_after: float = 20.0,
          md5: str | None = None, progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` within ``deadline`` seconds, showing a tqdm progress bar; return ``dest``."""
    from tqdm.auto import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    started = time.monotonic()
    digest = hashlib.md5()
    request = urllib.request.Request(url, headers={"User-Agent": "vgg-teach"})
    try:
        with urllib.request.urlopen(request, timeout=stall) as response, part.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress) as bar:
                done = 0
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    bar.update(len(chunk))
                    _judge(time.monotonic() - started, done, total, deadline, judge_after)
        if md5 is not None and digest.hexdigest() != md5:
            raise OSError(f"MD5 {digest.hexdigest()} of {url} is not the expected {md5}")
        part.replace(dest)
    finally:
        part.unlink(missing_ok=True)
    return dest


def _judge(elapsed: float, done: int, total: int | None, deadline: float, judge_after: float) -> None:
    if elapsed > deadline:
        raise DownloadTooSlow(f"{done / 1e6:.0f} MB in {elapsed:.0f} s: over the {deadline:.0f} s deadline")
    if total and elapsed > judge_after and done < total:
        projected = elapsed * total / max(done, 1)
        if projected > deadline:
            raise DownloadTooSlow(f"{done / 1e6:.0f} of {total / 1e6:.0f} MB in {elapsed:.0f} s: at this speed "
                                  f"it would take {projected / 60:.0f} min, over the {deadline:.0f} s deadline")


# ---- from vgg_teach.training.folders (phase-1 merge)
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


# ---- from vgg_teach.training.decode (phase-1 merge)
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


# ---- from vgg_teach.training.fakes (phase-1 merge)
def _fake_images(labels: torch.Tensor, size: int, gen: torch.Generator, seed: int) -> torch.Tensor:
    """Random uint8 images whose average color depends on the class, so they can be learned."""
    palette = torch.rand(64, 3, 1, 1, generator=torch.Generator().manual_seed(seed)) * 160 + 48
    noise = torch.randn(labels.numel(), 3, size, size, generator=gen) * 40
    return (palette[labels] + noise).clamp(0, 255).to(torch.uint8)


def make_image_folder(root: PathLike, classes: Sequence[str] = ("cat", "dog", "frog"), n_train: int = 8,
                      n_test: int = 4, size: int = 32, fmt: str = "png", seed: int = 0) -> Path:
    """Write ``root/train/<class>/NNNN.<fmt>`` (and ``root/test/…`` if ``n_test``) with random images.

    ``n_train``/``n_test`` are images per class; ``fmt`` is ``"png"`` or ``"jpg"``. Each class has its
    own average color, so a model can learn them. Returns ``root``.
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
