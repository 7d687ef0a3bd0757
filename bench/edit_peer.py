"""The second device of the edit → visible benchmark (bench/edit_latency.py), in its own process
as on a teammate's machine: its own event loop, its own GIL, its own store.

    python -m bench.edit_peer STORE PASSPHRASE TEAM_ID RELAY_URL PERSON_ID

Opens the device and the team, syncs with the relay as an app does, and prints to stdout
``ready`` once it holds the person, then ``seen PHONE NS DELIVERED_NS`` each time a
teammate's change of that person is visible (its listener runs: the update is committed on
this device), NS being ``time.clock_gettime_ns(CLOCK_MONOTONIC)`` (one clock for every
process of the machine), and DELIVERED_NS when the delivery that carried it reached the sync
engine (a stage stamp).
Ends when its stdin closes."""

from __future__ import annotations

import asyncio
import sys
import time

from mano_core.device import Device
from mano_core.document.team_doc import ChangeEvent, Origin
from mano_core.sync.engine import TeamSync

_delivered = [0]
_apply_delivery = TeamSync.apply_delivery


async def _timed_delivery(self: TeamSync, *args: object, **kwargs: object) -> bool:
    """Stage stamp for the benchmark: when a delivery reaches the engine."""
    _delivered[0] = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    return await _apply_delivery(self, *args, **kwargs)  # type: ignore[arg-type]


TeamSync.apply_delivery = _timed_delivery  # type: ignore[method-assign]


async def serve(path: str, passphrase: str, team_id: str, url: str, person_id: str) -> None:
    device = await Device.open(path, passphrase)
    try:
        team = await device.open_team(team_id)
        out = sys.stdout
        ready = asyncio.Event()
        last = [""]

        def on_change(event: ChangeEvent) -> None:
            if event.collection != "persons" or person_id not in event.ids:
                return
            now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            phone = team.persons.get(person_id).phone or ""
            if not ready.is_set():
                ready.set()
            elif event.origin is Origin.REMOTE and phone != last[0]:
                out.write(f"seen {phone} {now} {_delivered[0]}\n")
                out.flush()
            last[0] = phone

        team.subscribe(on_change)
        async with await device.sync(team, url):
            if any(p.id == person_id for p in team.persons.list()):
                ready.set()
            await ready.wait()
            last[0] = team.persons.get(person_id).phone or ""
            out.write("ready\n")
            out.flush()
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, sys.stdin.read)  # until the benchmark closes it
    finally:
        await device.close()


if __name__ == "__main__":
    asyncio.run(serve(*sys.argv[1:6]))
