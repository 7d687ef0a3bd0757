"""One seeded fault-injection trial: a relay subprocess behind a FaultProxy, devices editing
while the relay is SIGKILLed and restarted, connections are cut mid-frame, the network goes
down, and a device process is SIGKILLed with edits in its outbox.

While the faults run, the admin also erases a person (issue 11): the worker device is offline
(killed) for part of it. After the faults stop, every device must converge on the same content,
every edit whose ``await`` returned (reported saved) must be present exactly once, the erasure
must complete on every device, and no device store and no relay envelope or snapshot may hold
the erased person's values (decrypted with the team's keys). ``run_trial`` raises
AssertionError otherwise and returns the faults it injected, by kind. Used by
tests/faults/test_trials.py (a few trials) and scripts/faults.py (long runs)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mano_core.device import Device
from mano_core.ids import Compartment
from mano_core.store import TEST_KDF
from mano_core.sync.client import Backoff, SyncClient
from mano_core.team import Team
from tests.erasure.inspect import containing, relay_contents, store_plaintexts
from tests.faults.proxy import FaultProxy
from tests.harness.devices import PASS
from tests.harness.relay import PROCESS_ARGS, RestartableRelay
from tests.sync.helpers import content, eventually, join

ROOT = Path(__file__).parents[2]


@dataclass
class Ledger:
    """What one device was told was saved."""

    persons: dict[str, str] = field(default_factory=dict)       # id -> name
    descriptions: dict[str, str] = field(default_factory=dict)  # id -> last description set
    comments: dict[str, str] = field(default_factory=dict)      # id -> text


@dataclass
class TrialResult:
    seed: int
    faults: Counter[str]
    edits: int


class _Worker:
    """tests/sync/device_worker.py in its own process; counts the edits it reported saved."""

    def __init__(self, store: Path, team_id: str, url: str, prefix: str, count: int) -> None:
        self.saved = -1
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.sync.device_worker", str(store), PASS, team_id, url,
             prefix, str(count)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"))
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(b"saved "):
                self.saved = int(line.split()[1])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


async def _edit(name: str, team: Team, rng: random.Random, n: int, ledger: Ledger) -> None:
    mine: list[str] = []
    for i in range(n):
        op = rng.random()
        if op < 0.5 or not mine:
            p = await team.persons.create(name=f"{name}-{i}")
            ledger.persons[p.id] = p.name
            mine.append(p.id)
        elif op < 0.75:
            pid = rng.choice(mine)
            await team.persons.update(pid, description=f"{name}-d{i}")
            ledger.descriptions[pid] = f"{name}-d{i}"
        else:
            c = await team.comments.create(text=f"{name}-c{i}", person=rng.choice(mine),
                                           date=dt.datetime.now(dt.timezone.utc))
            ledger.comments[c.id] = c.text
        await asyncio.sleep(rng.uniform(0, 0.04))


async def _faults(rng: random.Random, relay: RestartableRelay, proxy: FaultProxy,
                  stop: asyncio.Event, counts: Counter[str]) -> None:
    injected = 0
    while not stop.is_set() or injected < 4:  # at least a few faults, even in a short trial
        injected += 1
        await asyncio.sleep(rng.uniform(0.1, 0.5))
        kind = rng.choice(["relay_kill", "cut", "down", "mid_stream", "delay"])
        if kind == "relay_kill":
            await relay.kill()
            counts["relay_sigkill"] += 1
            await asyncio.sleep(rng.uniform(0.05, 0.6))
            await relay.start()
        elif kind == "cut":
            proxy.cut_all()
        elif kind == "down":
            proxy.down_for(rng.uniform(0.2, 1.0))
        elif kind == "mid_stream":
            proxy.cut_after_bytes = (1, 30_000)
            counts["mid_stream_windows"] += 1
            await asyncio.sleep(rng.uniform(0.2, 0.8))
            proxy.cut_after_bytes = None
        else:
            proxy.delay = (0.0, rng.uniform(0.005, 0.05))
            counts["delay_windows"] += 1
            await asyncio.sleep(rng.uniform(0.3, 1.0))
            proxy.delay = (0.0, 0.0)


async def _erase_later(rng: random.Random, team: Team, person_id: str,
                       counts: Counter[str]) -> str:
    """Erase the person at a random moment while the faults run; returns the order id."""
    await asyncio.sleep(rng.uniform(0.1, 1.5))
    order = await team.erasures.erase([person_id])
    counts["erasure"] += 1
    return order.id


def _erasure_state(team: Team, order_id: str) -> str:
    status = team.erasures.status(order_id)
    parked = team.compartment(Compartment.GENERAL).core.waiting_updates
    return (f"parked={parked} "
            f"applied={status.applied} waiting={[d[:8] for d in status.waiting_for]} "
            f"purged={status.purged} confirmations={status.order.confirmations} "
            f"problem={status.problem}")


async def _check_erased(seed: int, marks: list[bytes], kept: list[bytes], devices: list[Device],
                        teams: list[Team], relay_db: Path) -> None:
    """No store and no relay blob holds ``marks``; ``kept`` (saved, not erased) is found in
    each, so the search did read the content (inspect fails on any blob it cannot open)."""
    for device, team in zip(devices, teams):
        plain = await store_plaintexts(device.store, {b"": team.keys})
        left = containing(plain, marks)
        assert not left, f"seed {seed}: {device.store.path} still holds {left}"
        assert containing(plain, kept) == kept, f"seed {seed}: search of {device.store.path}"
    relay = relay_contents(relay_db, teams[0].keys)
    assert not containing(relay.plaintexts, marks), f"seed {seed}: the relay still holds the person"
    assert containing(relay.plaintexts, kept) == kept, f"seed {seed}: search of the relay"


async def run_trial(seed: int, workdir: Path, *, edits: int = 20, devices: int = 2,
                    worker: bool = True, erase: bool = True) -> TrialResult:
    """Run one trial in ``workdir`` (a fresh directory). Raises AssertionError on a failure."""
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    relay = RestartableRelay(workdir / "relay.db", *PROCESS_ARGS)
    opened: list[Device] = []
    syncs: list[SyncClient] = []
    workers: list[_Worker] = []

    def backoff() -> Backoff:
        return Backoff(first=0.05, cap=0.5, rng=random.Random(rng.random()))

    async def open_sync(device: Device, team: Team, url: str) -> SyncClient:
        s = await device.sync(team, url, backoff=backoff())
        await s.__aenter__()
        syncs.append(s)
        return s

    await relay.start()
    try:
        async with FaultProxy(relay.port, rng=random.Random(rng.random())) as proxy:
            relay.front = proxy  # every restart re-points the proxy at the new port
            names = [chr(ord("A") + i) for i in range(devices)]
            for n in names + ["W"]:
                opened.append(await Device.create(workdir / f"{n}.mano", PASS, kdf=TEST_KDF))
            admin = opened[0]
            teams = [await admin.create_team("Maraude")]
            sa = await open_sync(admin, teams[0], proxy.url)
            for dev in opened[1:]:
                teams.append(await join(sa, dev, proxy.url))
            for dev, team in zip(opened[1:devices], teams[1:devices]):
                await open_sync(dev, team, proxy.url)
            w_dev, w_team = opened[-1], teams[-1]
            w_path = workdir / "W.mano"
            await w_dev.close()  # W lives in its own process for a while

            ledgers = [Ledger() for _ in names]
            marks = [f"Erased-{seed}".encode(), f"erased-phone-{seed}".encode(),
                     f"erased-comment-{seed}".encode()]
            if erase:
                victim = await teams[0].persons.create(name=marks[0].decode(),
                                                       phone=marks[1].decode())
                await teams[0].comments.create(text=marks[2].decode(), person=victim.id,
                                               date=dt.datetime.now(dt.timezone.utc))
            stop = asyncio.Event()
            fault_task = asyncio.create_task(_faults(rng, relay, proxy, stop, counts))
            eraser = asyncio.create_task(_erase_later(
                random.Random(rng.random()), teams[0], victim.id, counts)) if erase else None
            if worker:
                workers.append(_Worker(w_path, w_team.id, proxy.url, "W", 4 * edits))
            editors = [asyncio.create_task(_edit(n, t, random.Random(rng.random()), edits, led))
                       for n, t, led in zip(names, teams, ledgers)]
            if worker:
                target = rng.randint(2, 2 * edits)
                await eventually(lambda: workers[0].saved >= target
                                 or workers[0].proc.poll() is not None, 60, "worker edits")
                workers[0].kill()
                counts["device_sigkill"] += 1
            await asyncio.gather(*editors)
            order_id = await eraser if eraser is not None else None
            stop.set()
            await fault_task
            proxy.cut_after_bytes, proxy.delay = None, (0.0, 0.0)
            if not relay.running:
                await relay.start()

            # W reopens (in this process) and catches up; its outbox goes out.
            w_dev = await Device.open(w_path, PASS)
            opened.append(w_dev)
            w_team = await w_dev.open_team(w_team.id)
            counts["device_reopen"] += 1
            all_teams = teams[:devices] + [w_team]
            await open_sync(w_dev, w_team, proxy.url)
            for s in syncs:
                try:
                    await s.wait_synced(60)
                except TimeoutError:
                    raise AssertionError(f"seed {seed}: never synced: " + "; ".join(
                        f"{x.state.status.value} pending={x.state.pending_local}/"
                        f"{x.state.pending_envelopes} err={x.state.last_error} "
                        f"alerts={x.state.alerts[-3:]}" for x in syncs)) from None
            if order_id is not None:
                try:
                    await eventually(lambda: all(t.erasures.status(order_id).complete
                                                 for t in all_teams), 60,
                                     "the erasure completes")
                except AssertionError:
                    raise AssertionError(f"seed {seed}: the erasure never completed: " + "; ".join(
                        f"[{_erasure_state(t, order_id)}]" for t in all_teams) + " syncs: "
                        + "; ".join(f"{x.state.status.value} pending={x.state.pending_local}/"
                                    f"{x.state.pending_envelopes} cursor={x.state.cursor} "
                                    f"acked={x.state.last_acked} err={x.state.last_error} "
                                    f"alerts={x.state.alerts[-3:]}" for x in syncs)) from None
                for s in syncs:
                    await s.wait_synced(60)
            await eventually(lambda: all(content(t) == content(all_teams[0])
                                         for t in all_teams), 60, "convergence")
            if order_id is not None:
                kept = [name.encode() for led in ledgers for name in led.persons.values()][:3]
                assert kept, f"seed {seed}: no saved person to check the search with"
                await _check_erased(seed, marks, kept, [admin, *opened[1:devices], w_dev],
                                    all_teams, workdir / "relay.db")
            counts.update(dict(proxy.counts.items()))
            final = content(all_teams[0])
            _check(final, ledgers, workers[0].saved if workers else -1)
            return TrialResult(seed, counts, sum(len(x.persons) + len(x.comments)
                                                 + len(x.descriptions) for x in ledgers)
                               + (workers[0].saved + 1 if workers else 0))
    finally:
        for w in workers:
            w.kill()
        for s in syncs:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(s.close(), 10)
        for d in opened:
            if not d.store.closed:
                with contextlib.suppress(Exception):
                    await d.close()
        await relay.stop_all()


def _check(final: dict, ledgers: list[Ledger], worker_saved: int) -> None:
    persons, comments = final["persons"], final["comments"]
    names = Counter(p["name"] for p in persons.values())
    for led in ledgers:
        for pid, name in led.persons.items():
            assert pid in persons, f"saved person {name} missing"
            assert names[name] == 1, f"person {name} present {names[name]} times"
        for pid, desc in led.descriptions.items():
            assert persons[pid]["description"] == desc, f"update of {pid} lost"
        for cid, text in led.comments.items():
            assert cid in comments and comments[cid]["text"] == text, f"comment {text} lost"
    for i in range(worker_saved + 1):
        assert names[f"W-{i}"] == 1, f"worker edit W-{i} present {names[f'W-{i}']} times"
