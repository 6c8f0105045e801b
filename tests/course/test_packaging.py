"""Install metadata: what the wheel holds, pyproject and environment.yml agree, floors not pins, README commands."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib  # novermin
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _conda_deps() -> tuple[set[str], set[str]]:
    conda, pip, section = set(), set(), None
    for line in (ROOT / "environment.yml").read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("dependencies:"):
            section = "conda"
        elif stripped == "- pip:":
            section = "pip"
        elif stripped.startswith("- ") and section:
            req = stripped[2:].split("#")[0].strip()
            (pip if section == "pip" and line.startswith("      ") else conda).add(_name(req))
    return conda - {"python", "pip"}, pip


def _extras() -> set[str]:
    return {_name(r) for reqs in _pyproject()["project"]["optional-dependencies"].values() for r in reqs}


def test_environment_yml_lists_the_package_and_its_extras():
    runtime = {_name(r) for r in _pyproject()["project"]["dependencies"]}
    conda, pip = _conda_deps()
    declared = (conda | pip) - {"vgg-teach"}
    assert declared == runtime | _extras(), (
        f"only in environment.yml: {sorted(declared - runtime - _extras())}; "
        f"only in pyproject: {sorted((runtime | _extras()) - declared)}")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel ``pip install`` builds, made offline with the environment's own setuptools."""
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-q", "-w", str(out), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-3000:]
    return next(out.glob("vgg_teach-*.whl"))


def test_the_wheel_holds_the_package_and_no_course_tooling(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    modules = [n for n in names if n.endswith(".py")]
    assert modules and all(n.startswith("vgg_teach/") for n in modules), [n for n in modules if "vgg_teach/" not in n]
    for tool in ("authoring", "nblint", "glossary", "prose"):
        assert not any(n.endswith(f"/{tool}.py") for n in modules), tool
    assert {"vgg_teach/checks/vgg16.py", "vgg_teach/training/engine.py", "vgg_teach/train.py",
            "vgg_teach/reference_runs.json"} <= set(names)  # lesson 05 holds a learner's run against the last one
    metadata = next(n for n in names if n.endswith("METADATA"))
    requires = [line for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert requires and not any(re.search(r"jupyterlab|nbval|pytest", line) for line in requires), requires


def test_runtime_dependencies_are_floors_not_pins():
    for req in _pyproject()["project"]["dependencies"]:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+>=[0-9.]+", req), f"{req}: a floor `name>=X`; pins fight Colab's packages"


def _release(version: str) -> tuple[int, ...]:
    parts = tuple(int(p) for p in version.split("."))
    return parts + (0,) * (3 - len(parts))


def test_every_floor_is_the_version_the_colab_replica_tests(colab_versions):
    """A floor is true when something runs it: the Colab replica (.ci/colab_replica.py) runs Colab's versions."""
    colab = colab_versions
    for req in _pyproject()["project"]["dependencies"]:
        name, floor = _name(req), req.split(">=")[1]
        if name in colab:
            assert _release(floor) == _release(colab[name]), (
                f"{req}: the replica tests {name} {colab[name]} (Colab's manifest); make that the floor")
    lacks = {_name(r) for r in _pyproject()["project"]["dependencies"]} - set(colab)
    assert lacks == {"koreanize-matplotlib"}, "what Colab lacks, the setup cell installs: keep README in step"


def test_the_package_version_is_one_release_everywhere():
    import vgg_teach

    assert vgg_teach.__version__ == _pyproject()["project"]["version"]
