"""The slowest edits of the edit → visible benchmark, and what happened during them (issue 24,
the p99's causes).

    .venv/bin/python -m bench.edit_tail [--edits 300] [--repeat 1] [--gap 0.06] [--slow 0.05]

Runs bench/edit_stages.py's stamped edit loop (the probe of bench/stage_probe in A, the relay
and B) ``--repeat`` times and pools the edits. Each edit is cut into the segments of its path
(A before its commit, A's commit, …, B's commit, B to its listener: each the time between two
stamps, the first of its name after the one before) and checked for what else ran in any of
the three processes while it was on its way: the collector's passes (``gc0``–``gc2``), the
store's quiet checkpoint (``ckpt``), a restarted write-ahead log (``walrestart``: a checkpoint,
automatic or quiet, just before), the upkeep, the sender's flush (an edit not sealed at its
commit) and its removal of acknowledged rows, snapshots, presence, websocket pings, and any
other loop callback of over 1 ms (``slow:<name>``; ``step:<name>`` when it is one of the
path's own steps, PATH_STEPS). It prints the slowest ``--slow`` share of
the edits with their longest segment (against its median) and their causes, and for each
cause the latency's p50 / p90 / p99 over the edits with it and without it. Not part of
``python -m bench``."""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import os
import statistics
import tempfile
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from pathlib import Path

from bench.edit_stages import load, stamped_run

Stamps = dict[str, list[tuple[str, int]]]

# The path's points, in order: (role, stamp); each is the first such stamp after the last.
POINTS = (("a", "commit.thread.start"), ("a", "commit.thread.end"), ("a", "a.push.start"),
          ("relay", "relay.push.start"), ("relay", "relay.commit.thread.start"),
          ("relay", "relay.commit.thread.end"), ("relay", "relay.write.start"),
          ("b", "frame.start"), ("b", "commit.thread.start"), ("b", "commit.thread.end"))
# The loop callbacks that are the path's own steps: one of them over 1 ms is the path being
# slow (its own work, or the process waiting for a core), not something else that ran.
PATH_STEPS = frozenset({("a", "_child"), ("a", "Sessions._sender"), ("relay", "Committer._run"),
                        ("relay", "_SelectorSocketTransport._read_ready"),
                        ("b", "_SelectorSocketTransport._read_ready"),
                        ("b", "RelayClient._read"), ("b", "Sessions._inbox")})
SEGMENTS = ("A before its commit", "A's commit", "A to its push", "hop A → relay",
            "relay before its commit", "relay's commit", "relay to its write",
            "hop relay → B", "B before its commit", "B's commit", "B to its listener")


@dataclass
class Edit:
    latency: float  # ms
    segments: list[float]  # ms, one per SEGMENTS (NaN when a point was not found)
    causes: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    # cause -> [(its duration in ms, the segment it started in)]


def intervals(rows: list[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """(kind, start, end) of each stamped event that is not on the path: the collector's
    passes, the probe's ``x.*`` stamps and the slow callbacks."""
    open_: dict[str, list[int]] = collections.defaultdict(list)
    out = []
    for name, t in rows:
        kind, _, edge = name.rpartition(".")
        if not (kind.startswith(("gc", "x.", "slow:")) and edge in ("start", "end")):
            continue
        if edge == "start":
            open_[kind].append(t)
        elif open_[kind]:
            out.append((kind.removeprefix("x."), open_[kind].pop(), t))
    return out


def _first(rows: list[tuple[str, int]], times: list[int], name: str, after: int) -> int | None:
    for row_name, t in rows[bisect_left(times, after):]:
        if row_name == name:
            return t
    return None


def edits_of(stamps: Stamps, starts: list[int], latency: list[float]) -> list[Edit]:
    """Each edit's segments and causes."""
    times = {role: [t for _name, t in rows] for role, rows in stamps.items()}
    events = {role: intervals(rows) for role, rows in stamps.items()}
    out = []
    for start, lat in zip(starts, latency, strict=True):
        end = start + int(lat * 1e9)
        points = [start]
        for role, name in POINTS:
            t = _first(stamps.get(role, []), times.get(role, []), name, points[-1])
            points.append(t if t is not None and t <= end else points[-1])
        points.append(end)
        segments = [(b - a) / 1e6 for a, b in itertools.pairwise(points)]
        edit = Edit(lat * 1e3, segments)
        for role, rows in events.items():
            for name, t0, t1 in rows:
                step = (role, name.removeprefix("slow:")) in PATH_STEPS
                kind = "step:" + name.removeprefix("slow:") if step else name
                if t0 < end and t1 > start:
                    where = SEGMENTS[max(0, min(len(SEGMENTS) - 1,
                                                bisect_right(points, t0) - 1))]
                    edit.causes.setdefault(f"{role}:{kind}", []).append(((t1 - t0) / 1e6, where))
        out.append(edit)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _dist(values: list[float]) -> str:
    return (f"{len(values):4d} edits  p50 {pct(values, 0.5):7.2f}  p90 {pct(values, 0.9):7.2f}"
            f"  p99 {pct(values, 0.99):7.2f} ms")


def report(edits: list[Edit], slow: float) -> None:
    lat = [e.latency for e in edits]
    print(f"all: {_dist(lat)}  max {max(lat):.2f} ms")
    medians = [statistics.median(e.segments[i] for e in edits) for i in range(len(SEGMENTS))]
    ranked = sorted(edits, key=lambda e: e.latency, reverse=True)
    tail = ranked[:max(1, round(slow * len(edits)))]
    print(f"\nsegments, median ms: all edits / the slowest {len(tail)}; how often the "
          "segment's excess over its median is the largest in a slow edit")
    longest = collections.Counter(
        max(range(len(SEGMENTS)), key=lambda i: e.segments[i] - medians[i]) for e in tail)
    for i, name in enumerate(SEGMENTS):
        slow_median = statistics.median(e.segments[i] for e in tail)
        print(f"  {name:24s} {medians[i]:7.2f} / {slow_median:7.2f}   {longest[i]:3d}")
    print(f"\nthe slowest {len(tail)} edits (ms): latency, longest segment (+excess), causes")
    for e in tail:
        i = max(range(len(SEGMENTS)), key=lambda i: e.segments[i] - medians[i])
        causes = "; ".join(f"{k} {sum(d for d, _ in v):.1f} ({v[0][1]})"
                           for k, v in sorted(e.causes.items()))
        print(f"  {e.latency:8.2f}  {SEGMENTS[i]} +{e.segments[i] - medians[i]:.1f}  "
              f"{causes or '-'}")
    print("\ncause: edits with it (in the slow ones), latency with it / without it")
    kinds = collections.Counter(k for e in edits for k in e.causes)
    for kind, n in sorted(kinds.items(), key=lambda kn: (-sum(kn[0] in e.causes for e in tail),
                                                          -kn[1])):
        with_ = [e.latency for e in edits if kind in e.causes]
        without = [e.latency for e in edits if kind not in e.causes]
        in_tail = sum(kind in e.causes for e in tail)
        print(f"  {kind:32s} {n:4d} ({in_tail:3d})  with: {_dist(with_)}")
        print(f"  {'':32s} {'':11s} without: {_dist(without)}")
    none = [e.latency for e in edits if not e.causes]
    print(f"  {'(no cause)':32s} {len(none):4d} ({sum(not e.causes for e in tail):3d})"
          f"  {_dist(none)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--gap", type=float, default=0.06)
    parser.add_argument("--slow", type=float, default=0.05, help="share of edits shown")
    parser.add_argument("--keep", type=Path, help="a directory to keep each run's stamps in")
    args = parser.parse_args()
    edits: list[Edit] = []
    for r in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            where = Path(tmp) if args.keep is None else args.keep / f"run{r + 1}"
            where.mkdir(parents=True, exist_ok=True)
            stamped_run(args.edits, args.gap, where)
            seen = json.loads((where / "edits.json").read_text(encoding="utf-8"))
            edits += edits_of(load(where), seen["starts"], seen["latency"])
    print(f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"{args.repeat} run(s) of {args.edits} edits")
    report(edits, args.slow)


if __name__ == "__main__":
    main()
