"""Sync benchmarks (issue 5), each against a baseline measured in the same run.

    .venv/bin/python -m bench.sync_bench [--edits 300] [--behind 10000] [--repeat 3]

1. Edit → visible on a second device: bench/edit_latency.py (against its floor measured in
   the same run, issue 24); ``raw_one_hop`` and ``_start_raw`` here are shared with it.
2. Catch-up of a device N envelopes behind (subscribe after 0, open and apply every envelope)
   against loading the equivalent snapshot (open the sealed snapshot of the same state and
   apply it). Target ≤ 3×.
Both relays run as subprocesses on loopback; figures are medians over ``--repeat`` runs."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from websockets.asyncio.client import connect

from mano_core.device import Device
from mano_core.document.team_doc import ChangeEvent
from mano_core.ids import Compartment
from mano_core.store import TEST_KDF
from mano_core.sync.snapshot import open_snapshot, seal_snapshot

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))
from tests.relay.kit import RelayProcess  # noqa: E402
from tests.sync.helpers import seal_bulk_persons  # noqa: E402

PASS = "benchmark passphrase"

RAW_RELAY = """
import asyncio, sys
from websockets.asyncio.server import serve
clients = set()
async def handler(ws):
    clients.add(ws)
    try:
        async for msg in ws:
            for other in clients:
                if other is not ws:
                    await other.send(msg)
    finally:
        clients.discard(ws)
async def main():
    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening on ws://127.0.0.1:{port}", file=sys.stderr, flush=True)
        await asyncio.Future()
asyncio.run(main())
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def raw_one_hop(edits: int, size: int) -> list[float]:
    proc = await _start_raw()
    try:
        async with connect(proc[1], compression=None) as a, \
                connect(proc[1], compression=None) as b:
            lat = []
            for _ in range(edits):
                t = time.perf_counter()
                await a.send(os.urandom(size))
                await b.recv()
                lat.append(time.perf_counter() - t)
                await asyncio.sleep(0.005)
            return lat
    finally:
        proc[0].kill()
        proc[0].wait()


async def _start_raw() -> tuple[object, str]:
    import re
    import subprocess

    # Through tui.demo.child: the relay dies with this process however it ends.
    p = subprocess.Popen([sys.executable, "-m", "tui.demo.child", str(os.getpid()), "--",
                          "-c", RAW_RELAY], stderr=subprocess.PIPE, cwd=ROOT)
    assert p.stderr is not None
    line = await asyncio.get_running_loop().run_in_executor(None, p.stderr.readline)
    port = re.search(rb":(\d+)", line)
    assert port
    return p, f"ws://127.0.0.1:{int(port.group(1))}"


async def mano_edit_to_visible(tmp: Path, edits: int) -> tuple[list[float], int]:
    relay = await RelayProcess(str(tmp / "relay.db"), "--rate", "100000",
                               "--burst", "100000").start()
    try:
        a = await Device.create(tmp / "a.mano", PASS, kdf=TEST_KDF)
        b = await Device.create(tmp / "b.mano", PASS, kdf=TEST_KDF)
        team_a = await a.create_team("Bench")
        async with await a.sync(team_a, relay.url, flush_delay=0.0) as sa:
            code = await sa.create_invitation()
            team_b = await b.join_team(relay.url, code)
            person = await team_a.persons.create(name="Bench person")
            seen: asyncio.Queue[float] = asyncio.Queue()

            def on_change(event: ChangeEvent) -> None:
                if event.collection == "persons" and person.id in event.ids:
                    seen.put_nowait(time.perf_counter())

            team_b.subscribe(on_change)
            async with await b.sync(team_b, relay.url, flush_delay=0.0):
                while not team_b.persons.list():
                    await asyncio.sleep(0.05)
                while not seen.empty():
                    seen.get_nowait()
                lat = []
                for i in range(edits):
                    t = time.perf_counter()
                    await team_a.persons.update(person.id, phone=f"06{i:08d}")
                    arrived = await asyncio.wait_for(seen.get(), 10)
                    lat.append(arrived - t)
                    await asyncio.sleep(0.005)
        await a.close()
        await b.close()
        return lat, 0
    finally:
        await relay.stop()


async def catch_up_vs_snapshot(tmp: Path, behind: int) -> tuple[float, float]:
    relay = await RelayProcess(str(tmp / "relay2.db"), "--rate", "1000000",
                               "--burst", "1000000").start()
    try:
        a = await Device.create(tmp / "c.mano", PASS, kdf=TEST_KDF)
        b = await Device.create(tmp / "d.mano", PASS, kdf=TEST_KDF)
        team_a = await a.create_team("Bench")
        async with await a.sync(team_a, relay.url) as sa:
            code = await sa.create_invitation()
            team_b = await b.join_team(relay.url, code)
        keys = await a.vault.team((await a.vault.team_ids())[0])
        await seal_bulk_persons(team_a, keys, behind, "p")
        async with await a.sync(team_a, relay.url) as sa:
            await sa.wait_synced(300)
        t = time.perf_counter()
        async with await b.sync(team_b, relay.url) as sb:
            while sb.state.cursor.get(Compartment.GENERAL, 0) < behind:
                await asyncio.sleep(0.01)
        catch_up = time.perf_counter() - t
        # Baseline: the same state as one sealed snapshot, opened and applied on a fresh doc.
        blob = seal_snapshot(keys.identity, keys.keyring, team_id=keys.team_id,
                             compartment=Compartment.GENERAL, epoch=0, upto=behind,
                             state=team_a.compartment(Compartment.GENERAL).core.encode_state(),
                             chain=keys.chain(Compartment.GENERAL))
        from mano_core.document.team_doc import GeneralDocument

        t = time.perf_counter()
        snap = open_snapshot(blob, log=keys.log, keyring=keys.keyring, team_id=keys.team_id,
                             compartment=Compartment.GENERAL)
        fresh = GeneralDocument(author="x")
        fresh.apply_update(snap.state)
        snapshot = time.perf_counter() - t
        await a.close()
        await b.close()
        return catch_up, snapshot
    finally:
        await relay.stop()


async def measure(edits: int, behind: int, repeat: int) -> dict[str, float]:
    """Medians over ``repeat`` runs (seconds); prints one line per run."""
    p50s, p99s, raw50, raw99, catch, snap = [], [], [], [], [], []
    for r in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            if edits:  # edits=0: catch-up only (``python -m bench`` times edits in edit_latency)
                raw = await raw_one_hop(edits, 400)
                ours, _ = await mano_edit_to_visible(Path(tmp), edits)
                raw50.append(pct(raw, 0.5))
                raw99.append(pct(raw, 0.99))
                p50s.append(pct(ours, 0.5))
                p99s.append(pct(ours, 0.99))
            c, s = await catch_up_vs_snapshot(Path(tmp), behind)
            catch.append(c)
            snap.append(s)
        print(f"run {r + 1}: catch-up {c:.2f} s vs snapshot {s:.3f} s", flush=True)
    m = statistics.median
    nan = float("nan")
    return {"p50": m(p50s) if p50s else nan, "p99": m(p99s) if p99s else nan,
            "raw_p50": m(raw50) if raw50 else nan, "raw_p99": m(raw99) if raw99 else nan,
            "catch_up": m(catch), "snapshot": m(snap), "runs": repeat}


async def run(args: argparse.Namespace) -> None:
    r = await measure(args.edits, args.behind, args.repeat)
    p50s, p99s, raw50, raw99 = [r["p50"]], [r["p99"]], [r["raw_p50"]], [r["raw_p99"]]
    catch, snap = [r["catch_up"]], [r["snapshot"]]
    m = statistics.median
    print()
    print(f"edit → visible   p50 {m(p50s)*1000:7.2f} ms  p99 {m(p99s)*1000:7.2f} ms")
    print(f"raw one hop      p50 {m(raw50)*1000:7.2f} ms  p99 {m(raw99)*1000:7.2f} ms")
    print(f"ratio p50 {m(p50s)/m(raw50):.2f}  (target ≤ 2)   ratio p99 {m(p99s)/m(raw99):.2f}")
    print(f"catch-up of {args.behind} envelopes {m(catch):.2f} s; equivalent snapshot "
          f"{m(snap):.3f} s; ratio {m(catch)/m(snap):.1f} (target ≤ 3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=300)
    parser.add_argument("--behind", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
