"""Benchmark (a script, not a test): the cost of signing history entries on write, and of
verifying a long history cold and cached.

    .venv/bin/python -m tests.audit.bench_signing [N]
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

from mano_core import audit
from mano_core.audit import EntrySigner
from mano_core.crypto import DeviceIdentity, MembershipLog
from mano_core.document.compartments import GeneralDocument
from mano_core.ids import Compartment


@dataclass(eq=False)
class _Team:  # what audit.trail reads of a Team
    id: str
    doc: GeneralDocument
    keys: Any
    medical_doc: None = None


@dataclass
class _Keys:
    log: MembershipLog
    team_id: bytes


def _writes(doc: GeneralDocument, n: int) -> float:
    person = doc.persons.create(name="Personne T")
    start = time.perf_counter()
    for i in range(n):
        doc.persons.update(person.id, phone=f"06{i:08d}")  # one changed field: one entry
    return (time.perf_counter() - start) / n


def main(n: int = 2000) -> None:
    identity = DeviceIdentity.generate()
    team_id = uuid.uuid4().bytes
    log = MembershipLog.create(team_id, identity, member="member-a", health=True)
    plain = GeneralDocument(author="member-a")
    signed = GeneralDocument(author="member-a")
    signer = EntrySigner(identity, team_id)
    signed.signer = signer
    rounds = [(_writes(plain, n // 10), _writes(signed, n // 10)) for _ in range(10)]
    t_plain = statistics.median(r[0] for r in rounds)
    t_signed = statistics.median(r[1] for r in rounds)
    print(f"update of one field, unsigned: {t_plain * 1e6:8.1f} µs (median of 10 rounds)")
    print(f"update of one field, signed:   {t_signed * 1e6:8.1f} µs "
          f"(+{(t_signed - t_plain) * 1e6:.1f} µs, x{t_signed / t_plain:.2f})")
    entry = signed.history.list()[-1]
    count = 5000
    start = time.perf_counter()
    for _ in range(count):
        signer.sign(Compartment.GENERAL, entry)
    print(f"EntrySigner.sign alone (encode + Ed25519): "
          f"{(time.perf_counter() - start) / count * 1e6:.1f} µs per entry")

    person_id = signed.persons.list()[-1].id
    team = _Team(str(uuid.UUID(bytes=team_id)), signed, _Keys(log, team_id))
    start = time.perf_counter()
    lines = audit.trail(team, person_id)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    audit.trail(team, person_id)
    warm = time.perf_counter() - start
    print(f"trail of {len(lines)} entries: cold {cold * 1e3:.1f} ms "
          f"({cold / len(lines) * 1e6:.1f} µs/entry), cached {warm * 1e3:.1f} ms "
          f"(x{cold / warm:.0f} faster)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
