"""Every benchmark in one run (issue 9): each figure a ratio against a baseline measured in the
same run, with its target; a report with the machine's description and package versions.

    python -m bench            # full mode: MANO scale and ×10, medians of repeated runs
    python -m bench --short    # CI smoke mode: small sizes, checks every benchmark still runs

Full mode writes bench/out/benchmarks.json, docs/benchmarks.json and regenerates the summary
at the top of docs/benchmarks.md (between the ``suite:begin``/``suite:end`` markers; the
hand-written sections below are kept). Short mode writes only under ``--out`` (bench/out/).
PostgreSQL (bench/relay_nodes.py) is skipped in short mode unless MANO_TEST_POSTGRES_DSN is set.
Each section runs in a fresh process (``run_section``): none measures the heap another left.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.suite_report import ROOT, Figure, Result, machine, summary_markdown, write_doc


# --- benchmarks --------------------------------------------------------------------------------


def _ms(s: float) -> str:
    return f"{s * 1e3:.2f} ms"


def crypto(short: bool) -> Result:
    from bench import crypto_bench

    n, rounds = (200, 1) if short else (2000, 5)
    runs = [crypto_bench.one_round(n, 1024) for _ in range(rounds)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    us = lambda s: f"{s * 1e6:.1f} µs"  # noqa: E731
    raw_seal = med["aes_gcm_encrypt"] + med["ed25519_sign"]
    raw_open = med["aes_gcm_decrypt"] + med["ed25519_verify"]
    return Result("crypto", raw=med, figures=[
        Figure("seal 1 KiB envelope ÷ (AES-256-GCM encrypt + Ed25519 sign)",
               med["seal"] / raw_seal, "", us(med["seal"]), us(raw_seal), rounds, "crypto_bench"),
        Figure("open 1 KiB envelope ÷ (AES-256-GCM decrypt + Ed25519 verify)",
               med["open"] / raw_open, "", us(med["open"]), us(raw_open), rounds,
               "crypto_bench"),
    ])


def open_and_memory(short: bool) -> list[Result]:
    """Open time (bench/open_team.py) and resident memory (bench/memory.py) on the same stores."""
    from bench import memory, open_team
    from bench.open_team import PASSPHRASE

    plan = [(0.02, 1, 1), (0.2, 1, 0)] if short else [(1.0, 5, 3), (10.0, 3, 1)]
    opened, mem = Result("open_team"), Result("memory")
    open_s: dict[float, float] = {}
    for scale, repeat, mem_repeat in plan:
        label = "MANO" if scale == 1 else f"×{scale:g}"
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bench.mano")
            t = time.perf_counter()
            team_id, states = asyncio.run(open_team.prepare(path, scale))
            prep = time.perf_counter() - t
            r = asyncio.run(open_team.measure(path, team_id, states, scale, repeat))
            r["prepare_s"] = prep
            open_s[scale] = r["open_s"]
            opened.raw[label] = r
            opened.figures.append(Figure(
                f"open a team from the encrypted store ÷ bare apply_update ({label} scale, "
                f"{r['state_mb']:.0f} MB state)", r["ratio"], "≤ 1.3" if scale <= 1 else "",
                f"{r['open_s']:.3f} s", f"{r['bare_s']:.3f} s", repeat, "open_team"))
            if mem_repeat:
                m = memory.measure(path, PASSPHRASE, team_id, states, mem_repeat)
                mem.raw[label] = m
                mem.figures.append(Figure(
                    f"resident memory, team open ÷ bare pycrdt Doc ({label} scale)",
                    m["ratio"], "≤ 1.5", f"{m['open_mib']:.0f} MiB",
                    f"{m['bare_mib']:.0f} MiB", mem_repeat, "memory"))
    small, large = plan[0][0], plan[-1][0]
    # Issue 24: opening ten times the data takes at most 1.1 × ten times as long (linear).
    opened.figures.append(Figure(
        f"open at ×{large / small:g} the data ÷ (×{large / small:g} × open at the smaller size) "
        f"({small:g} → {large:g} of MANO scale)", open_s[large] / (large / small * open_s[small]),
        "≤ 1.1", f"{open_s[large]:.3f} s", f"{large / small * open_s[small]:.3f} s",
        plan[-1][1], "open_team"))
    return [opened, mem]


def relay_fanout(short: bool) -> Result:
    from bench import relay_fanout as rf

    if short:
        args = argparse.Namespace(repeat=1, messages=60, subscribers=[10, 100], sizes=[200],
                                  lat_seconds=0.3, step_timeout=25.0)
    else:
        args = argparse.Namespace(repeat=3, messages=1000, subscribers=[10, 100],
                                  sizes=[200, 4096], lat_seconds=2.0)
    out = asyncio.run(rf.main_async(args))
    res = Result("relay_fanout", raw=out)
    for cell, v in out.items():
        thr = lambda k, v=v: f"{v[k]:,.0f}/s"  # noqa: E731
        res.figures.append(Figure(f"relay deliveries/s ÷ raw websockets broadcast, {cell}",
                                  v["mano_thr"] / v["raw_thr"], "≥ 0.8", thr("mano_thr"),
                                  thr("raw_thr"), int(v["runs"]), "relay_fanout"))
        if "pycrdt_thr" in v:
            res.figures.append(Figure(f"relay deliveries/s ÷ pycrdt-websocket, {cell}",
                                      v["mano_thr"] / v["pycrdt_thr"], "≥ 1.5", thr("mano_thr"),
                                      thr("pycrdt_thr"), int(v["runs"]), "relay_fanout"))
    return res


def sync(short: bool) -> Result:
    from bench import sync_bench

    behind, repeat = (200, 1) if short else (10_000, 3)
    r = asyncio.run(sync_bench.measure(0, behind, repeat))
    res = Result("sync", raw=r, figures=[
        Figure(f"catch-up of {behind:,} envelopes replayed (no snapshot at the relay) ÷ "
               f"loading the equivalent snapshot", r["catch_up"] / r["snapshot"], "≤ 3",
               f"{r['catch_up']:.2f} s", f"{r['snapshot']:.3f} s", repeat, "sync_bench"),
    ])
    res.figures += catch_up_figures(short, res, behind, repeat)
    return res


def edit_latency(short: bool) -> Result:
    """Edit → visible on a second device (its own process) ÷ its floor, timed in the same run:
    the durable commits on the path, one signature, one verification, the raw websocket hop."""
    from bench import edit_latency as el

    edits, repeat = (20, 1) if short else (300, 3)
    r = asyncio.run(el.measure(edits, repeat, 0.06))
    parts = ", ".join(f"{k} {_ms(r[k])}" for k in el.FLOOR_PARTS)
    cpu = ", ".join(f"{k.removeprefix('cpu_')} {_ms(r[k])}" for k in el.CPU_PARTS)
    return Result("edit_latency", raw=r, figures=[
        Figure(f"edit → visible on a second device p50 ÷ its floor ({parts}; CPU per edit: "
               f"{cpu})",
               r["p50"] / r["floor"], "≤ 1.5", _ms(r["p50"]), _ms(r["floor"]), repeat,
               "edit_latency"),
        Figure("edit → visible on a second device p99 ÷ its floor", r["p99"] / r["floor"],
               "≤ 3", _ms(r["p99"]), _ms(r["floor"]), repeat, "edit_latency"),
    ])


def catch_up_figures(short: bool, res: Result, behind: int, repeat: int) -> list[Figure]:
    """Issue 24's catch-up figures besides the replay of ``behind`` envelopes (``measure``):
    from a snapshot at ``behind`` and at 100,000 (full mode only: minutes of set-up); a new
    device's first sync of a MANO-scale team (×0.02 in short mode) ÷ opening it."""
    from bench import sync_bench

    near, far, scale = (None, None, 0.02) if short else (behind, 100_000, 1.0)
    c = asyncio.run(sync_bench.measure_catch_up(near, far, scale, repeat))
    res.raw["catch_up"] = c
    figures = []
    if near:
        figures.append(Figure(
            f"catch-up of {near:,} envelopes from a snapshot (5 % tail) ÷ loading the "
            f"equivalent snapshot", c["from_snapshot"] / c["from_snapshot_base"], "≤ 3",
            f"{c['from_snapshot']:.2f} s", f"{c['from_snapshot_base']:.3f} s", repeat,
            "sync_bench"))
    if far:
        figures.append(Figure(
            f"catch-up of {far:,} envelopes from a snapshot (5 % tail) ÷ loading the "
            f"equivalent snapshot", c["far_s"] / c["far_base"], "≤ 1.5", f"{c['far_s']:.2f} s",
            f"{c['far_base']:.3f} s", 1, "sync_bench"))
    label = "a MANO-scale team" if scale == 1 else f"a ×{scale:g} team"
    figures.append(Figure(
        f"a new device's first sync of {label} ÷ opening it from the local store",
        c["first_sync"] / c["open"], "≤ 1.5",
        f"{c['first_sync']:.2f} s (CPU {c['first_sync_cpu']:.2f} s)",
        f"{c['open']:.3f} s (CPU {c['open_cpu']:.3f} s)", repeat, "sync_bench"))
    return figures


def relay_bytes(short: bool) -> Result:
    from bench import relay_bytes as rb

    scale, edits = (0.01, 100) if short else (1.0, 10_000)
    r = asyncio.run(rb.measure(scale, edits))
    label = "MANO scale" if scale == 1 else f"×{scale:g} scale"
    return Result("relay_bytes", raw=r, figures=[Figure(
        f"relay bytes stored per small edit ÷ the envelope's bytes ({label}, {edits:,} edits, "
        f"{r['state_bytes'] / 1e6:.1f} MB state)", r["ratio"], "≤ 3",
        f"{r['per_edit_bytes']:.0f} B", f"{r['envelope_per_edit']:.0f} B", 1, "relay_bytes")])


def relay_nodes(short: bool) -> Result:
    if short and not os.environ.get("MANO_TEST_POSTGRES_DSN"):
        return Result("relay_nodes", skipped="short mode without MANO_TEST_POSTGRES_DSN")
    from bench import relay_nodes as rn

    args = (argparse.Namespace(repeat=1, teams=2, subscribers=3, messages=50, lat_seconds=0.3)
            if short else
            argparse.Namespace(repeat=3, teams=4, subscribers=10, messages=500, lat_seconds=2.0))
    out = asyncio.run(rn.main_async(args))
    base = out["sqlite x1"]
    res = Result("relay_nodes", raw=out)
    for key, v in out.items():
        if key != "sqlite x1":
            res.figures.append(Figure(
                f"relay on PostgreSQL deliveries/s ÷ SQLite × 1 node, {key.split()[1][1:]} "
                f"node(s)", v[0] / base[0], "", f"{v[0]:,.0f}/s", f"{base[0]:,.0f}/s",
                args.repeat, "relay_nodes"))
    return res


def ui_loop(short: bool) -> Result:
    """The UI loop's worst stall per phase in the real app (bench/ui_loop.py), ÷ 50 ms."""
    from bench import ui_loop as ul

    plan = [(0.02, 0)] if short else [(1.0, 10_000), (10.0, 0)]  # short: no relay catch-up
    res = Result("ui_loop")
    for scale, behind in plan:
        label = "MANO" if scale == 1 else f"×{scale:g}"
        out = asyncio.run(ul.one_scale(scale, behind, 1))
        res.raw[label] = out
        for phase, r in out.items():
            res.figures.append(Figure(
                f"UI event loop, worst stall during {phase} ÷ 50 ms ({label} scale)",
                r["ratio"], "≤ 1", f"{r['max_ms']:.0f} ms (CPU {r['cpu_max_ms']:.0f} ms)",
                "50 ms", int(r["runs"]), "ui_loop"))
    return res


BENCHMARKS: list[tuple[str, Callable[[bool], Result | list[Result]]]] = [
    ("crypto", crypto), ("open_team+memory", open_and_memory), ("relay_fanout", relay_fanout),
    ("sync", sync), ("edit_latency", edit_latency),
    ("relay_bytes", relay_bytes),
    ("relay_nodes", relay_nodes), ("ui_loop", ui_loop),
]


# --- each section in its own process ------------------------------------------------------------


def _section(name: str, short: bool) -> list[Result]:
    """Run one section here (a broken benchmark becomes a Result with its error)."""
    fn = dict(BENCHMARKS)[name]
    try:
        got = fn(short)
        return got if isinstance(got, list) else [got]
    except Exception:  # one broken benchmark must not hide the others' figures
        error = traceback.format_exc()
        print(error, file=sys.stderr)
        return [Result(name, error=error)]


def run_section(name: str, short: bool) -> list[Result]:
    """One section in a fresh Python process (issue 24): a section measures what it says,
    not the heap an earlier one left (the ×10 opens' 1.6 GB, then every later full
    collection walking it: the suite's first syncs grew run after run, the sync-only run's
    did not). Its Results come back as JSON."""
    with tempfile.TemporaryDirectory(prefix="bench-section-") as tmp:
        out = Path(tmp) / "results.json"
        cmd = [sys.executable, "-m", "bench.suite", "--section", name, "--results", str(out)]
        proc = subprocess.run(cmd + (["--short"] if short else []), cwd=ROOT, check=False)
        if proc.returncode != 0 or not out.exists():
            return [Result(name, error=f"the section's process ended with {proc.returncode} "
                                       f"before writing its results")]
        return [Result(**{**r, "figures": [Figure(**f) for f in r["figures"]]})
                for r in json.loads(out.read_text())]


def _section_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite",
                                     description="one section of the suite (run_section)")
    parser.add_argument("--section", required=True, choices=[n for n, _ in BENCHMARKS])
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--short", action="store_true")
    args = parser.parse_args(argv)
    results = _section(args.section, args.short)
    args.results.write_text(json.dumps([asdict(r) for r in results], ensure_ascii=False,
                                       default=str))
    return 0


def run(short: bool, out_dir: Path | None = None, only: list[str] | None = None,
        write_docs: bool | None = None) -> dict[str, Any]:
    """Runs every benchmark (or ``only`` those named), writes the report, returns it."""
    out_dir = out_dir or ROOT / "bench" / "out"
    write_docs = (not short and not only) if write_docs is None else write_docs
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    results: list[Result] = []
    from mano_core.document import ynative

    print(f"Yjs update reader: {ynative.READER}", flush=True)
    for name, _fn in BENCHMARKS:
        if only and name not in only and not any(o in name for o in only):
            continue
        print(f"== {name} ({'short' if short else 'full'})", flush=True)
        t = time.perf_counter()
        got_list = run_section(name, short)
        for r in got_list:
            r.seconds = time.perf_counter() - t
        results.extend(got_list)
    report: dict[str, Any] = {
        "short": short, "started": started.isoformat(timespec="seconds"),
        "seconds": time.perf_counter() - t0, "machine": machine(),
        "results": [asdict(r) | {"figures": [asdict(f) | {"met": f.met} for f in r.figures]}
                    for r in results],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    blob = json.dumps(report, indent=1, ensure_ascii=False, default=str)
    (out_dir / f"benchmarks{'-short' if short else ''}.json").write_text(blob)
    summary = summary_markdown(report)
    (out_dir / f"summary{'-short' if short else ''}.md").write_text(summary + "\n")
    if write_docs:
        (ROOT / "docs" / "benchmarks.json").write_text(blob + "\n")
        write_doc(summary)
    print(summary)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--short", action="store_true", help="CI smoke mode (small sizes)")
    parser.add_argument("--only", nargs="+", help="run only these benchmarks: "
                        + ", ".join(n for n, _ in BENCHMARKS))
    parser.add_argument("--out", type=Path, help="directory for the JSON (default bench/out)")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/")
    args = parser.parse_args(argv)
    report = run(args.short, args.out, args.only, False if args.no_docs else None)
    failed = [r["bench"] for r in report["results"] if r["error"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(_section_main())
