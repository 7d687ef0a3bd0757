"""Relay write amplification: bytes the relay stores per small edit on a MANO-scale team.

    .venv/bin/python -m bench.relay_bytes [--scale 1] [--edits 10000]

A device loads a generated team (``generate_team``, seed 0), syncs it whole through a relay
subprocess (its own SQLite file, durable), the relay is stopped and its files measured (S0).
Then the relay is started again on the same file and the device makes ``--edits`` small
edits (one field of one person each, one envelope each, as a nurse's day of single edits
would be flushed), syncs them and lets its snapshot policy run (the periodic snapshot upload
that every device makes: mano_core/sync/snapshot_policy.py ``snapshot_due``); the relay is stopped
again and measured (S1). Figure: (S1 − S0) ÷ the bytes of the envelopes themselves (their
sum, measured in the same run). Target ≤ 3 (issue 24). The relay's files are the database
and its WAL after a clean stop (checkpointed)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from pycrdt import Map

from mano_core.demo import generate_team
from mano_core.demo.load import load_demo
from mano_core.device import Device
from mano_core.ids import Compartment
from mano_core.store import TEST_KDF
from mano_core.sync import payload
from mano_core.sync.client import SyncClient
from mano_core.team import sealed_outbox

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))
from tests.harness.relay import RelayProcess  # noqa: E402

PASS = "benchmark passphrase"
RELAY_ARGS = ("--rate", "1000000", "--burst", "1000000")


def relay_files(db: str) -> int:
    return sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))


async def snapshots_settled(sync: SyncClient, timeout: float = 300) -> None:
    """Until the device's snapshot policy wants no upload (one it had due is made)."""
    deadline = time.monotonic() + timeout
    while sync.sync.snapshot_due(Compartment.GENERAL):
        if time.monotonic() > deadline:
            raise TimeoutError("the snapshot upload did not happen")
        await asyncio.sleep(0.1)


async def measure(scale: float, edits: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "relay.db")
        device = await Device.create(Path(tmp) / "a.mano", PASS, kdf=TEST_KDF)
        team = await device.create_team("Bench")
        await load_demo(team, generate_team(seed=0, scale=scale))
        state_bytes = len(team.compartment(Compartment.GENERAL).core.encode_state())
        relay = await RelayProcess(db, *RELAY_ARGS).start()
        try:
            async with await device.sync(team, relay.url) as s:
                await s.wait_synced(600)
                await snapshots_settled(s)
        finally:
            await relay.stop()
        s0 = relay_files(db)
        # The edits: one field of one person each, sealed one envelope per edit.
        keys = await device.vault.team((await device.vault.team_ids())[0])
        core = team.compartment(Compartment.GENERAL).core
        persons = core.doc.get("persons", type=Map)
        ids = sorted(persons.keys())
        outbox = sealed_outbox(team.id, Compartment.GENERAL)
        sealed = 0
        for i in range(edits):
            with core.doc.transaction():
                persons[ids[i % len(ids)]]["phone"] = f"06{i:08d}"
            (update,) = core.drain_updates()
            out = await keys.seal(next(payload.encode_batches([update])),
                                  compartment=Compartment.GENERAL, doc=outbox)
            sealed += len(out.envelope)
        relay = await RelayProcess(db, *RELAY_ARGS).start()
        t = time.perf_counter()
        try:
            async with await device.sync(team, relay.url) as s:
                await s.wait_synced(900)
                await snapshots_settled(s)
        finally:
            await relay.stop()
        synced = time.perf_counter() - t
        s1 = relay_files(db)
        with sqlite3.connect(db) as conn:
            kept, kept_bytes = conn.execute(
                "SELECT count(*), coalesce(sum(size), 0) FROM snapshots").fetchone()
            envelopes = conn.execute("SELECT count(*) FROM envelopes").fetchone()[0]
        await device.close()
    return {"scale": scale, "edits": edits, "state_bytes": state_bytes, "relay_before": s0,
            "relay_after": s1, "envelope_bytes": sealed, "ratio": (s1 - s0) / sealed,
            "per_edit_bytes": (s1 - s0) / edits, "envelope_per_edit": sealed / edits,
            "sync_s": synced, "snapshots_kept": kept, "snapshot_bytes": kept_bytes,
            "envelopes_kept": envelopes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--edits", type=int, default=10_000)
    args = parser.parse_args()
    r = asyncio.run(measure(args.scale, args.edits))
    print(f"state {r['state_bytes'] / 1e6:.1f} MB; relay {r['relay_before'] / 1e6:.1f} MB "
          f"before, {r['relay_after'] / 1e6:.1f} MB after {r['edits']:,} edits; "
          f"{r['per_edit_bytes']:.0f} B stored per edit vs {r['envelope_per_edit']:.0f} B of "
          f"envelope: {r['ratio']:.2f}× (target ≤ 3); {r['snapshots_kept']} snapshots kept "
          f"({r['snapshot_bytes'] / 1e6:.1f} MB), {r['envelopes_kept']:,} envelopes")


if __name__ == "__main__":
    main()
