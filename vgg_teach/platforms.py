"""Where a notebook runs — Google Colab, Kaggle or elsewhere — and what follows from it.

- :func:`which_platform` says ``"colab"``, ``"kaggle"`` or ``"local"``;
- :func:`runs_folder` is where a lesson keeps its checkpoints: on Colab a folder on Google Drive (mounted
  here; Colab's own disk is wiped when the runtime is recycled, Drive is not), on Kaggle ``/kaggle/working``,
  elsewhere the folder you give. A new runtime that calls it again finds the same folder, so ``resume=True``
  continues the runs saved there;
- :func:`unmet_requirements` is ``pip check`` for this package alone: each requirement of vgg-teach that the
  installed packages do not meet. :func:`check_requirements` prints them as a bilingual warning (every
  lesson's setup cell calls it through :func:`~vgg_teach.env.setup_lesson`).

Standard library only: the setup cell may call this before anything else works.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from .errors import bilingual

__all__ = ["which_platform", "is_colab", "is_kaggle", "runs_folder", "unmet_requirements", "check_requirements",
           "KAGGLE_WORKING", "DRIVE_MOUNT", "DRIVE_FOLDER", "KAGGLE_GPU_NOTE"]

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
