"""Statistics, daily activity, evolution and exports over a generated team (issue 7).

    .venv/bin/python bench/stats_bench.py --scales 1 10 --repeat 5

For each scale: generate a team, load its general records into a GeneralDocument (no store:
reporting reads memory only), then time each operation. "cold" is the first statistics call,
which also decodes every collection into the typed-record cache (what the first screen after
opening a team pays); the other figures are medians of ``--repeat`` warm runs. Baseline, in
the same run: one bare pass over every live record of the collections statistics read,
comparing one instant per record (the least any statistics can cost). Prints figures only;
never asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mano_core.demo import generate_team
from mano_core.document.compartments import GeneralDocument
from mano_core.reporting import (
    Period,
    actions_table,
    compute,
    daily,
    field_evolution,
    persons_table,
    write_csv,
    write_xlsx,
)

NOW = dt.datetime(2026, 11, 20, 18, tzinfo=dt.timezone.utc)
YEAR = Period(dt.date(2025, 11, 21), dt.date(2026, 11, 20))
DAY = dt.date(2026, 11, 17)


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bare_pass(doc: GeneralDocument) -> int:
    start, end = YEAR.window()
    count = 0
    for collection in (doc.persons, doc.actions, doc.comments, doc.encounters, doc.passages,
                       doc.observations, doc.reports):
        for record in collection.list():
            if start <= record.created_at < end:
                count += 1
    return count


def load(scale: float) -> tuple[GeneralDocument, int, float, float]:
    start = time.perf_counter()
    demo = generate_team(seed=1, scale=scale)
    generated = time.perf_counter() - start
    start = time.perf_counter()
    doc = GeneralDocument(author=demo.members[0].id)
    by_name: dict[str, list[object]] = {}
    for record in demo.general_records():
        by_name.setdefault(record.collection, []).append(record)
    for name, batch in by_name.items():
        doc.collections[name].insert_many(batch)
    doc.settings.add("services", *demo.settings.services)
    loaded = time.perf_counter() - start
    return doc, sum(len(b) for b in by_name.values()), generated, loaded


def run(scale: float, repeat: int, xlsx: bool) -> None:
    doc, records, generated, loaded = load(scale)
    gc.collect()
    print(f"\n## scale {scale:g}: {records:,} general records "
          f"(generated in {generated:.1f} s, loaded in {loaded:.1f} s)")
    night = next(t for t in doc.subteams.list() if t.night_session)
    start = time.perf_counter()
    compute(doc, YEAR, now=NOW)
    cold = time.perf_counter() - start
    figures = {
        "statistics, first call (decodes every collection)": cold,
        "bare pass over the same records (baseline)": median_time(
            lambda: bare_pass(doc), repeat),
        "statistics, whole team, one year": median_time(
            lambda: compute(doc, YEAR, now=NOW), repeat),
        "statistics, night sub-team, one year": median_time(
            lambda: compute(doc, YEAR, [night.id], now=NOW), repeat),
        "daily activity of one sub-team and day": median_time(
            lambda: daily.activity(doc, night.id, DAY), repeat),
        "evolution of gender, 13 monthly points": median_time(
            lambda: field_evolution(doc, "gender", YEAR, step_days=30), repeat),
    }
    with tempfile.TemporaryDirectory() as tmp:
        figures["persons table + CSV"] = median_time(
            lambda: write_csv(persons_table(doc), os.path.join(tmp, "p.csv")), repeat)
        if xlsx:
            figures["actions table + XLSX"] = median_time(
                lambda: write_xlsx([actions_table(doc)], os.path.join(tmp, "a.xlsx")), 1)
    base = figures["bare pass over the same records (baseline)"]
    print("| operation | s | ÷ bare pass |")
    print("|---|---:|---:|")
    for name, seconds in figures.items():
        print(f"| {name} | {seconds:.3f} | {seconds / base:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-xlsx", action="store_true", help="skip the XLSX export figure")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPU, "
          f"load average {os.getloadavg()[0]:.1f}")
    for scale in args.scales:
        run(scale, args.repeat, not args.no_xlsx)


if __name__ == "__main__":
    main()
