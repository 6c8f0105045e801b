"""The layout holds: small modules, no import cycles, lazy imports, one plotting contract, ruff, Python 3.10."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "vgg_teach"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


MODULES = {_module_name(p): p for p in _sources(PACKAGE)}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if _is_package(importer) else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _home_of(package: str, name: str) -> str:
    """The module that really defines ``package.name`` (lazy exports included)."""
    if f"{package}.{name}" in MODULES:
        return f"{package}.{name}"
    value = getattr(importlib.import_module(package), name, None)
    if getattr(value, "__spec__", None) is not None:  # a module
        return value.__name__
    module = getattr(value, "__module__", None)
    if isinstance(module, str) and module in MODULES:
        return module
    where = getattr(importlib.import_module(package), "_WHERE", {})
    target = where.get(name)
    if target:
        return importlib.util.resolve_name(target, package)
    return package


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph() -> dict[str, set[str]]:
    """Every vgg_teach module → the vgg_teach modules it imports, anywhere in its code (lazy imports too)."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, node)
                if base in MODULES and _is_package(base):
                    targets = [_home_of(base, a.name) for a in node.names]
                else:
                    targets = [base]
            for target in targets:
                for t in [*_parents(target), target]:
                    if t in MODULES and t != name and not name.startswith(t + "."):
                        graph[name].add(t)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path ``[a, b, …, a]``, or ``[]``."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return []


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    assert graph["vgg_teach.training.metrics"] >= {"vgg_teach.training.engine"}  # the walk sees real edges
    cycle = find_cycle(graph)
    assert not cycle, "import cycle: " + " → ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_errors_module_is_at_the_bottom():
    assert import_graph()["vgg_teach.errors"] == set()


def test_no_module_over_the_line_limit():
    too_long = {str(p.relative_to(ROOT)): n for p in _sources(PACKAGE) + _sources(ROOT / "tools")
                if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not too_long, f"modules over {MAX_LINES} lines: {too_long}"


def test_first_check_import_loads_only_what_the_check_needs():
    code = ("import sys; from vgg_teach.checks import check_vgg16; "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('vgg_teach'))))")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    loaded = set(run.stdout.split())
    assert loaded == {"vgg_teach", "vgg_teach._lazy", "vgg_teach.errors", "vgg_teach.checks",
                      "vgg_teach.checks.feedback", "vgg_teach.checks.trace", "vgg_teach.checks.vgg16",
                      "vgg_teach.models", "vgg_teach.models.architecture"}, run.stderr


def test_lesson_map_names_real_modules():
    import vgg_teach

    assert sorted(vgg_teach.LESSONS) == [p.name[:2] for p in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))]
    for lesson, modules in vgg_teach.LESSONS.items():
        for module in modules:
            assert module in MODULES, f"lesson {lesson}: no module {module}"


def test_course_tooling_is_not_in_the_package():
    assert not any(name.split(".")[-1] in {"authoring", "nblint", "glossary", "prose"} for name in MODULES)
    for path in _sources(PACKAGE):
        text = path.read_text(encoding="utf-8")
        assert "import tools" not in text and "from tools" not in text, path


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
    assert 'requires-python = ">=3.10"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
