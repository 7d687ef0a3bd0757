"""What an erasure costs on a device, against the compaction it is built on.

    .venv/bin/python -m bench.erasure_bench [--scale 1] [--repeat 5]

On a demo team at the given scale (1 = MANO scale: ~3,000 persons) in an encrypted store, for
one person with a typical file (actions, comments, history, medical records):

* ``erase``: ``team.erasures.erase([person])`` — plan the closure, remove it from the CRDT,
  commit, re-snapshot both compartments, truncate the WAL;
* ``compact``: ``team.compact()`` of the same team right before — the baseline: an erasure is a
  compaction plus the closure, so the ratio shows what the closure adds;
* ``sweep``: the check every teammate's delivery then goes through (``note_changes``) with 100
  completed orders in the team, against applying that delivery.

Prints medians of ``--repeat`` runs (a fresh store each) and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from mano_core.demo import generate_team
from mano_core.demo.load import load_demo
from mano_core.document.team_doc import ChangeEvent, Origin
from mano_core.ids import Compartment
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team

PASSPHRASE = "benchmark passphrase"


async def one_run(directory: str, scale: float, seed: int) -> dict[str, float]:
    demo = generate_team(seed=seed, scale=scale)
    async with await LocalStore.create(Path(directory) / f"b{seed}.mano", PASSPHRASE,
                                       kdf=TEST_KDF) as store:
        team = await Team.create(store, name="Bench", member="bench-member")
        await load_demo(team, demo)
        # The person with the most actions: a heavy file, the worst common case.
        counts: dict[str, int] = {}
        for action in team.actions.list():
            for p in action.persons:
                counts[p] = counts.get(p, 0) + 1
        person = max(counts, key=counts.__getitem__)
        await team.persons.update(person, phone="0600000000")  # some history too
        t = time.perf_counter()
        await team.compact()
        compact = time.perf_counter() - t
        removed = team.erasures.preview([person])
        t = time.perf_counter()
        await team.erasures.erase([person])
        erase = time.perf_counter() - t
        others = [p.id for p in team.persons.list()[:100]]
        for p in others:
            await team.erasure_records.create(persons=[p], issued_at=team.doc.now())
        await team.erasures.enforce()
        # A teammate's delivery touching 50 comments: the sweep check vs applying it.
        comments = team.comments.list()[:50]
        event = ChangeEvent(Compartment.GENERAL, "comments",
                            frozenset(c.id for c in comments), Origin.REMOTE)
        t = time.perf_counter()
        for _ in range(20):
            team.erasures.note_changes([event])
        sweep = (time.perf_counter() - t) / 20
        return {"erase_s": erase, "compact_s": compact, "sweep_s": sweep,
                "records": float(sum(removed.values()))}


async def main(scale: float, repeat: int) -> None:
    runs = []
    with tempfile.TemporaryDirectory() as directory:
        for seed in range(repeat):
            runs.append(await one_run(directory, scale, seed))
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"scale {scale}, {repeat} runs, medians")
    print(f"  records removed per erasure    {med['records']:.0f}")
    print(f"  erase one person               {med['erase_s'] * 1000:8.1f} ms")
    print(f"  compact (baseline)             {med['compact_s'] * 1000:8.1f} ms")
    print(f"  erase / compact                {med['erase_s'] / med['compact_s']:8.2f}x")
    print(f"  sweep check per delivery (100 orders, 50 records) "
          f"{med['sweep_s'] * 1e6:8.0f} us")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.scale, args.repeat))
