"""team.documents on one device, over the real encrypted store: add, read, rename, move,
delete, reopen, limits, the LRU bound, medical owners, and a crash between body and record."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import msgspec
import pytest

from mano_core import limits
from mano_core.device import Device
from mano_core.documents.body import open_body, seal_body
from mano_core.errors import (
    DocumentCorruptedError,
    DocumentUnavailableError,
    LimitExceededError,
    NotFoundError,
    ValidationError,
)
from mano_core.ids import Compartment
from mano_core.model.records import Document, HealthDocument
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team

PASS = "une phrase de passe"
PDF = b"%PDF-1.7\n" + os.urandom(300_000)


async def new_team(tmp_path: Path) -> tuple[LocalStore, Team]:
    store = await LocalStore.create(tmp_path / "d.mano", PASS, kdf=TEST_KDF)
    return store, await Team.create(store, name="Maraude", member="m-1")


async def test_a_document_is_kept_read_renamed_moved_and_survives_reopen(tmp_path: Path) -> None:
    store, team = await new_team(tmp_path)
    person = await team.persons.create(name="Personne suivie")
    doc = await team.documents.add(person.id, "carte AME.pdf", PDF, folder="/Papiers/ ")
    assert isinstance(doc, Document) and not isinstance(doc, HealthDocument)
    assert (doc.mime, doc.size, doc.folder, doc.parts) == ("application/pdf", len(PDF),
                                                           "Papiers", 1)
    assert doc.digest == hashlib.sha256(PDF).hexdigest()
    assert await team.documents.read(doc.id) == PDF
    assert team.documents.uploading(doc.id) and team.documents.cached(doc.id)
    await team.documents.rename(doc.id, "AME 2026.pdf")
    await team.documents.move(doc.id, "Papiers/Santé")
    with pytest.raises(ValidationError):
        await team.documents.rename(doc.id, "a/b")
    with pytest.raises(ValidationError):
        await team.documents.rename(doc.id, "  ")
    team_id = team.id
    await store.close()
    async with await LocalStore.open(tmp_path / "d.mano", PASS) as store:
        team = await Device(store).open_team(team_id)
        (again,) = team.documents.of(person.id)
        assert (again.name, again.folder) == ("AME 2026.pdf", "Papiers/Santé")
        assert team.documents.folders(person.id) == ["Papiers", "Papiers/Santé"]
        assert await team.documents.read(doc.id) == PDF  # offline: the body is on the device
        assert team.documents.uploading(doc.id)  # still owed to the relay


async def test_delete_forgets_the_key_and_the_body(tmp_path: Path) -> None:
    store, team = await new_team(tmp_path)
    person = await team.persons.create(name="Personne suivie")
    doc = await team.documents.add(person.id, "ordonnance.jpg", b"\xff\xd8\xff\xe0" + b"x" * 999)
    await team.documents.delete(doc.id)
    assert team.documents.of(person.id) == []
    gone = team.documents.get(doc.id, include_deleted=True)
    assert gone.deleted and gone.key == "" and gone.digest == ""
    with pytest.raises(NotFoundError):
        await team.documents.read(doc.id)
    assert not team.documents.bodies.cached and not team.documents.bodies.uploads
    assert list(team.documents.bodies.deletions) == [doc.file]  # owed to the relay
    await team.compact()
    state = team.doc.encode_state()
    assert bytes.fromhex(doc.key) not in state and doc.key.encode() not in state
    await store.close()


async def test_limits_and_owners(tmp_path: Path) -> None:
    store, team = await new_team(tmp_path)
    person = await team.persons.create(name="Personne suivie")
    team.documents.max_size = 1000
    with pytest.raises(LimitExceededError):
        await team.documents.add(person.id, "gros.bin", b"x" * 1001)
    big = tmp_path / "gros.bin"
    big.write_bytes(b"y" * 1001)
    with pytest.raises(LimitExceededError):
        await team.documents.add(person.id, "", big)
    with pytest.raises(NotFoundError):
        await team.documents.add("nobody", "a.txt", b"a")
    small = tmp_path / "note.txt"
    small.write_bytes(b"bonjour")
    doc = await team.documents.add(person.id, "", small, mime="<b>evil</b>")
    assert (doc.name, doc.mime) == ("note.txt", "application/octet-stream")
    assert team.documents.bodies.cached_bytes > 0
    team.documents.max_size = limits.DOCUMENT_MAX_SIZE
    # medical owners: the document lands in the medical compartment
    assert team.medical is not None
    treatment = await team.medical.treatments.create(person=person.id, name="Traitement")
    med = await team.documents.add(treatment.id, "ordonnance.pdf", PDF)
    assert isinstance(med, HealthDocument)
    assert (med.owner_kind, med.owner, med.person) == ("treatment", treatment.id, person.id)
    assert team.documents.of(treatment.id) == [med]
    assert await team.documents.read(med.id) == PDF
    await store.close()


async def test_the_cache_is_bounded_and_never_evicts_what_waits_for_upload(
        tmp_path: Path) -> None:
    store, team = await new_team(tmp_path)
    person = await team.persons.create(name="Personne suivie")
    bodies = team.documents.bodies
    bodies.capacity = 250_000
    docs = [await team.documents.add(person.id, f"{i}.bin", os.urandom(100_000))
            for i in range(3)]
    assert len(bodies.cached) == 3  # over the bound, but all pinned: waiting for the relay
    await bodies.uploaded(docs[0].file)
    await bodies.uploaded(docs[1].file)
    assert set(bodies.cached) == {docs[1].file, docs[2].file}  # least recently used went
    assert bodies.cached_bytes <= 250_000 or len(bodies.cached) == 1
    with pytest.raises(DocumentUnavailableError):  # offline and not here any more
        await team.documents.read(docs[0].id)
    await store.close()


async def test_a_crash_between_body_and_record_leaves_no_orphan(tmp_path: Path) -> None:
    store, team = await new_team(tmp_path)
    person = await team.persons.create(name="Personne suivie")
    sealed = seal_body(b"never recorded")
    # the body and its upload were committed; the process died before the record was
    await team.documents.bodies.keep(sealed.file.hex(), team.documents.compartment_of(
        Document(id="x", created_at=person.created_at, updated_at=person.created_at,
                 person=person.id, owner=person.id, name="x")), list(sealed.parts),
        upload=True)
    team_id = team.id
    await store.close()
    async with await LocalStore.open(tmp_path / "d.mano", PASS) as store:
        team = await Device(store).open_team(team_id)
        bodies = team.documents.bodies
        assert not bodies.cached and not bodies.uploads
        assert list(bodies.deletions) == [sealed.file.hex()]  # parts may be at the relay
        rows = await store.items(bodies.body_ns(sealed.file.hex()))
        assert rows == []


def test_a_body_opens_only_whole_and_in_order() -> None:
    data = os.urandom(3 * 1000 + 5)
    sealed = seal_body(data, chunk=1000)
    parts = list(sealed.parts)
    assert len(parts) == 4
    assert open_body(sealed.key, sealed.file, parts, size=len(data), digest=sealed.digest) == data
    for bad in (parts[:3], [parts[1], parts[0], *parts[2:]], [*parts[:3], parts[3][:-1]],
                [*parts[:3], bytes([parts[3][0] ^ 1]) + parts[3][1:]]):
        with pytest.raises(DocumentCorruptedError):
            open_body(sealed.key, sealed.file, bad, size=len(data), digest=sealed.digest)
    other = seal_body(data, chunk=1000)
    with pytest.raises(DocumentCorruptedError):  # a part of another file, same index
        open_body(sealed.key, sealed.file, [other.parts[0], *parts[1:]], size=len(data),
                  digest=sealed.digest)
    assert len(seal_body(b"").parts) == 1
    assert limits.DOCUMENT_CHUNK + 28 <= limits.MAX_FILE_PART


async def test_a_merged_person_brings_its_documents(tmp_path: Path) -> None:
    store, team = await new_team(tmp_path)
    kept = await team.persons.create(name="Personne suivie")
    duplicate = await team.persons.create(name="Personne suivie (doublon)")
    doc = await team.documents.add(duplicate.id, "carte.pdf", PDF)
    await team.merges.merge(kept.id, duplicate.id)
    assert [d.id for d in team.documents.of(kept.id)] == [doc.id]
    assert await team.documents.read(doc.id) == PDF
    await store.close()


async def test_retention_takes_the_documents_and_their_bodies(tmp_path: Path) -> None:
    import datetime as dt

    from mano_core.retention import apply_retention, retention_report, set_retention_months

    store, team = await new_team(tmp_path)
    gone = await team.persons.create(name="Sortie il y a longtemps", out_of_active_list=True,
                                     out_of_active_list_date=dt.date(2020, 1, 5))
    kept = await team.persons.create(name="Suivie")
    assert team.medical is not None
    treatment = await team.medical.treatments.create(person=gone.id, name="Traitement")
    docs = [await team.documents.add(gone.id, "id.pdf", PDF),
            await team.documents.add(treatment.id, "ordo.pdf", PDF)]
    keep = await team.documents.add(kept.id, "garde.pdf", PDF)
    await set_retention_months(team, 24)
    report = retention_report(team, today=dt.date(2026, 11, 20))
    assert report.totals.get("documents") == 1 and report.totals.get("medicalDocuments") == 1
    await apply_retention(team, report)
    bodies = team.documents.bodies
    assert set(bodies.cached) == {keep.file}
    assert set(bodies.deletions) == {d.file for d in docs}  # owed to the relay
    for d in docs:
        assert await store.items(bodies.body_ns(d.file)) == []
        with pytest.raises(NotFoundError):
            team.documents.get(d.id, include_deleted=True)
    await store.close()


async def test_a_teammates_record_with_a_malformed_file_id_reads_as_damaged(
        tmp_path: Path) -> None:
    store, team = await new_team(tmp_path)
    person = await team.persons.create(name="Personne suivie")
    doc = await team.documents.add(person.id, "a.pdf", PDF)
    entry = team.doc.collections["documents"]._map[doc.id]
    with team.doc.doc.transaction():
        entry["file"] = "not hex at all"  # as a hostile or buggy device would write it
    with pytest.raises(NotFoundError):  # DamagedRecordError: shown as damaged, never a crash
        team.documents.get(doc.id)
    assert team.documents.of(person.id) == []
    await store.close()


async def test_a_medical_upload_owed_when_the_compartment_goes_is_withheld_not_lost(
        tmp_path: Path) -> None:
    """The health flag withdrawn (drop_medical) before the relay held a body: the document is
    kept (withheld) across a restart, handed over once the compartment is back, exactly once
    even if the hand-over is cut between the record and the upload queue."""
    store, team = await new_team(tmp_path)
    person = await team.persons.create(name="Personne suivie")
    assert team.medical is not None
    treatment = await team.medical.treatments.create(person=person.id, name="Traitement")
    owed = await team.documents.add(treatment.id, "ordonnance.pdf", PDF)
    sent = await team.documents.add(treatment.id, "ancienne.pdf", b"%PDF old")
    await team.documents.bodies.uploaded(sent.file)  # the relay holds this one
    assert await team.drop_medical()
    assert team.documents.withheld == 1 and not team.documents.bodies.uploads
    assert await store.items(team.documents.bodies.body_ns(sent.file)) == []
    team_id = team.id
    await store.close()
    async with await LocalStore.open(tmp_path / "d.mano", PASS) as store:
        team = await Device(store).open_team(team_id)
        assert team.documents.withheld == 1  # the restart's sweep left it
        assert len(await store.items(team.documents.bodies.body_ns(owed.file))) == 1
        with pytest.raises(NotFoundError):
            team.documents.get(owed.id)
        assert await team.enable_medical()
        assert team.medical is not None and team.documents.list() == []
        assert await team.documents.hand_over() == 0  # its record is not back yet: it waits
        assert team.documents.withheld == 1
        # the record comes back (with the catch-up, or as this device's withheld edit sent
        # and echoed): here, written again as it was
        fields = msgspec.msgpack.decode(team.documents.bodies.withheld[owed.file][1])
        team.documents._collection(Compartment.MEDICAL).create(**fields)
        await team.compartment(Compartment.MEDICAL).commit()
        calls = 0
        real = team.documents.bodies.hand_back

        async def cut_once(file: str) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise OSError("cut between the record and the upload queue")
            await real(file)

        team.documents.bodies.hand_back = cut_once  # type: ignore[method-assign]
        with pytest.raises(OSError):
            await team.documents.hand_over()
        assert await team.documents.hand_over() == 1  # handed over once, after the cut
        assert [d.id for d in team.documents.list()] == [owed.id]
        assert team.documents.withheld == 0 and team.documents.uploading(owed.id)
        assert await team.documents.read(owed.id) == PDF


async def test_withheld_documents_can_be_discarded_and_follow_an_erasure(tmp_path: Path) -> None:
    store, team = await new_team(tmp_path)
    kept, erased = (await team.persons.create(name="Gardée"),
                    await team.persons.create(name="Effacée"))
    assert team.medical is not None
    docs = [await team.documents.add(
        (await team.medical.treatments.create(person=p.id, name="T")).id, "o.pdf", PDF)
        for p in (kept, erased)]
    await team.drop_medical()
    assert team.documents.withheld == 2
    await team.documents.forget_withheld_of([erased.id])
    assert list(team.documents.bodies.withheld) == [docs[0].file]
    assert await store.items(team.documents.bodies.body_ns(docs[1].file)) == []
    assert await team.documents.discard_withheld() == 1
    assert team.documents.withheld == 0
    assert await store.items(team.documents.bodies.body_ns(docs[0].file)) == []
    assert not team.documents.bodies.deletions  # nothing owed to a relay it may not write
    await store.close()


async def test_medical_edits_withheld_when_the_compartment_goes_are_kept_then_erased(
        tmp_path: Path) -> None:
    """The health flag withdrawn before its edits reached the relay: the device's medical
    outboxes stay (counted, not sent while it lacks access, across a restart), and an erasure,
    which cannot check them, deletes them."""
    device = await Device.create(tmp_path / "d.mano", PASS, kdf=TEST_KDF)
    team = await device.create_team("Maraude", health=True)
    team.syncing = True  # as under a sync client: every edit also waits in the sync outbox
    person = await team.persons.create(name="Personne suivie")
    assert team.medical is not None
    await team.medical.treatments.create(person=person.id, name="Hors ligne")
    assert await team.withheld_edits() == 0  # held: they are being sent
    assert await team.drop_medical()
    assert await team.withheld_edits() == 1
    team_id = team.id
    await device.close()
    device = await Device.open(tmp_path / "d.mano", PASS)
    try:
        team = await device.open_team(team_id)
        assert await team.withheld_edits() == 1
        await team.erasures.erase([person.id])
        assert await team.withheld_edits() == 0
    finally:
        await device.close()
