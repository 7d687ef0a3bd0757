"""The vectors read by a second implementation in another language: tests/vectors/check.mjs
(Node 20's node:crypto only, its own canonical msgpack encoder, HPKE written out) rebuilds and
checks them from the JSON and docs/*.md alone. Skipped where Node is not installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
def test_a_javascript_reader_rebuilds_and_verifies_every_vector() -> None:
    assert NODE is not None
    out = subprocess.run([NODE, str(ROOT / "tests" / "vectors" / "check.mjs"),
                          str(ROOT / "docs" / "vectors")], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    last = out.stdout.strip().splitlines()[-1]
    passed = int(last.split()[0])
    assert last.endswith(" 0 failed") and passed >= 80, out.stdout
