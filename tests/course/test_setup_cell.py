"""The generated setup cell, run as Colab or Kaggle would run it: the cell's own code (up to its ``from vgg_teach.env
import``) in a fresh ``python -S`` beside a fake ``google.colab`` (or ``KAGGLE_KERNEL_RUN_TYPE``), fake ``*.dist-info``
folders for what the runtime has, and a fake ``pip`` that records its arguments (and fails when told to)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tools import authoring
from tools.templates import SETUP_END

ROOT = authoring.ROOT
VERSION = authoring.course_version()
URL = authoring.repository_url()
FAKE_PIP = '''
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_PIP_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
fail = os.environ.get("FAKE_PIP_FAIL")
if fail and any(fail in a for a in args):
    print("ERROR: Could not find a version that satisfies the requirement (fake pip)", file=sys.stderr)
    sys.exit(1)
'''
#: What Colab's manifest (.ci/colab/pip-freeze.gpu.txt) has of the package's dependencies.
COLAB = {"torch": "2.11.0+cu128", "torchvision": "0.26.0+cu128", "torchsummary": "1.5.1", "numpy": "2.1.3",
         "pillow": "11.3.0", "matplotlib": "3.10.0", "ipython": "7.34.0", "ipywidgets": "7.7.1", "tqdm": "4.67.3",
         "packaging": "26.3"}


def _install_part() -> str:
    nb = nbformat.read(ROOT / "lessons" / "01_handwritten_vgg16.ipynb", as_version=4)
    source = next(c.source for c in nb.cells if "setup" in c.metadata.get("tags", []))
    assert SETUP_END in source
    return source.split("from vgg_teach.env import", 1)[0]


def _runtime(tmp_path: Path, installed: dict[str, str], colab: bool = True) -> Path:
    site = tmp_path / "site"
    (site / "pip").mkdir(parents=True)
    (site / "pip" / "__init__.py").write_text("")
    (site / "pip" / "__main__.py").write_text(FAKE_PIP)
    if colab:
        (site / "google" / "colab").mkdir(parents=True)
        (site / "google" / "colab" / "__init__.py").write_text("")
    for name, version in installed.items():
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return site


def run_setup(tmp_path: Path, installed: dict[str, str], colab: bool = True, kaggle: bool = False,
              fail: str | None = None, imported: bool = False) -> tuple[subprocess.CompletedProcess, list[list[str]]]:
    site = _runtime(tmp_path, installed, colab)
    log = tmp_path / "pip.log"
    prelude = "import google.colab\n" if colab else ""
    if imported:
        prelude += "import sys, types; sys.modules['vgg_teach'] = types.ModuleType('vgg_teach')\n"
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(site), "FAKE_PIP_LOG": str(log),
           **({"KAGGLE_KERNEL_RUN_TYPE": "Interactive"} if kaggle else {}), **({"FAKE_PIP_FAIL": fail} if fail else {})}
    run = subprocess.run([sys.executable, "-S", "-c", prelude + _install_part()], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return run, calls


def _pinned() -> list[str]:
    return ["install", "-q", "--no-deps", "--force-reinstall", f"vgg-teach @ git+{URL}@v{VERSION}"]


def test_fresh_colab_installs_what_it_lacks_and_the_pinned_release_never_torch(tmp_path):
    run, calls = run_setup(tmp_path, COLAB)
    assert run.returncode == 0, run.stderr
    assert calls == [["install", "-q", "--no-deps", "koreanize-matplotlib>=0.1.1"], _pinned()]
    assert not any(a.split(">")[0] in ("torch", "torchvision") for call in calls for a in call)


def test_an_older_vgg_teach_is_replaced_and_the_right_one_kept(tmp_path):
    have = {**COLAB, "koreanize-matplotlib": "0.1.1"}
    run, calls = run_setup(tmp_path / "old", {**have, "vgg-teach": "0.2.0"})
    assert run.returncode == 0 and calls == [_pinned()]
    run, calls = run_setup(tmp_path / "same", {**have, "vgg-teach": VERSION})
    assert run.returncode == 0 and calls == []


def test_kaggle_installs_too_and_elsewhere_nothing_is_installed(tmp_path):
    kaggle = {k: v for k, v in COLAB.items() if k != "torchsummary"}  # suppose Kaggle lacks torchsummary
    run, calls = run_setup(tmp_path / "kaggle", kaggle, colab=False, kaggle=True)
    assert run.returncode == 0 and [c[-1] for c in calls] == [
        "torchsummary>=1.5.1", "koreanize-matplotlib>=0.1.1", f"vgg-teach @ git+{URL}@v{VERSION}"]
    run, calls = run_setup(tmp_path / "local", {}, colab=False)
    assert run.returncode == 0 and calls == []


def test_a_failed_install_says_what_happened_and_what_to_do_in_both_languages(tmp_path):
    run, calls = run_setup(tmp_path, COLAB, fail="vgg-teach")
    assert run.returncode != 0 and len(calls) == 2
    assert "CalledProcessError" not in run.stderr
    message = run.stderr.split("RuntimeError:", 1)[1]
    for part in ("무슨 일인가요", "어떻게 하나요", "What happened", "What to do", "Restart session",
                 "Settings → Internet", f"{URL}/issues", "fake pip", f"@v{VERSION}"):
        assert part in message, part


def test_replacing_an_already_imported_release_asks_for_a_restart(tmp_path):
    run, _ = run_setup(tmp_path, {**COLAB, "vgg-teach": "0.2.0"}, imported=True)
    assert run.returncode != 0 and "세션 다시 시작" in run.stderr and "already imported" in run.stderr


def test_the_pin_is_the_package_version_everywhere():
    import vgg_teach

    assert vgg_teach.__version__ == VERSION, "bump pyproject's version and vgg_teach.__version__ together"
    for path in authoring.solution_paths():
        for folder in ("solutions", "lessons"):
            source = (ROOT / folder / path.name).read_text(encoding="utf-8")
            assert f'VGG_TEACH = \\"{VERSION}\\"' in source and f"{URL}@v{{VGG_TEACH}}" in source, path.name


@pytest.mark.parametrize("version", ["0.3", "v0.3.0", "0.3.0.dev1"])
def test_the_version_must_name_a_release_tag(tmp_path, version):
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(text.replace(f'version = "{VERSION}"', f'version = "{version}"'))
    with pytest.raises(authoring.AuthoringError, match="X.Y.Z"):
        authoring.course_version(tmp_path)
