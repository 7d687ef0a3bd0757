"""Open a team from the encrypted store vs a bare pycrdt apply_update of the same state.

    .venv/bin/python -m bench.open_team [--scales 1 10] [--repeat 5]

Prints medians of repeated runs and the ratio (target ≤ 1.3, docs/benchmarks.md), and, given
two scales, how opening scales: open(×k) ÷ (k × open(×1)), target ≤ 1.1 (issue 24). The baseline
is measured in the same run on the same plaintext states: for each compartment, a fresh
``pycrdt.Doc().apply_update(state)``. Opening includes reading and decrypting the snapshot
chunks from SQLite, applying them, and building the collections (records are decoded lazily,
on first read, and that is reported separately)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import tempfile
import time

from pycrdt import Doc

from mano_core.demo import generate_team
from mano_core.demo.load import load_demo
from mano_core.ids import Compartment
from mano_core.store import TEST_KDF, LocalStore
from mano_core.device import Device
from mano_core.team import Team

PASSPHRASE = "benchmark passphrase"


async def prepare(path: str, scale: float) -> tuple[str, list[bytes]]:
    demo = generate_team(seed=0, scale=scale)
    async with await LocalStore.create(path, PASSPHRASE, kdf=TEST_KDF) as store:
        team = await Team.create(store, name="Bench", member="bench-member")
        await load_demo(team, demo)
        states = [team.compartment(c).core.encode_state()
                  for c in (Compartment.GENERAL, Compartment.MEDICAL)]
        return team.id, states


def bare_apply(states: list[bytes]) -> float:
    gc.collect()
    docs = [Doc() for _ in states]
    t = time.perf_counter()
    for doc, state in zip(docs, states):
        doc.apply_update(state)
    elapsed = time.perf_counter() - t
    del docs  # freed outside the timed part, as the opened team is
    return elapsed


class GcTime:
    """Seconds Python's cyclic garbage collector ran while this is entered (gc.callbacks),
    and how many of its runs were full (generation 2)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0
        self._start = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.full += info.get("generation") == 2

    def __enter__(self) -> GcTime:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


LAST_GC: list[GcTime] = []


async def open_team(path: str, team_id: str) -> tuple[float, float]:
    async with await LocalStore.open(path, PASSPHRASE) as store:
        gc.collect()
        t = time.perf_counter()
        with GcTime() as collector:
            team = await Device(store).open_team(team_id)
        opened = time.perf_counter() - t
        LAST_GC.append(collector)
        await asyncio.sleep(0)
        t = time.perf_counter()
        team.persons.list(), team.actions.list(), team.comments.list()
        first_read = time.perf_counter() - t
        return opened, first_read


async def run(scale: float, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.mano")
        team_id, states = await prepare(path, scale)
        return await measure(path, team_id, states, scale, repeat)


async def measure(path: str, team_id: str, states: list[bytes], scale: float,
                  repeat: int) -> dict[str, float]:
    """Medians of ``repeat`` interleaved runs on a store made by :func:`prepare`."""
    size = sum(len(s) for s in states)
    bare, opened, reads = [], [], []
    LAST_GC.clear()
    for _ in range(repeat):  # interleaved so that machine noise hits both alike
        bare.append(bare_apply(states))
        o, r = await open_team(path, team_id)
        opened.append(o)
        reads.append(r)
    b, o = statistics.median(bare), statistics.median(opened)
    return {"scale": scale, "state_mb": size / 1e6, "bare_s": b, "open_s": o,
            "ratio": o / b, "first_read_s": statistics.median(reads),
            "gc_s": statistics.median(g.seconds for g in LAST_GC),
            "gc_full": statistics.median(g.full for g in LAST_GC)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'scale':>6} {'state MB':>9} {'bare apply s':>13} {'open s':>8} {'ratio':>6} "
          f"{'first read of persons+actions+comments s':>42} {'GC in open s':>12}")
    opened: dict[float, float] = {}
    for scale in args.scales:
        r = asyncio.run(run(scale, args.repeat))
        opened[scale] = r["open_s"]
        print(f"{r['scale']:>6g} {r['state_mb']:>9.1f} {r['bare_s']:>13.3f} {r['open_s']:>8.3f} "
              f"{r['ratio']:>6.2f} {r['first_read_s']:>42.3f} {r['gc_s']:>12.3f}")
    small, large = min(opened), max(opened)
    if large > small:  # issue 24: linear in the data, open(×k) ≤ 1.1 × k × open(×1)
        k = large / small
        print(f"open at ×{k:g} the data ÷ ({k:g} × open at {small:g}): "
              f"{opened[large] / (k * opened[small]):.2f} (target ≤ 1.1)")


if __name__ == "__main__":
    main()
