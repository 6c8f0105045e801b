"""The course's widgets also work with ipywidgets 7, which Colab ships (lessons 02, 03, 05).

The project's environment has ipywidgets 8; this test installs Colab's ipywidgets (the version in
``.ci/colab/pip-freeze.gpu.txt``, the package's floor) into a temporary folder, puts it first on the path of a
fresh Python and runs the widget tests there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WIDGET_TESTS = ["tests/unit/test_viz.py", "tests/unit/test_explorer.py", "tests/unit/test_receptive_field.py"]


def test_widgets_work_on_ipywidgets_7(tmp_path, colab_versions):
    target = tmp_path / "ipywidgets7"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check",
         "--target", str(target), f"ipywidgets=={colab_versions['ipywidgets']}",
         f"ipython_genutils=={colab_versions['ipython-genutils']}"],
        capture_output=True, text=True, timeout=300)
    if install.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"could not install ipywidgets 7 in CI:\n{install.stderr[-2000:]}")
        pytest.skip("ipywidgets 7 could not be installed (no access to the package index?)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(ROOT)])}
    code = ("import ipywidgets, sys, pytest; assert ipywidgets.__version__.startswith('7.'), ipywidgets.__version__; "
            "sys.exit(pytest.main(['-q', '-o', 'addopts=', '-p', 'no:cacheprovider', "
            "'-k', 'widget or slider or browser or explorer or show', *sys.argv[1:]]))")
    run = subprocess.run([sys.executable, "-c", code, *WIDGET_TESTS], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "deselected" in run.stdout
