"""The store's write of a first sync's snapshot beside pycrdt's apply (issue 24): a MANO-scale
general state applied into an empty pycrdt Doc and stored as a snapshot with a cursor row,
either one after the other (the apply, then the transaction: the order before
``StoreTransaction.write_ahead``) or with the chunks sent ahead (the transaction opened, its
chunks written by one SQLite step in the store's thread while the apply holds the GIL, the
rest committed after it: ``CompartmentHolder._merge_state_ahead``). Interleaved, each round
on a fresh store; wall and CPU time (this process, all threads), medians.

    .venv/bin/python -m bench.write_ahead [--rounds 7] [--scale 1]

With the chunks ahead it also prints the two spans the apply does not hide: until the apply
starts (the sealing, BEGIN and the chunks bound in the store's thread) and from its end to the
commit (what of the INSERT and its fsync was left, then the COMMIT).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from pycrdt import Doc

from mano_core.demo import generate_team
from mano_core.demo.load import load_demo
from mano_core.ids import Compartment
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team

PASS = "write-ahead bench"


async def state_of(scale: float, where: Path) -> bytes:
    async with await LocalStore.create(where / "source.mano", PASS, kdf=TEST_KDF) as store:
        team = await Team.create(store, name="Bench", member="bench")
        await load_demo(team, generate_team(seed=0, scale=scale))
        return team.compartment(Compartment.GENERAL).core.encode_state()


async def one(state: bytes, path: Path, ahead: bool) -> tuple[float, float, float, float]:
    """(wall, CPU, and with the chunks ahead: until the apply starts, from its end to the
    commit; 0, 0 otherwise)."""
    async with await LocalStore.create(path, PASS, kdf=TEST_KDF) as store:
        doc: Doc = Doc()
        t, cpu = time.perf_counter(), time.process_time()
        before = after = t
        if not ahead:
            doc.apply_update(state)
        async with store.transaction() as tx:
            await tx.write_snapshot("doc", state, 0)
            if ahead:
                await tx.write_ahead()
                before = time.perf_counter()
                doc.apply_update(state)
                after = time.perf_counter()
            await tx.put("sync", "cursor", b"cursor and chain states")
        end = time.perf_counter()
        return (end - t, time.process_time() - cpu, before - t if ahead else 0.0,
                end - after if ahead else 0.0)


async def main(rounds: int, scale: float) -> None:
    where = Path(tempfile.mkdtemp(prefix="write-ahead"))
    state = await state_of(scale, where)
    got: dict[bool, list[tuple[float, float, float, float]]] = {False: [], True: []}
    for r in range(rounds):
        for ahead in (False, True):
            got[ahead].append(await one(state, where / f"r{r}-{ahead}.mano", ahead))
        print(f"round {r + 1}: after the apply {got[False][-1][0]:.3f} s, ahead "
              f"{got[True][-1][0]:.3f} s; load {os.getloadavg()[0]:.1f}", flush=True)
    m = statistics.median
    for ahead, label in ((False, "apply, then the transaction"),
                         (True, "chunks ahead, apply, commit")):
        print(f"{label:>28}: wall {m(r[0] for r in got[ahead]):.3f} s, "
              f"CPU {m(r[1] for r in got[ahead]):.3f} s")
    print(f"  ahead: until the apply starts {m(r[2] for r in got[True]) * 1e3:.1f} ms, from "
          f"its end to the commit {m(r[3] for r in got[True]) * 1e3:.1f} ms, both "
          f"{m(r[2] + r[3] for r in got[True]) * 1e3:.1f} ms (medians)")
    print(f"state {len(state) / 1e6:.1f} MB; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--scale", type=float, default=1.0)
    a = p.parse_args()
    asyncio.run(main(a.rounds, a.scale))
