"""Long fault-injection runs: seeded trials (tests/faults/trial.py), counts printed at the end.

    .venv/bin/python -m scripts.faults --trials 200 --seed 0 [--jobs 2] [--json out.json]

Each trial runs in a fresh directory; a failing trial prints its seed and error (rerun it
alone with --seed N --trials 1, or MANO_FAULT_SEED=N MANO_FAULT_TRIALS=1 pytest
tests/faults/test_trials.py). Exit status 1 if any trial failed."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

from tests.faults.trial import run_trial


async def _one(seed: int, sem: asyncio.Semaphore, out: dict) -> None:
    async with sem:
        with tempfile.TemporaryDirectory(prefix=f"mano-fault-{seed}-") as d:
            start = time.monotonic()
            try:
                r = await asyncio.wait_for(run_trial(seed, Path(d)), 240)
            except BaseException as exc:  # noqa: BLE001 - report and go on
                out["failed"].append({"seed": seed, "error": repr(exc)[:500]})
                print(f"seed {seed}: FAILED {exc!r}", flush=True)
                traceback.print_exc()
                return
            out["passed"] += 1
            out["edits"] += r.edits
            out["faults"].update(r.faults)
            print(f"seed {seed}: ok in {time.monotonic() - start:.1f}s, {r.edits} edits, "
                  f"{dict(r.faults)}", flush=True)


async def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1, help="trials run concurrently")
    ap.add_argument("--json", help="write the figures to this file too")
    args = ap.parse_args(argv)
    out: dict = {"trials": args.trials, "passed": 0, "failed": [], "edits": 0,
                 "faults": Counter()}
    start = time.monotonic()
    sem = asyncio.Semaphore(args.jobs)
    await asyncio.gather(*(_one(s, sem, out) for s in range(args.seed, args.seed + args.trials)))
    out["seconds"] = round(time.monotonic() - start, 1)
    out["faults"] = dict(sorted(out["faults"].items()))
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 1 if out["failed"] else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
