"""Property: replicas editing concurrently and exchanging updates in any order, with duplicates,
end with the same domain state, and no edit is lost."""

from __future__ import annotations

import datetime as dt
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import domain_state, replica

DAY = dt.date(2026, 11, 20)
WHEN = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)

op = st.tuples(
    st.integers(0, 2),  # replica
    st.sampled_from(["person", "phone", "alias", "comment", "count", "delete", "sync"]),
    st.integers(0, 1_000_000),  # random payload
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=40), seed=st.integers(0, 2**32 - 1))
def test_replicas_converge_and_lose_no_edit(ops, seed):
    rng = random.Random(seed)
    docs = [replica(f"member-{i}", i + 1) for i in range(3)]
    team = docs[0].subteams.create(name="Maraude")
    report = docs[0].reports.create(team=team.id, date=DAY)
    log: list[bytes] = docs[0].drain_updates()
    for d in docs[1:]:
        for u in log:
            d.apply_update(u)
    persons: list[str] = []
    phones: dict[str, set[str]] = {}
    aliases: dict[str, set[str]] = {}
    comments: set[str] = set()
    increments = 0
    in_flight: list[bytes] = []

    for index, kind, n in ops:
        doc = docs[index]
        known = [p for p in persons if p in {x.id for x in doc.persons.list(include_deleted=True)}]
        if kind == "person":
            persons.append(doc.persons.create(name=f"Personne {n}").id)
        elif kind == "phone" and known:
            pid = rng.choice(known)
            if not doc.persons.get(pid, include_deleted=True).deleted:
                doc.persons.update(pid, phone=f"06{n:08d}")
                phones.setdefault(pid, set()).add(f"06{n:08d}")
        elif kind == "alias" and known:
            pid = rng.choice(known)
            current = doc.persons.get(pid, include_deleted=True)
            if not current.deleted and f"alias{n}" not in current.other_names:
                doc.persons.update(pid, other_names=[*current.other_names, f"alias{n}"])
                aliases.setdefault(pid, set()).add(f"alias{n}")
        elif kind == "comment" and known:
            comments.add(doc.comments.create(text=f"Info {n}", person=rng.choice(known),
                                             date=WHEN).id)
        elif kind == "count":
            doc.reports.increment(report.id, "services", "Repas", n % 5 + 1)
            increments += n % 5 + 1
        elif kind == "delete" and known:
            pid = rng.choice(known)
            if not doc.persons.get(pid, include_deleted=True).deleted:
                doc.persons.delete(pid)
        in_flight.extend(doc.drain_updates())
        if kind == "sync" and in_flight:  # deliver a random, duplicated, shuffled subset
            batch = rng.sample(in_flight, k=rng.randint(1, len(in_flight)))
            for target in docs:
                for u in batch + batch[: len(batch) // 2]:
                    target.apply_update(u)

    everything = in_flight + in_flight[::3]
    for target in docs:
        shuffled = everything[:]
        rng.shuffle(shuffled)
        for u in shuffled:
            target.apply_update(u)

    states = [domain_state(d) for d in docs]
    assert states[0] == states[1] == states[2]
    final = docs[0]
    for pid in persons:
        rec = final.persons.get(pid, include_deleted=True)
        if pid in phones and not rec.deleted:
            assert rec.phone in phones[pid]
        assert aliases.get(pid, set()) <= set(rec.other_names)
    kept = {c.id: c for c in final.comments.list(include_deleted=True)}
    assert comments <= set(kept)  # no comment lost
    for comment_id in comments:  # and only the deletion of its person takes one away
        if kept[comment_id].deleted:
            assert final.persons.get(kept[comment_id].person, include_deleted=True).deleted
    assert final.reports.get(report.id).services.get("Repas", 0) == increments


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200))
def test_dependency_reader_only_raises_its_documented_error(data):
    from mano_core.document.ydeps import read_deps
    from mano_core.errors import MalformedUpdateError

    try:
        read_deps(data)
    except MalformedUpdateError:
        pass


def test_out_of_order_updates_wait_for_their_dependencies():
    a, b = replica("member-a", 1), replica("member-b", 2)
    ids = [a.persons.create(name=f"P{i}").id for i in range(3)]
    a.persons.update(ids[1], phone="0600000000")
    updates = a.drain_updates()
    for u in (updates[3], updates[0], updates[2]):
        b.apply_update(u)
    assert b.waiting_updates == 2  # the phone edit and the third creation wait for P1
    b.apply_update(updates[1])
    assert b.waiting_updates == 0
    assert b.persons.get(ids[1]).phone == "0600000000"
    assert domain_state(a) == domain_state(b)
