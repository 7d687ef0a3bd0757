"""Where an edit's time goes on its way to a second device: stage stamps in all three processes
of the edit → visible benchmark (bench/edit_latency.py), joined per edit.

    .venv/bin/python -m bench.edit_stages [--edits 300] [--gap 0.06]

Runs ``edit_to_visible`` (the benchmark without its floor) in a child process whose
PYTHONPATH loads bench/stage_probe/sitecustomize.py in it, in the relay and in device B: each
stamps the start and end of the path's functions (A's edit, its commit, the commit's SQLite
transaction in the store's thread, the push; the relay's push handler, its commit and that
commit's SQLite transaction in its writer's thread, each frame it writes; B's frame, delivery,
batch authentication, Persist, merge, commit, listeners) and the cyclic collector's passes on
CLOCK_MONOTONIC. Each stamp is given in ms after the start of the edit it falls in (between one
``persons.update`` and the next), as the median over the edits; ``#k`` is the k-th such stamp
of that edit. The stamps cost a few µs each: the latencies printed are a little above
bench/edit_latency.py's. Not part of ``python -m bench``."""

from __future__ import annotations

import argparse
import asyncio
import bisect
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).resolve().parent / "stage_probe"


def _role(command: str) -> str:
    if "sync_server" in command:
        return "relay"
    if "edit_peer" in command:
        return "b"
    if "edit_stages" in command:
        return "a"
    return ""


def load(where: Path) -> dict[str, list[tuple[str, int]]]:
    """The stamps of each process (by role: a, relay, b), in time order."""
    stamps: dict[str, list[tuple[str, int]]] = {}
    for path in where.glob("*.txt"):
        command, *lines = path.read_text(encoding="utf-8").splitlines()
        role = _role(command)
        if role:
            rows = [(name, int(t)) for name, t, _thread in (line.split() for line in lines)]
            stamps.setdefault(role, []).extend(rows)
    for rows in stamps.values():
        rows.sort(key=lambda row: row[1])
    return stamps


def timeline(stamps: dict[str, list[tuple[str, int]]], edits: int
             ) -> tuple[list[tuple[float, str, int]], dict[str, float]]:
    """(median ms after the edit's start, "role:name#k", edits it occurred in) of each stamp
    seen in at least half of the last ``edits`` edits, in time order; and how many times per
    edit each stamp name occurred."""
    starts = [t for name, t in stamps.get("a", []) if name == "a.edit.start"][-edits:]
    if not starts:
        raise SystemExit("no edit stamped: was the probe loaded?")
    ends = [*starts[1:], starts[-1] + (starts[-1] - starts[0]) // max(1, len(starts) - 1)]
    offsets: dict[str, list[float]] = collections.defaultdict(list)
    counts: collections.Counter[str] = collections.Counter()
    for role, rows in stamps.items():
        times = [t for _name, t in rows]
        for start, end in zip(starts, ends, strict=True):
            seen: collections.Counter[str] = collections.Counter()
            for name, t in rows[bisect.bisect_left(times, start):bisect.bisect_left(times, end)]:
                offsets[f"{role}:{name}#{seen[name]}"].append((t - start) / 1e6)
                seen[name] += 1
            counts.update({f"{role}:{name}": n for name, n in seen.items()})
    lines = [(statistics.median(v), key, len(v)) for key, v in offsets.items()
             if len(v) >= len(starts) / 2]
    lines.sort()
    return lines, {key: n / len(starts) for key, n in sorted(counts.items())}


async def _child(edits: int, gap: float) -> None:
    from bench.edit_latency import edit_to_visible, pct
    with tempfile.TemporaryDirectory() as tmp:
        seen = await edit_to_visible(Path(tmp), edits, gap)
    where = os.environ.get("MANO_STAGE_STAMPS")
    if where:  # each edit's start (ns) and latency (s), for bench/edit_tail.py
        Path(where, "edits.json").write_text(json.dumps(
            {"starts": seen["starts"], "latency": seen["latency"]}), encoding="utf-8")
    print(f"edit → visible p50 {pct(seen['latency'], 0.5) * 1e3:.2f} ms, "
          f"p99 {pct(seen['latency'], 0.99) * 1e3:.2f} ms (with the stamps); CPU per edit: "
          f"A {seen['cpu_a'] * 1e3:.2f}, relay {seen['cpu_relay'] * 1e3:.2f}, "
          f"B {seen['cpu_b'] * 1e3:.2f} ms", flush=True)


def stamped_run(edits: int, gap: float, where: Path) -> None:
    """The benchmark's edit loop in a child process, the probe loaded in all three processes,
    their stamps (and the edits' starts and latencies: edits.json) written into ``where``."""
    env = dict(os.environ, MANO_STAGE_STAMPS=str(where), PYTHONPATH=os.pathsep.join(
        [str(PROBE), str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    subprocess.run([sys.executable, "-m", "bench.edit_stages", "--child",
                    "--edits", str(edits), "--gap", str(gap)], env=env, cwd=ROOT, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=300)
    parser.add_argument("--gap", type=float, default=0.06)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(_child(args.edits, args.gap))
        return
    with tempfile.TemporaryDirectory() as where:
        stamped_run(args.edits, args.gap, Path(where))
        lines, counts = timeline(load(Path(where)), args.edits)
    print(f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          "ms after the edit starts (median over the edits):")
    for ms, key, n in lines:
        print(f"{ms:9.3f}  {key}" + (f"  (in {n} edits)" if n < args.edits else ""))
    print("per edit:", ", ".join(f"{key} {n:.2f}" for key, n in counts.items()
                                 if key.endswith(".start")))


if __name__ == "__main__":
    main()
