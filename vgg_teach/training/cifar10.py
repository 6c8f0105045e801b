"""CIFAR-10 through torchvision's own download and checks, as :class:`~.data.ImageTensors`."""

from __future__ import annotations

from pathlib import Path

import torch

from ..env import is_smoke
from ..errors import DataError, bilingual, smoke_note
from .data import CIFAR10_MEAN, CIFAR10_STD, ImageTensors, PathLike
from .fakes import make_fake_cifar10, patched_cifar10_md5

__all__ = ["load_cifar10"]


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
        labels = torch.tensor(ds.targets, dtype=torch.int64)
        splits.append(ImageTensors(images, labels, list(ds.classes), CIFAR10_MEAN, CIFAR10_STD))
    return splits[0], splits[1]
