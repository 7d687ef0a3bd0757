"""Optional dependencies: packages of an extra (``mano[xlsx]`` …), imported only when a feature
needs them, so that ``pip install mano`` (the engine alone) stays small."""

from __future__ import annotations

import importlib
from types import ModuleType

from mano_core.errors import MissingDependencyError


def require(package: str, extra: str) -> ModuleType:
    """Import ``package`` (a top-level module name) or raise MissingDependencyError naming the
    extra that installs it."""
    try:
        return importlib.import_module(package)
    except ImportError:
        raise MissingDependencyError(package, extra) from None
