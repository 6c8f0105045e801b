"""What every lesson's setup cell does (:func:`setup_lesson`), and where a notebook runs.

The device (CUDA, then Apple's MPS, then the CPU), seeds, smoke mode (``VGG_TEACH_SMOKE=1``, set by the test suite:
later lessons shrink data and epochs with :func:`smoke_or` but run the same code path), Colab or Kaggle, the folder
that keeps a lesson's runs (on Colab: Google Drive, which outlives the runtime), the package's requirements, and the
Hangul font for figures.
"""

from __future__ import annotations

import builtins
import importlib.util
import os
import platform
import random
import sys
import warnings
from importlib import metadata
from pathlib import Path
from typing import TypeVar

import torch

from .errors import UsageError, bilingual, did_you_mean, josa, meant_name

SMOKE_ENV = "VGG_TEACH_SMOKE"
KOREAN_FONT = "NanumGothic"
KAGGLE_WORKING = Path("/kaggle/working")
DRIVE_MOUNT = Path("/content/drive")  # where Colab mounts Google Drive; the course's folder is My Drive/vgg-teach
KAGGLE_GPU_NOTE = bilingual(
    "Kaggle: 오른쪽 [Settings → Accelerator]에서 GPU T4 ×2를 고르세요. 레슨 05는 GPU 한 장으로, 레슨 07은 두 장 "
    "모두로 학습합니다. "
    "설치 셀을 실행하려면 [Settings → Internet]도 켜야 합니다.",
    "Kaggle: choose GPU T4 ×2 under Settings → Accelerator; lesson 05 trains on one of the two GPUs, lesson 07 "
    "on both. "
    "The setup cell needs Settings → Internet turned on.")
T = TypeVar("T")


def is_smoke() -> bool:
    """True when ``VGG_TEACH_SMOKE`` is 1/true/yes/y/on; another value than those or 0/false/no/n/off is warned of."""
    value = os.environ.get(SMOKE_ENV, "").strip().lower()
    if value not in {"", "0", "false", "no", "n", "off", "1", "true", "yes", "y", "on"}:
        warnings.warn(bilingual(f"{SMOKE_ENV}={value!r}: 알 수 없는 값이라 점검 모드를 끈 것으로 봅니다. 켜려면 1, "
                                "끄려면 0으로 설정하세요.",
                                f"{SMOKE_ENV}={value!r} is not a value it knows, so smoke mode is off: give 1 to turn "
                                "it on, 0 to turn it off."), stacklevel=2)
    return value in {"1", "true", "yes", "y", "on"}


def smoke_or(smoke_value: T, full_value: T) -> T:
    """``smoke_value`` in smoke mode, ``full_value`` otherwise: ``epochs = smoke_or(1, 30)``."""
    return smoke_value if is_smoke() else full_value


def is_colab() -> bool:
    return "google.colab" in sys.modules


def is_kaggle() -> bool:
    return bool(os.environ.get("KAGGLE_KERNEL_RUN_TYPE"))


def which_platform() -> str:
    """``"colab"``, ``"kaggle"`` or ``"local"`` (any other Jupyter, a script, the tests)."""
    return "colab" if is_colab() else "kaggle" if is_kaggle() else "local"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """CUDA, else Apple's MPS, else the CPU; ``prefer`` ("cuda", "cuda:1", "mps", "cpu") forces one, or says why not."""
    if isinstance(prefer, torch.device):
        return prefer
    if prefer is None:
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu")
    if prefer is torch.device:
        raise UsageError(bilingual(
            "device가 장치가 아니라 torch.device 클래스 자체입니다: `from torch import *`가 설정 셀의 device를 "
            "덮어쓰지 않았나요? 그 줄을 지우고 커널을 다시 시작한 뒤(float, sum 같은 파이썬 함수도 덮어썼습니다) "
            "설정 셀부터 실행하세요.",
            "device is the torch.device class itself, not a device: did `from torch import *` overwrite the setup "
            "cell's device? Delete that line, restart the kernel (it replaced Python's float, sum … too) and run "
            "from the setup cell."))
    prefer = str(prefer).lower()
    available = {"cuda": torch.cuda.is_available(), "mps": _mps_available(), "cpu": True}.get(prefer.split(":")[0])
    if available is None:
        raise UsageError(bilingual(f"알 수 없는 장치(device) '{prefer}' — 'cuda', 'mps', 'cpu' 중 하나를 쓰세요.",
                                   f"Unknown device '{prefer}': use 'cuda', 'mps' or 'cpu'."))
    if not available:
        raise UsageError(bilingual(
            f"'{prefer}' 장치를 쓸 수 없습니다. Colab이라면 [런타임 → 런타임 유형 변경]에서 GPU를 고르거나, "
            "get_device()로 자동 선택하세요.",
            f"The '{prefer}' device is not available. On Colab choose Runtime → Change runtime type → GPU, "
            "or call get_device() to pick automatically."))
    return torch.device(prefer)


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"장치(device): cuda — {torch.cuda.get_device_name(device)} (GPU를 사용합니다 / using the GPU)"
    if device.type == "mps":
        return "장치(device): mps — Apple GPU를 사용합니다 / using the Apple GPU"
    return ("장치(device): cpu — GPU가 없어 CPU로 실행합니다. 학습 레슨에서는 Colab의 GPU 런타임을 쓰기를 권합니다. / "
            "no GPU found, running on the CPU; for the training lesson use a Colab GPU runtime.")


def describe_hardware(device: torch.device) -> str:
    """The machine a run is on, in words: the GPU's name, or the CPU's model and core count, with torch's version."""
    if device.type == "cuda":
        what = torch.cuda.get_device_name(device)
    else:
        model = ""
        try:  # Linux names its CPU here; elsewhere the platform module's word will do
            model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                          if line.startswith("model name")), "")
        except OSError:
            pass
        what = f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} cores ({device.type})"
    return f"{what}; torch {torch.__version__}"


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch on every device."""
    import numpy as np  # comes with torch's usual installs; imported here to keep `import vgg_teach.env` light

    random.seed(seed)
    np.random.seed(seed % 2**32)  # NumPy takes 0 … 2**32 − 1 (a torchrun rank's seed can be larger)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def setup_lesson(seed: int = 0, prefer: str | None = None, korean_font: bool = True,
                 verbose: bool = True) -> torch.device:
    """The setup cell: requirements checked, seeds, the device, Hangul in figures, the smoke-mode notice."""
    check_requirements()
    seed_everything(seed)
    device = get_device(prefer)
    if korean_font:
        use_korean_font()
    explain_errors()
    if verbose:
        print(describe_device(device))
        if is_kaggle() and (device.type != "cuda" or torch.cuda.device_count() > 1):
            print(KAGGLE_GPU_NOTE)
        if is_smoke():
            print(f"{SMOKE_ENV}=1: 데이터와 에포크를 줄인 점검(smoke) 모드입니다 — 실행되는 코드는 실제 실행과 "
                  "같습니다. / smoke mode: less data and fewer epochs, same code path.")
    return device


def _explain(shell, etype, value, tb, tb_offset=None):  # the signature of IPython's custom exception handler
    """Show the error as IPython would, then what it most often means (NameError); a stop that training already
    explained (``told``: where the checkpoint is, how to go on) shows one line instead of the frames of the engine."""
    if isinstance(value, KeyboardInterrupt):
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset, exception_only=getattr(value, "told", False))
        return None
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    name = getattr(value, "name", None)
    if isinstance(value, UnboundLocalError) or tb is None or not isinstance(name, str) \
            or tb.tb_frame.f_globals.get("__name__") != "__main__":
        return None  # a local used before it is set; or raised inside a library, where the name is not the learner's
    close = meant_name(name, [*tb.tb_frame.f_locals, *(n for n in shell.user_ns if not n.startswith("_")),
                              *dir(builtins)])
    ko, en = did_you_mean(name, close) if close else (
        f"{josa(name, '은')} 아직 없습니다. 위쪽 셀에서 만드는 이름이라면 이번 세션에서 그 셀을 아직 실행하지 않았다는 "
        "뜻입니다: 셀을 건너뛰었거나, 런타임(커널)이 다시 시작되어 변수가 모두 사라졌을 수 있습니다. 위의 셀부터 "
        "차례로 실행하세요(Colab: 런타임 → 이전 셀 실행, JupyterLab: Run → Run All Above Selected Cell).",
        f"{name} does not exist yet. If a cell above makes it, that cell has not run in this session: a skipped cell, "
        "or a restarted runtime (kernel), which forgets every variable. Run the cells above in order (Colab: Runtime "
        "→ Run before; JupyterLab: Run → Run All Above Selected Cell).")
    print(f"💡 {ko}\n   {en}")
    return None


def explain_errors() -> None:
    """In a notebook, errors in the learner's cells say what they most often mean: a ``NameError`` is followed by the
    name meant (a typo) or by "a cell above has not run in this session" (skipped, or lost with a restarted runtime);
    an interrupted training that said where its checkpoint is ends with one line, not the engine's frames. Leaves a
    custom exception handler that is not the course's in place."""
    try:  # optional: IPython is there in Jupyter, Colab and Kaggle
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return
    shell = get_ipython()
    if shell is None or (shell.custom_exceptions and not getattr(shell, "_vgg_teach_explains", False)):
        return
    shell.set_custom_exc((NameError, KeyboardInterrupt), _explain)
    shell._vgg_teach_explains = True


def runs_folder(default: str | os.PathLike[str] = "runs", drive: bool = True) -> Path:
    """The folder a lesson's runs go to (made if missing), with one line saying where and why.

    Colab: ``My Drive/vgg-teach/runs`` on Google Drive, mounted here (it outlives the runtime, so a new runtime
    resumes the runs saved there), or ``default`` when mounting fails or ``drive=False`` (said: it is wiped with
    the runtime). Kaggle: ``/kaggle/working/runs``. Elsewhere: ``default``.
    """
    where, folder = which_platform(), Path(default)
    mounted = _mount_drive() if where == "colab" and drive else None
    if mounted is not None:
        folder = mounted / "MyDrive" / "vgg-teach" / "runs"
        print(bilingual(
            f"체크포인트 폴더: {folder} (Google Drive). Colab이 런타임을 회수하면(유휴 시간 초과, 사용량 한도) "
            "/content의 파일이 모두 지워집니다. 체크포인트를 Google Drive에 두면 새 런타임에서 노트북을 다시 "
            "실행해도 이어서 학습합니다. 처음 한 번은 Drive 접근을 허락하는 창이 뜹니다. 원하지 않으면 "
            "USE_DRIVE = False로 바꾸세요(체크포인트는 런타임 디스크에 남습니다).",
            f"Checkpoint folder: {folder} (Google Drive). When Colab recycles the runtime (idle time-out, usage "
            "limits) every file under /content is deleted. With the checkpoints on Google Drive, running the "
            "notebook again on a new runtime continues the training. The first time, Colab asks you to allow access "
            "to Drive. To opt out, set USE_DRIVE = False (the checkpoints then stay on the runtime's own disk)."))
    elif where == "colab":
        print(bilingual(f"체크포인트 폴더: {folder.resolve()} (런타임 디스크: 런타임이 회수되면 지워집니다).",
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
    """Mount Google Drive at :data:`DRIVE_MOUNT`; its mount point, or None (after saying why) when that fails."""
    if (DRIVE_MOUNT / "MyDrive").is_dir():
        return DRIVE_MOUNT
    try:
        from google.colab import drive  # Colab only

        drive.mount(str(DRIVE_MOUNT))
    except Exception as exc:  # refused permission, no Drive, a Colab-side error: the lesson goes on locally
        print(bilingual(
            f"Google Drive를 연결하지 못했습니다 ({type(exc).__name__}: {exc}). 체크포인트는 런타임 디스크에 "
            "둡니다: 런타임이 회수되면 지워집니다. 이 셀을 다시 실행해 Drive 접근을 허락하면 Drive를 씁니다.",
            f"Could not mount Google Drive ({type(exc).__name__}: {exc}). The checkpoints stay on the runtime's "
            "disk and are deleted when the runtime is recycled; run this cell again and allow access to use Drive."))
        return None
    return DRIVE_MOUNT if (DRIVE_MOUNT / "MyDrive").is_dir() else None


def unmet_requirements(dist: str = "vgg-teach") -> list[str]:
    """``pip check`` for ``dist`` alone: each runtime requirement that is missing or older than its floor.

    Extras are ignored; an uninstalled ``dist`` (a source tree) has nothing to check.
    """
    from packaging.requirements import Requirement  # a dependency; imported here to keep the setup cell light

    try:
        requires = metadata.requires(dist) or []
    except metadata.PackageNotFoundError:
        return []
    problems = []
    for req in map(Requirement, requires):
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        try:
            have = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            needs = f" (needs {req.name}{req.specifier})" if req.specifier else ""
            problems.append(f"{req.name}: not installed{needs}")
            continue
        if not req.specifier.contains(have, prereleases=True):
            problems.append(f"{req.name} {have}: older than {req.name}{req.specifier}")
    return problems


def check_requirements(dist: str = "vgg-teach") -> list[str]:
    """Print a bilingual warning naming every unmet requirement of ``dist`` (nothing when all are met)."""
    problems = unmet_requirements(dist)
    if problems:
        listed = "; ".join(problems)
        print(bilingual(
            f"⚠ {dist}에 필요한 패키지가 맞지 않습니다: {listed}. 이 레슨의 일부가 동작하지 않을 수 있습니다. "
            "torch와 torchvision이 아니라면 `pip install -U \"이름>=버전\"`으로 업그레이드하고 커널을 다시 시작하세요. "
            "torch가 오래되었다면 Colab·Kaggle의 새 런타임을 쓰거나 내 컴퓨터의 torch를 업그레이드하세요.",
            f"⚠ Packages {dist} needs do not match: {listed}. Parts of this lesson may not work. Except for torch "
            "and torchvision, upgrade with `pip install -U \"name>=version\"` and restart the kernel; for an old "
            "torch, use a fresh Colab or Kaggle runtime or upgrade torch on your machine."))
    return problems


def use_korean_font() -> str | None:
    """Make NanumGothic (shipped by koreanize-matplotlib) the figures' font; None, with a hint, when it is missing.

    Colab's matplotlib has no Hangul font (Korean shows as boxes). The font files are found without importing
    koreanize_matplotlib, whose module imports ``distutils`` (gone in Python 3.12).
    """
    import matplotlib
    from matplotlib import font_manager

    spec = importlib.util.find_spec("koreanize_matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for path in sorted(Path(folder).glob("fonts/*.ttf")):
            font_manager.fontManager.addfont(str(path))
    if KOREAN_FONT not in {f.name for f in font_manager.fontManager.ttflist}:
        print("한글 글꼴을 찾지 못했습니다: `pip install koreanize-matplotlib` 후 다시 실행하세요. / "
              "No Hangul font found: run `pip install koreanize-matplotlib` and re-run this cell.")
        return None
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [KOREAN_FONT, *(n for n in matplotlib.rcParams["font.sans-serif"]
                                                             if n != KOREAN_FONT)]
    matplotlib.rcParams["axes.unicode_minus"] = False  # NanumGothic has no U+2212 minus sign
    return KOREAN_FONT
