"""Erasure on one device: what goes, what stays, and that the store keeps none of it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mano_core.device import Device
from mano_core.errors import NotFoundError, StoreFullError
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team

from .inspect import containing, file_bytes, document_rows, store_plaintexts

PASS = "phrase de passe de test"
NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)
# Values only the erased person's records hold: none may survive anywhere.
ERASED = [b"Zorglub-Erased", b"06 99 88 77 66", b"Old-Phone-0611", b"wound-left-ankle",
          b"court-hearing-zorglub", b"amoxicilline-zorglub", b"comment-about-zorglub",
          b"encounter-zorglub", b"medfile-zorglub"]
KEPT = [b"Kept-Person-Quentin", b"shared-action-kept"]


async def populate(team: Team) -> dict[str, str]:
    """Two persons, one to erase, with records of every kind about them."""
    await team.settings.add("consultationTypes", "soins")
    await team.custom_fields.create(scope="medicalFile", key="notes", label_text="Notes",
                                    type="textarea")
    p = await team.persons.create(name="Zorglub-Erased", phone="Old-Phone-0611")
    await team.compact()
    p = await team.persons.update(p.id, phone="06 99 88 77 66",
                                  description="wound-left-ankle")
    q = await team.persons.create(name="Kept-Person-Quentin")
    own = await team.actions.create(name="court-hearing-zorglub", persons=[p.id], due_at=NOW)
    both = await team.actions.create(name="shared-action-kept", persons=[p.id, q.id], due_at=NOW)
    await team.comments.create(text="comment-about-zorglub", person=p.id, date=NOW)
    await team.comments.create(text="on the own action", action=own.id, date=NOW)
    await team.encounters.create(person=p.id, date=NOW, comment="encounter-zorglub")
    group = await team.groups.create(persons=[p.id, q.id],
                                     relations=[f"{p.id}|{q.id}|cousins"])
    assert team.medical is not None
    await team.medical.medical_files.create(person=p.id,
                                            custom_fields={"notes": "medfile-zorglub"})
    await team.medical.treatments.create(person=p.id, name="amoxicilline-zorglub")
    await team.medical.consultations.create(person=p.id, type="soins", due_at=NOW)
    return {"p": p.id, "q": q.id, "own": own.id, "both": both.id, "group": group.id}


async def test_erasing_a_person_removes_them_and_everything_about_them(tmp_path: Path) -> None:
    path = tmp_path / "d.mano"
    async with await LocalStore.create(path, PASS, kdf=TEST_KDF) as store:
        team = await Team.create(store, name="Maraude", member="m1", clock=lambda: NOW)
        ids = await populate(team)
        assert containing(await store_plaintexts(store, {}), ERASED) == ERASED
        leaking_rows = await document_rows(store)  # all rewritten by the erasure
        preview = team.erasures.preview([ids["p"]])
        assert preview["persons"] == 1 and preview["actions"] == 1
        assert preview["comments"] == 2 and preview["encounters"] == 1
        assert preview["medicalFiles"] == 1 and preview["treatments"] == 1
        assert preview["history"] >= 5
        assert team.persons.get(ids["p"])  # the preview changed nothing

        order = await team.erasures.erase([ids["p"]])

        with pytest.raises(NotFoundError):
            team.persons.get(ids["p"], include_deleted=True)
        assert team.actions.of_person(ids["p"]) == []
        with pytest.raises(NotFoundError):
            team.actions.get(ids["own"], include_deleted=True)
        assert team.actions.get(ids["both"]).persons == [ids["q"]]
        assert team.groups.get(ids["group"]).persons == [ids["q"]]
        assert team.groups.get(ids["group"]).relations == []
        assert team.comments.list(include_deleted=True) == []
        assert team.history_of(ids["p"]) == []
        assert team.medical is not None and team.medical.treatments.list() == []
        assert team.persons.get(ids["q"]).name == "Kept-Person-Quentin"
        status = team.erasures.status(order.id)
        assert status.valid and status.applied and status.complete  # local team: no relay

        plain = await store_plaintexts(store, {})
        assert containing(plain, ERASED) == []
        assert containing(plain, KEPT) == KEPT  # the search does find what is there
        disk = file_bytes(path)
        assert leaking_rows and leaking_rows[0][:48] not in b"".join(
            await document_rows(store))
        assert [row for row in leaking_rows if row[:48] in disk] == []

    async with await LocalStore.open(path, PASS) as store:  # and it stays that way
        team = await Device(store).open_team((await Team.list(store))[0].id)
        assert [p.name for p in team.persons.list()] == ["Kept-Person-Quentin"]
        assert team.erasures.status(order.id).applied


async def test_an_order_that_does_not_verify_erases_nothing(tmp_path: Path) -> None:

    async with await Device.create(tmp_path / "d.mano", PASS, kdf=TEST_KDF) as device:
        team = await device.create_team("Maraude", health=True)
        p = await team.persons.create(name="Zorglub-Erased")
        await team.erasure_records.create(persons=[p.id], issued_at=NOW,
                                          device=(await device.device_id).hex(),
                                          signature="00" * 64)
        assert not await team.erasures.enforce()
        assert team.persons.get(p.id).name == "Zorglub-Erased"
        (status,) = team.erasures.pending()
        assert not status.valid and "signature" in (status.problem or "")

        order = await team.erasures.erase([p.id])  # the admin's own signed order works
        assert team.erasures.status(order.id).valid
        with pytest.raises(NotFoundError):
            team.persons.get(p.id)


async def _disk_full() -> None:
    """Stands in for ``Team.compact`` when the re-snapshot fails (a full disk, a crash)."""
    raise StoreFullError("database or disk is full")


async def test_a_full_disk_during_the_erasure_is_reported_and_finished_later(
        tmp_path: Path) -> None:
    path = tmp_path / "d.mano"
    async with await LocalStore.create(path, PASS, kdf=TEST_KDF) as store:
        team = await Team.create(store, name="Maraude", member="m1", clock=lambda: NOW)
        ids = await populate(team)
        compact = team.compact
        team.compact = _disk_full  # type: ignore[method-assign]
        with pytest.raises(StoreFullError):
            await team.erasures.erase([ids["p"]])
        order = team.erasure_records.list()[0]
        assert not team.erasures.status(order.id).applied  # not claimed done
        assert team.persons.get(ids["q"]).name == "Kept-Person-Quentin"  # nothing else lost

        team.compact = compact  # type: ignore[method-assign]  # space again
        assert await team.erasures.enforce()
        assert team.erasures.status(order.id).applied
        assert containing(await store_plaintexts(store, {}), ERASED) == []

    async with await LocalStore.open(path, PASS) as store:
        team = await Device(store).open_team((await Team.list(store))[0].id)
        assert [p.name for p in team.persons.list()] == ["Kept-Person-Quentin"]
        assert team.erasures.status(order.id).applied
        assert containing(await store_plaintexts(store, {}), ERASED) == []


async def test_an_erasure_interrupted_before_its_snapshot_finishes_at_the_next_open(
        tmp_path: Path) -> None:
    path = tmp_path / "d.mano"
    async with await LocalStore.create(path, PASS, kdf=TEST_KDF) as store:
        team = await Team.create(store, name="Maraude", member="m1", clock=lambda: NOW)
        ids = await populate(team)
        team.compact = _disk_full  # type: ignore[method-assign]  # the process dies here
        with pytest.raises(StoreFullError):
            await team.erasures.erase([ids["p"]])
    async with await LocalStore.open(path, PASS) as store:  # reopening finishes the job
        team = await Device(store).open_team((await Team.list(store))[0].id)
        assert [p.name for p in team.persons.list()] == ["Kept-Person-Quentin"]
        assert team.erasures.status(team.erasure_records.list()[0].id).applied
        assert containing(await store_plaintexts(store, {}), ERASED) == []
