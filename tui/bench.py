"""Benchmark of the app on a MANO-scale store: startup, and the persons list at 30,000.

    python -m tui.bench [--scales 1 10] [--repeat 3]

For each scale: builds a store (generated team, the real KDF), then, in fresh app instances
driven by Textual's Pilot (headless, 100×32): time from launch to the agenda shown (unlock +
open + first draw), time to the persons list, a search as typed (time until the table shows
the result), a filter change, a page change; and the longest stall of the event loop while
typing a search (what a user would feel as a freeze). Prints a table; asserts nothing."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mano_core.demo import generate_team
from mano_core.demo.load import load_demo
from mano_core.device import Device
from mano_core.store import DEFAULT_KDF

from .app import make_app
from .screens.agenda import AgendaScreen
from .screens.persons import PersonsScreen
from .widgets.paged_table import PagedTable

PASS = "phrase de passe du banc d'essai"


async def build(path: Path, scale: float) -> int:
    generated = generate_team(seed=0, scale=scale)
    async with await Device.create(path, PASS, kdf=DEFAULT_KDF) as device:
        team = await device.create_team("Banc", member=generated.members[0].id, health=True)
        await load_demo(team, generated)
    return len(generated.persons)


async def until(pilot: Any, predicate: Callable[[], object], timeout: float = 120.0) -> float:
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise TimeoutError
        await asyncio.sleep(0.002)
    return time.perf_counter() - start


class Stalls:
    """The longest gap between ticks of a 5 ms ticker: how long the loop was blocked."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            self.worst = max(self.worst, now - last - 0.005)
            last = now

    def __enter__(self) -> Stalls:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def one_run(path: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    async with await Device.open(path, PASS) as device:
        out["engine only: unlock (Argon2id), s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        team = await device.open_team((await device.teams())[0].id)
        out["engine only: open team, s"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        team.persons.list(), team.actions.list()
        out["engine only: first read of persons and actions, s"] = time.perf_counter() - t1
    start = time.perf_counter()
    app = make_app(path, passphrase=PASS, lang="fr")
    async with app.run_test(size=(100, 32)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AgendaScreen)
                    and app.screen.query("PagedTable"))
        await pilot.pause()
        out["startup to agenda, s"] = time.perf_counter() - start
        t0 = time.perf_counter()
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, PersonsScreen)
                    and app.screen.query_one(PagedTable).items)
        out["open persons list, s"] = time.perf_counter() - t0
        screen = app.screen
        table = screen.query_one(PagedTable)
        search = screen.query_one("#search")
        with Stalls() as stalls:
            for text in ("m", "ma", "mar", "mari", "marie"):  # typed one key at a time
                t0 = time.perf_counter()
                shown = table.items
                search.value = text  # type: ignore[attr-defined]
                await until(pilot, lambda: table.items is not shown)  # noqa: B023 - awaited here
            out["search 'marie' typed, last key → rows (0.25 s pause included), s"] = \
                time.perf_counter() - t0
            search.value = ""  # type: ignore[attr-defined]
            await pilot.pause(0.3)
            t0 = time.perf_counter()
            before = len(table.items)
            await pilot.press("escape", "a")  # active list → out of the active list
            await until(pilot, lambda: len(table.items) != before)
            out["filter change, s"] = time.perf_counter() - t0
            await pilot.press("a", "a")
            await pilot.pause(0.3)
            t0 = time.perf_counter()
            await pilot.press("right_square_bracket")
            await until(pilot, lambda: table.page_index == 1)
            await pilot.pause()
            out["next page, s"] = time.perf_counter() - t0
        out["longest event-loop stall while searching/filtering, s"] = stalls.worst
    return out


async def main(scales: list[float], repeat: int) -> None:
    for scale in scales:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.mano"
            t0 = time.perf_counter()
            persons = await build(path, scale)
            print(f"\nscale {scale}: {persons:,} persons, store {path.stat().st_size / 1e6:.1f} MB"
                  f" (built in {time.perf_counter() - t0:.1f} s)")
            runs = [await one_run(path) for _ in range(repeat)]
            for key in runs[0]:
                values = [r[key] for r in runs]
                print(f"  {key:<58} median {statistics.median(values):7.3f}"
                      f"   (runs: {', '.join(f'{v:.3f}' for v in values)})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tui.bench")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.scales, args.repeat))
