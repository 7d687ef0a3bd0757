"""Erasure across devices through a real relay, one device offline while it is ordered: in the
end no device store, no relay envelope or snapshot and no export holds the erased person."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mano_core.errors import ErasureForbiddenError, NotFoundError
from mano_core.reporting.exports import export_team_json
from tests.sync.helpers import eventually, join

from .inspect import containing, file_bytes, relay_plaintexts, store_plaintexts

pytestmark = pytest.mark.timeout(150)
WHEN = dt.datetime(2026, 11, 20, 9, tzinfo=dt.timezone.utc)
ERASED = [b"Zorglub-Erased", b"0611223344", b"B-offline-phone-0699", b"B-offline-action",
          b"insuline-zorglub", b"note-about-zorglub"]


async def test_erasure_reaches_an_offline_device_and_leaves_no_copy(relay, make_device,
                                                                      tmp_path: Path) -> None:
    a, b, c = [await make_device(n) for n in "abc"]
    team_a = await a.create_team("Maraude Nord", health=True)
    async with await a.sync(team_a, relay.url) as sa:
        p = await team_a.persons.create(name="Zorglub-Erased", phone="0611223344")
        q = await team_a.persons.create(name="Kept-Quentin")
        assert team_a.medical is not None
        await team_a.medical.treatments.create(person=p.id, name="insuline-zorglub")
        await team_a.comments.create(text="note-about-zorglub", person=p.id, date=WHEN)
        team_b = await join(sa, b, relay.url, health=True)
        team_c = await join(sa, c, relay.url)
        async with await b.sync(team_b, relay.url) as sb:
            await eventually(lambda: team_b.medical is not None
                             and len(team_b.medical.treatments.list()) == 1, what="b has it all")
            await sb.wait_synced()
        # b is offline from here on, and keeps working on the person.
        await team_b.persons.update(p.id, phone="B-offline-phone-0699")
        await team_b.actions.create(name="B-offline-action", persons=[p.id], due_at=WHEN)
        await team_b.comments.create(text="kept-comment-from-b", person=q.id, date=WHEN)

        async with await c.sync(team_c, relay.url) as sc:
            await eventually(lambda: len(team_c.persons.list()) == 2, what="c has the persons")
            assert not team_c.erasures.can_order([p.id])  # c is not an admin
            with pytest.raises(ErasureForbiddenError):
                await team_c.erasures.erase([p.id])

            order = await team_a.erasures.erase([p.id])
            await eventually(lambda: _gone(team_c, p.id), what="c applies the erasure")
            me_b = (await b.device_id).hex()
            await eventually(lambda: team_a.erasures.status(order.id).waiting_for == (me_b,),
                             what="a and c confirmed, b awaited")
            status = team_a.erasures.status(order.id)
            assert not status.complete and status.purged == {}
            # The relay still holds the person: nothing claims otherwise before b is back.
            plain, _ = relay_plaintexts(tmp_path / "relay.db", team_a.keys)
            assert containing(plain, ERASED[:1]) == ERASED[:1]

            async with await b.sync(team_b, relay.url) as sb:
                await eventually(lambda: _gone(team_b, p.id), what="b applies it when back")
                teams = (team_a, team_b, team_c)
                await eventually(lambda: all(t.erasures.status(order.id).complete
                                             for t in teams), timeout=60,
                                 what="the erasure completes on every device")
                await eventually(lambda: all(
                    [cm.text for cm in t.comments.list()] == ["kept-comment-from-b"]
                    for t in teams), what="b's other work reaches everyone")
                for t in teams:
                    assert [x.name for x in t.persons.list()] == ["Kept-Quentin"]
                    assert t.actions.list(include_deleted=True) == []  # b's offline action too
                await sb.wait_synced()
            await sc.wait_synced()
        await sa.wait_synced()
        snapshot_bytes = relay_plaintexts(tmp_path / "relay.db", team_a.keys)

    # Nothing left anywhere: every device store (decrypted), the relay database (decrypted
    # with the team's keys, and its raw bytes), an export made now.
    for device, team in ((a, team_a), (b, team_b), (c, team_c)):
        plain = await store_plaintexts(device.store, {b"": team.keys})
        assert containing(plain, ERASED) == [], device.store.path
        assert containing(plain, [b"Kept-Quentin"]) == [b"Kept-Quentin"]
    relay_plain, _raw = snapshot_bytes
    assert containing(relay_plain, ERASED) == []
    assert containing(relay_plain, [b"Kept-Quentin"]) == [b"Kept-Quentin"]
    export = tmp_path / "export.json"
    export_team_json(team_a, export)
    assert containing([export.read_bytes()], ERASED) == []


async def test_the_relay_drops_the_envelopes_that_held_the_person(relay, make_device,
                                                                   tmp_path: Path) -> None:
    a = await make_device("a")
    team_a = await a.create_team("Maraude Sud", health=True)
    async with await a.sync(team_a, relay.url) as sa:
        p = await team_a.persons.create(name="Zorglub-Erased", phone="0611223344")
        await team_a.persons.create(name="Kept-Quentin")
        await sa.wait_synced()
        _plain, before = relay_plaintexts(tmp_path / "relay.db", team_a.keys)
        assert before
        order = await team_a.erasures.erase([p.id])
        await eventually(lambda: team_a.erasures.status(order.id).complete, timeout=30,
                         what="the erasure completes")
        await sa.wait_synced()
    await relay.stop()
    disk = file_bytes(tmp_path / "relay.db")
    assert [blob for blob in before if blob[-64:] in disk] == []  # not even as free pages


def _gone(team, person_id: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        team.persons.get(person_id, include_deleted=True)
    except NotFoundError:
        return True
    return False


async def test_an_erasure_made_offline_never_sends_the_person(relay, make_device,
                                                              tmp_path: Path) -> None:
    # An admin works offline, then erases someone it created meanwhile: the edits not sent
    # yet are rewritten without the person, so nothing of them ever leaves the device.
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude Est", health=True)
    p = await team_a.persons.create(name="Zorglub-Erased", phone="0611223344")
    q = await team_a.persons.create(name="Kept-Quentin")
    await team_a.comments.create(text="note-about-zorglub", person=p.id, date=WHEN)
    await team_a.comments.create(text="kept-note", person=q.id, date=WHEN)
    order = await team_a.erasures.erase([p.id])
    plain = await store_plaintexts(a.store, {b"": team_a.keys})
    assert containing(plain, ERASED) == []
    assert containing(plain, [b"Kept-Quentin", b"kept-note"]) == [b"Kept-Quentin", b"kept-note"]

    async with await a.sync(team_a, relay.url) as sa:
        await sa.wait_synced()
        relay_plain, _ = relay_plaintexts(tmp_path / "relay.db", team_a.keys)
        assert containing(relay_plain, ERASED) == []  # never sent, not even once
        assert containing(relay_plain, [b"Kept-Quentin"]) == [b"Kept-Quentin"]
        team_b = await join(sa, b, relay.url, health=True)
        async with await b.sync(team_b, relay.url):
            await eventually(lambda: [x.name for x in team_b.persons.list()] == ["Kept-Quentin"]
                             and [c.text for c in team_b.comments.list()] == ["kept-note"],
                             what="b gets the team without the person")
            await eventually(lambda: team_a.erasures.status(order.id).complete, timeout=30,
                             what="the erasure completes")
        assert _gone(team_b, p.id)


async def test_the_erasure_uploads_a_snapshot_that_replaces_a_teammates(
        relay, make_device, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The purge keeps only the newest snapshot, which must be the erased state: the erasure's
    # upload is never ``spare`` (a relay refuses a spare one when a snapshot of the same upto,
    # taken before the erasure, is stored: docs/protocol.md §6), the periodic ones are.
    from mano_core.protocol import messages as m
    from mano_core.sync.transport import RelayClient

    sent: list[m.Message] = []
    original = RelayClient._send

    def recording(self: RelayClient, msg: m.Message) -> None:
        if isinstance(msg, (m.SnapshotPut, m.Purge)):
            sent.append(msg)
        original(self, msg)

    monkeypatch.setattr(RelayClient, "_send", recording)
    a = await make_device("a")
    team_a = await a.create_team("Maraude Sud")
    async with await a.sync(team_a, relay.url) as sa:
        p = await team_a.persons.create(name="Zorglub-Erased", phone="0611223344")
        await team_a.persons.create(name="Kept-Quentin", description="x" * 70_000)
        await sa.wait_synced()
        await eventually(lambda: any(isinstance(x, m.SnapshotPut) for x in sent), 30,
                         "the policy's snapshot of the team as it was")
        order = await team_a.erasures.erase([p.id])
        await eventually(lambda: team_a.erasures.status(order.id).complete, timeout=30,
                         what="the erasure completes")
        await sa.wait_synced()
    purge = next(i for i, x in enumerate(sent) if isinstance(x, m.Purge))
    periodic = [x for x in sent[:purge] if isinstance(x, m.SnapshotPut)]
    erasure = periodic[-1]  # the last part of the upload just before the purge
    assert erasure.last and erasure.upto == sent[purge].upto
    assert not any(x.spare for x in periodic if x.id == erasure.id)
    before = [x for x in periodic if x.id != erasure.id]
    assert before and all(x.spare for x in before)
