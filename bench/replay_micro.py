"""Per-envelope pieces of a replayed catch-up (issue 24), each timed alone in one process:
batch authentication and the opening of a delivery of one author's envelopes (the compiled
``KnownOpener`` the receiver uses, and ``open_envelope``, its Python reference), and the
compiled Yjs reader on a person's creation update, and the merge of a delivery one by one or in
runs (mano_core/document/merge_run.py). The minimum of ``--repeat`` passes of CPU
time (``time.process_time``), in µs an envelope or update: the load of a shared machine moves
a minimum less than a catch-up's wall time, but it still moves it (say the load beside it).

    .venv/bin/python -m bench.replay_micro [--count 2000] [--repeat 15]

A probe beside bench/catchup_breakdown.py (which splits a whole catch-up by stage), not a
figure of the suite."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

from pycrdt import Doc, Map

from mano_core.crypto import ChainState
from mano_core.crypto.batch import authenticated_by_chain
from mano_core.crypto.envelope import open_envelope
from mano_core.document import ydeps, ynative, yreader
from mano_core.ids import Compartment
from mano_core.sync import payload
from tests.harness.keys import KeyTeam

GENERAL = Compartment.GENERAL


def best(pass_: Callable[[], object], repeat: int, count: int) -> float:
    """The fastest of ``repeat`` passes, in µs per item of ``count``."""
    fastest = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        pass_()
        fastest = min(fastest, time.process_time() - t)
    return fastest / count * 1e6


def person_updates(count: int) -> list[bytes]:
    """One update per new person, as bench.sync_bench's teammate writes them."""
    doc: Doc[Any] = Doc()
    persons = doc.get("persons", type=Map)
    updates: list[bytes] = []
    sub = doc.observe(lambda event: updates.append(event.update))
    for i in range(count):
        with doc.transaction():
            persons[f"p-{i}"] = Map({"_": {"id": f"p-{i}", "name": f"N-{i}",
                                           "createdAt": "2026-11-20T09:00:00Z",
                                           "updatedAt": "2026-11-20T09:00:00Z"}})
    doc.unobserve(sub)
    return updates


def scoped_reads(updates: list[bytes]) -> None:
    """A delivery's first read of each update, kept in its parse scope (ydeps.parse_scope)."""
    with ydeps.parse_scope():
        for update in updates:
            ydeps.read_deps(update)


def main(count: int, repeat: int) -> None:
    updates = person_updates(count)
    team = KeyTeam()
    reader = team.add()
    raws = [team.founder.seal(next(payload.encode_batches([u]))) for u in updates]

    def open_all() -> None:
        chain = ChainState()
        for raw in raws:
            open_envelope(raw, log=reader.log, keyring=reader.keyring,
                          team_id=reader.log.team_id, compartment=GENERAL,
                          chain_state=chain, authenticated=known)

    known = authenticated_by_chain(raws, team_id=team.team_id, compartment=GENERAL)
    chain = ChainState()
    plaintexts = [open_envelope(raw, log=reader.log, keyring=reader.keyring,
                                team_id=reader.log.team_id, compartment=GENERAL,
                                chain_state=chain, authenticated=known).plaintext
                  for raw in raws]
    compiled = ynative.compiled

    def open_known() -> None:
        """The delivery's opening as the receiver runs it: the compiled ``KnownOpener`` (one
        per delivery) for envelopes the batch authentication established."""
        assert compiled is not None
        chain = ChainState()
        opener = compiled.KnownOpener(known, reader.log.team_id, reader.log, reader.keyring)
        for raw in raws:
            if opener(raw, GENERAL, chain) is None:
                raise AssertionError("KnownOpener left an envelope to open_envelope")

    rows = [
        ("batch authentication (a delivery of one author)",
         best(lambda: authenticated_by_chain(raws, team_id=team.team_id,
                                             compartment=GENERAL), repeat, count)),
        ("open_envelope, the Python reference (authenticated, AES-GCM)",
         best(open_all, repeat, count)),
    ]
    if compiled is not None:
        rows.append(("KnownOpener, the delivery's opening (compiled, AES-GCM)",
                     best(open_known, repeat, count)))
    rows += [
        ("payload.decode (the plaintext's batch)",
         best(lambda: [payload.decode(p) for p in plaintexts], repeat, count)),
    ]
    if compiled is not None:
        rows += [
            ("compiled read_update, with structs",
             best(lambda: [compiled.read_update(u, []) for u in updates], repeat, count)),
            ("compiled read_update, no structs",
             best(lambda: [compiled.read_update(u, None) for u in updates], repeat, count)),
            ("compiled read_update, with Refs (what a delivery's first read keeps)",
             best(lambda: [compiled.read_update(u, None, yreader.Refs()) for u in updates],
                  repeat, count)),
            ("read_deps in a delivery's parse scope (its first read: the machine's)",
             best(lambda: scoped_reads(updates), repeat, count)),
            ("compiled read_update of an empty update (the call's fixed cost)",
             best(lambda: [compiled.read_update(b"\x00\x00", None) for _ in updates],
                  repeat, count)),
        ]
    if ydeps.combining():
        from mano_core.document import merge_run
        from mano_core.document.compartments import GeneralDocument

        def merge_pass(runs: bool) -> Callable[[], None]:
            """A delivery's merge (``apply_remote_groups``, each update parsed already),
            in runs (merge_run.py) or one by one (the same checkout with runs off)."""
            def one() -> None:
                merge_run.ydeps.combining = (real if runs else lambda: False)  # type: ignore
                try:
                    doc = GeneralDocument(author="reader")
                    doc.guarded_index()
                    doc.apply_remote_groups([[updates[0]]])
                    with ydeps.parse_scope():
                        for update in updates:
                            ydeps.read_deps(update)
                        doc.apply_remote_groups([[u] for u in updates[1:]], capture=True)
                finally:
                    merge_run.ydeps.combining = real  # type: ignore
            return one

        def delivered() -> float:
            """The merge alone as a delivery runs it (seconds): each update read and screened
            first (``GuardedIndex.touches``, as persist._screen), so the guarded index's
            ``observe`` after the merge has nothing to read again; in runs."""
            doc = GeneralDocument(author="reader")
            index = doc.guarded_index()
            doc.apply_remote_groups([[updates[0]]])
            with ydeps.parse_scope():
                for update in updates[1:]:
                    ydeps.read_deps(update)
                    index.touches(update)
                t = time.process_time()
                doc.apply_remote_groups([[u] for u in updates[1:]], capture=True)
                doc.take_integrated()
                return time.process_time() - t

        real = ydeps.combining
        rows += [("apply_remote_groups (with the document's making), one by one",
                  best(merge_pass(False), repeat, count)),
                 ("apply_remote_groups (with the document's making), in runs",
                  best(merge_pass(True), repeat, count)),
                 ("the merge alone as a delivery runs it (screened first, in runs)",
                  min(delivered() for _ in range(repeat)) / (count - 1) * 1e6)]
    from mano_core.rules.touch import GuardedIndex

    def screening(plain: bool) -> Callable[[], None]:
        """The role screening of a delivery (``GuardedIndex.touches`` then ``observe``, as
        persist._screen and the merge call them), each update parsed already, with the
        one-loop answer for updates touching nothing guarded, or the exact walk alone."""
        def one() -> None:
            index = GuardedIndex()
            index.build(guarded_state)
            if not plain:
                index._plain = lambda *_a: False  # type: ignore[method-assign]
            with ydeps.parse_scope():
                for update in updates:
                    ydeps.read_deps(update)
                for update in updates:
                    index.touches(update)
                for update in updates:
                    index.observe(update)
        return one

    guarded_doc: Doc[Any] = Doc()
    for i in range(20):
        guarded_doc.get("settings", type=Map)[f"features.f{i}"] = "on"
        guarded_doc.get("customFields", type=Map)[f"c{i}"] = Map({"_": {"key": f"c{i}"}})
    guarded_state = guarded_doc.get_update()
    rows += [("role screening (touches, observe), the walk alone",
              best(screening(False), repeat, count)),
             ("role screening (touches, observe), one loop first",
              best(screening(True), repeat, count))]
    rows.append(("Python reader (yreader._read), with structs",
                 best(lambda: [yreader._read(u, []) for u in updates], repeat, count)))
    print(f"{count} items, minimum of {repeat} passes, load average {os.getloadavg()[0]:.1f}; "
          f"a person's update is {len(updates[count // 2])} bytes, its envelope "
          f"{len(raws[count // 2])}")
    for label, us in rows:
        print(f"  {label:66s} {us:6.2f} µs")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=15)
    args = p.parse_args()
    main(args.count, args.repeat)
