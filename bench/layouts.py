"""Compare CRDT document layouts at MANO scale: encoded size, load time, memory.

    .venv/bin/python -m bench.layouts [--scale 1] [--repeat 3]

Layouts, each holding the same generated team (persons, actions, comments, …):
  nested-arrays  one Map per record, list fields as nested Arrays, custom fields as a nested Map
  flat-entries   one Map per record with one plain-value entry per field
  ours           one Map per record holding the record as created in one plain value ("_")
                 plus one entry per field changed since (mano_core.document.layout)
  opaque         one plain JSON value per record (record-level last-writer-wins: loses
                 concurrent edits to different fields)
Each load runs in a fresh subprocess so that its resident memory can be read."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

LOADER = """
import os, sys, time, gc
from pycrdt import Doc
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
state = open(sys.argv[1], 'rb').read()
gc.collect()
before = rss()
t = time.perf_counter()
d = Doc(); d.apply_update(state)
elapsed = time.perf_counter() - t
print(elapsed, (rss() - before) / 2**20)
"""


def build(layout: str, scale: float) -> bytes:
    from pycrdt import Array, Doc, Map

    from mano_core.demo import generate_team
    from mano_core.document import layout as ours
    from mano_core.document.compartments import GeneralDocument

    team = generate_team(seed=0, scale=scale)
    if layout == "ours":
        doc = GeneralDocument(author="bench")
        by: dict[str, list] = {}
        for rec in team.general_records():
            by.setdefault(rec.collection, []).append(rec)
        for name, recs in by.items():
            doc.collections[name].insert_many(recs)
        return doc.encode_state()
    d = Doc()
    with d.transaction():
        for rec in team.general_records():
            wire = ours.to_wire(rec)
            m = d.get(rec.collection, type=Map)
            if layout == "opaque":
                m[rec.id] = wire
            elif layout == "flat-entries":
                m[rec.id] = Map(wire)
            else:
                m[rec.id] = Map({k: (Array(v) if isinstance(v, list) else
                                     Map(v) if isinstance(v, dict) else v)
                                 for k, v in wire.items()})
    return d.get_update()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for layout in ("nested-arrays", "flat-entries", "ours", "opaque"):
            state = build(layout, args.scale)
            paths[layout] = Path(tmp) / f"{layout}.bin"
            paths[layout].write_bytes(state)
        results: dict[str, list[tuple[float, float]]] = {k: [] for k in paths}
        for _ in range(args.repeat):  # interleaved: noise hits every layout alike
            for layout, path in paths.items():
                out = subprocess.run([sys.executable, "-c", LOADER, str(path)],
                                     capture_output=True, text=True, check=True).stdout
                secs, mib = map(float, out.split())
                results[layout].append((secs, mib))
        base = statistics.median(s for s, _ in results["opaque"])
        for layout, runs in results.items():
            secs = statistics.median(s for s, _ in runs)
            mib = statistics.median(m for _, m in runs)
            rows.append({"layout": layout, "state_mb": paths[layout].stat().st_size / 1e6,
                         "load_s": secs, "vs_opaque": secs / base, "rss_mib": mib})
    print(f"{'layout':>14} {'state MB':>9} {'load s':>7} {'÷ opaque':>9} {'+RSS MiB':>9}")
    for r in rows:
        print(f"{r['layout']:>14} {r['state_mb']:>9.1f} {r['load_s']:>7.3f} "
              f"{r['vs_opaque']:>9.2f} {r['rss_mib']:>9.0f}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
