"""Install metadata: pyproject and environment.yml agree, floors not pins, README commands are real."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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


def test_environment_yml_lists_the_same_packages_as_pyproject():
    runtime = {_name(r) for r in _pyproject()["project"]["dependencies"]}
    test = {_name(r) for r in _pyproject()["project"]["optional-dependencies"]["test"]}
    conda, pip = _conda_deps()
    declared = (conda | pip) - {"vgg-teach"}
    assert declared == runtime | test, (
        f"only in environment.yml: {sorted(declared - runtime - test)}; "
        f"only in pyproject: {sorted((runtime | test) - declared)}")


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
    assert "readme_command setup" in ci and "readme_command test" in ci
