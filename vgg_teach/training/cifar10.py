"""CIFAR-10 as :class:`~.data.ImageTensors`: torchvision's download first, the Hugging Face copy if that fails.

1. **torchvision** (``datasets.CIFAR10``, MD5-checked): the 170 MB archive is downloaded with a progress bar and
   a deadline (:func:`~.download.fetch`: ``timeout`` seconds, and it gives up early when the speed so far says
   it would not make it — that host has been reported taking close to an hour);
2. **the Hugging Face copy** (:mod:`.hf_cifar10`), when the download fails or is too slow and ``datasets`` is
   installed (Colab has it): converted to the same uint8 tensors, class names in torchvision's order, checked;
3. neither: one bilingual message that says what each source said and what to do — or, when the lesson asks
   for it (``stand_in=True``), a small fake CIFAR-10 with that message in a loud box (:data:`STAND_IN_SIZE`
   images), so the rest of the lesson runs. The command line never asks: it does not train on fake data.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..env import is_smoke
from ..errors import DataError, bilingual, smoke_note
from .data import CIFAR10_MEAN, CIFAR10_STD, ImageTensors, PathLike
from .fakes import make_fake_cifar10, patched_cifar10_md5

__all__ = ["load_cifar10", "DOWNLOAD_TIMEOUT", "STAND_IN_SIZE"]

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
        return _fake(root / "smoke-fake-cifar10", 500, 100, note)
    try:
        return _load_real(root, present, download, timeout, fallback)
    except DataError as err:
        if not stand_in:
            raise
        why_ko, _, why_en = str(err).partition("\n")
        n_train, n_test = STAND_IN_SIZE
        note = (text.format(why=why, n_train=n_train, n_test=n_test)
                for text, why in zip(_STAND_IN_NOTE, (why_ko, why_en or why_ko)))
        return _fake(root / "stand-in-fake-cifar10", n_train, n_test, note)


def _fake(folder: Path, n_train: int, n_test: int, note) -> tuple[ImageTensors, ImageTensors]:
    """Say ``note`` (ko, en) in a loud box, then write a fake CIFAR-10 archive and load it through torchvision."""
    print(smoke_note(*note), flush=True)
    with patched_cifar10_md5(make_fake_cifar10(folder, n_train=n_train, n_test=n_test)):
        return _load_cifar10(folder, download=True)


def _load_real(root: Path, present: bool, download: bool, timeout: float,
               fallback: bool) -> tuple[ImageTensors, ImageTensors]:
    from torchvision.datasets import CIFAR10

    if present or not download:
        return _load_cifar10(root, download)
    from .download import fetch

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
    from .hf_cifar10 import load_hf_cifar10

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
    from .hf_cifar10 import content_digest, load_hf_cifar10

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
