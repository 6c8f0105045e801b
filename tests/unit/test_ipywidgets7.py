"""The course's widgets also work with ipywidgets 7, which Colab ships (lessons 02, 03, 05).

The project's environment has ipywidgets 8: this installs Colab's version (from ``.ci/colab/pip-freeze.gpu.txt``) into
a temporary folder, first on the path of a fresh Python, and runs test_viz.py's widget tests there. When the package
index cannot be reached it skips and says why (in CI too); any other failure to install fails in CI.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: What pip prints when it cannot reach an index (connection refused, no DNS, no route, proxy, timeout).
UNREACHABLE = re.compile(r"NewConnectionError|Failed to establish a new connection|Network is unreachable|"
                         r"Temporary failure in name resolution|Name or service not known|nodename nor servname|"
                         r"ConnectTimeout|Read timed out|ProxyError|Connection refused|No route to host|SSLError|"
                         r"Max retries exceeded", re.IGNORECASE)


def test_widgets_work_on_ipywidgets_7(tmp_path, colab_versions):
    install = subprocess.run(  # fails fast when offline: one retry, a 20 s timeout
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check", "--retries", "1",
         "--timeout", "20", "--target", str(tmp_path), f"ipywidgets=={colab_versions['ipywidgets']}",
         f"ipython_genutils=={colab_versions['ipython-genutils']}"], capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})  # the index, past conftest's offline guard
    if install.returncode != 0:
        if found := UNREACHABLE.search(install.stderr):
            line = next(line for line in install.stderr.splitlines() if found.group(0) in line)
            pytest.skip(f"the package index cannot be reached: {line.strip()[:200]}")
        if os.environ.get("CI") == "true":
            pytest.fail(f"could not install ipywidgets 7 in CI:\n{install.stderr[-2000:]}")
        pytest.skip(f"ipywidgets 7 could not be installed: {install.stderr.strip()[-300:]}")
    code = ("import ipywidgets, sys, pytest; assert ipywidgets.__version__.startswith('7.'), ipywidgets.__version__; "
            "sys.exit(pytest.main(['-q', '-o', 'addopts=', '-p', 'no:cacheprovider', '-k', 'widget or show', "
            "'tests/unit/test_viz.py']))")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])})
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "deselected" in run.stdout  # the widget tests, and only those
