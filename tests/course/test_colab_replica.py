"""The Colab replica's own logic (``.ci/colab_replica.py``; ``.ci/run`` builds and runs it): it reads Colab's
manifest, falls back from Python 3.13 to 3.11, judges a report, and its self-test notebook passes on this torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

from tools import authoring

ROOT = Path(__file__).resolve().parents[2]


def test_the_manifest_gives_colabs_versions_and_python(replica, tmp_path):
    freeze = tmp_path / "pip-freeze.txt"
    freeze.write_text("torch==2.11.0+cu128\njupyter_client==7.4.9\ngoogle-colab @ file:///colabtools/dist/x.tgz\n")
    pins = replica.read_freeze(freeze)
    assert pins == {"torch": "2.11.0", "jupyter-client": "7.4.9"}  # local labels dropped, names normalized, no URLs
    assert replica.colab_python_version(replica.MANIFEST / "os-info-gpu.txt").count(".") == 1
    assert replica.UNPINNED.match("nvidia-cudnn-cu12") and not replica.UNPINNED.match("numpy")


def test_without_python_3_13_it_says_so_and_uses_3_11(replica, monkeypatch):
    found = {"3.11": "/usr/bin/python3.11"}
    monkeypatch.setattr(replica.shutil, "which", lambda name: found.get(name.removeprefix("python")))
    monkeypatch.setattr(replica.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(replica, "_works", lambda python, want: python == found.get(want))
    assert replica.find_python("3.13") is None and replica.find_python("3.11") == "/usr/bin/python3.11"


def test_a_shim_that_does_not_run_is_not_a_python(replica, tmp_path):
    shim = tmp_path / "python3.13"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.13: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    assert not replica._works(str(shim), "3.13") and replica._works(sys.executable, "%d.%d" % sys.version_info[:2])


def _entry(folder, verdict, stored, error=None):
    return {"notebook": f"/x/{folder}/01_a.ipynb", "folder": folder, "error": error, "warnings": ["UserWarning: w"],
            "checks": [{"cell": 7, "id": "abc", "verdict": verdict, "stored": stored}]}


def test_judging_a_report(replica):
    ok = {"notebooks": [_entry("solutions", "passed", "passed"), _entry("lessons", "pending", None)]}
    problems, warned = replica.judge(ok)
    assert problems == [] and warned == {"UserWarning: w": ["solutions/01_a.ipynb", "lessons/01_a.ipynb"]}
    bad = {"notebooks": [_entry("solutions", "failed", "passed"), _entry("lessons", "passed", None),
                         _entry("lessons", None, None),
                         _entry("solutions", "passed", "passed", {"cell": 3, "id": "d", "ename": "AttributeError",
                                                                  "evalue": "no linear_cross_entropy"})]}
    problems, _ = replica.judge(bad)
    assert len(problems) == 4
    assert "failed, main run: passed" in problems[0] and "passed, main run: not passed" in problems[1]
    assert "None, main run" in problems[2] and "AttributeError: no linear_cross_entropy" in problems[3]


def test_the_self_test_notebook_runs_on_the_main_torch(replica, replica_notebooks, tmp_path):
    """The deliberate notebook fails in the replica (Colab's torch) only because its torch lacks the API."""
    import nbformat
    import torch.nn.functional as F

    assert replica.NEWER_API.startswith("torch.nn.functional.")
    assert hasattr(F, replica.NEWER_API.rsplit(".", 1)[1]), f"torch {torch.__version__} has no {replica.NEWER_API}"
    path = tmp_path / "newer_torch_api.ipynb"
    nbformat.write(replica.newer_api_notebook(), path)
    [entry] = [replica_notebooks.run_notebook(path, timeout=120)]
    assert entry["error"] is None, entry["error"]
    assert entry["first_output"][1] == torch.__version__


def test_the_build_step_reads_pyproject_without_the_course_environment():
    """``build`` starts before .venv exists: what it imports (tools.project) needs the standard library only."""
    code = ("import sys; sys.path[:0] = [sys.argv[1], sys.argv[1] + '/.ci']; import colab_replica, json; "
            "from tools.project import colab_installs; print(json.dumps(colab_installs())); "
            "print('nbformat' in sys.modules)")
    done = subprocess.run([sys.executable, "-I", "-c", code, str(ROOT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    installs, nbformat_loaded = done.stdout.splitlines()
    assert [tuple(x) for x in json.loads(installs)] == authoring.colab_installs() and nbformat_loaded == "False"
