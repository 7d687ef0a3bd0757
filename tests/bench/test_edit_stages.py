"""bench/edit_stages.py: its probe finds every function it stamps (a renamed one would drop
out of the timeline unnoticed), and its stamps are joined to the edit they fall in."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

from bench import edit_stages
from bench.stage_probe import sitecustomize as probe

ROOT = Path(__file__).resolve().parents[2]


def test_every_stamped_function_exists() -> None:
    missing = []
    for module_name, targets in probe.TARGETS.items():
        module = importlib.import_module(module_name)
        for path, _stage in targets:
            owner: object = module
            for part in path.split("."):
                owner = getattr(owner, part, None)
            if owner is None:
                missing.append(f"{module_name}.{path}")
    assert not missing


def test_a_process_loading_the_probe_stamps_a_commit(tmp_path: Path) -> None:
    code = ("import asyncio\n"
            "from mano_core.store import TEST_KDF, LocalStore\n"
            "async def main():\n"
            f"    s = await LocalStore.create({str(tmp_path / 's.mano')!r}, 'a passphrase here',"
            " kdf=TEST_KDF)\n"
            "    await s.put('ns', 'k', b'v')\n"
            "    await s.close()\n"
            "asyncio.run(main())\n")
    env = dict(os.environ, MANO_STAGE_STAMPS=str(tmp_path), PYTHONPATH=os.pathsep.join(
        [str(edit_stages.PROBE), str(ROOT)]))
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, timeout=120)
    (stamps,) = tmp_path.glob("*.txt")
    names = [line.split()[0] for line in stamps.read_text().splitlines()[1:]]
    assert names.count("commit.start") == names.count("commit.end") == 1  # the put
    assert "commit.thread.start" in names  # in the store's thread
    assert names.count("applied.start") == 1  # its bookkeeping, once committed


def test_stamps_are_joined_to_the_edit_they_fall_in() -> None:
    ms = 1_000_000
    stamps = {
        "a": [("a.edit.start", 0), ("a.edit.start", 100 * ms), ("a.edit.start", 200 * ms)],
        "b": [("listeners.start", 5 * ms), ("listeners.start", 107 * ms),
              ("listeners.start", 206 * ms), ("listeners.start", 250 * ms)],
    }
    lines, counts = edit_stages.timeline(stamps, 3)
    assert lines == [(0.0, "a:a.edit.start#0", 3), (6.0, "b:listeners.start#0", 3)]
    assert counts == {"a:a.edit.start": 1.0, "b:listeners.start": 4 / 3}
