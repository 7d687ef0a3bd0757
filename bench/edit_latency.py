"""Edit → visible on a second device, against its floor measured in the same run (issue 24).

    .venv/bin/python -m bench.edit_latency [--edits 300] [--repeat 3] [--gap 0.06]

What runs, as for a user: a real relay (``python -m sync_server serve``, SQLite,
synchronous=FULL) in its own process; device A in this process, syncing with the client's
default settings (the default flush delay); device B in a process of its own
(bench/edit_peer.py), so that the two devices and the relay do not share one event loop and
one GIL, as two teammates' machines would not. A edits one person's phone every ``--gap``
seconds (a person's edits are seconds apart; the gap exceeds the flush delay so that each edit
is an isolated one, the case a nurse waits for); B timestamps the moment its listener sees
the change (committed in its store) on the machine-wide monotonic clock; the latency is that
timestamp minus the one taken just before A's ``persons.update``. Stage stamps (medians, for
where the time goes): A's update returned (durable), A pushed the envelope, the delivery
reached B's sync engine.

The floor, each component timed in the same run (medians of ``--edits`` repetitions) with the
sizes the run produced:

* the three durable commits on the path, each on the store kind it runs on there: A's edit
  with its sealed envelope and the advanced author counter (an isolated edit is sealed in its
  own transaction: mano_core/sync/seal_at_commit.py; before the eighth round, a fourth
  commit sealed it after the edit's), the relay's append of the envelope, B's update with
  its cursor and chain state (LocalStore files, and the relay's SQLiteStorage, all
  synchronous=FULL);
* one Ed25519 signature and one verification of a message the envelope's size;
* the raw websocket hop: a websockets relay process forwarding each message to the other
  client, both clients on this event loop, a message the envelope's size.

The report gives p50 ÷ floor (target ≤ 1.5) and p99 ÷ floor (target ≤ 3)."""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mano_core.device import Device
from mano_core.ids import Compartment
from mano_core.store import TEST_KDF, LocalStore
from mano_core.sync.transport import RelayClient
from mano_core.team import doc_name, sealed_outbox

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))
from bench.sync_bench import pct, raw_one_hop  # noqa: E402
from sync_server.storage.base import NewEnvelope  # noqa: E402
from sync_server.storage.sqlite import SQLiteStorage  # noqa: E402
from tests.harness.relay import RelayProcess  # noqa: E402

PASS = "benchmark passphrase"
NS = 1e-9
FLOOR_PARTS = ("commit_edit", "commit_relay", "commit_apply", "sign", "verify", "hop")
CPU_PARTS = ("cpu_a", "cpu_relay", "cpu_b")  # CPU seconds per edit of each process


def _now_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def _cpu(pid: int) -> float:
    """CPU seconds (user + system, every thread) a process has used so far: from /proc on
    Linux, this process's own rusage elsewhere (NaN for another process there). Wall times
    on a machine shared by several suites swing with its load; CPU time much less."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        if pid == os.getpid():
            usage = resource.getrusage(resource.RUSAGE_SELF)
            return usage.ru_utime + usage.ru_stime
        return float("nan")


async def edit_to_visible(tmp: Path, edits: int, gap: float) -> dict[str, Any]:
    """The latencies (seconds) of ``edits`` isolated edits, and the sizes they produced."""
    relay = await RelayProcess(str(tmp / "relay.db"), "--rate", "100000",
                               "--burst", "100000").start()
    peer: asyncio.subprocess.Process | None = None
    pushed = [0]
    push_nowait = RelayClient.push_nowait

    def timed_push(self: RelayClient, envelope: bytes) -> Any:  # a stage stamp on A
        pushed[0] = _now_ns()
        return push_nowait(self, envelope)

    RelayClient.push_nowait = timed_push  # type: ignore[method-assign]
    stages: dict[str, list[float]] = {"pushed": [], "delivered": []}
    try:
        a = await Device.create(tmp / "a.mano", PASS, kdf=TEST_KDF)
        b = await Device.create(tmp / "b.mano", PASS, kdf=TEST_KDF)
        team_a = await a.create_team("Bench")
        lat: list[float] = []
        starts: list[int] = []  # each edit's start, ns on CLOCK_MONOTONIC
        durable: list[float] = []
        async with await a.sync(team_a, relay.url) as sa:
            team_b = await b.join_team(relay.url, await sa.create_invitation())
            await b.close()
            person = await team_a.persons.create(name="Bench person")
            await sa.wait_synced(60)
            # Through tui.demo.child: the peer dies with this process however it ends.
            peer = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tui.demo.child", str(os.getpid()), "--",
                "-m", "bench.edit_peer", str(tmp / "b.mano"), PASS, team_b.id, relay.url,
                person.id, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                cwd=ROOT)
            assert peer.stdout is not None and peer.stdin is not None
            line = await asyncio.wait_for(peer.stdout.readline(), 120)
            if line.strip() != b"ready":
                raise RuntimeError(f"the second device did not start: {line!r}")
            core = team_a.compartment(Compartment.GENERAL).core
            update_size = 0
            assert relay.proc is not None
            pids = {"a": os.getpid(), "relay": relay.proc.pid, "b": peer.pid}
            cpu_start = {k: _cpu(pid) for k, pid in pids.items()}
            for i in range(edits):
                phone = f"06{i:08d}"
                before = core.doc.get_state()
                t = _now_ns()
                starts.append(t)
                await team_a.persons.update(person.id, phone=phone)
                durable.append((_now_ns() - t) * NS)
                update_size = len(core.doc.get_update(before))
                while True:
                    seen = (await asyncio.wait_for(peer.stdout.readline(), 30)).split()
                    if seen[:2] == [b"seen", phone.encode()]:
                        break
                lat.append((int(seen[2]) - t) * NS)
                stages["pushed"].append((pushed[0] - t) * NS)
                stages["delivered"].append((int(seen[3]) - t) * NS)
                await asyncio.sleep(gap)
            cpu = {k: (_cpu(pid) - cpu_start[k]) / edits for k, pid in pids.items()}
        await a.close()
    finally:
        RelayClient.push_nowait = push_nowait  # type: ignore[method-assign]
        if peer is not None and peer.returncode is None:
            assert peer.stdin is not None
            peer.stdin.close()
            try:
                await asyncio.wait_for(peer.wait(), 30)
            except TimeoutError:
                peer.kill()
                await peer.wait()
        await relay.stop()
    with sqlite3.connect(tmp / "relay.db") as db:
        (envelope_size,) = db.execute(
            "SELECT length(data) FROM envelopes ORDER BY seq DESC LIMIT 1").fetchone()
    return {"latency": lat, "starts": starts, "durable_a": durable, "update_bytes": update_size,
            "pushed_a": stages["pushed"], "delivered_b": stages["delivered"],
            "envelope_bytes": int(envelope_size),
            **{f"cpu_{k}": v for k, v in cpu.items()}}


async def floor(tmp: Path, n: int, update_size: int, envelope_size: int) -> dict[str, float]:
    """The floor's components (medians of ``n`` timings each, seconds) with these sizes."""
    update, envelope = os.urandom(update_size), os.urandom(envelope_size)
    timings: dict[str, list[float]] = {k: [] for k in FLOOR_PARTS}
    team = "00000000-0000-4000-8000-000000000001"
    doc = doc_name(team, Compartment.GENERAL)
    sealed = sealed_outbox(team, Compartment.GENERAL)
    store_a = await LocalStore.create(tmp / "floor-a.mano", PASS, kdf=TEST_KDF)
    store_b = await LocalStore.create(tmp / "floor-b.mano", PASS, kdf=TEST_KDF)
    relay = SQLiteStorage(tmp / "floor-relay.db")
    await relay.open()
    author = os.urandom(32)
    team_id = os.urandom(16)
    await relay.create_team(team_id, [os.urandom(200)], time.time())
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    try:
        for i in range(n):
            t = time.perf_counter()
            signature = key.sign(envelope)
            timings["sign"].append(time.perf_counter() - t)
            t = time.perf_counter()
            async with store_a.transaction() as tx:  # the edit, its envelope, the counter
                await tx.append_updates(doc, [update])
                await tx.outbox_add(sealed, envelope)
                await tx.put("team/bench", "sealer/general", os.urandom(48))
            timings["commit_edit"].append(time.perf_counter() - t)
            t = time.perf_counter()
            await relay.append_envelopes([NewEnvelope(team_id, 0, author, i + 1, envelope)],
                                         time.time())
            timings["commit_relay"].append(time.perf_counter() - t)
            t = time.perf_counter()
            public.verify(signature, envelope)
            timings["verify"].append(time.perf_counter() - t)
            t = time.perf_counter()
            async with store_b.transaction() as tx:  # the update, the cursor, the chain state
                await tx.append_updates(doc, [update])
                await tx.put("sync/bench", "cursor/general", os.urandom(16))
                await tx.put("team/bench", "chain/general", os.urandom(120))
            timings["commit_apply"].append(time.perf_counter() - t)
        timings["hop"] = await raw_one_hop(n, envelope_size)
    finally:
        await store_a.close()
        await store_b.close()
        await relay.close()
    parts = {k: statistics.median(v) for k, v in timings.items()}
    parts["floor"] = sum(parts.values())
    return parts


async def measure(edits: int, repeat: int, gap: float) -> dict[str, Any]:
    """Medians over ``repeat`` runs (seconds); prints one line per run."""
    runs: list[dict[str, Any]] = []
    for r in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            seen = await edit_to_visible(Path(tmp), edits, gap)
            parts = await floor(Path(tmp), edits, seen["update_bytes"], seen["envelope_bytes"])
        run = {"p50": pct(seen["latency"], 0.5), "p99": pct(seen["latency"], 0.99),
               "durable_a": statistics.median(seen["durable_a"]),
               "pushed_a": statistics.median(seen["pushed_a"]),
               "delivered_b": statistics.median(seen["delivered_b"]),
               "update_bytes": seen["update_bytes"],
               "envelope_bytes": seen["envelope_bytes"],
               **{k: seen[k] for k in CPU_PARTS}, **parts}
        runs.append(run)
        print(f"run {r + 1}: p50 {run['p50'] * 1e3:.2f} ms, p99 {run['p99'] * 1e3:.2f} ms, "
              f"floor {run['floor'] * 1e3:.2f} ms (" + ", ".join(
                  f"{k} {parts[k] * 1e3:.2f}" for k in parts if k != "floor") + ")",
              flush=True)
    out = {k: statistics.median(run[k] for run in runs) for k in runs[0]}
    out["runs"] = repeat
    out["load_average"] = list(os.getloadavg())
    return out


def report(r: dict[str, Any]) -> None:
    ms = lambda s: f"{s * 1e3:.2f} ms"  # noqa: E731
    print()
    print(f"edit → visible  p50 {ms(r['p50'])}  p99 {ms(r['p99'])}; stages (medians): durable "
          f"on A {ms(r['durable_a'])}, pushed by A {ms(r['pushed_a'])}, delivered to B's engine "
          f"{ms(r['delivered_b'])}; update {r['update_bytes']} B, envelope "
          f"{r['envelope_bytes']} B")
    names = ("device A", "relay", "device B")
    print("CPU per edit    " + ", ".join(
        f"{name} {ms(r[k])}" for name, k in zip(names, CPU_PARTS, strict=True))
        + " (the edit loop's CPU time ÷ edits)")
    print("floor           " + ms(r["floor"]) + " = " + " + ".join(
        f"{k} {ms(r[k])}" for k in FLOOR_PARTS))
    print(f"p50 ÷ floor {r['p50'] / r['floor']:.2f} (target ≤ 1.5)   "
          f"p99 ÷ floor {r['p99'] / r['floor']:.2f} (target ≤ 3)   "
          f"load average {' / '.join(f'{x:.1f}' for x in r['load_average'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gap", type=float, default=0.06,
                        help="seconds between edits (above the client's flush delay)")
    args = parser.parse_args()
    report(asyncio.run(measure(args.edits, args.repeat, args.gap)))


if __name__ == "__main__":
    main()
