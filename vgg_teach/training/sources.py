"""Where the images come from: CIFAR-10 (torchvision's download with a deadline, else the Hugging Face copy,
checked; else an error, or a fake announced in a loud box where a lesson asks), and your own folders or tarballs,
taken as learners make them (Hangul in NFC, CP949 names, hidden files skipped, 16-bit and EXIF-rotated images,
every broken file named at once), decoded in threads and cached."""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import tarfile
import time
import urllib.request
import warnings
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence, Union

import numpy as np
import torch

from ..env import is_smoke
from ..errors import DataError, bilingual, cause, josa, particle, readable, smoke_note
from .checkpoint import atomic_save
from .data import CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD, IMAGE_EXTENSIONS, ImageTensors, PathLike

#: Seconds torchvision's download may take before the Hugging Face copy is tried instead.
DOWNLOAD_TIMEOUT = 300.0
#: Training and test images of the fake CIFAR-10 that ``stand_in=True`` falls back on.
STAND_IN_SIZE = (2000, 500)
HF_DATASET = "uoft-cs/cifar10"
#: Images per class in each split of the real CIFAR-10.
CIFAR10_PER_CLASS = {"train": 5000, "test": 1000}
#: Images per chunk handed to a decoding thread, and how many broken files one message names.
CHUNK, LIST_AT_MOST = 64, 10

_SMOKE_NOTE = (
    "점검(smoke) 모드: {root} 에 CIFAR-10이 없어 내려받지 않고, 무작위 이미지로 만든 작은 가짜 CIFAR-10을 씁니다. "
    "아래 정확도는 의미가 없습니다.",
    "Smoke mode: no CIFAR-10 in {root}, so instead of downloading it a tiny FAKE CIFAR-10 of random images is "
    "used. The accuracies below mean nothing.")
_STAND_IN_NOTE = (
    "대체 데이터: CIFAR-10을 받지 못해, 무작위 이미지로 만든 작은 가짜 CIFAR-10(학습 {n_train:,}장, 시험 {n_test:,}장)"
    "으로 레슨을 이어 갑니다. 클래스마다 평균 색만 달라서 진짜보다 훨씬 쉽습니다: 아래 정확도와 그림은 CIFAR-10의 것이 "
    "아닙니다. 진짜 데이터의 결과는 '기대 결과' 표에 있습니다. 이유: {why}",
    "Stand-in data: CIFAR-10 could not be had, so the lesson goes on with a small FAKE CIFAR-10 of random images "
    "({n_train:,} training, {n_test:,} test) whose classes differ only in their average color, far easier than "
    "the real thing: the accuracies and pictures below are not CIFAR-10's. The expected-results table has the real "
    "data's. Why: {why}")


def load_cifar10(root: PathLike = "data", download: bool = True, timeout: float = DOWNLOAD_TIMEOUT,
                 fallback: bool = True, stand_in: bool = False) -> tuple[ImageTensors, ImageTensors]:
    """CIFAR-10's 50,000 training and 10,000 test images ``(train, test)``, downloaded once into ``root`` (170 MB).

    If torchvision's download fails or would take over ``timeout`` seconds, the Hugging Face copy (``fallback``).
    Smoke mode without CIFAR-10 in ``root``: 500 + 100 fake images. ``stand_in=True``: a fake of
    :data:`STAND_IN_SIZE` images, with the reason, where neither source works.
    """
    from torchvision.datasets import CIFAR10  # torchvision: a heavy import, only for the data sets that need it

    root = Path(root)
    present = (root / CIFAR10.base_folder).is_dir() or (root / CIFAR10.filename).is_file()
    if is_smoke() and not present:
        return _fake(500, 100, [text.format(root=root) for text in _SMOKE_NOTE])
    try:
        if not present and download:
            try:
                fetch(CIFAR10.url, root / CIFAR10.filename, deadline=timeout, md5=CIFAR10.tgz_md5)
            except OSError as err:  # TimeoutError, URLError and an MD5 mismatch are OSErrors
                why = f"{type(err).__name__}: {err}"
                return _from_hub(root, why, fallback, CIFAR10.url, root / CIFAR10.filename)
        splits = []
        for train in (True, False):
            try:
                ds = CIFAR10(str(root), train=train, download=download)
            except (OSError, RuntimeError) as err:  # URLError is an OSError
                archive, why = root / CIFAR10.filename, f"{type(err).__name__}: {err}"
                raise DataError(bilingual(
                    f"CIFAR-10을 불러오지 못했습니다 ({why}). 인터넷 연결을 확인하고 다시 실행하거나, "
                    f"{CIFAR10.url} 에서 받은 파일을 {archive} 에 두고 다시 실행하세요. Colab이라면 런타임을 다시 "
                    "연결한 뒤 이 셀을 다시 실행하세요.",
                    f"Could not load CIFAR-10 ({why}). Check the internet connection and run again, or download "
                    f"{CIFAR10.url} yourself, put it at {archive} and run again. On Colab, reconnect the runtime "
                    "and re-run this cell.")) from None
            images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()  # N×H×W×C → N×C×H×W
            splits.append(ImageTensors(images, torch.tensor(ds.targets), list(ds.classes), CIFAR10_MEAN,
                                       CIFAR10_STD))
        return splits[0], splits[1]
    except DataError as err:
        if not stand_in:
            raise
        why_ko, _, why_en = str(err).partition("\n")
        n_train, n_test = STAND_IN_SIZE
        return _fake(n_train, n_test, [text.format(why=why, n_train=n_train, n_test=n_test)
                                       for text, why in zip(_STAND_IN_NOTE, (why_ko, why_en or why_ko))])


def _from_hub(root: Path, first: str, fallback: bool, url: str, archive: Path) -> tuple[ImageTensors, ImageTensors]:
    """The Hugging Face copy after torchvision's download failed (``first``), or one error naming both reasons."""
    second = None
    if fallback:
        print(bilingual(f"torchvision의 CIFAR-10 내려받기가 실패했습니다 ({first}). Hugging Face의 사본을 씁니다.",
                        f"torchvision's CIFAR-10 download failed ({first}); using the Hugging Face copy."), flush=True)
        try:
            return load_hf_cifar10(root / "huggingface")
        except ImportError as err:
            second = (f"{err} — `pip install datasets`",) * 2
        except DataError as err:  # a copy that is not CIFAR-10: its own message is already bilingual
            ko, _, en = str(err).partition("\n")
            second = (ko, en or ko)
        except Exception as err:  # the hub unreachable, or anything else from datasets: say both reasons
            second = (f"{type(err).__name__}: {err}",) * 2
    hub_ko = f" Hugging Face의 사본도 쓰지 못했습니다 ({second[0]})." if second else ""
    hub_en = f" The Hugging Face copy could not be used either ({second[1]})." if second else ""
    raise DataError(bilingual(
        f"CIFAR-10을 받지 못했습니다. torchvision: {first}.{hub_ko} 인터넷 연결을 확인하고 이 셀을 다시 실행하세요"
        f"(Colab이라면 런타임을 다시 연결, Kaggle이라면 Settings → Internet 켜기). 또는 다른 컴퓨터에서 {url} "
        f"{particle(url, '을')} "
        f"받아 {archive} 에 두고 다시 실행하세요.",
        f"Could not get CIFAR-10. torchvision: {first}.{hub_en} Check the internet connection and run this cell "
        f"again (on Colab reconnect the runtime, on Kaggle turn on Settings → Internet), or download {url} "
        f"on another computer, put it at {archive} and run again."))


def _fake(n_train: int, n_test: int, note: Sequence[str]) -> tuple[ImageTensors, ImageTensors]:
    """Say ``note`` (ko, en) in a loud box, then make a fake CIFAR-10: random images, one average color per class."""
    print(smoke_note(*note), flush=True)
    gen = torch.Generator().manual_seed(0)

    def split(n: int) -> ImageTensors:
        labels = (torch.arange(n) % len(CIFAR10_CLASSES))[torch.randperm(n, generator=gen)]
        return ImageTensors(_fake_images(labels, 32, gen, 0), labels, list(CIFAR10_CLASSES), CIFAR10_MEAN, CIFAR10_STD)

    return split(n_train), split(n_test)


def load_hf_cifar10(cache_dir: PathLike) -> tuple[ImageTensors, ImageTensors]:
    """``(train, test)`` of the Hugging Face copy, cached under ``cache_dir``, converted and checked."""
    import datasets  # optional: Colab ships it; elsewhere `pip install datasets`

    splits = datasets.load_dataset(HF_DATASET, cache_dir=str(cache_dir))
    return convert_split(splits["train"], "train"), convert_split(splits["test"], "test")


def convert_split(split, name: str) -> ImageTensors:
    """One split of the copy (columns ``img``, ``label``) → :class:`ImageTensors` in torchvision's class order,
    checked: torchvision's class names, :data:`CIFAR10_PER_CLASS` images per class, each 3×32×32."""
    names, per_class = list(split.features["label"].names), CIFAR10_PER_CLASS[name]

    def bad(what: str) -> DataError:
        return DataError(bilingual(
            f"Hugging Face의 CIFAR-10({HF_DATASET}) {name} 세트가 예상과 다릅니다: {what}. 이 데이터로는 학습하지 "
            "않습니다.",
            f"The Hugging Face copy of CIFAR-10 ({HF_DATASET}), {name} split, is not as expected: {what}. It is not "
            "used for training."))

    if sorted(names) != sorted(CIFAR10_CLASSES):
        raise bad(f"classes {names}, not CIFAR-10's {CIFAR10_CLASSES}")
    to_torchvision = torch.tensor([CIFAR10_CLASSES.index(n) for n in names])
    pixels = np.stack([np.asarray(img.convert("RGB"), dtype=np.uint8) for img in split["img"]])
    images = torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous()  # N×H×W×C → N×C×H×W
    labels = to_torchvision[torch.tensor(list(split["label"]), dtype=torch.int64)]
    data = ImageTensors(images, labels, list(CIFAR10_CLASSES), CIFAR10_MEAN, CIFAR10_STD)
    n = per_class * len(CIFAR10_CLASSES)
    if tuple(images.shape) != (n, 3, 32, 32):
        raise bad(f"images {tuple(images.shape)} {images.dtype}, not ({n}, 3, 32, 32) uint8")
    if data.class_counts() != [per_class] * len(CIFAR10_CLASSES):
        raise bad(f"images per class {data.class_counts()}, not {per_class} each")
    return data


def fetch(url: str, dest: Path, deadline: float = 300.0, stall: float = 30.0, judge_after: float = 20.0,
          md5: str | None = None, progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` through ``<dest>.part``, with a progress bar and ``md5`` checked. A
    ``TimeoutError`` past ``deadline`` seconds or, after ``judge_after``, when the speed so far says it would be."""
    from tqdm.auto import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    started, digest, done = time.monotonic(), hashlib.md5(), 0
    request = urllib.request.Request(url, headers={"User-Agent": "vgg-teach"})
    try:
        with urllib.request.urlopen(request, timeout=stall) as response, part.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress) as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    bar.update(len(chunk))
                    elapsed = time.monotonic() - started
                    projected = elapsed * total / done if total else elapsed
                    if elapsed > deadline:
                        raise TimeoutError(f"{done / 1e6:.0f} MB in {elapsed:.0f} s: over the {deadline:.0f} s "
                                           "deadline")
                    if total and elapsed > judge_after and done < total and projected > deadline:
                        raise TimeoutError(f"{done / 1e6:.0f} of {total / 1e6:.0f} MB in {elapsed:.0f} s: at this "
                                           f"speed it would take {projected / 60:.0f} min, over the {deadline:.0f} s "
                                           "deadline")
        if md5 is not None and digest.hexdigest() != md5:
            raise OSError(f"MD5 {digest.hexdigest()} of {url} is not the expected {md5}")
        part.replace(dest)
    finally:
        part.unlink(missing_ok=True)
    return dest


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
        atomic_save({"key": key, "images": data.images, "labels": data.labels, "classes": data.classes}, cache)
    return data


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _hidden(path: Path) -> bool:
    """A hidden file, or one inside a hidden folder at any depth (``dog/.ipynb_checkpoints/x.jpg``), or in the
    ``__MACOSX`` folder that unzipping a Mac's archive leaves: never data."""
    return any(part.startswith(".") or part == "__MACOSX" for part in path.parts)


#: Files that sit among images without being meant as data: never mentioned.
_JUNK = {"thumbs.db", "desktop.ini"}


def _say_skipped(where: PathLike, skipped: Sequence[str], others: Sequence[Path] = (), loose: int = 0) -> None:
    """Say once how many images were skipped as hidden (with examples), how many files are in no format read here
    (by extension: .heic, .tif …), and how many images lie outside every class folder."""
    if skipped:
        examples = ", ".join(sorted(skipped)[:3]) + (" …" if len(skipped) > 3 else "")
        print(bilingual(f"{where}: 숨은 파일이나 숨은 폴더(이름이 .으로 시작, 예: .ipynb_checkpoints), 맥의 __MACOSX "
                        f"폴더 안의 이미지 {len(skipped)}장은 데이터가 아니므로 건너뛰었습니다 ({examples}).",
                        f"{where}: skipped {len(skipped)} image{'s' * (len(skipped) != 1)}, hidden or inside "
                        "hidden folders (names "
                        f"starting with '.', like .ipynb_checkpoints, or a Mac's __MACOSX): they are not data "
                        f"({examples})."), flush=True)
    kinds = Counter(p.suffix.lower() or p.name for p in others if p.name.lower() not in _JUNK)
    if n := sum(kinds.values()):
        listed = ", ".join(f"{kind} {count}" for kind, count in kinds.most_common())
        print(bilingual(f"{where}: 읽을 수 없는 형식의 파일 {n}개를 건너뛰었습니다({listed}). 쓰려면 "
                        f"JPEG나 PNG로 바꾸세요(읽는 형식: {', '.join(IMAGE_EXTENSIONS)}).",
                        f"{where}: skipped {n} file{'s' * (n != 1)} in a format not read here ({listed}): convert "
                        f"them to JPEG or PNG to use them (read: {', '.join(IMAGE_EXTENSIONS)})."), flush=True)
    if loose:
        print(bilingual(f"{where}: 클래스 폴더 밖에 있는 이미지 {loose}장은 클래스를 알 수 없어 건너뛰었습니다: "
                        f"{where}/<클래스>/ 안으로 옮기세요.",
                        f"{where}: skipped {loose} image{'s' * (loose != 1)} lying in no class folder (the class is "
                        f"unknown): move {'them' if loose != 1 else 'it'} into {where}/<class>/."), flush=True)


def load_image_folder(folder: PathLike, classes: Optional[Sequence[str]] = None, image_size: int = 32,
                      cache: Optional[PathLike] = None, workers: Optional[int] = None) -> ImageTensors:
    """Every image of ``folder/<class>/…``, resized and center-cropped to ``image_size``; ``classes``: the training
    set's (for a test set); ``cache``: a ``.pt`` file of the decoded images, rebuilt when the files change."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(bilingual(f"폴더가 없습니다: {folder}", f"No such folder: {folder}"))
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise DataError(bilingual(f"image_size는 1 이상의 정수여야 합니다(예: 32). 받은 값: {image_size!r}",
                                  f"image_size is a whole number of at least 1 (such as 32); got {image_size!r}."))
    found: dict[str, list[Path]] = {}  # class name (readable, NFC) → its folders (NFC and NFD copies side by side)
    shown = lambda p: readable(str(p.relative_to(folder)))  # noqa: E731 - readable even when not UTF-8
    skipped: list[str] = []
    others: list[Path] = []
    loose = 0
    for p in sorted(folder.iterdir()):
        if p.is_dir() and not _hidden(Path(p.name)):
            found.setdefault(readable(p.name), []).append(p)
        elif p.is_dir():  # .ipynb_checkpoints … are never classes
            skipped += [shown(q) for q in p.rglob("*") if q.is_file() and _is_image(q)]
        elif _is_image(p) and not _hidden(Path(p.name)):
            loose += 1
    if not found:
        raise DataError(bilingual(
            f"{folder} 안에 클래스 폴더가 없습니다. 이미지를 {folder}/<클래스 이름>/사진.jpg 처럼 넣으세요.",
            f"{folder} has no class folders. Put images at {folder}/<class name>/photo.jpg."))
    classes = [readable(c) for c in classes] if classes is not None else sorted(found)
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise DataError(bilingual(
            f"{folder} 에 학습 데이터에 없는 클래스 폴더가 있습니다: {unknown}. 학습(train)과 시험(test) 폴더의 클래스 "
            "이름을 같게 맞추세요.",
            f"{folder} has class folders that the training data does not have: {unknown}. Use the same class names "
            "under train/ and test/."))
    files: list[tuple[Path, int]] = []
    for label, name in enumerate(classes):
        for class_dir in found.get(name, []):
            every = [(p, _hidden(p.relative_to(class_dir))) for p in class_dir.rglob("*") if p.is_file()]
            images = sorted(p for p, hidden in every if _is_image(p) and not hidden)
            skipped += [shown(p) for p, hidden in every if _is_image(p) and hidden]
            others += [p for p, hidden in every if not _is_image(p) and not hidden]
            if not images:
                where, kinds = folder / shown(class_dir), ", ".join(IMAGE_EXTENSIONS)
                raise DataError(bilingual(
                    f"클래스 폴더 {where} 에 이미지가 없습니다 ({kinds} 파일을 넣거나 폴더를 지우세요).",
                    f"The class folder {where} holds no images (add {kinds} files or delete the folder)."))
            files += [(p, label) for p in images]
    _say_skipped(folder, skipped, others, loose)
    # File names as bytes: a name that is not UTF-8 cannot be encoded as text, but it is still a name.
    digest = hashlib.sha1(f"folder:{image_size}:{classes}".encode())
    for path, label in files:
        stat = path.stat()
        digest.update(os.fsencode(path.relative_to(folder)) + f":{label}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return _cached(cache, digest.hexdigest(), lambda: ImageTensors(
        decode_all(((shown(p), p) for p, _ in files), image_size, workers),  # each file read by its decoding thread
        torch.tensor([label for _, label in files], dtype=torch.int64), classes))


def load_image_folder_splits(data_dir: PathLike, image_size: int = 32,
                             cache_dir: Optional[PathLike] = None) -> tuple[ImageTensors, ImageTensors]:
    """``data_dir/{train,test}/<class>/…`` → ``(train, test)``, both normalized with the training images' statistics."""
    data_dir = Path(data_dir)
    if data_dir.is_file():
        packed = data_dir.suffix.lower() in (".zip", ".tar", ".gz", ".tgz", ".7z", ".rar")
        raise DataError(bilingual(
            f"{josa(str(data_dir), '은')} 폴더가 아니라 파일입니다." + (
                f" 압축 파일이라면 먼저 푼 뒤(예: unzip {data_dir.name} -d {data_dir.stem}) 그 폴더를 주세요."
                if packed else ""),
            f"{data_dir} is a file, not a folder." + (f" If it is an archive, unpack it first (for example unzip "
                                                     f"{data_dir.name} -d {data_dir.stem}) and give that folder."
                                                     if packed else "")))
    if not data_dir.is_dir():
        raise DataError(bilingual(f"데이터 폴더가 없습니다: {data_dir}", f"No such data folder: {data_dir}"))
    for split in ("train", "test"):
        if (data_dir / split).is_dir():
            continue
        missing = (f"{data_dir} 안에 '{split}' 폴더가 없습니다.", f"{data_dir} has no '{split}' folder.")
        inner = [d for d in data_dir.iterdir() if d.is_dir() and (d / split).is_dir()]
        if data_dir.name in ("train", "test") and (data_dir.parent / split).is_dir():
            raise DataError(bilingual(
                f"{missing[0]} {josa(str(data_dir), '은')} 데이터 폴더 안의 {data_dir.name} 폴더 자체입니다: 한 단계 "
                f"위의 {josa(str(data_dir.parent), '를')} 주세요.",
                f"{missing[1]} {data_dir} is the {data_dir.name} folder itself: give its parent, {data_dir.parent}."))
        if len(inner) == 1:  # unzipped with a folder on top
            raise DataError(bilingual(f"{missing[0]} {inner[0]}에 있습니다: 그 폴더를 주세요.",
                                      f"{missing[1]} {inner[0]} has it: give that folder."))
        holdout = (" 시험 이미지가 따로 없다면 명령줄에서 --holdout N으로 학습 이미지 N장을 시험 세트로 떼어 둘 수 "
                   "있습니다.", " Without test images of your own, --holdout N on the command line keeps N of the "
                   "training images apart as the test set.") if split == "test" else ("", "")
        raise DataError(bilingual(
            f"{missing[0]} {data_dir}/train/<클래스>/… 와 {data_dir}/test/<클래스>/… 로 나눠 넣으세요.{holdout[0]}",
            f"{missing[1]} Arrange the images as {data_dir}/train/<class>/… and {data_dir}/test/<class>/…."
            f"{holdout[1]}"))
    cache = lambda split: Path(cache_dir) / f"{split}-{image_size}px.pt" if cache_dir else None  # noqa: E731
    train = load_image_folder(data_dir / "train", image_size=image_size, cache=cache("train"))
    test = load_image_folder(data_dir / "test", classes=train.classes, image_size=image_size, cache=cache("test"))
    return train, test.with_stats(train.mean, train.std)


def load_jpeg_tarball(path: PathLike, image_size: int = 32, cache: Optional[PathLike] = None,
                      workers: Optional[int] = None) -> ImageTensors:
    """An image folder packed as ``.tar(.gz)`` (``…/<class>/<image>``), read as it is decoded (the benchmark's)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(bilingual(f"압축 파일이 없습니다: {path}", f"No such archive: {path}"))
    stat = path.stat()

    def build() -> ImageTensors:
        names: list[str] = []
        skipped: list[str] = []

        def members(tar: tarfile.TarFile) -> Iterator[tuple[str, bytes]]:
            for member in tar:
                name = Path(member.name)
                if not (member.isfile() and _is_image(name) and len(name.parts) >= 2):
                    continue
                if _hidden(name):
                    skipped.append(readable(member.name))
                    continue
                names.append(member.name)
                yield readable(member.name), tar.extractfile(member).read()

        try:
            with tarfile.open(path) as tar:
                images = decode_all(members(tar), image_size, workers)
        except (tarfile.TarError, EOFError, OSError) as err:  # not a tar archive, or cut short (zlib, gzip: OSError)
            raise DataError(bilingual(
                f"{path} {particle(path, '을')} tar 압축 파일로 읽을 수 없습니다 ({cause(err)}): 내려받기가 끝나지 "
                "않았거나 다른 종류의 파일입니다. 파일을 다시 받거나 이미지 폴더를 .tar.gz로 다시 묶으세요.",
                f"{path} cannot be read as a tar archive ({cause(err)}): the download did not finish, or it is another "
                "kind of file. Download it again, or pack the image folder as a .tar.gz again.")) from None
        _say_skipped(path, skipped)
        if not names:
            raise DataError(bilingual(f"{path} 안에 이미지가 없습니다.", f"{path} holds no images."))
        order = sorted(range(len(names)), key=names.__getitem__)
        class_of = [readable(Path(names[i]).parent.name) for i in order]
        index = {c: i for i, c in enumerate(sorted(set(class_of)))}
        return ImageTensors(images[torch.tensor(order, dtype=torch.int64)],
                            torch.tensor([index[c] for c in class_of], dtype=torch.int64), sorted(index))

    return _cached(cache, f"tar:{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{image_size}", build)


class _Unreadable(Exception):
    """One file could not be decoded: why, in Korean and English."""

    def __init__(self, korean: str, english: str) -> None:
        super().__init__(english)
        self.korean, self.english = korean, english


def _to_uint8(img: torch.Tensor) -> torch.Tensor:
    """A 16-bit image (uint16 from torchvision, int32 from PIL) → uint8: ``round(v · 255 / 65535)``, not clipped."""
    if img.dtype == torch.uint8:
        return img
    return torch.div(img.to(torch.int64).clamp(0, 65535) * 255 + 32767, 65535, rounding_mode="floor").to(torch.uint8)


def _decode(data: bytes, image_size: int) -> torch.Tensor:
    """One encoded image → uint8 3×size×size: torchvision's decoders (deprecated in 0.29), PIL standing by."""
    from torchvision.transforms.v2 import functional as TF  # torchvision: a heavy import, only to decode

    if not data:
        raise _Unreadable("빈 파일(0바이트)", "empty file (0 bytes)")
    try:
        from torchvision.io import ImageReadMode, decode_image
        img = decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.RGB,
                           apply_exif_orientation=True)
    except (ImportError, RuntimeError, ValueError):
        img = _decode_with_pil(data)
    img = _to_uint8(img[0] if img.ndim == 4 else img)  # an animated GIF: its first frame
    if img.shape[-2:] != (image_size, image_size):
        img = TF.center_crop(TF.resize(img, [image_size], antialias=True), [image_size, image_size])
    return img


def _decode_with_pil(data: bytes) -> torch.Tensor:
    from PIL import Image, ImageOps, UnidentifiedImageError  # PIL: only when torchvision cannot decode

    try:
        with Image.open(io.BytesIO(data)) as opened:
            im = ImageOps.exif_transpose(opened)  # upright, as the EXIF orientation says
            if im.mode == "I" or im.mode.startswith("I;16"):  # 16-bit grey: PIL's RGB would clip it at 255
                grey = _to_uint8(torch.from_numpy(np.asarray(im).astype(np.int32)))
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


def _decode_chunk(part: list[tuple[str, Union[bytes, Path]]], image_size: int):
    images, failures = [], []
    for name, source in part:
        try:
            images.append(_decode(source.read_bytes() if isinstance(source, Path) else source, image_size))
        except _Unreadable as why:
            failures.append((name, why))
        except Exception as err:  # the file vanished, cannot be read, or PIL refuses it (a "decompression bomb" …)
            failures.append((name, _Unreadable(f"읽을 수 없음({cause(err)})", f"cannot be read ({cause(err)})")))
    return images, failures


def decode_all(items: Iterable[tuple[str, Union[bytes, Path]]], image_size: int,
               workers: Optional[int] = None) -> torch.Tensor:
    """``(name, bytes or path)`` items → N×3×size×size uint8, decoded in threads a few chunks at a time (a folder of
    photos never sits in memory as bytes); a :class:`DataError` names every broken file."""
    workers = workers or min(8, os.cpu_count() or 1)
    chunks: list[torch.Tensor] = []
    failures: list = []
    total = 0

    def collect(future) -> None:
        images, bad = future.result()
        failures.extend(bad)
        if images and not failures:  # after the first failure only the names of the others matter
            chunks.append(torch.stack(images))

    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The image decoding and encoding capabilities of TorchVision",
                                    category=DeprecationWarning)  # torchvision 0.29: one warning per image
            pending: deque = deque()
            items = iter(items)
            while part := list(itertools.islice(items, CHUNK)):
                total += len(part)
                pending.append(pool.submit(_decode_chunk, part, image_size))
                while len(pending) > 2 * workers:
                    collect(pending.popleft())
            while pending:
                collect(pending.popleft())
    finally:  # Ctrl-C or SIGTERM: the queued chunks are dropped, only those being decoded are waited for
        pool.shutdown(cancel_futures=True)
    if failures:
        lines = [f"  - {name}: {why.korean} / {why.english}" for name, why in failures[:LIST_AT_MOST]]
        lines += [f"  … (+{len(failures) - LIST_AT_MOST})"] if len(failures) > LIST_AT_MOST else []
        raise DataError(bilingual(
            f"이미지 {total}개 중 {len(failures)}개를 읽을 수 없습니다. 아래 파일을 고치거나 지운 뒤 다시 실행하세요.",
            f"{len(failures)} of {total} images cannot be read. Repair or delete the files below and run again.",
        ) + "\n" + "\n".join(lines))
    return torch.cat(chunks) if chunks else torch.empty(0, 3, image_size, image_size, dtype=torch.uint8)


def _fake_images(labels: torch.Tensor, size: int, gen: torch.Generator, seed: int) -> torch.Tensor:
    """Random uint8 images whose average color depends on the class, so they can be learned."""
    palette = torch.rand(64, 3, 1, 1, generator=torch.Generator().manual_seed(seed)) * 160 + 48
    noise = torch.randn(labels.numel(), 3, size, size, generator=gen) * 40
    return (palette[labels] + noise).clamp(0, 255).to(torch.uint8)


def make_image_folder(root: PathLike, classes: Sequence[str] = ("cat", "dog", "frog"), n_train: int = 8,
                      n_test: int = 4, size: int = 32, fmt: str = "png", seed: int = 0) -> Path:
    """``root/{train,test}/<class>/NNNN.<fmt>``: random images per class, each class its own average color."""
    from PIL import Image  # PIL: only to write image files

    root, gen = Path(root), torch.Generator().manual_seed(seed)
    for split, count in (("train", n_train), ("test", n_test)):
        if count <= 0:
            continue
        labels = torch.arange(len(classes)).repeat_interleave(count)
        for i, (img, label) in enumerate(zip(_fake_images(labels, size, gen, seed), labels.tolist())):
            folder = root / split / classes[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img.permute(1, 2, 0).numpy()).save(folder / f"{i % count:04d}.{fmt}")
    return root
