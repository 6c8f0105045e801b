"""The course's widgets also work with ipywidgets 7, which Colab ships (lessons 02, 03, 05).

The project's environment has ipywidgets 8; this test installs Colab's ipywidgets (the version in
``.ci/colab/pip-freeze.gpu.txt``, the package's floor) into a temporary folder, puts it first on the path of a
fresh Python and runs the widget tests there. It is the only test that needs the package index: when the index
cannot be reached it skips and says why (in CI too); any other failure to install fails in CI.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
WIDGET_TESTS = ["tests/unit/test_viz.py", "tests/unit/test_explorer.py", "tests/unit/test_receptive_field.py"]
PACKAGES = ["ipywidgets==7.8.5", "ipython_genutils==0.2.0"]
#: What pip prints when it cannot reach an index (connection refused, no DNS, no route, proxy, timeout).
UNREACHABLE = re.compile(r"NewConnectionError|Failed to establish a new connection|Network is unreachable|"
                         r"Temporary failure in name resolution|Name or service not known|nodename nor servname|"
                         r"ConnectTimeout|ConnectTimeoutError|Read timed out|ProxyError|Connection refused|"
                         r"No route to host|SSLError|Max retries exceeded", re.IGNORECASE)


def pip_install(target: Path, *pip_options: str, packages: list[str] = PACKAGES) -> subprocess.CompletedProcess:
    """``pip install --target target`` of ipywidgets 7, failing fast (one retry, 20 s timeout) when offline."""
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check", "--retries", "1",
         "--timeout", "20", *pip_options, "--target", str(target), *packages],
        capture_output=True, text=True, timeout=300)


def unreachable(stderr: str) -> Optional[str]:
    """Why the install failed, if it was because the package index could not be reached (else ``None``)."""
    found = UNREACHABLE.search(stderr)
    if not found:
        return None
    line = next(line for line in stderr.splitlines() if found.group(0) in line)
    return f"the package index cannot be reached: {line.strip()[:200]}"


def test_an_unreachable_index_is_recognised(tmp_path):
    """A real pip against an index that refuses connections (port 9 of this machine): recognised as offline."""
    run = pip_install(tmp_path / "t", "--isolated", "--no-cache-dir", "--index-url", "http://127.0.0.1:9/simple")
    assert run.returncode != 0
    reason = unreachable(run.stderr)
    assert reason and "cannot be reached" in reason, run.stderr[-2000:]
    assert unreachable("ERROR: Could not find a version that satisfies the requirement ipywidgets==99") is None


def test_widgets_work_on_ipywidgets_7(tmp_path, colab_versions):
    target = tmp_path / "ipywidgets7"
    install = pip_install(target, packages=[f"ipywidgets=={colab_versions['ipywidgets']}",
                                            f"ipython_genutils=={colab_versions['ipython-genutils']}"])
    if install.returncode != 0:
        reason = unreachable(install.stderr)
        if reason:
            pytest.skip(reason)
        if os.environ.get("CI") == "true":
            pytest.fail(f"could not install ipywidgets 7 in CI:\n{install.stderr[-2000:]}")
        pytest.skip(f"ipywidgets 7 could not be installed: {install.stderr.strip()[-300:]}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(ROOT)])}
    code = ("import ipywidgets, sys, pytest; assert ipywidgets.__version__.startswith('7.'), ipywidgets.__version__; "
            "sys.exit(pytest.main(['-q', '-o', 'addopts=', '-p', 'no:cacheprovider', "
            "'-k', 'widget or slider or browser or explorer or show', *sys.argv[1:]]))")
    run = subprocess.run([sys.executable, "-c", code, *WIDGET_TESTS], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "deselected" in run.stdout
