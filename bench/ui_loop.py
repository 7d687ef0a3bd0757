"""The UI event loop's worst stall, phase by phase, in the real app (issue 24).

    .venv/bin/python -m bench.ui_loop [--scale 1] [--catch-up 10000] [--repeat 1] [--sample]
                                      [--store-cache DIR]

Drives the Textual app (``tui.make_app``, headless through ``App.run_test``, 100×32) on a store
holding a generated team (``mano_core.demo.generate_team``, seed 0, the real Argon2id KDF),
with a loop-lag probe (bench/loop_lag.py) on the app's own loop, through:

0. launch: Textual's start, until the app runs (its first screen composed, styled and drawn,
   before a key can be typed);
1. unlock + open: from then until the team is open (the opening screen starts counting);
2. first read: every record decoded, the persons index built, the agenda drawn;
3. persons list (F3) and a search typed one key at a time ("marie"), until the rows show;
4. statistics (F7): the figures and charts of the default year computed and shown;
5. catch-up (``--catch-up N``, 0 to skip): a second run of the app on a device of the same
   team N envelopes behind (a teammate's N small edits waiting on a real relay subprocess),
   from the agenda shown until the N envelopes are applied; then "after catch-up": a second,
   and until the store's upkeep (the compaction due after a catch-up, if the rows caught up
   weigh enough: mano_core/team_upkeep.py) is done.

Prints, per phase, the worst lateness of the probe (ms), the largest CPU part of a lateness
(what our code held the loop for, the rest being the OS running other processes), the 99th
percentile, and the worst ÷ the 50 ms target. ``--sample`` also prints, per phase, where the
loop's thread was while it stalled (bench/stall_sampler.py; ``STALL_AFTER=0.1`` in the
environment: only stalls of 100 ms or more). ``--store-cache DIR`` (or ``MANO_BENCH_STORE_CACHE``)
keeps the generated store there, keyed by scale, seed and a hash of the code that writes it
(a ×10 store takes ~10 minutes of CPU to build); each run opens a copy of it. Figures only;
nothing is asserted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loop_lag import TARGET_MS, LoopLagProbe  # noqa: E402
from mano_core.demo import generate_team  # noqa: E402
from mano_core.demo.load import load_demo  # noqa: E402
from mano_core.device import Device  # noqa: E402
from mano_core.ids import Compartment  # noqa: E402
from mano_core.store import DEFAULT_KDF, TEST_KDF  # noqa: E402

PASS = "phrase de passe du banc d'essai"
SEED = 0
PHASES = ("launch", "unlock + open", "first read", "persons list", "search", "statistics",
          "catch-up run: launch", "catch-up run: unlock + open", "catch-up run: first read",
          "catch-up", "after catch-up")


async def until(predicate: Callable[[], object], timeout: float = 600.0) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.005)


async def build(path: Path, scale: float, *, kdf: Any = DEFAULT_KDF) -> tuple[Device, Any]:
    generated = generate_team(seed=SEED, scale=scale)
    device = await Device.create(path, PASS, kdf=kdf)
    team = await device.create_team("Banc", member=generated.members[0].id, health=True)
    await load_demo(team, generated)
    return device, team


async def drive_app(path: Path, probe: LoopLagProbe, *, relay: str | None = None,
                    behind: int = 0, full: bool = True) -> dict[str, float]:
    """One run of the app on ``path``; returns seconds per phase (the probe labels lateness)."""
    from tui.app import make_app
    from tui.screens.agenda import AgendaScreen
    from tui.screens.opening import OpeningScreen
    from tui.screens.persons import PersonsScreen
    from tui.screens.stats import StatsScreen
    from tui.widgets.paged_table import PagedTable

    seconds: dict[str, float] = {}
    prefix = "catch-up run: " if behind else ""   # its open and first read apart
    app = make_app(path, passphrase=PASS, lang="fr", relay=relay)
    # The command line imports the app and makes it before its loop runs (tui/cli.py): the
    # imports above held this loop, which no user sees; the probe's late wake-up that follows
    # is charged apart ("setup", not reported), not to the launch.
    probe.set("setup")
    ticks = probe.ticks
    while probe.ticks == ticks:
        await asyncio.sleep(0)
    run = app.run_test(size=(100, 32))
    t = time.perf_counter()
    probe.set(prefix + "launch")  # Textual's start: the first screen composed, styled, drawn
    pilot = await run.__aenter__()
    seconds[prefix + "launch"] = time.perf_counter() - t
    probe.set(prefix + "unlock + open")
    try:
        def reading() -> bool:
            s = app.screen
            return (isinstance(s, OpeningScreen) and s._percent >= 0) \
                or isinstance(s, AgendaScreen)

        await until(reading)
        seconds[prefix + "unlock + open"] = time.perf_counter() - t - seconds[prefix + "launch"]
        t = time.perf_counter()
        probe.set(prefix + "first read")
        await until(lambda: isinstance(app.screen, AgendaScreen)
                    and bool(app.screen.query(PagedTable)))
        await pilot.pause()
        seconds[prefix + "first read"] = time.perf_counter() - t
        if behind:
            t = time.perf_counter()
            probe.set("catch-up")
            await until(lambda: app.session is not None and app.session.sync is not None
                        and app.session.sync.state.cursor.get(Compartment.GENERAL, 0)
                        >= behind)
            seconds["catch-up"] = time.perf_counter() - t
            t = time.perf_counter()
            probe.set("after catch-up")  # a second, and the store's upkeep until it is idle
            team = app.session.team
            due = any(team.upkeep.pending(h) for h in team.held())
            await asyncio.sleep(1.0)
            await until(lambda: not any(team.upkeep.pending(h) for h in team.held()), 10.0)
            print(f"  after catch-up: a compaction {'was' if due else 'was not'} due",
                  flush=True)
            seconds["after catch-up"] = time.perf_counter() - t
        if not full:
            return seconds
        t = time.perf_counter()
        probe.set("persons list")
        await pilot.press("f3")
        await until(lambda: isinstance(app.screen, PersonsScreen)
                    and bool(app.screen.query_one(PagedTable).items))
        seconds["persons list"] = time.perf_counter() - t
        screen = app.screen
        table = screen.query_one(PagedTable)
        search = screen.query_one("#search")
        t = time.perf_counter()
        probe.set("search")
        for text in ("m", "ma", "mar", "mari", "marie"):  # typed one key at a time
            shown = table.items
            search.value = text  # type: ignore[attr-defined]
            await until(lambda: table.items is not shown)  # noqa: B023 - awaited here
        seconds["search"] = time.perf_counter() - t
        t = time.perf_counter()
        probe.set("statistics")
        await pilot.press("f7")
        await until(lambda: isinstance(app.screen, StatsScreen)
                    and app.screen.shown is not None
                    and not app.screen.query_one("#stats-busy").display)
        seconds["statistics"] = time.perf_counter() - t
    finally:
        probe.set("closing")
        await run.__aexit__(None, None, None)
    return seconds


async def catch_up_store(tmp: Path, scale: float, behind: int) -> tuple[Path, Any]:
    """A device's store (returned with the relay) of a team ``scale`` big, ``behind``
    envelopes behind a teammate who wrote them while it was closed."""
    from tests.relay.kit import RelayProcess
    from tests.sync.helpers import seal_bulk_persons

    relay = await RelayProcess(str(tmp / "relay.db"), "--rate", "1000000",
                               "--burst", "1000000").start()
    a, team_a = await build(tmp / "a.mano", scale, kdf=TEST_KDF)
    async with await a.sync(team_a, relay.url) as sa:
        await sa.wait_synced(600)
        code = await sa.create_invitation(health=True)
        b = await Device.create(tmp / "b.mano", PASS, kdf=DEFAULT_KDF)
        team_b = await b.join_team(relay.url, code)
    async with await b.sync(team_b, relay.url) as sb:
        await sb.wait_synced(600)
        start = sb.state.cursor.get(Compartment.GENERAL, 0)
    await b.close()
    keys = await a.vault.team((await a.vault.team_ids())[0])
    await seal_bulk_persons(team_a, keys, behind, "rattrapage")
    async with await a.sync(team_a, relay.url) as sa:
        await sa.wait_synced(600)
    await a.close()
    return tmp / "b.mano", (relay, start)


# What the benchmark's store holds: a cached store is reused only while the generator, the
# records' model and layout and the pieces' framing are unchanged, and the store's on-disk
# format label (mano_core.store.crypto.FORMAT) is the same.
_STORE_CODE = ("mano_core/demo", "mano_core/model", "mano_core/document/layout.py",
               "mano_core/document/pieces.py")


def _store_key(scale: float) -> str:
    from mano_core.store.crypto import FORMAT

    digest = hashlib.sha256(FORMAT)
    for name in _STORE_CODE:
        top = ROOT / name
        for path in sorted(top.rglob("*.py")) if top.is_dir() else [top]:
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return f"ui-loop-x{scale:g}-seed{SEED}-{digest.hexdigest()[:16]}"


async def bench_store(tmp: Path, scale: float, cache: Path | None) -> Path:
    """The benchmark's store in ``tmp`` (a copy of the cached one, built first if need be)."""
    target = tmp / "bench.mano"
    cached = None if cache is None else cache / (_store_key(scale) + ".mano")
    if cached is not None and cached.exists():
        shutil.copyfile(cached, target)
        print(f"scale {scale:g}: store copied from {cached}", flush=True)
        return target
    t = time.perf_counter()
    device, _team = await build(target, scale)
    await device.close()
    print(f"scale {scale:g}: store built in {time.perf_counter() - t:.1f} s", flush=True)
    if cached is not None:
        for stale in ("-wal", "-shm"):  # closed: everything is in the main file
            if Path(str(target) + stale).exists():
                raise RuntimeError(f"store left a {stale} file open")
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, str(cached) + ".part")
        os.replace(str(cached) + ".part", cached)
    return target


def _settle() -> None:
    """Collect the garbage the bench itself left (the stores it built in this process, a
    previous run's app and team: thawed at their close, mano_core/heap.py) before the next run
    is probed. Without it the catch-up run's launch paid a full collection of it: 1,401 ms in
    the suite's run of 2026-12-02 01:28 (a GC pause of 414 ms in a sampled rerun, 104 ms in
    another, depending on when the collector's threshold fell), work no user's app does."""
    gc.collect()


def _sampled(probe: LoopLagProbe, sample: bool, anatomy: bool = False) -> Any:
    """A stall sampler on ``probe`` (printed when it ends) if ``sample``, and the stalls'
    anatomy (bench/stall_anatomy.py) if ``anatomy``, else nothing."""
    parts = None
    if anatomy:
        from bench.stall_anatomy import StallAnatomy

        parts = StallAnatomy()
        probe.watchers.append(parts)
    inner = _stack_sampled(probe, sample)

    @contextlib.contextmanager
    def both() -> Iterator[None]:
        try:
            with inner:
                yield
        finally:
            if parts is not None:
                probe.watchers.remove(parts)
                print(parts.report(), flush=True)
                parts.close()
    return both()


def _stack_sampled(probe: LoopLagProbe, sample: bool) -> Any:
    if not sample:
        return contextlib.nullcontext()
    from bench.stall_sampler import StallSampler

    @contextlib.contextmanager
    def sampling() -> Iterator[None]:
        with StallSampler(probe, after=float(os.environ.get("STALL_AFTER", "0.04")),
                          depth=int(os.environ.get("STALL_DEPTH", "8"))) as sampler:
            yield
        print(sampler.report(), flush=True)
    return sampling()


async def one_scale(scale: float, behind: int, repeat: int, sample: bool = False,
                    cache: Path | None = None, anatomy: bool = False
                    ) -> dict[str, dict[str, float]]:
    """Per phase: medians over ``repeat`` runs of the worst lateness (ms) and its ratio."""
    runs: list[dict[str, dict[str, Any]]] = []
    times: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        await bench_store(tmp, scale, cache)
        for _ in range(repeat):
            _settle()
            async with LoopLagProbe() as probe:
                with _sampled(probe, sample, anatomy):
                    times.append(await drive_app(tmp / "bench.mano", probe))
            runs.append(probe.summary())
        if behind:
            t = time.perf_counter()
            path, (relay, start) = await catch_up_store(tmp, scale, behind)
            print(f"  catch-up store ({behind:,} envelopes behind) built in "
                  f"{time.perf_counter() - t:.1f} s", flush=True)
            try:
                _settle()
                async with LoopLagProbe() as probe:
                    with _sampled(probe, sample, anatomy):
                        times.append(await drive_app(path, probe, relay=relay.url,
                                                     behind=start + behind, full=False))
                runs.append(probe.summary())
            finally:
                await relay.stop()
    out: dict[str, dict[str, float]] = {}
    for phase in PHASES:
        worst = [r[phase]["max_ms"] for r in runs if phase in r]
        if not worst:
            continue
        secs = [t_[phase] for t_ in times if phase in t_]
        p99 = [r[phase]["p99_ms"] for r in runs if phase in r]
        cpu = [r[phase]["cpu_max_ms"] for r in runs if phase in r]
        gc_max = [r[phase]["gc_max_ms"] for r in runs if phase in r]
        out[phase] = {"max_ms": statistics.median(worst), "p99_ms": statistics.median(p99),
                      "cpu_max_ms": statistics.median(cpu),
                      "gc_max_ms": statistics.median(gc_max),
                      "ratio": statistics.median(worst) / TARGET_MS,
                      "seconds": statistics.median(secs), "runs": len(worst)}
    return out


def print_table(scale: float, result: dict[str, dict[str, float]]) -> None:
    print(f"\nscale {scale:g}: worst UI-loop stall per phase (target ≤ {TARGET_MS:.0f} ms)")
    print(f"  {'phase':<28} {'worst ms':>9} {'its CPU ms':>10} {'p99 ms':>8} {'÷ 50 ms':>8}"
          f" {'phase s':>8} {'GC pause ms':>11} runs")
    for phase, r in result.items():
        print(f"  {phase:<28} {r['max_ms']:>9.1f} {r['cpu_max_ms']:>10.1f} {r['p99_ms']:>8.1f}"
              f" {r['ratio']:>8.2f} {r['seconds']:>8.2f} {r['gc_max_ms']:>11.1f} {r['runs']:>4}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ui_loop",
                                     description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, nargs="+", default=[1.0])
    parser.add_argument("--catch-up", type=int, default=10_000,
                        help="envelopes behind for the catch-up phase (0: skip it)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--sample", action="store_true",
                        help="print where the loop's thread was during stalls "
                             "(bench/stall_sampler.py)")
    parser.add_argument("--anatomy", action="store_true",
                        help="print what each phase's worst stalls were made of: the loop "
                             "thread on a CPU, on the run queue, asleep; other threads' CPU "
                             "(bench/stall_anatomy.py)")
    parser.add_argument("--store-cache", type=Path,
                        default=os.environ.get("MANO_BENCH_STORE_CACHE") or None,
                        help="keep the generated store in this directory and reuse it")
    args = parser.parse_args()
    for scale in args.scale:
        print_table(scale, asyncio.run(one_scale(scale, args.catch_up, args.repeat,
                                                 args.sample, args.store_cache,
                                                 args.anatomy)))


if __name__ == "__main__":
    main()
