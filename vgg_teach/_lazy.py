"""Lazy re-exports for the subpackages: ``from vgg_teach.checks import check_vgg16`` imports one module, not all.

A subpackage's ``__init__`` lists which submodule defines each public name and calls
:func:`lazy_exports`; the submodule is imported the first time one of its names is asked for
(PEP 562 module ``__getattr__``).
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

__all__ = ["lazy_exports"]


def lazy_exports(package: str, where: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``where`` maps a public name to its module.

    A module is relative to ``package`` (``".vgg16"``) or absolute (``"vgg_teach.models.architecture"``).
    """

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module, package), name)

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__
