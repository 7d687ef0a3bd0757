"""Fields one rule ties together stay consistent under concurrent edits, on every device.

Property: random concurrent operations on three replicas (status and completion date of
actions, the active list with its date and reasons), merged in random orders with duplicates:
every record is valid afterwards, equal on every replica, and still editable."""

from __future__ import annotations

import datetime as dt
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mano_core.model.validation import validate
from tests.document.helpers import domain_state, exchange, replica
from tests.sync.helpers import eventually, join

WHEN = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 20)

op = st.tuples(
    st.integers(0, 2),  # replica
    st.sampled_from(["done", "cancel", "reopen", "retime", "out", "in", "redate", "reason",
                     "sync"]),
    st.integers(0, 1_000),
)


def _apply(doc, kind: str, n: int, action_id: str, person_id: str) -> None:
    action = doc.actions.get(action_id)
    person = doc.persons.get(person_id)
    at = WHEN + dt.timedelta(minutes=n)
    if kind == "done":
        doc.actions.mark_done(action_id, at=at)
    elif kind == "cancel":
        doc.actions.mark_cancelled(action_id, at=at)
    elif kind == "reopen":
        doc.actions.reopen(action_id)
    elif kind == "retime" and action.status != "A FAIRE":
        doc.actions.update(action_id, completed_at=at)
    elif kind == "out":
        doc.persons.update(person_id, out_of_active_list=True,
                           out_of_active_list_date=DAY + dt.timedelta(days=n % 30),
                           out_of_active_list_reasons=["Relogée"])
    elif kind == "in":
        doc.persons.update(person_id, out_of_active_list=False)
    elif kind == "redate" and person.out_of_active_list:
        doc.persons.update(person_id, out_of_active_list_date=DAY + dt.timedelta(days=n % 7))
    elif (kind == "reason" and person.out_of_active_list
          and f"Autre {n}" not in person.out_of_active_list_reasons):
        doc.persons.update(person_id, out_of_active_list_reasons=[
            *person.out_of_active_list_reasons, f"Autre {n}"][-3:])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=30), seed=st.integers(0, 2**32 - 1))
def test_tied_fields_merge_valid_equal_and_editable(ops, seed):
    rng = random.Random(seed)
    docs = [replica(f"member-{i}", i + 1) for i in range(3)]
    action = docs[0].actions.create(name="Rendez-vous CMP", due_at=WHEN)
    docs[0].actions.mark_done(action.id, at=WHEN)
    person = docs[0].persons.create(name="Personne suivie")
    exchange(*docs)
    in_flight: list[bytes] = []
    for index, kind, n in ops:
        doc = docs[index]
        if kind == "sync" and in_flight:
            batch = rng.sample(in_flight, k=rng.randint(1, len(in_flight)))
            for target in docs:
                for update in batch + batch[: len(batch) // 2]:
                    target.apply_update(update)
            continue
        _apply(doc, kind, n, action.id, person.id)
        in_flight.extend(doc.drain_updates())
    for target in docs:
        shuffled = in_flight + in_flight[::2]
        rng.shuffle(shuffled)
        for update in shuffled:
            target.apply_update(update)
    states = [domain_state(d) for d in docs]
    assert states[0] == states[1] == states[2]
    for doc in docs:
        assert doc.actions.damaged() == [] and doc.persons.damaged() == []
        for record in (doc.actions.get(action.id), doc.persons.get(person.id)):
            validate(record)  # every rule, as a creation would check it
        # still editable: an edit of another field, and of the tied fields themselves
        doc.actions.update(action.id, description="relu")
        doc.persons.update(person.id, phone="0600000000")
        doc.actions.reopen(action.id)
        doc.persons.update(person.id, out_of_active_list=True, out_of_active_list_date=DAY)


def test_reopen_against_a_completion_time_correction_never_shows_a_done_date():
    """The issue's case: A corrects a done action's completion time while B reopens it."""
    for a_id, b_id in ((1, 2), (2, 1)):  # whichever client id wins the completedAt entry
        a, b = replica("a", a_id), replica("b", b_id)
        action = a.actions.create(name="Domiciliation", due_at=WHEN)
        a.actions.mark_done(action.id, at=WHEN)
        exchange(a, b)
        a.actions.update(action.id, completed_at=WHEN + dt.timedelta(hours=1))
        b.actions.reopen(action.id)
        exchange(a, b)
        for doc in (a, b):
            merged = doc.actions.get(action.id)
            assert (merged.status, merged.completed_at) == ("A FAIRE", None)
            doc.actions.update(action.id, description="toujours modifiable")


async def test_offline_reopen_and_online_retime_through_the_relay(relay, make_device):
    a, b = await make_device("a"), await make_device("b")
    t_a = await a.create_team("Maraude")
    async with await a.sync(t_a, relay.url) as s_a:
        t_b = await join(s_a, b, relay.url)
        action = await t_a.actions.create(name="Domiciliation", due_at=WHEN)
        await t_a.actions.mark_done(action.id, at=WHEN)
        async with await b.sync(t_b, relay.url) as s_b:
            await eventually(lambda: t_b.actions.list() and
                             t_b.actions.get(action.id).status == "FAIT", what="done at b")
            await s_b.wait_synced()
        await t_b.actions.reopen(action.id)  # b is offline
        await t_a.actions.update(action.id, completed_at=WHEN + dt.timedelta(hours=2))
        await s_a.wait_synced()
        async with await b.sync(t_b, relay.url) as s_b:
            await s_b.wait_synced()
            await eventually(lambda: t_a.actions.get(action.id).status == "A FAIRE",
                             what="the reopening at a")
            for team in (t_a, t_b):
                merged = team.actions.get(action.id)
                assert (merged.status, merged.completed_at) == ("A FAIRE", None)
            await t_a.actions.mark_done(action.id, at=WHEN + dt.timedelta(hours=3))
            await eventually(lambda: t_b.actions.get(action.id).status == "FAIT",
                             what="a's new completion at b")
            assert t_b.actions.get(action.id).completed_at == WHEN + dt.timedelta(hours=3)
