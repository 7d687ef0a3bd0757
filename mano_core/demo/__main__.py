"""Benchmark of the demo generator: ``python -m mano_core.demo [--seed N] [SCALE ...]``.

Prints, for each scale, the record counts, the wall and CPU time of ``generate_team`` and the
size of the whole team as JSON. Figures only: nothing here asserts a time."""

from __future__ import annotations

import argparse
import time

import msgspec

from mano_core.demo.generator import generate_team


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mano_core.demo", description=__doc__)
    parser.add_argument("scales", nargs="*", type=float, default=[1.0, 10.0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for scale in args.scales:
        wall, cpu = time.perf_counter(), time.process_time()
        team = generate_team(args.seed, scale)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        counts = team.counts()
        total = sum(counts.values())
        size = sum(len(msgspec.json.encode(r)) for r in team.general_records())
        size += sum(len(msgspec.json.encode(r)) for r in team.medical_records())
        print(f"scale {scale:g}: {total:,} records in {wall:.2f} s wall, {cpu:.2f} s CPU "
              f"({total / wall:,.0f} records/s), {size / 1e6:.1f} MB as JSON")
        print("  " + ", ".join(f"{name} {n:,}" for name, n in counts.items()))


if __name__ == "__main__":
    main()
