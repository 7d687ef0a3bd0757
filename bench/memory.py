"""Resident memory of an open team vs a bare pycrdt document of the same state (issue 9).

    .venv/bin/python -m bench.memory [--scale 1] [--repeat 3]

Each measurement runs in a fresh subprocess that reads its resident set from /proc/self/statm
(as bench/layouts.py does), after imports, before and after the work, with a ``gc.collect()``
before each reading. Baseline: one ``pycrdt.Doc().apply_update(state)`` per compartment, the
plaintext states read from files first (their bytes are freed before the reading). Mano: unlock
the encrypted store (test KDF: Argon2id's 64 MiB would otherwise count), ``Device.open_team``; the
"after first read" figure also decodes persons, actions and comments into the typed-record
cache (what the first screen pays). Target: open ÷ bare ≤ 1.5."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BARE = """
import gc, os, sys
from pycrdt import Doc
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
paths = sys.argv[1:]
gc.collect()
before = rss()
docs = []
for p in paths:
    state = open(p, 'rb').read()
    d = Doc(); d.apply_update(state)
    docs.append(d)
    del state
gc.collect()
print(rss() - before)
"""

MANO = """
import asyncio, gc, os, sys
from mano_core.store import LocalStore
from mano_core.device import Device
from mano_core.team import Team
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
async def main():
    gc.collect()
    before = rss()
    store = await LocalStore.open(sys.argv[1], sys.argv[2])
    team = await Device(store).open_team(sys.argv[3])
    gc.collect()
    opened = rss() - before
    team.persons.list(), team.actions.list(), team.comments.list()
    gc.collect()
    read = rss() - before
    print(opened, read)
    os._exit(0)  # the measurement is taken: no need to wait for the store's threads
asyncio.run(main())
"""


def _run(code: str, *args: str) -> list[int]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         check=True, cwd=ROOT, env=env).stdout
    return [int(x) for x in out.split()]


def measure(path: str, passphrase: str, team_id: str, states: list[bytes],
            repeat: int) -> dict[str, float]:
    """Medians (MiB) of ``repeat`` interleaved subprocess pairs on a store and its states."""
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, state in enumerate(states):
            files.append(str(Path(tmp) / f"state{i}.bin"))
            Path(files[-1]).write_bytes(state)
        bare, opened, read = [], [], []
        for _ in range(repeat):  # interleaved: noise hits both alike
            bare.append(_run(BARE, *files)[0])
            o, r = _run(MANO, path, passphrase, team_id)
            opened.append(o)
            read.append(r)
    mib = 2**20
    b, o = statistics.median(bare) / mib, statistics.median(opened) / mib
    return {"bare_mib": b, "open_mib": o, "ratio": o / b,
            "first_read_mib": statistics.median(read) / mib, "runs": repeat}


async def _main(scale: float, repeat: int) -> dict[str, float]:
    from bench.open_team import PASSPHRASE, prepare

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.mano")
        team_id, states = await prepare(path, scale)
        return measure(path, PASSPHRASE, team_id, states, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(_main(args.scale, args.repeat)), indent=1))


if __name__ == "__main__":
    main()
