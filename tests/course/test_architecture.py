"""The layout holds: imports only go down, lesson 01 stays light, no course tooling inside, ruff, Python 3.10."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "vgg_teach"
MODULES = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
           for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str) -> set[str]:
    """The vgg_teach modules that module ``name`` imports anywhere in its code (inside functions too)."""
    path = MODULES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1] + [node.module or ""]).strip(".") \
                if node.level else node.module or ""
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names}
    return {m for m in found if m in MODULES and m != name}


def _unit(name: str) -> str:
    """A top-level module or a subpackage: ``vgg_teach.training.engine`` → ``vgg_teach.training``."""
    return ".".join(name.split(".")[:2])


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle as a path ``[a, b, …, a]``, or ``[]``."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return []


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_imports_only_go_down():
    """No module, and no subpackage or top-level module as a whole, imports one that imports it back."""
    modules = {name: _imports(name) for name in MODULES}
    assert modules["vgg_teach.training.engine"] >= {"vgg_teach.answers"}  # the walk sees real edges
    assert not (cycle := find_cycle(modules)), " → ".join(cycle)
    units: dict[str, set[str]] = {}
    for name, targets in modules.items():
        units.setdefault(_unit(name), set()).update(_unit(t) for t in targets if _unit(t) != _unit(name))
    assert not (cycle := find_cycle(units)), " → ".join(cycle)
    assert modules["vgg_teach.errors"] == set()


def test_lesson_01_imports_load_no_training_code():
    """The import lines of lesson 01's setup cell, run as the learner runs them."""
    nb = json.loads((ROOT / "lessons" / "01_handwritten_vgg16.ipynb").read_text(encoding="utf-8"))
    setup = next("".join(c["source"]) for c in nb["cells"] if "setup" in c.get("metadata", {}).get("tags", []))
    imports = "\n".join(line for line in setup.splitlines()
                        if line.startswith(("import ", "from ")) and "vgg_teach" in line)
    code = f"import sys\n{imports}\nprint(' '.join(sorted(m for m in sys.modules if m.startswith('vgg_teach'))))"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    loaded = run.stdout.split()
    assert run.returncode == 0 and "check_vgg16" in imports, run.stderr
    assert len(loaded) <= 12 and not [m for m in loaded if m.startswith("vgg_teach.training")], loaded


def test_course_tooling_is_not_in_the_package():
    for path in MODULES.values():
        text = path.read_text(encoding="utf-8")
        assert "import tools" not in text and "from tools" not in text and "import tests" not in text, path


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    paths = ["vgg_teach", "tools", "tests", "benchmarks", ".ci", "conftest.py"]
    run = subprocess.run([ruff, "check", "--no-cache", *paths], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-1000:]


def test_the_package_and_tools_run_on_python_3_10():
    """``requires-python = ">=3.10"`` is true: vermin finds nothing newer (tomllib falls back to tomli)."""
    vermin = shutil.which("vermin") or str(Path(sys.executable).with_name("vermin"))
    if not Path(vermin).exists():
        pytest.skip("vermin is not installed (pip install -e '.[test]')")
    run = subprocess.run([vermin, "-t=3.10-", "--violations", "--no-tips", "vgg_teach", "tools"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]
