"""Environment helpers shared by every lesson's setup cell.

- :func:`get_device` picks cuda → mps → cpu and can say so in Korean and English;
- :func:`seed_everything` makes runs repeatable;
- :func:`is_smoke` reads ``VGG_TEACH_SMOKE=1`` (set by the test suite): later lessons shrink data
  and epochs with :func:`smoke_or` but run the same code path;
- :func:`is_colab` tells whether the notebook runs on Google Colab (:mod:`.platforms` knows Kaggle too, and
  where runs are kept on each);
- :func:`setup_lesson` does all of the above in one call, checks the package's requirements, and returns
  the device.

Where a notebook runs — Google Colab, Kaggle or elsewhere — and what follows from it.

- :func:`which_platform` says ``"colab"``, ``"kaggle"`` or ``"local"``;
- :func:`runs_folder` is where a lesson keeps its checkpoints: on Colab a folder on Google Drive (mounted
  here; Colab's own disk is wiped when the runtime is recycled, Drive is not), on Kaggle ``/kaggle/working``,
  elsewhere the folder you give. A new runtime that calls it again finds the same folder, so ``resume=True``
  continues the runs saved there;
- :func:`unmet_requirements` is ``pip check`` for this package alone: each requirement of vgg-teach that the
  installed packages do not meet. :func:`check_requirements` prints them as a bilingual warning (every
  lesson's setup cell calls it through :func:`~vgg_teach.env.setup_lesson`).

Standard library only: the setup cell may call this before anything else works.

Hangul in matplotlib figures: the NanumGothic font that koreanize-matplotlib ships, without importing it.

Colab's matplotlib has no Hangul font, so Korean labels show as empty boxes. The course ships one
through ``koreanize-matplotlib`` (it bundles NanumGothic); :func:`use_korean_font` registers it and
makes it the default sans-serif font. Every lesson's setup cell calls it via ``setup_lesson``.
"""

from __future__ import annotations

import importlib.util
import os
import random
import re
import sys
from pathlib import Path
from typing import TypeVar

import torch

from .errors import UsageError, bilingual

# ---- from vgg_teach.env (phase-1 merge)
SMOKE_ENV = "VGG_TEACH_SMOKE"


T = TypeVar("T")


def is_smoke() -> bool:
    """True when ``VGG_TEACH_SMOKE`` is set to 1/true/yes (the test suite sets it)."""
    return os.environ.get(SMOKE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def smoke_or(smoke_value: T, full_value: T) -> T:
    """``smoke_value`` in smoke mode, ``full_value`` otherwise: ``epochs = smoke_or(1, 30)``."""
    return smoke_value if is_smoke() else full_value


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """The best available device: CUDA, then Apple's MPS, then the CPU.

    ``prefer`` ("cuda", "mps", "cpu", or a ``torch.device``) forces a choice; an unavailable one raises a
    bilingual :class:`~vgg_teach.errors.UsageError` that says what to do instead.
    """
    if isinstance(prefer, torch.device):
        return prefer
    if prefer is not None:
        prefer = str(prefer).lower()
        ok = {
            "cuda": torch.cuda.is_available(),
            "mps": _mps_available(),
            "cpu": True,
        }
        kind = prefer.split(":")[0]  # "cuda:1" is a cuda device
        if kind not in ok:
            raise UsageError(bilingual(f"알 수 없는 장치(device) '{prefer}' — 'cuda', 'mps', 'cpu' 중 하나를 쓰세요.",
                                       f"Unknown device '{prefer}': use 'cuda', 'mps' or 'cpu'."))
        if not ok[kind]:
            raise UsageError(bilingual(
                f"'{prefer}' 장치를 쓸 수 없습니다. Colab이라면 [런타임 → 런타임 유형 변경]에서 GPU를 고르거나, "
                "get_device()로 자동 선택하세요.",
                f"The '{prefer}' device is not available. On Colab choose Runtime → Change runtime type → GPU, "
                "or call get_device() to pick automatically."))
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def describe_device(device: torch.device) -> str:
    """A one-line bilingual description of ``device`` for the setup cell."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        return f"장치(device): cuda — {name} (GPU를 사용합니다 / using the GPU)"
    if device.type == "mps":
        return "장치(device): mps — Apple GPU를 사용합니다 / using the Apple GPU"
    return ("장치(device): cpu — GPU가 없어 CPU로 실행합니다. 학습 레슨은 Colab의 GPU 런타임을 권합니다. / "
            "no GPU found, running on the CPU; for the training lesson use a Colab GPU runtime.")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy (if installed) and PyTorch on every device."""
    random.seed(seed)
    try:
        import numpy as np
        np.random.seed(seed)
    except ImportError:  # pragma: no cover - numpy ships with torch's usual installs
        pass
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def setup_lesson(seed: int = 0, prefer: str | None = None, korean_font: bool = True,
                 verbose: bool = True) -> torch.device:
    """Everything a lesson's setup cell needs: seeds, the device, Hangul in plots, smoke-mode notice."""
    check_requirements()
    seed_everything(seed)
    device = get_device(prefer)
    if korean_font:
        use_korean_font()
    if verbose:
        print(describe_device(device))
        if is_kaggle() and (device.type != "cuda" or torch.cuda.device_count() > 1):
            print(KAGGLE_GPU_NOTE)
        if is_smoke():
            print(f"{SMOKE_ENV}=1: 데이터와 에포크를 줄인 점검(smoke) 모드입니다 — 코드 경로는 같습니다. / "
                  "smoke mode: less data and fewer epochs, same code path.")
    return device


# ---- from vgg_teach.platforms (phase-1 merge)
KAGGLE_WORKING = Path("/kaggle/working")


#: Where Colab mounts Google Drive, and the course's folder inside "My Drive".
DRIVE_MOUNT = Path("/content/drive")


DRIVE_FOLDER = "MyDrive/vgg-teach"


KAGGLE_GPU_NOTE = bilingual(
    "Kaggle: 오른쪽 [Settings → Accelerator]에서 GPU T4 ×2를 고르세요. 이 강좌의 학습은 GPU 한 장만 씁니다. "
    "설치 셀이 돌려면 [Settings → Internet]도 켜야 합니다.",
    "Kaggle: choose GPU T4 ×2 under Settings → Accelerator; this course trains on one of the two GPUs. "
    "The setup cell needs Settings → Internet turned on.")


def is_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules


def is_kaggle() -> bool:
    """True inside a Kaggle notebook (Kaggle sets ``KAGGLE_KERNEL_RUN_TYPE``)."""
    return bool(os.environ.get("KAGGLE_KERNEL_RUN_TYPE"))


def which_platform() -> str:
    """``"colab"``, ``"kaggle"`` or ``"local"`` (any other Jupyter, a script, the tests)."""
    return "colab" if is_colab() else "kaggle" if is_kaggle() else "local"


_WHY_DRIVE = (
    "Colab 런타임이 재활용되면(유휴 시간 초과, 사용량 한도) /content의 파일이 모두 지워집니다. 체크포인트를 "
    "Google Drive에 두면 새 런타임에서 노트북을 다시 실행해도 이어서 학습합니다. 처음 한 번은 Drive 접근을 "
    "허락하는 창이 뜹니다. 원하지 않으면 USE_DRIVE = False로 바꾸세요(체크포인트는 런타임 디스크에 남습니다).",
    "When Colab recycles the runtime (idle time-out, usage limits) every file under /content is deleted. With "
    "the checkpoints on Google Drive, running the notebook again on a new runtime continues the training. The "
    "first time, Colab asks you to allow access to Drive. To opt out, set USE_DRIVE = False (the checkpoints "
    "then stay on the runtime's own disk).",
)


def runs_folder(default: str | os.PathLike[str] = "runs", drive: bool = True) -> Path:
    """The folder a lesson's runs (checkpoints, metrics) go to, made if missing, with one line saying why.

    - Colab with ``drive=True``: Google Drive is mounted at :data:`DRIVE_MOUNT` (Colab asks for permission the
      first time) and the runs go to ``My Drive/vgg-teach/runs``, which outlives the runtime. If mounting
      fails (permission refused, no Drive), it says so and falls back to ``default``.
    - Colab with ``drive=False``: ``default``, on the runtime's disk, with a warning that it does not survive.
    - Kaggle: ``/kaggle/working/runs`` (kept between sessions with Settings → Persistence → Files).
    - elsewhere: ``default``.
    """
    where = which_platform()
    folder = Path(default)
    if where == "colab" and drive:
        mounted = _mount_drive()
        if mounted is not None:
            folder = mounted / DRIVE_FOLDER / "runs"
            print(bilingual(f"체크포인트 폴더: {folder} (Google Drive). " + _WHY_DRIVE[0],
                            f"Checkpoint folder: {folder} (Google Drive). " + _WHY_DRIVE[1]))
    elif where == "colab":
        print(bilingual(f"체크포인트 폴더: {folder.resolve()} (런타임 디스크: 런타임이 재활용되면 지워집니다).",
                        f"Checkpoint folder: {folder.resolve()} (the runtime's disk: deleted when the runtime "
                        "is recycled)."))
    elif where == "kaggle":
        folder = KAGGLE_WORKING / "runs"
        print(bilingual(f"체크포인트 폴더: {folder}. 세션이 끝나도 남기려면 [Settings → Persistence]에서 "
                        "Files를 켜세요.",
                        f"Checkpoint folder: {folder}. To keep it after the session ends, turn on Files under "
                        "Settings → Persistence."))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _mount_drive() -> Path | None:
    """Mount Google Drive at :data:`DRIVE_MOUNT`; the mount point, or None (after saying why) when it fails."""
    mount = Path(DRIVE_MOUNT)
    if (mount / "MyDrive").is_dir():
        return mount
    try:
        from google.colab import drive

        drive.mount(str(mount))
    except Exception as exc:  # refused permission, no Drive, a Colab-side error: the lesson goes on locally
        print(bilingual(
            f"Google Drive를 연결하지 못했습니다 ({type(exc).__name__}: {exc}). 체크포인트는 런타임 디스크에 "
            "둡니다: 런타임이 재활용되면 지워집니다. 이 셀을 다시 실행해 Drive 접근을 허락하면 Drive를 씁니다.",
            f"Could not mount Google Drive ({type(exc).__name__}: {exc}). The checkpoints stay on the runtime's "
            "disk and are deleted when the runtime is recycled; run this cell again and allow access to use Drive."))
        return None
    return mount if (mount / "MyDrive").is_dir() else None


# -- requirements ------------------------------------------------------------------------------------

_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:>=\s*([0-9][^,;\s]*))?\s*(?:;(.*))?$")


def _release(version: str) -> tuple[int, ...]:
    """The numeric release of a version string: ``"2.11.0+cu128"`` → ``(2, 11, 0)``, ``"7.7.1"`` → ``(7, 7, 1)``."""
    parts = []
    for piece in re.split(r"[.+]", version):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group()))
    return tuple(parts)


def unmet_requirements(dist: str = "vgg-teach") -> list[str]:
    """``dist``'s runtime requirements that are missing or older than their floor, one line each.

    The package states its dependencies as floors (``name>=X``, no pins: Colab's own packages must not be
    replaced); extras are ignored. An uninstalled ``dist`` (running from a source tree) has nothing to check.
    """
    from importlib import metadata

    try:
        requires = metadata.requires(dist) or []
    except metadata.PackageNotFoundError:
        return []
    problems = []
    for req in requires:
        m = _REQ.match(req)
        if not m or not _applies(m.group(3)):
            continue
        name, floor = m.group(1), m.group(2)
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name}: not installed (needs {name}>={floor})" if floor else f"{name}: not installed")
            continue
        if floor and _release(have) < _release(floor):
            problems.append(f"{name} {have}: older than {name}>={floor}")
    return problems


def _applies(marker: str | None) -> bool:
    """Whether a requirement's environment marker holds here; an extra's requirements never count."""
    if not marker:
        return True
    if "extra" in marker:
        return False
    try:
        from packaging.markers import Marker
    except ImportError:  # no packaging: rather skip a conditional requirement than warn about it wrongly
        return False
    return Marker(marker.strip()).evaluate()


def check_requirements(dist: str = "vgg-teach") -> list[str]:
    """Print a bilingual warning naming every unmet requirement of ``dist`` (nothing when all are met)."""
    problems = unmet_requirements(dist)
    if problems:
        listed = "; ".join(problems)
        print(bilingual(
            f"⚠ {dist}에 필요한 패키지가 맞지 않습니다: {listed}. 이 레슨의 일부가 동작하지 않을 수 있습니다. "
            "torch와 torchvision이 아니라면 `pip install -U \"이름>=버전\"`으로 올리고 커널을 다시 시작하세요. "
            "torch가 오래되었다면 Colab·Kaggle의 새 런타임을 쓰거나 내 컴퓨터의 torch를 올리세요.",
            f"⚠ Packages {dist} needs do not match: {listed}. Parts of this lesson may not work. Except for torch "
            "and torchvision, upgrade with `pip install -U \"name>=version\"` and restart the kernel; for an old "
            "torch, use a fresh Colab or Kaggle runtime or upgrade torch on your machine."))
    return problems


# ---- from vgg_teach.show.font (phase-1 merge)
KOREAN_FONT = "NanumGothic"


def _bundled_font_files() -> list[Path]:
    # Locate the package's fonts without importing it: its module imports ``distutils``, which
    # Python 3.12 (Colab's) no longer has.
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return []
    font_dir = Path(list(spec.submodule_search_locations)[0]) / "fonts"
    return sorted(font_dir.glob("*.ttf"))


def use_korean_font() -> str | None:
    """Register the bundled NanumGothic and use it for all text; return its family name.

    Returns ``None`` (and prints a bilingual hint) when no Hangul font can be found, so that a
    notebook still runs — figures then show boxes instead of Korean.
    """
    import matplotlib
    from matplotlib import font_manager

    files = _bundled_font_files()
    for path in files:
        font_manager.fontManager.addfont(str(path))
    names = {f.name for f in font_manager.fontManager.ttflist}
    if KOREAN_FONT not in names:
        print("한글 글꼴을 찾지 못했습니다: `pip install koreanize-matplotlib` 후 다시 실행하세요. / "
              "No Hangul font found: run `pip install koreanize-matplotlib` and re-run this cell.")
        return None
    matplotlib.rcParams["font.family"] = "sans-serif"
    sans = [n for n in matplotlib.rcParams["font.sans-serif"] if n != KOREAN_FONT]
    matplotlib.rcParams["font.sans-serif"] = [KOREAN_FONT, *sans]
    matplotlib.rcParams["axes.unicode_minus"] = False  # NanumGothic has no U+2212 minus sign
    return KOREAN_FONT
