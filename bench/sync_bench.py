"""Sync benchmarks (issue 5), each against a baseline measured in the same run.

    .venv/bin/python -m bench.sync_bench [--edits 300] [--behind 10000] [--repeat 3]

1. Edit → visible on a second device: bench/edit_latency.py (against its floor measured in
   the same run, issue 24); ``raw_one_hop`` and ``_start_raw`` here are shared with it.
2. Catch-up of a device N envelopes behind (subscribe after 0, open and apply every envelope)
   against loading the equivalent snapshot (open the sealed snapshot of the same state and
   apply it). Target ≤ 3×.
3. (``--catch-up``, issue 24) the same catch-up when a teammate's snapshot covers all but the
   last 5 % (the device starts from it: docs/protocol.md §4a), at ``--behind`` and
   ``--far`` envelopes; and a new device's first sync of a generated team at ``--scale``
   (1: MANO scale) against opening that team from the device's store afterwards.
Both relays run as subprocesses on loopback; figures are medians over ``--repeat`` runs."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
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


async def first_sync_vs_open(tmp: Path, scale: float, repeat: int) -> dict[str, float]:
    """A new device's first sync of a generated team (``scale`` 1: MANO scale) through a relay
    subprocess, from the end of its join until it holds every envelope the relay had, against
    opening the same team from that device's local store (same run, interleaved). The team's
    device has synced it whole and uploaded its snapshot as its policy does. Also the CPU
    time of this process (every thread: the signature's check and the decryptions run in
    workers) over each span: the relay is in its own process, so it is the device's."""
    from mano_core.demo import generate_team
    from mano_core.demo.load import load_demo

    tmp = Path(tempfile.mkdtemp(dir=tmp))
    relay = await RelayProcess(str(tmp / "first.db"), "--rate", "1000000",
                               "--burst", "1000000").start()
    firsts, opens, first_cpu, open_cpu = [], [], [], []
    try:
        a = await Device.create(tmp / "first-a.mano", PASS, kdf=TEST_KDF)
        team_a = await a.create_team("Bench")
        await load_demo(team_a, generate_team(seed=0, scale=scale))
        async with await a.sync(team_a, relay.url) as sa:
            await sa.wait_synced(900)
            deadline = time.monotonic() + 600
            while sa.sync.snapshot_due(Compartment.GENERAL):
                if time.monotonic() > deadline:
                    raise TimeoutError("no snapshot upload")
                await asyncio.sleep(0.1)
            codes = [await sa.create_invitation() for _ in range(repeat)]
            keys = await a.vault.team((await a.vault.team_ids())[0])
            head, upto = await relay_plan(relay.url, keys)
            print(f"  relay: head {head}, newest snapshot up to {upto}", flush=True)
            for i, code in enumerate(codes):
                path = tmp / f"first-{i}.mano"
                b = await Device.create(path, PASS, kdf=TEST_KDF)
                team_b = await b.join_team(relay.url, code)
                t, cpu = time.perf_counter(), time.process_time()
                async with await b.sync(team_b, relay.url) as sb:
                    while sb.state.cursor.get(Compartment.GENERAL, 0) < head:
                        await asyncio.sleep(0.005)
                firsts.append(time.perf_counter() - t)
                first_cpu.append(time.process_time() - cpu)
                persons = len(team_b.persons.list())
                await b.close()
                reopened = await Device.open(path, PASS)
                t, cpu = time.perf_counter(), time.process_time()
                await reopened.open_team(team_b.id)
                opens.append(time.perf_counter() - t)
                open_cpu.append(time.process_time() - cpu)
                await reopened.close()
                print(f"  first sync {firsts[-1]:.2f} s (CPU {first_cpu[-1]:.2f} s, {persons} "
                      f"persons), open {opens[-1]:.2f} s (CPU {open_cpu[-1]:.2f} s), load "
                      f"{os.getloadavg()[0]:.1f}", flush=True)
        await a.close()
    finally:
        await relay.stop()
    m = statistics.median
    return {"first_sync": m(firsts), "open": m(opens), "first_sync_cpu": m(first_cpu),
            "open_cpu": m(open_cpu), "runs": repeat}


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


async def push_raw(url: str, keys: object, team: object) -> None:
    """Push the team's sealed outbox as a device would, through a bare relay connection, so
    that no device's snapshot policy runs (the relay then holds no snapshot at all)."""
    from mano_core.sync.transport import RelayClient
    from mano_core.team import sealed_outbox

    items = await team.store.outbox_pending(  # type: ignore[attr-defined]
        sealed_outbox(team.id, Compartment.GENERAL))  # type: ignore[attr-defined]
    client = await RelayClient.connect(url)
    try:
        await client.authenticate(keys.identity, keys.team_id)  # type: ignore[attr-defined]
        for start in range(0, len(items), 256):
            await asyncio.gather(*(client.push_nowait(i.payload)
                                   for i in items[start:start + 256]))
    finally:
        await client.close()


async def relay_plan(url: str, keys: object) -> tuple[int, int]:
    """(head, newest snapshot's upto) of GENERAL at the relay, from its catchup_plan."""
    from mano_core.sync.transport import RelayClient

    client = await RelayClient.connect(url)
    try:
        await client.authenticate(keys.identity, keys.team_id)  # type: ignore[attr-defined]
        plan = await client.catchup_plan(int(Compartment.GENERAL), 0)
        return plan.head, plan.upto
    finally:
        await client.close()


async def catch_up_vs_snapshot(tmp: Path, behind: int, tail: int | None = None, *,
                               window: Callable[[], AbstractContextManager[object]] | None
                               = None) -> tuple[float, float]:
    """(seconds for a device ``behind`` envelopes behind to hold them all, seconds to open
    and apply the equivalent snapshot). ``tail`` None: the relay holds no snapshot (every
    envelope is replayed); else a teammate's snapshot covers all but the last ``tail``
    envelopes (made by its own snapshot policy), and the device starts from it
    (docs/protocol.md §4a). ``window``: a context entered around the timed catch-up alone
    (a probe: bench/catchup_breakdown.py)."""
    tmp = Path(tempfile.mkdtemp(dir=tmp))  # a fresh folder for each run
    relay = await RelayProcess(str(tmp / "relay.db"), "--rate", "1000000",
                               "--burst", "1000000").start()
    try:
        a = await Device.create(tmp / "c.mano", PASS, kdf=TEST_KDF)
        b = await Device.create(tmp / "d.mano", PASS, kdf=TEST_KDF)
        team_a = await a.create_team("Bench")
        async with await a.sync(team_a, relay.url) as sa:
            code = await sa.create_invitation()
            team_b = await b.join_team(relay.url, code)
        keys = await a.vault.team((await a.vault.team_ids())[0])
        if tail is None:
            await seal_bulk_persons(team_a, keys, behind, "p")
            await push_raw(relay.url, keys, team_a)
        else:
            await seal_bulk_persons(team_a, keys, behind - tail, "p")
            async with await a.sync(team_a, relay.url) as sa:
                await sa.wait_synced(600)
                deadline = time.monotonic() + 300
                while sa.sync.snapshot_due(Compartment.GENERAL):  # its upload, once due
                    if time.monotonic() > deadline:
                        raise TimeoutError("no snapshot upload")
                    await asyncio.sleep(0.1)
            await seal_bulk_persons(team_a, keys, tail, "q")
            async with await a.sync(team_a, relay.url) as sa:
                await sa.wait_synced(600)
            head, upto = await relay_plan(relay.url, keys)
            print(f"  relay: head {head}, newest snapshot up to {upto}", flush=True)
        target = await relay_plan(relay.url, keys)
        with window() if window is not None else contextlib.nullcontext():
            t, cpu = time.perf_counter(), time.process_time()
            async with await b.sync(team_b, relay.url) as sb:
                while sb.state.cursor.get(Compartment.GENERAL, 0) < target[0]:
                    await asyncio.sleep(0.01)
            catch_up = time.perf_counter() - t
        # The device's own CPU (this process: the relay is a subprocess), and the machine's
        # load: on a shared machine the wall time above is mostly waiting for a core.
        print(f"  catch-up: device CPU {time.process_time() - cpu:.2f} s, "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
        assert len(team_b.persons.list()) == behind
        # Baseline: the same state as one sealed snapshot, opened and applied on a fresh doc.
        blob = seal_snapshot(keys.identity, keys.keyring, team_id=keys.team_id,
                             compartment=Compartment.GENERAL, epoch=0, upto=behind,
                             state=team_a.compartment(Compartment.GENERAL).core.encode_state(),
                             chain=keys.chain(Compartment.GENERAL))
        from mano_core.document.compartments import GeneralDocument

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


async def measure_catch_up(behind: int | None, far: int | None, scale: float,
                           repeat: int) -> dict[str, float]:
    """The catch-up figures of issue 24 besides ``measure``'s (``behind`` envelopes replayed
    one by one, no snapshot at the relay), medians over ``repeat`` runs (``far`` runs once:
    minutes of set-up): ``behind`` and ``far`` envelopes from a snapshot with a 5 % tail
    (None: not measured), and a new device's first sync at ``scale`` ÷ opening the team
    from its store."""
    m = statistics.median
    out: dict[str, float] = {"runs": repeat}
    with tempfile.TemporaryDirectory() as tmp:
        if behind:
            snap, snap_base = [], []
            for r in range(repeat):
                c, s = await catch_up_vs_snapshot(Path(tmp), behind, tail=behind // 20)
                snap.append(c)
                snap_base.append(s)
                print(f"run {r + 1}: catch-up of {behind} from a snapshot {c:.2f} s "
                      f"(equivalent snapshot {s:.3f} s)", flush=True)
            out.update(behind=behind, from_snapshot=m(snap), from_snapshot_base=m(snap_base))
        if far:
            c, s = await catch_up_vs_snapshot(Path(tmp), far, tail=far // 20)
            out.update(far=far, far_s=c, far_base=s)
            print(f"catch-up of {far} from a snapshot {c:.2f} s (snapshot {s:.3f} s)",
                  flush=True)
        first = await first_sync_vs_open(Path(tmp), scale, repeat)
        out.update(scale=scale, first_sync=first["first_sync"], open=first["open"],
                   first_sync_cpu=first["first_sync_cpu"], open_cpu=first["open_cpu"])
    return out


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
    parser.add_argument("--catch-up", action="store_true",
                        help="only the catch-up figures (issue 24): replayed, from a snapshot, "
                             "--far envelopes, a new device's first sync at --scale")
    parser.add_argument("--far", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    if args.catch_up:
        r = asyncio.run(measure_catch_up(args.behind, args.far or None, args.scale,
                                         args.repeat))
        for key, value in r.items():
            print(f"{key:>20} {value:.3f}")
        return
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
