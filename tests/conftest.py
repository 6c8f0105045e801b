"""Fixtures shared by the tests (pytest finds them here). Nothing here touches the internet or /work/shared."""

from __future__ import annotations

import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.fakes import make_fake_cifar10, script
from vgg_teach.training.sources import make_image_folder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_network(monkeypatch) -> SimpleNamespace:
    """Every DNS lookup and socket connection fails as if the machine were offline; ``.attempts`` counts them."""
    blocked = SimpleNamespace(attempts=[])

    def refuse(*args, **kwargs):
        blocked.attempts.append(repr(args[:2]))
        raise OSError(101, "Network is unreachable (blocked by the test)")

    for owner, name in ((socket, "getaddrinfo"), (socket, "create_connection"), (socket.socket, "connect")):
        monkeypatch.setattr(owner, name, refuse)
    return blocked


@pytest.fixture
def smoke_on(monkeypatch) -> None:
    monkeypatch.setenv("VGG_TEACH_SMOKE", "1")


@pytest.fixture
def smoke_off(monkeypatch) -> None:
    monkeypatch.delenv("VGG_TEACH_SMOKE", raising=False)


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory) -> Path:
    """DIR/train/{cat,dog,frog}/ (16 PNGs each) and DIR/test/… (4 each) — read-only for tests."""
    return make_image_folder(tmp_path_factory.mktemp("folder") / "data", n_train=16, n_test=4)


@pytest.fixture
def fake_cifar(tmp_path) -> tuple[Path, dict[str, str]]:
    """A fresh ``root`` holding only a tiny ``cifar-10-python.tar.gz`` (250 train, 50 test), and its MD5s."""
    return tmp_path / "cifar", make_fake_cifar10(tmp_path / "cifar")


@pytest.fixture(scope="session")
def replica():
    """``.ci/colab_replica.py``, the Colab replica's builder and judge."""
    return script(ROOT / ".ci" / "colab_replica.py", "ci_colab_replica")


@pytest.fixture(scope="session")
def replica_notebooks():
    """``.ci/colab_notebooks.py``, what runs the notebooks inside the replica."""
    return script(ROOT / ".ci" / "colab_notebooks.py", "ci_colab_notebooks")


@pytest.fixture(scope="session")
def colab_versions(replica) -> dict[str, str]:
    """Colab's package versions, read by the Colab replica's own reader from its manifest (.ci/colab/)."""
    return replica.read_freeze(replica.MANIFEST / "pip-freeze.gpu.txt")
