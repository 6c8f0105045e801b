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


def test_the_package_alone_pulls_no_jupyterlab_and_no_test_tools():
    runtime = {_name(r) for r in _pyproject()["project"]["dependencies"]}
    assert not runtime & {"jupyterlab", "nbval", "pytest", "nbclient", "nbformat", "playwright", "notebook"}
    assert {"jupyterlab"} <= {_name(r) for r in _pyproject()["project"]["optional-dependencies"]["lab"]}


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
    assert {"vgg_teach/checks/vgg16.py", "vgg_teach/training/engine.py", "vgg_teach/train.py"} <= set(names)
    metadata = next(n for n in names if n.endswith("METADATA"))
    requires = [line for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert requires and not any(re.search(r"jupyterlab|nbval|pytest", line) for line in requires), requires


def test_runtime_dependencies_are_floors_not_pins():
    for req in _pyproject()["project"]["dependencies"]:
        assert "==" not in req and "<" not in req, f"{req}: pins fight Colab's preinstalled packages"
    ipyw = next(r for r in _pyproject()["project"]["dependencies"] if r.startswith("ipywidgets"))
    assert ipyw == "ipywidgets>=7.6", "Colab ships ipywidgets 7.x: the floor must admit it"


def test_readme_quick_start_commands_are_the_ones_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    setup = re.search(r"<!-- setup-command -->\s*```bash\n(.+?)\n```", readme, re.S).group(1).strip()
    test = re.search(r"<!-- test-command -->\s*```bash\n(.+?)\n```", readme, re.S).group(1).strip()
    assert "torch==2.14.1" in setup and "torchvision==0.29.1" in setup
    assert test.startswith("pytest")
    assert "readme_command setup" in ci and "readme_command test" in ci and "readme_command browser-test" in ci
    browser = re.search(r"<!-- browser-test-command -->\s*```bash\n(.+?)\n```", readme, re.S).group(1).strip()
    assert browser.startswith("pytest -m browser")
