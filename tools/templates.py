"""The generated cells of every notebook: the badge bar under the title and the setup cell's Colab/Kaggle part.

``tools.authoring`` stamps them into each notebook from ``pyproject.toml`` (the repository URL, the release
``version`` and the dependencies); ``tools.nblint`` checks the badges against the same functions.
"""

from __future__ import annotations

__all__ = ["BRANCH", "SETUP_END", "KAGGLE_BADGE", "slug", "kaggle_url", "badges_source", "setup_source"]

BRANCH = "main"
SETUP_END = "# ---- 이 레슨에서 쓰는 것 / used in this lesson ----"


def slug(url: str) -> str:
    """``https://github.com/OWNER/NAME`` → ``OWNER/NAME``."""
    return url.removeprefix("https://github.com/")


def kaggle_url(url: str, relpath: str) -> str:
    """Kaggle's "open this GitHub notebook" link for the file at ``relpath``."""
    return f"https://kaggle.com/kernels/welcome?src={url}/blob/{BRANCH}/{relpath}"


KAGGLE_BADGE = "https://kaggle.com/static/images/open-in-kaggle.svg"


def badges_source(url: str, relpath: str, gpu: bool = False) -> str:
    """The button bar under a notebook's title: Open in Colab, Open in Kaggle, View on GitHub, for this file.

    A lesson that wants a GPU gets Kaggle's GPU note too (Colab's GPU runtime is in the notebook's metadata).
    """
    from vgg_teach.env import KAGGLE_GPU_NOTE

    colab = f"https://colab.research.google.com/github/{slug(url)}/blob/{BRANCH}/{relpath}"
    github = f"{url}/blob/{BRANCH}/{relpath}"
    text = (f"[![Colab에서 열기 / Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab})\n"
            f"&nbsp; [![Kaggle에서 열기 / Open in Kaggle]({KAGGLE_BADGE})]({kaggle_url(url, relpath)})\n"
            f"&nbsp; [GitHub에서 보기 / View on GitHub]({github})")
    if gpu:
        ko, en = KAGGLE_GPU_NOTE.split("\n")
        text += f"\n\n<small>{ko}<br>*{en}*</small>"
    return text


_SETUP = """\
# 설정(Setup): Colab·Kaggle에서는 이 강좌의 패키지와 빠진 패키지만 설치합니다. torch는 절대 다시 설치하지 않습니다.
# Setup: on Colab and Kaggle, install this course's package and only what is missing; never re-install torch.
import os, subprocess, sys
from importlib import metadata

VGG_TEACH = "@VERSION@"  # 이 노트북이 쓰는 강좌 판(태그 v@VERSION@) / the course release of this notebook
if "google.colab" in sys.modules or os.environ.get("KAGGLE_KERNEL_RUN_TYPE"):
    def _version(dist):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    _need = @INSTALLS@
    _todo = [[spec] for dist, spec in _need if _version(dist) is None]
    _replace = _version("vgg-teach") != VGG_TEACH  # 없거나 다른 판이면 바꿉니다 / missing or another release
    if _replace:
        _todo.append(["--force-reinstall", f"vgg-teach @ git+@URL@@v{VGG_TEACH}"])
    for _args in _todo:
        _pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", *_args],
                              capture_output=True, text=True)
        if _pip.returncode:
            raise RuntimeError(
                f"pip install {' '.join(_args)} → 실패 / failed\\n{_pip.stderr.strip()[-1500:]}\\n\\n"
                "무슨 일인가요: 이 레슨에 필요한 패키지를 설치하지 못했습니다(위는 pip의 마지막 메시지입니다).\\n"
                "어떻게 하나요: 인터넷 연결을 확인하고(Kaggle은 Settings → Internet 켜기) [런타임 → 세션 다시 시작] 뒤 "
                "이 셀을 다시 실행하세요. 계속 실패하면 이 메시지를 @URL@/issues 에 올려 주세요.\\n"
                "What happened: a package this lesson needs could not be installed (pip's last words are above).\\n"
                "What to do: check the internet connection (on Kaggle, turn on Settings → Internet), restart the "
                "session (Runtime → Restart session) and run this cell again; if it keeps failing, post this "
                "message at @URL@/issues.")
    if _replace and "vgg_teach" in sys.modules:
        raise RuntimeError(
            f"vgg-teach {VGG_TEACH} 판을 설치했지만 이전 판을 이미 불러왔습니다: [런타임 → 세션 다시 시작] 뒤 "
            "이 셀을 다시 실행하세요.\\n"
            f"vgg-teach {VGG_TEACH} is installed, but an older release is already imported: restart the session "
            "(Runtime → Restart session) and run this cell again.")

from vgg_teach.env import setup_lesson

device = setup_lesson()
"""


def _installs_literal(installs: list[tuple[str, str]]) -> str:
    """``[("dist", "dist>=x"), …]`` as Python source, wrapped under ``    _need = [`` within 110 columns."""
    lines, line = [], ""
    for item in (f'("{dist}", "{spec}")' for dist, spec in installs):
        if line and 13 + len(line) + len(item) + 2 > 110:
            lines.append(line.rstrip())
            line = ""
        line += item + ", "
    lines.append(line.rstrip(", "))
    return "[" + ("\n" + " " * 13).join(lines) + "]"


def setup_source(url: str, version: str, installs: list[tuple[str, str]]) -> str:
    """The generated part of every lesson's setup cell: on Colab/Kaggle, install release ``version`` and the
    missing ``installs`` (never torch), replace another release, explain a failed install in both languages."""
    text = (_SETUP.replace("@VERSION@", version).replace("@URL@", url)
            .replace("@INSTALLS@", _installs_literal(installs)))
    return text + SETUP_END
