"""Import hygiene, checked in a fresh interpreter: the engine never imports the UI or the relay,
the relay never imports the UI nor the engine's document, store or sync layers, and neither
imports an optional extra's package (docs/embedding.md, "Installing") before a feature needs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# argv: "walk" (the package and every module under it, __main__ entry points excepted) or "one",
# then module names. Prints the top-level names, and mano_core's layers, in sys.modules.
_PROBE = r"""
import importlib, json, pkgutil, sys
mode, names = sys.argv[1], sys.argv[2:]
for name in names:
    module = importlib.import_module(name)
    if mode == "walk":
        for info in pkgutil.walk_packages(module.__path__, name + "."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)
loaded = set()
for m in sys.modules:
    parts = m.split(".")
    loaded.add(parts[0])
    if parts[0] == "mano_core" and len(parts) > 1:
        loaded.add("mano_core." + parts[1])
print(json.dumps(sorted(loaded)))
"""

EXTRAS = {"textual", "segno", "openpyxl", "asyncpg"}
ENGINE_ABOVE_CRYPTO = {"pycrdt", "mano_core.document", "mano_core.store", "mano_core.sync",
                       "mano_core.model", "mano_core.team", "mano_core.device",
                       "mano_core.reporting", "mano_core.erasure"}


def _loaded(mode: str, *modules: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", _PROBE, mode, *modules], capture_output=True,
                         text=True, check=True)
    return set(json.loads(out.stdout))


def test_the_engine_imports_neither_the_ui_nor_the_relay_nor_an_extra() -> None:
    loaded = _loaded("walk", "mano_core")
    assert {"mano_core.reporting", "mano_core.sync", "pycrdt"} <= loaded  # it did walk it all
    assert loaded & ({"tui", "sync_server"} | EXTRAS) == set()


@pytest.mark.parametrize("module", ["sync_server.server", "sync_server.cli"])
def test_the_sqlite_relay_imports_no_ui_no_engine_layer_and_no_asyncpg(module: str) -> None:
    loaded = _loaded("one", module)
    assert "sync_server" in loaded
    assert loaded & ({"tui"} | EXTRAS | ENGINE_ABOVE_CRYPTO) == set()


def test_no_relay_module_imports_the_ui_or_the_document_store_and_sync_layers() -> None:
    loaded = _loaded("walk", "sync_server")  # the PostgreSQL backend (asyncpg) included
    assert "asyncpg" in loaded
    assert loaded & ({"tui", "textual", "segno", "openpyxl"} | ENGINE_ABOVE_CRYPTO) == set()
