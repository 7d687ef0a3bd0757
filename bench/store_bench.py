"""The encrypted local store: load a MANO-scale snapshot, write latency, compaction, unlock.

    .venv/bin/python -m bench.store_bench [--mb 21] [--repeat 5]

The snapshot is a real pycrdt state (nested Maps of person-like records) of about ``--mb`` MB.
Loads are compared, in the same run, with a bare ``Doc().apply_update(state)`` of the same bytes;
"fresh process" figures include first-touch memory costs that a warmed-up loop hides."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from pycrdt import Doc, Map

from mano_core.store import DEFAULT_KDF, TEST_KDF, LocalStore

PASSPHRASE = "benchmark passphrase"
DOC = "team/bench/general"

FRESH = """
import asyncio, sys, time
from pycrdt import Doc
from mano_core.store import LocalStore
async def main():
    store = await LocalStore.open(sys.argv[1], sys.argv[2])
    t = time.perf_counter(); loaded = await store.load_document(sys.argv[3])
    load = time.perf_counter() - t
    t = time.perf_counter(); Doc().apply_update(loaded.snapshot)
    print(load, time.perf_counter() - t)
    await store.close()
asyncio.run(main())
"""


def build_state(megabytes: float) -> bytes:
    doc: Doc[Any] = Doc()
    persons = doc.get("persons", type=Map)
    n = int(megabytes * 1e6 / 440)
    with doc.transaction():
        for i in range(n):
            persons[f"{i:08x}-0000-4000-8000-{i:012x}"] = Map({
                "name": f"Person {i}", "birthdate": "1970-01-01", "gender": "unknown",
                "description": "a free text description of the situation " * 3,
                "phone": f"06{i:08d}", "assignedTeams": "team-a,team-b",
                "createdAt": 1_700_000_000.0 + i, "followedSince": "2023-04-01"})
    return doc.get_update()


def bare_apply(state: bytes) -> float:
    doc: Doc[Any] = Doc()
    t = time.perf_counter()
    doc.apply_update(state)
    return time.perf_counter() - t


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=21.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    state = build_state(args.mb)
    print(f"snapshot: {len(state) / 1e6:.1f} MB pycrdt state")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.mano")
        async with await LocalStore.create(path, PASSPHRASE, kdf=TEST_KDF) as store:
            t = time.perf_counter()
            await store.write_snapshot(DOC, state, 0)
            print(f"write_snapshot: {time.perf_counter() - t:.3f} s (encrypt + commit)")

            bare, load, load_apply = [], [], []
            for _ in range(args.repeat):  # interleaved, so machine noise hits all alike
                gc.collect()
                bare.append(bare_apply(state))
                t = time.perf_counter()
                loaded = await store.load_document(DOC)
                load.append(time.perf_counter() - t)
                assert loaded.snapshot is not None
                load_apply.append(load[-1] + bare_apply(loaded.snapshot))
                del loaded
            b, lo, la = (statistics.median(x) for x in (bare, load, load_apply))
            print(f"warm, median of {args.repeat}: bare apply {b:.3f} s | store load {lo:.3f} s"
                  f" | load + apply {la:.3f} s | ratio {la / b:.2f}")

            latency = []
            for _ in range(200):
                t = time.perf_counter()
                await store.append_update("team/bench/other", b"x" * 63)
                latency.append(time.perf_counter() - t)
            print(f"append_update (63 B, one commit): median {statistics.median(latency) * 1e3:.2f}"
                  f" ms, p95 {sorted(latency)[189] * 1e3:.2f} ms")
            batch = [os.urandom(63) for _ in range(1000)]
            t = time.perf_counter()
            for _ in range(10):
                await store.append_updates("team/bench/other", batch)
            print(f"append_updates (1000 x 63 B per commit): "
                  f"{10_000 / (time.perf_counter() - t):,.0f} updates/s")
            t = time.perf_counter()
            for _ in range(100):
                async with store.transaction() as tx:
                    await tx.append_update("team/bench/other", b"y" * 63)
                    await tx.outbox_add("team/bench/other", b"e" * 200)
            print(f"transaction update + outbox: {(time.perf_counter() - t) * 10:.2f} ms each")

        fresh = []
        for _ in range(3):
            done = await asyncio.to_thread(
                subprocess.run, [sys.executable, "-c", FRESH, path, PASSPHRASE, DOC],
                capture_output=True, text=True, check=True)
            out = done.stdout.split()
            fresh.append((float(out[0]), float(out[1])))
        lo, ap = statistics.median(f[0] for f in fresh), statistics.median(f[1] for f in fresh)
        print(f"fresh process, median of 3: store load {lo:.3f} s, then apply {ap:.3f} s"
              f" | ratio vs that apply {(lo + ap) / ap:.2f}")

        path2 = os.path.join(tmp, "default.mano")
        await (await LocalStore.create(path2, PASSPHRASE, kdf=DEFAULT_KDF)).close()
        t = time.perf_counter()
        await (await LocalStore.open(path2, PASSPHRASE)).close()
        print(f"unlock with DEFAULT_KDF {DEFAULT_KDF}: {time.perf_counter() - t:.3f} s")


if __name__ == "__main__":
    asyncio.run(main())
