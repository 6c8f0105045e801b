"""The Colab replica: every notebook of the course run on Colab's own package versions (a step of ``.ci/run``).

    python .ci/colab_replica.py build     # a fresh .venv-colab from Colab's manifest (removes an old one)
    python .ci/colab_replica.py run       # the self-test, then every notebook, in .venv-colab
    python .ci/colab_replica.py           # both

``build`` needs only Python 3.10+ (it reads the setup cell's install list with :mod:`tools.project`, standard
library only: ``.ci/run`` starts it beside the main install); ``run`` needs the course's main environment
(nbformat). What it does, in order:

1. **Colab's versions, read from its manifest** ``.ci/colab/pip-freeze.gpu.txt`` (copied unchanged from
   googlecolab/backend-info; copy a newer manifest over it and the test moves with it). Every ``name==version``
   line becomes a pip constraint, except Colab's CUDA libraries (``nvidia-*``, ``cuda-*``): PyPI's torch of
   the same version is built for another CUDA than Colab's ``+cu128`` wheel, and the replica runs on the CPU.
2. **Colab's Python** (``.ci/colab/os-info-gpu.txt``, e.g. 3.13): ``python3.13`` on PATH or under
   ``~/.pyenv/versions/3.13*``; without one, Python 3.11, and the output says so.
3. **What a Colab notebook has before the setup cell runs**: torch, torchvision, the package's other
   dependencies that Colab ships, Colab's own IPython/ipykernel/jupyter_client/nbclient/nbformat (the
   runner: Colab has all of them, so they get Colab's versions) and datasets/huggingface_hub (CIFAR-10's
   second source) — one ``pip install`` under the constraints.
4. **What the setup cell installs**, the way it installs it: the dependencies Colab lacks (the list the setup
   cell is generated from, ``tools.project.colab_installs``) with ``--no-deps``, then vgg-teach itself with
   ``--no-deps --force-reinstall`` — from this checkout, where the setup cell uses the release tag.
5. **Checks of the environment**: every package Colab pins is at Colab's version (nothing above changed one),
   and ``vgg_teach.env.unmet_requirements()`` finds every requirement of the package met.
6. **Self-test**: a tiny notebook calling ``torch.nn.functional.linear_cross_entropy`` (in the main
   environment's torch, not in Colab's) must fail here — proof that the replica catches a newer API.
7. **The Hugging Face copy's conversion** on Colab's ``datasets`` (a tiny offline ``datasets.Dataset``).
8. **Every notebook**, solutions/ and lessons/ side by side (one process each), in smoke mode
   (``.ci/colab_notebooks.py``): no error, every check cell's verdict as in the main run (solutions/: the
   verdict stored by the main run's execution; lessons/: a verdict that is not ✅ — the unfilled stub).

Nothing is cached between runs: ``build`` starts from an empty folder.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MANIFEST = Path(os.environ.get("COLAB_MANIFEST", ROOT / ".ci" / "colab"))
VENV = ROOT / ".venv-colab"
UNPINNED = re.compile(r"^(nvidia-|cuda-)")
RUNNER = ("ipython", "ipykernel", "jupyter-client", "nbclient", "nbformat")
#: On Colab too, for CIFAR-10's second source (vgg_teach.training.sources).
HUB = ("datasets", "huggingface-hub")
FALLBACK_PYTHON = "3.11"
NEWER_API = "torch.nn.functional.linear_cross_entropy"


def say(msg: str) -> None:
    print(f"[colab-replica] {msg}", flush=True)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_freeze(path: Path) -> dict[str, str]:
    """``pip freeze`` text → {normalised name: version without its local label (2.11.0+cu128 → 2.11.0)}."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", line.strip())
        if m:
            pins[normalize(m.group(1))] = m.group(2).split("+")[0]
    return pins


def colab_python_version(os_info: Path) -> str:
    """``Python 3.13.15`` in Colab's os-info → ``"3.13"``."""
    m = re.search(r"^Python (\d+)\.(\d+)", os_info.read_text(encoding="utf-8"), re.M)
    if not m:
        raise SystemExit(f"no 'Python X.Y' line in {os_info}")
    return f"{m.group(1)}.{m.group(2)}"


def _works(python: str, want: str) -> bool:
    try:
        out = subprocess.run([python, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30)
    except OSError:
        return False
    return out.returncode == 0 and out.stdout.strip() == want


def find_python(want: str) -> str | None:
    """A working ``pythonX.Y`` for ``want``: on PATH (pyenv's shims only count when they run), then pyenv's."""
    candidates = [shutil.which(f"python{want}") or ""]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{want}*/bin/python{want}")), reverse=True)
    return next((c for c in candidates if c and _works(c, want)), None)


def pip(python: Path, *args: str, log: Path, timeout: int = 900) -> None:
    cmd = [str(python), "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV"}}
        done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, env=env)
    if done.returncode:
        tail = log.read_text(encoding="utf-8").splitlines()[-40:]
        raise SystemExit("pip failed:\n" + "\n".join(tail))


def build() -> None:
    from tools.project import colab_installs  # standard library only: this step may start before .venv exists

    started = time.time()
    pins = read_freeze(MANIFEST / "pip-freeze.gpu.txt")
    want = colab_python_version(MANIFEST / "os-info-gpu.txt")
    python = find_python(want)
    if python is None:
        python = find_python(FALLBACK_PYTHON)
        say(f"NOTE: no Python {want} on this machine (Colab runs {want}); the replica runs on Python "
            f"{FALLBACK_PYTHON} instead: the notebooks are tested on Colab's packages but not on its Python.")
        if python is None:
            raise SystemExit(f"neither Python {want} nor {FALLBACK_PYTHON} found")
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(VENV)], check=True)
    py, log = VENV / "bin" / "python", VENV / "install.log"
    constraints = VENV / "colab-constraints.txt"
    constraints.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items()) if not UNPINNED.match(n)),
                           encoding="utf-8")
    installs = colab_installs()
    has = [dist for dist, _ in installs if normalize(dist) in pins]
    lacks = [spec for dist, spec in installs if normalize(dist) not in pins]
    base = list(dict.fromkeys(["torch", "torchvision", *has, *RUNNER, *HUB]))
    missing = [n for n in base if normalize(n) not in pins]
    if missing:
        raise SystemExit(f"Colab's manifest has no {missing}: the replica cannot give them Colab's versions")
    say(f"Python {want} ({python}); Colab's torch {pins['torch']}, torchvision {pins['torchvision']}, "
        f"{', '.join(f'{n} {pins[normalize(n)]}' for n in base[2:])}")
    if "pip" in pins:  # the setup cell runs Colab's own pip
        pip(py, "install", "-q", "--progress-bar", "off", f"pip=={pins['pip']}", log=log)
    pip(py, "install", "-q", "--progress-bar", "off", "-c", str(constraints), *base, log=log)
    say(f"the setup cell's installs (Colab lacks them): {lacks or 'none'}; then vgg-teach from this checkout")
    if lacks:
        pip(py, "install", "-q", "--progress-bar", "off", "--no-deps", *lacks, log=log)
    with tempfile.TemporaryDirectory(prefix="vgg-teach-src-") as src:  # what the release tag holds, built outside
        for part in ("pyproject.toml", "README.md", "LICENSE", "vgg_teach"):  # the checkout (no build/ left in it)
            if (ROOT / part).is_dir():
                shutil.copytree(ROOT / part, Path(src) / part, ignore=shutil.ignore_patterns("__pycache__"))
            elif (ROOT / part).exists():
                shutil.copy(ROOT / part, Path(src) / part)
        pip(py, "install", "-q", "--progress-bar", "off", "--no-deps", "--force-reinstall", src, log=log)
    verify(py, pins)
    say(f"built {VENV.name} in {time.time() - started:.0f} s")


def verify(py: Path, pins: dict[str, str]) -> None:
    listed = subprocess.run([str(py), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                            capture_output=True, text=True, check=True).stdout
    installed = {normalize(p["name"]): p["version"] for p in json.loads(listed)}
    changed = [f"{n} {installed[n]} (Colab: {v})" for n, v in sorted(pins.items())
               if n in installed and not UNPINNED.match(n) and installed[n].split("+")[0] != v]
    if changed:
        raise SystemExit(f"the replica's versions differ from Colab's: {changed}")
    check = subprocess.run([str(py), "-c", "from vgg_teach.env import unmet_requirements as u; "
                            "import sys; bad = u(); print(*bad, sep='\\n'); sys.exit(bool(bad))"],
                           capture_output=True, text=True, cwd=tempfile.gettempdir(), env=_clean_env())
    if check.returncode:
        raise SystemExit(f"vgg-teach's requirements are not met in the replica:\n{check.stdout}{check.stderr}")
    say(f"{len([n for n in pins if n in installed])} packages at Colab's versions; vgg-teach "
        f"{installed.get('vgg-teach')}: every requirement met")


def _clean_env() -> dict[str, str]:
    """The replica's kernels see only the replica: no PYTHONPATH to a checkout, no inherited venv or backend."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "MPLBACKEND"}}
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # PYDEVD_…: Python 3.13's debugpy otherwise warns about frozen modules in every kernel's stderr
    env.update(VGG_TEACH_SMOKE="1", TQDM_MININTERVAL="60", PYTHONDONTWRITEBYTECODE="1",
               PYDEVD_DISABLE_FILE_VALIDATION="1")
    return env


def execute(groups: list[list[Path]], work: Path) -> dict:
    """Run each group of notebooks in its own colab_notebooks.py, the groups side by side; one merged report.

    Two groups (solutions/, lessons/) use the 2 cores of a CI machine; each kernel gets one thread
    (``OMP_NUM_THREADS=1``) so that the two do not fight over them.
    """
    env = {**_clean_env(), "JUPYTER_DATA_DIR": str(work / "jupyter-data"), "JUPYTER_CONFIG_DIR": str(work / "cfg"),
           "JUPYTER_RUNTIME_DIR": str(work / "runtime"), **({"OMP_NUM_THREADS": "1"} if len(groups) > 1 else {})}
    runs = []
    for group in groups:
        report = work / f"report-{len(list(work.glob('report-*'))) + len(runs)}.json"
        cmd = [str(VENV / "bin" / "python"), str(ROOT / ".ci" / "colab_notebooks.py"), "--report", str(report),
               *map(str, group)]
        runs.append((subprocess.Popen(cmd, env=env, cwd=work), report))
    merged: dict = {"notebooks": []}
    for proc, report in runs:
        if proc.wait(timeout=1500):
            raise SystemExit(f"colab_notebooks.py exited with {proc.returncode}")
        data = json.loads(report.read_text(encoding="utf-8"))
        merged["env"] = data["env"]
        merged["notebooks"] += data["notebooks"]
    return merged


def newer_api_notebook():
    """A two-cell notebook: the kernel says which Python, torch and vgg_teach it runs, then calls :data:`NEWER_API`."""
    import nbformat

    module = NEWER_API.rsplit(".", 1)[0]
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import sys, torch, vgg_teach\nprint(sys.executable, torch.__version__, "
                                  "vgg_teach.__file__, sep='\\n')"),
        nbformat.v4.new_code_cell(f"import {module}\nx, w = torch.randn(4, 8), torch.randn(10, 8)\n"
                                  f"print({NEWER_API}(x, w, torch.tensor([0, 1, 2, 3])))"),
    ]
    return nb


def self_test(work: Path) -> None:
    """A notebook calling an API that the main environment's torch has and Colab's lacks must fail here."""
    import nbformat

    path = work / "selftest" / "newer_torch_api.ipynb"
    path.parent.mkdir()
    nbformat.write(newer_api_notebook(), path)
    [entry] = execute([[path]], work)["notebooks"]
    prefix = str(VENV.resolve())
    where = entry["error"] or {}
    if where.get("cell") == 0:
        raise SystemExit(f"self-test: the replica's kernel did not start cleanly: {where}")
    exe, torch_version, package = (entry["first_output"] + ["", "", ""])[:3]
    if not (exe.startswith(prefix) and package.startswith(prefix)):
        raise SystemExit(f"self-test: the kernel ran {exe} with vgg_teach from {package}, not the replica's {prefix}")
    name = NEWER_API.rsplit(".", 1)[1]
    if not (where.get("cell") == 1 and where.get("ename") == "AttributeError" and name in where.get("evalue", "")):
        raise SystemExit(f"self-test: a notebook calling {NEWER_API} should fail on Colab's torch "
                         f"{torch_version}; it gave {where or 'no error'}: the replica would not catch a newer API")
    say(f"self-test: a notebook calling {NEWER_API} fails on torch {torch_version} as it should "
        f"(AttributeError: {where['evalue'][:90]})")


def judge(result: dict) -> tuple[list[str], dict[str, list[str]]]:
    """The problems in a colab_notebooks.py report (errors, verdicts unlike the main run's), and its warnings."""
    problems, warned = [], {}
    for entry in result["notebooks"]:
        where = f"{entry['folder']}/{Path(entry['notebook']).name}"
        if entry["error"]:
            e = entry["error"]
            problems.append(f"{where}: cell {e.get('cell')} (id {e.get('id')}) raised "
                            f"{e.get('ename')}: {e.get('evalue') or e.get('message')}")
        for check in entry["checks"]:
            got, solution = check["verdict"], entry["folder"] == "solutions"
            ok = got == check["stored"] if solution else got not in (None, "passed")
            if not ok:
                want = check["stored"] if solution else "not passed (the unfilled stub)"
                problems.append(f"{where}: check cell {check['cell']} (id {check['id']}): {got}, main run: {want}")
        for line in entry["warnings"]:
            warned.setdefault(line, []).append(where)
    return problems, warned


def run() -> None:
    if not (VENV / "bin" / "python").exists():
        raise SystemExit(f"no {VENV.name}: run `python .ci/colab_replica.py build` first")
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="colab-replica-") as tmp:
        work = Path(tmp)
        self_test(work)
        hub = subprocess.run([str(VENV / "bin" / "python"), str(ROOT / ".ci" / "colab_notebooks.py"),
                              "--hub-copy-check"], capture_output=True, text=True, env=_clean_env(), cwd=work,
                             timeout=300)
        if hub.returncode:
            raise SystemExit(f"the Hugging Face CIFAR-10 conversion fails on Colab's datasets:\n{hub.stderr[-3000:]}")
        say(hub.stdout.strip().splitlines()[-1])
        groups = [sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb")) for folder in ("solutions", "lessons")]
        result = execute(groups, work)
    problems, warned = judge(result)
    verdicts = sum(len(e["checks"]) for e in result["notebooks"])
    say(f"{len(result['notebooks'])} notebooks in {time.time() - started:.0f} s on Python {result['env']['python']}, "
        f"{verdicts} check verdicts compared")
    for line, where in warned.items():
        say(f"warning printed in {len(where)} notebook(s), e.g. {where[0]}: {line[:160]}")
    if problems:
        raise SystemExit("the Colab replica failed:\n  " + "\n  ".join(problems))
    say("every notebook ran without an error; every check verdict as in the main run")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", nargs="?", choices=("build", "run", "all"), default="all")
    step = parser.parse_args(argv).step
    if step in ("build", "all"):
        build()
    if step in ("run", "all"):
        run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
