"""A health device's medical document not yet at the relay when an admin withdraws its health
flag (issue 22): the device may no longer write the medical compartment, but the nurse's
work is not lost. Its unsent edits and document bodies are kept on the device, encrypted,
unreadable there and unlisted, with alerts; when an admin gives the flag back, the device
catches the medical compartment up from the start, sends its edits, uploads the bodies, and
teammates read them byte for byte.

Both tests go through a real relay subprocess: attached offline (the record and the body
both owed), and cut mid-upload (the record at the relay, the body partly)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os

import pytest

from mano_core.errors import NotFoundError
from tests.documents.test_relay import eventually, relay_files
from tests.sync.helpers import join

pytestmark = pytest.mark.timeout(240)

WHEN = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)


def scan(size: int) -> bytes:
    return os.urandom(size)


async def test_attached_offline_then_flag_withdrawn_is_kept_then_handed_over(
        relay, make_device) -> None:
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude Nord", health=True)
    async with await a.sync(team_a, relay.url) as sa:
        person = await team_a.persons.create(name="Personne suivie")
        assert team_a.medical is not None
        treatment = await team_a.medical.treatments.create(person=person.id, name="Traitement")
        team_b = await join(sa, b, relay.url, health=True)
        b_id = await b.device_id
        async with await b.sync(team_b, relay.url) as sb:
            await eventually(lambda: team_b.medical is not None
                             and len(team_b.medical.treatments.list()) == 1, what="b syncs")
            await sb.wait_synced()
        # b offline: the nurse writes a treatment and attaches its prescription
        assert team_b.medical is not None
        written = await team_b.medical.treatments.create(person=person.id, name="Hors ligne")
        data = scan(700_000)
        doc = await team_b.documents.add(written.id, "ordonnance.pdf", data)
        assert team_b.documents.uploading(doc.id)
        # meanwhile an admin withdraws b's health flag
        await sa.change_role(b_id, role="normal", health=False)
        await sa.wait_synced()
        async with await b.sync(team_b, relay.url) as sb:
            await eventually(lambda: team_b.medical is None, what="b's medical dropped")
            await eventually(lambda: any(al.kind == "documents" and "kept" in al.detail
                                         for al in sb.state.alerts), what="the alert")
            assert team_b.documents.withheld == 1
            assert any(al.kind == "health" and "not at the relay yet" in al.detail
                       for al in sb.state.alerts)  # the treatment, kept too
            with pytest.raises(NotFoundError):  # unreadable here: not listed, not opened
                team_b.documents.get(doc.id)
            # kept, sealed, in b's store; nothing of it reached the relay
            rows = await b.store.items(team_b.documents.bodies.body_ns(doc.file))
            assert len(rows) == doc.parts
            await sb.wait_synced()
            assert doc.file not in [f for f, *_ in relay_files(relay.db)]
            assert team_a.documents.list() == []
            # the admin gives the flag back: the document is handed over
            await sa.change_role(b_id, role="normal", health=True)
            await eventually(lambda: [d.id for d in team_a.documents.of(written.id)]
                             == [doc.id], what="a sees the document")
            assert sorted(t.name for t in team_a.medical.treatments.list()) == [
                "Hors ligne", "Traitement"]  # the treatment written offline too
            await eventually(lambda: team_b.documents.withheld == 0
                             and not team_b.documents.uploading(doc.id), what="uploaded")
            assert await team_a.documents.read(doc.id) == data
            assert team_a.documents.get(doc.id).name == "ordonnance.pdf"
            await eventually(lambda: team_b.medical is not None
                             and sorted(t.id for t in team_b.medical.treatments.list())
                             == sorted([treatment.id, written.id]),
                             what="b's medical history is back")
            assert any(al.kind == "documents" and "handed over" in al.detail
                       for al in sb.state.alerts)
            await sb.wait_synced()
        await sa.wait_synced()


async def test_withdrawn_mid_upload_resumes_once_the_flag_is_back(relay, make_device) -> None:
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude Nord", health=True)
    async with await a.sync(team_a, relay.url) as sa:
        person = await team_a.persons.create(name="Personne suivie")
        assert team_a.medical is not None
        medical_file = await team_a.medical.medical_files.create(person=person.id)
        team_b = await join(sa, b, relay.url, health=True)
        b_id = await b.device_id
        async with await b.sync(team_b, relay.url) as sb:
            await eventually(lambda: team_b.medical is not None
                             and len(team_b.medical.medical_files.list()) == 1, what="b syncs")
            gate, sent = asyncio.Event(), asyncio.Event()

            async def hold(_file: str, index: int) -> None:
                if index == 0:
                    sent.set()
                    await gate.wait()

            sb.documents.after_part = hold
            data = scan(1_300_000)  # 3 parts: one sent, then the upload waits
            doc = await team_b.documents.add(medical_file.id, "bilan.pdf", data)
            await asyncio.wait_for(sent.wait(), 60)
            await eventually(lambda: len(team_a.documents.list()) == 1,
                             what="the record reached a")
            await sa.change_role(b_id, role="normal", health=False)
            await eventually(lambda: team_b.medical is None, what="b's medical dropped")
            assert team_b.documents.withheld == 1
            gate.set()  # the upload under way stops: b may not write the compartment now
            await sb.wait_synced()
            assert [(f, p, k) for f, _c, p, k in relay_files(relay.db)] == [(doc.file, 1, 0)]
            await sa.change_role(b_id, role="normal", health=True)
            await eventually(lambda: team_b.documents.withheld == 0
                             and team_b.medical is not None
                             and not team_b.documents.uploading(doc.id), what="uploaded")
            assert await team_a.documents.read(doc.id) == data
            assert relay_files(relay.db) == [(doc.file, 1, 3, 1)]
            assert [d.id for d in team_b.documents.of(medical_file.id)] == [doc.id]
            # b caught the medical compartment up from the start (a's medical file, its own
            # record): the record the relay held is the one kept, not written again
            assert [f.id for f in team_b.medical.medical_files.list()] == [medical_file.id]
            assert team_a.documents.get(doc.id).created_at == doc.created_at
            await sb.wait_synced()
        await sa.wait_synced()
