"""The Yjs update reader alone (issue 24): the compiled one (mano_core/document/_yreader_c.pyx)
against the pure-Python one it stands for, in this process, interleaved rounds, CPU medians:

- a whole state (a new device's first sync: dependencies, bounds and the role screening's
  index in one pass, ``ydeps.read_into``), by default the MANO-scale team's general state
  (``mano_core.demo.generate_team`` seed 0, ~20.5 MB; ``--state FILE`` reads one from a file);
- 10,000 small updates (one field edit each, ~60 B: a catch-up's envelopes), each read for its
  dependencies, structs and delete set (``ydeps`` per delivery).

    python -m bench.reader_bench [--scale 1] [--rounds 5] [--state FILE] [--check]

``--check`` also compares the two readers' results on that state (deps, structs, delete set,
index) and on 20 damaged copies of it: the long form of tests/document/test_ycompiled.py's
large-state case."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pycrdt import Doc, Map

from mano_core.document import ynative, yreader, ystate
from mano_core.errors import MalformedUpdateError
from mano_core.rules.touch import GuardedIndex


def mano_state(scale: float) -> bytes:
    from bench.open_team import prepare

    with tempfile.TemporaryDirectory() as tmp:
        _team, states = asyncio.run(prepare(os.path.join(tmp, "reader.mano"), scale))
    return states[0]  # the general compartment: persons, actions, comments, settings


def small_updates(n: int) -> list[bytes]:
    rnd = random.Random(24)
    doc = Doc(client_id=2**40 + 17)
    out: list[bytes] = []
    persons = doc.get("persons", type=Map)
    with doc.transaction():
        for i in range(200):
            persons[f"p{i}"] = Map({"name": f"n{i}", "age": i})
    doc.observe(lambda event: out.append(event.update))
    for i in range(n):
        record = persons[f"p{rnd.randrange(200)}"]
        record["note"] = f"edit {i} " + "é" * rnd.randrange(20)
    return out


def cpu(fn: Callable[[], object]) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def measure(state: bytes, updates: list[bytes], rounds: int) -> dict[str, float]:
    c = ynative.compiled
    if c is None:
        raise SystemExit(f"the compiled reader is not running: {ynative.READER}")
    cases: dict[str, Callable[[], object]] = {
        "state_python": lambda: ystate.read_large(state, yreader.UpdateDeps(), None,
                                                  GuardedIndex()),
        "state_compiled": lambda: c.read_large(state, yreader.UpdateDeps(), None,
                                               GuardedIndex()),
        "updates_python": lambda: [yreader._read(u, []) for u in updates],
        "updates_compiled": lambda: [c.read_update(u, []) for u in updates],
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            times[name].append(cpu(fn))
    return {k: statistics.median(v) for k, v in times.items()}


def check(state: bytes) -> None:
    c = ynative.compiled
    assert c is not None
    assert yreader._read(state, []) == c.read_update(state, [])
    assert yreader._read(state, None) == c.read_update(state, None)
    marks = []
    for read_large in (ystate.read_large, c.read_large):
        deps, index = yreader.UpdateDeps(), GuardedIndex()
        read_large(state, deps, None, index)
        marks.append((deps, {k: (r.starts, r.ends, r.codes) for k, r in index._runs.items()}))
    assert marks[0] == marks[1]
    rnd = random.Random(24)
    for i in range(20):  # damaged copies: cut short, or three bytes overwritten
        raw = bytearray(state)
        if i % 2:
            del raw[rnd.randrange(len(raw)):]
        else:
            for _ in range(3):
                raw[rnd.randrange(len(raw))] = rnd.randrange(256)
        outcomes = []
        for read_large in (ystate.read_large, c.read_large):
            deps, index = yreader.UpdateDeps(), GuardedIndex()
            try:
                back = read_large(bytes(raw), deps, None, index) is None
            except MalformedUpdateError:
                outcomes.append("refused")
                continue
            outcomes.append((back, deps, {k: (r.starts, r.ends, r.codes)
                                          for k, r in index._runs.items()}))
        assert outcomes[0] == outcomes[1], i
    print("check: the compiled reader reads this state, and 20 damaged copies, as the Python one")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--state", type=Path)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    state = args.state.read_bytes() if args.state else mano_state(args.scale)
    updates = small_updates(args.updates)
    print(f"Yjs reader: {ynative.READER}; state {len(state) / 1e6:.1f} MB, "
          f"{len(updates):,} updates of {statistics.median(map(len, updates)):.0f} B")
    if args.check:
        check(state)
    r = measure(state, updates, args.rounds)
    print(f"whole state (deps + bounds + role index): python {r['state_python']:.3f} s, "
          f"compiled {r['state_compiled']:.4f} s CPU "
          f"(÷{r['state_python'] / r['state_compiled']:.0f})")
    n = len(updates)
    print(f"{n:,} small updates (deps + structs): python {r['updates_python'] / n * 1e6:.1f} "
          f"µs, compiled {r['updates_compiled'] / n * 1e6:.1f} µs CPU each "
          f"(÷{r['updates_python'] / r['updates_compiled']:.1f}); "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
