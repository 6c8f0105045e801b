"""What ``pyproject.toml`` says about the course: its GitHub URL, its release and what the setup cell installs.

Standard library only (``tomllib``, or ``tomli`` on Python 3.10), so that a step that runs before the course's
environment exists (``.ci/colab_replica.py build``, started beside the main install) can read it too;
:mod:`tools.authoring` writes badges and setup cells from it.
"""

from __future__ import annotations

import re
from pathlib import Path

try:  # Python 3.11+
    import tomllib  # novermin (Python 3.10 takes tomli below)
except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

__all__ = ["ROOT", "AuthoringError", "repository_url", "course_version", "colab_installs", "NEVER_INSTALLED"]

ROOT = Path(__file__).resolve().parent.parent

#: Colab's and Kaggle's own builds, tied to their CUDA: the setup cell never installs them.
NEVER_INSTALLED = ("torch", "torchvision")


class AuthoringError(ValueError):
    """A solution notebook breaks a course convention; the message says which cell and how to fix it."""


def _project(root: Path) -> dict:
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def repository_url(root: Path = ROOT) -> str:
    """The course's GitHub URL, from ``[project.urls] Repository`` in pyproject.toml."""
    url = _project(root)["urls"]["Repository"].rstrip("/")
    if not url.startswith("https://github.com/"):
        raise AuthoringError(f"Repository URL must be https://github.com/OWNER/NAME, got {url!r}")
    return url


def course_version(root: Path = ROOT) -> str:
    """The package's release, ``version`` in pyproject.toml; the setup cell installs the tag ``v<version>``."""
    version = _project(root)["version"]
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise AuthoringError(f"pyproject version must be X.Y.Z (the release tag is vX.Y.Z), got {version!r}")
    return version


def colab_installs(root: Path = ROOT) -> list[tuple[str, str]]:
    """``(distribution, requirement)`` for every dependency the setup cell installs where it is missing.

    All of pyproject's ``dependencies`` except :data:`NEVER_INSTALLED`; Colab ships most of them, so in
    practice the cell installs only what Colab lacks (koreanize-matplotlib today).
    """
    out = []
    for req in _project(root)["dependencies"]:
        name = re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0]
        if name.lower() not in NEVER_INSTALLED:
            out.append((name, req.replace(" ", "")))
    return out
