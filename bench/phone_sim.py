"""A team of ×100 (a national organisation) on a phone: what a device would load at open, what
it would load lazily, with the document split into shards (docs/architecture.md, "A team of
×100"). Issue 24.

    .venv/bin/python -m bench.phone_sim [--measure-scale 0.1] [--factor 100] [--seed 8]

Two parts:

1. **Measured in this run** (the per-record costs the plan scales): a generated team
   (``mano_core.demo.generate_team``) at ``--measure-scale`` of MANO scale, each collection
   inserted alone into a fresh document and its re-encoded state weighed (bytes per record of
   each kind); one field edit of a person with its history entry weighed the same way; then
   the whole state applied to a bare ``pycrdt.Doc`` in a fresh process (seconds and resident
   MiB per state MB). The benchmarks (docs/benchmarks.md) found open time and memory linear in
   the state from MANO scale to ×10 and a team open within 1.3× of that bare apply.
2. **Simulated** (seeded): the organisation at ``--factor`` × MANO scale (MANO scale is 3,000
   persons, 8,000 actions, 24,000 comments and the rest of the demo team, 206 professionals),
   split into sub-teams (antennas) with the log-normal sizes of bench/capacity_sim.py, persons
   and records spread in proportion to their size, ``--years`` years of journal. For each
   device (one per professional): the bytes, open seconds and memory of (a) the whole
   organisation in one document, as today, and (b) the shards of the split plan a device
   holds at open; and, over one shift of ``--files-per-shift`` person files opened (a share
   ``--foreign`` of them followed by another sub-team), the lazy loads: how many shards, how
   many bytes, the slowest wait.

The split plan (kinds by where they go):
* ``directory`` (one, every device, at open): settings, custom fields and sub-teams (the
  same count whatever the scale), structures and territories (in proportion);
* ``caseload/<sub-team>/<bucket>`` (at open, every bucket of the device's own sub-team):
  persons, actions, groups, places and person↔place links (the records a shift works on);
* ``journal/<sub-team>/<year>/<bucket>`` (the current year of its own sub-team at open; older
  years lazily, when a person file's older history is opened): comments, history entries,
  encounters, passages, observations, reports;
* the medical compartment split the same way (``medical/<sub-team>/<year>/<bucket>``), on
  health devices only, the current year at open;
* ``index/<sub-team>`` (lazily, on a search beyond one's sub-team): per person of that
  sub-team, the names and aliases a search matches (``--index-bytes`` each, an assumption).
A bucket is a fixed hash of the person id (``--buckets`` per sub-team), so a person file of
another sub-team, or an older year of one's own, loads one bucket: that person's records and
those of the persons hashed with it, not the whole sub-team.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.capacity_sim import team_sizes  # noqa: E402

DIRECTORY = ("structures", "territories")  # and FIXED: the same count whatever the scale
FIXED = ("settings", "customFields", "subteams")
CASELOAD = ("persons", "actions", "groups", "personPlaces", "places")
JOURNAL = ("comments", "history", "encounters", "passages", "observations", "reports")
MEDICAL = ("medicalFiles", "consultations", "treatments")

_BARE = r"""
import gc, json, os, sys, time
from pycrdt import Doc
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
state = open(sys.argv[1], 'rb').read()
gc.collect(); before = rss(); doc = Doc()
t = time.perf_counter(); doc.apply_update(state); seconds = time.perf_counter() - t
gc.collect()
print(json.dumps({"seconds": seconds, "mib": (rss() - before) / 2**20, "mb": len(state) / 1e6}))
"""


def measure(scale: float) -> dict[str, object]:
    """Per-record bytes by kind, and bare apply seconds and MiB per state MB (this run)."""
    m = asyncio.run(_measure(scale))
    state = m.pop("state")
    assert isinstance(state, bytes)
    with tempfile.TemporaryDirectory() as tmp:  # the bare apply, in a fresh process
        path = os.path.join(tmp, "state.bin")
        Path(path).write_bytes(state)
        out = subprocess.run([sys.executable, "-c", _BARE, path], capture_output=True,
                             text=True, check=True).stdout
    bare = json.loads(out)
    m.update(s_per_mb=bare["seconds"] / bare["mb"], mib_per_mb=bare["mib"] / bare["mb"],
             state_mb=bare["mb"])
    return m


async def _measure(scale: float) -> dict[str, object]:
    from mano_core.demo import generate_team
    from mano_core.demo.load import load_demo
    from mano_core.document.compartments import GeneralDocument, MedicalDocument
    from mano_core.ids import Compartment
    from mano_core.store import TEST_KDF, LocalStore
    from mano_core.team import Team

    demo = generate_team(seed=0, scale=scale)
    per_record: dict[str, float] = {}
    counts: dict[str, int] = {}
    general = GeneralDocument(author="sim")
    by_kind: dict[str, list[object]] = defaultdict(list)
    for record in [*demo.general_records(), *demo.medical_records()]:
        by_kind[record.collection].append(record)
    for kind, records in by_kind.items():
        medical = kind in MEDICAL
        doc = (MedicalDocument(custom_fields=lambda: [], settings=general.settings, author="sim")
               if medical else GeneralDocument(author="sim"))
        empty = len(doc.encode_state())
        doc.collections[kind].insert_many(records)  # type: ignore[arg-type]
        per_record[kind] = (len(doc.encode_state()) - empty) / len(records)
        counts[kind] = len(records)
    with tempfile.TemporaryDirectory() as tmp:
        async with await LocalStore.create(os.path.join(tmp, "s.mano"), "simulation pass",
                                           kdf=TEST_KDF) as store:
            team = await Team.create(store, name="Sim", member="sim")
            await load_demo(team, demo)
            core = team.compartment(Compartment.GENERAL).core
            size = len(core.encode_state())
            persons = team.persons.list()[:100]
            for i, person in enumerate(persons):  # one field edit each, with its history
                await team.persons.update(person.id, phone=f"06{i:08d}")
            edit = (len(core.encode_state()) - size) / len(persons)
            state = core.encode_state()
    per_record["history"] = edit  # one field edit of a record: its overlay and history entry
    counts["history"] = 0
    counts["settings"] = 1
    per_record["settings"] = 0.0  # inside the directory's fixed part
    return {"scale": scale, "per_record": per_record, "counts": counts, "state": state}


@dataclass
class Plan:
    """Bytes of each shard kind for one sub-team (or the whole organisation)."""

    directory: float
    caseload: float
    journal_year: float
    medical_year: float
    index: float


def plan_for(m: dict[str, object], args: argparse.Namespace, share: float) -> Plan:
    """The shard sizes of a sub-team holding ``share`` of the organisation's persons."""
    per = m["per_record"]
    counts = m["counts"]
    assert isinstance(per, dict) and isinstance(counts, dict)
    k = args.factor / float(m["scale"])  # measured counts → the organisation's
    persons = counts["persons"] * k
    lists = 64 * 1024  # settings and lists (measured well under this)

    def total(kinds: tuple[str, ...], scaled: float | None = None) -> float:
        return sum(counts.get(kind, 0) * (k if scaled is None else scaled) * per.get(kind, 0.0)
                   for kind in kinds)

    edits = persons * args.edits_per_person_year * args.years * per["history"]
    journal = total(JOURNAL) + edits
    fixed = lists + total(FIXED, 1 / float(m["scale"]))  # as many as at MANO scale
    return Plan(directory=fixed + total(DIRECTORY),
                caseload=total(CASELOAD) * share,
                journal_year=journal * share / args.years,
                medical_year=total(MEDICAL) * share / args.years,
                index=persons * share * args.index_bytes)


def simulate(m: dict[str, object], args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(args.seed)
    pros = args.professionals
    sizes = team_sizes(pros, rng)
    whole = plan_for(m, args, 1.0)
    one_doc = (whole.directory + whole.caseload + whole.journal_year * args.years
               + whole.medical_year * args.years)
    s_mb, mib_mb = float(m["s_per_mb"]), float(m["mib_per_mb"])
    opens, lazy_bytes, lazy_shards, waits, held = [], [], [], [], []
    for size in sizes:
        share = size / pros
        plan = plan_for(m, args, share)
        for _device in range(size):
            health = rng.random() < args.health_share
            at_open = plan.directory + plan.caseload + plan.journal_year + (
                plan.medical_year if health else 0.0)
            opens.append(at_open)
            shards: set[tuple[str, int, int, int]] = set()
            bucket_of = args.buckets
            fetched = 0.0
            slowest = 0.0
            for _file in range(args.files_per_shift):
                team = (rng.choices(range(len(sizes)), weights=sizes)[0]
                        if rng.random() < args.foreign else -1)
                owner = plan if team < 0 else plan_for(m, args, sizes[team] / pros)
                bucket = rng.randrange(bucket_of)
                needed: list[tuple[str, int, int, int, float]] = []
                if team >= 0:  # another sub-team's person: its index to find it, its bucket
                    needed += [("index", team, 0, 0, owner.index),
                               ("caseload", team, 0, bucket, owner.caseload / bucket_of),
                               ("journal", team, 0, bucket, owner.journal_year / bucket_of)]
                if rng.random() < args.history_share:  # scrolls into older years
                    back = rng.randint(1, args.years - 1)
                    needed += [("journal", team, y, bucket, owner.journal_year / bucket_of)
                               for y in range(1, back + 1)]
                wait = 0.0
                for kind, t, year, b, size_bytes in needed:
                    if (kind, t, year, b) not in shards:
                        shards.add((kind, t, year, b))
                        fetched += size_bytes
                        wait += size_bytes / 1e6 * (s_mb + 8 / args.mbit_per_s)
                slowest = max(slowest, wait)
            lazy_bytes.append(fetched)
            lazy_shards.append(len(shards))
            waits.append(slowest)
            held.append(at_open + fetched)

    def q(values: list[float], p: float) -> float:
        s = sorted(values)
        return s[min(len(s) - 1, int(p * len(s)))]

    return {
        "professionals": pros, "subteams": len(sizes), "largest_subteam": max(sizes),
        "one_doc_mb": one_doc / 1e6, "one_doc_open_s": one_doc / 1e6 * s_mb,
        "one_doc_mib": one_doc / 1e6 * mib_mb,
        "directory_mb": whole.directory / 1e6,
        "open_mb": (statistics.median(opens) / 1e6, q(opens, 0.99) / 1e6, max(opens) / 1e6),
        "open_s": tuple(x * s_mb for x in (statistics.median(opens) / 1e6,
                                           q(opens, 0.99) / 1e6, max(opens) / 1e6)),
        "held_mib": tuple(x / 1e6 * mib_mb for x in (statistics.median(held),
                                                     q(held, 0.99), max(held))),
        "lazy_mb": (statistics.median(lazy_bytes) / 1e6, q(lazy_bytes, 0.99) / 1e6),
        "lazy_shards": (statistics.median(lazy_shards), q(lazy_shards, 0.99)),
        "wait_s": (statistics.median(waits), q(waits, 0.99)),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--measure-scale", type=float, default=0.1)
    p.add_argument("--factor", type=float, default=100.0, help="× MANO scale")
    p.add_argument("--professionals", type=int, default=3_000,
                   help="professionals of the organisation (docs: ~3,000 nationally)")
    p.add_argument("--buckets", type=int, default=16, help="person buckets per sub-team")
    p.add_argument("--years", type=int, default=5, help="years of journal kept")
    p.add_argument("--edits-per-person-year", type=float, default=2.0,
                   help="field edits per person per year (each with its history entry)")
    p.add_argument("--files-per-shift", type=int, default=25)
    p.add_argument("--foreign", type=float, default=0.1,
                   help="share of the person files opened that another sub-team follows")
    p.add_argument("--history-share", type=float, default=0.2,
                   help="share of person files whose older years are scrolled into")
    p.add_argument("--health-share", type=float, default=0.3)
    p.add_argument("--index-bytes", type=float, default=96.0,
                   help="bytes per person of a sub-team's search index (an assumption)")
    p.add_argument("--mbit-per-s", type=float, default=10.0,
                   help="phone download rate for lazy shards (a 4G street corner)")
    p.add_argument("--seed", type=int, default=8)
    args = p.parse_args()
    m = measure(args.measure_scale)
    per = m["per_record"]
    assert isinstance(per, dict)
    print(f"measured at {args.measure_scale:g} × MANO scale: bare apply "
          f"{m['s_per_mb'] * 1e3:.1f} ms/MB, {m['mib_per_mb']:.1f} MiB resident per MB of state; "
          "bytes per record: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(per.items())))
    r = simulate(m, args)
    mib_mb, s_mb = float(m["mib_per_mb"]), float(m["s_per_mb"])
    three = lambda t: " / ".join(f"{x:,.1f}" for x in t)  # noqa: E731
    open_mib = tuple(x * mib_mb for x in r["open_mb"])
    print(f"\n×{args.factor:g}: {r['professionals']:,} professionals in {r['subteams']} "
          f"sub-teams (largest {r['largest_subteam']}), {args.years} years of journal; "
          f"directory shard {r['directory_mb']:.1f} MB\n")
    print("| on one phone | one document (today) | split, at open: median / p99 / largest "
          "sub-team |")
    print("|---|---:|---:|")
    print(f"| state, MB | {r['one_doc_mb']:,.0f} | {three(r['open_mb'])} |")
    print(f"| open, s (bare apply at {s_mb * 1e3:.0f} ms/MB) | {r['one_doc_open_s']:,.0f} | "
          f"{three(r['open_s'])} |")
    print(f"| resident, MiB ({mib_mb:.1f} MiB/MB) | {r['one_doc_mib']:,.0f} | {three(open_mib)} |")
    print(f"| one shift's lazy loads: MB, median / p99 | — | {three(r['lazy_mb'])} |")
    print(f"| one shift's lazy loads: shards, median / p99 | — | "
          f"{' / '.join(f'{x:g}' for x in r['lazy_shards'])} |")
    print(f"| one shift's slowest wait, s, median / p99 | — | {three(r['wait_s'])} |")
    print(f"| held after the shift, MiB: median / p99 / largest | {r['one_doc_mib']:,.0f} | "
          f"{three(r['held_mib'])} |")

if __name__ == "__main__":
    main()
