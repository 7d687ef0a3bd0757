"""Documents between devices through a real relay subprocess: a 5 MiB file attached on one
device is read byte for byte on another, the relay's files never hold a byte sequence of the
plaintext, a device without the health flag cannot obtain a medical document, an upload cut
mid-way (connection lost, then the device restarted) resumes where it stopped, and an erasure
leaves no file at the relay and no body on any device."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from pathlib import Path

import pytest

from mano_core.device import Device
from mano_core.errors import DocumentUnavailableError, NotFoundError, RelayRefusedError
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.sync.transport import RelayClient
from tests.harness.devices import PASS
from tests.relay.test_storage_contract import fragments_in, raw_files
from tests.sync.helpers import eventually as _eventually
from tests.sync.helpers import join

pytestmark = pytest.mark.timeout(240)


async def eventually(predicate, timeout: float = 60.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    """tests.sync.helpers.eventually with room for a loaded machine (2 cores, many tests)."""
    await _eventually(predicate, timeout=max(timeout, 60.0), what=what)
MiB = 1024 * 1024


def relay_files(db: str) -> list[tuple[str, int, int, int]]:
    """(file hex, compartment, parts, complete) of every file the relay database holds."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT file, c, parts, complete FROM files").fetchall()
        left = conn.execute("SELECT count(*) FROM file_parts").fetchone()[0]
    assert left == sum(r[2] for r in rows)
    return [(bytes(f).hex(), c, p, k) for f, c, p, k in rows]


def plaintext(size: int) -> bytes:
    """Random bytes with a recognisable text every 64 KiB (a paper's repeated header)."""
    data = bytearray(os.urandom(size))
    for at in range(0, size - 64, 64 * 1024):
        data[at:at + 32] = b"CARTE-AME-NUMERO-0611223344-SECU"
    return bytes(data)


async def test_a_5_mib_file_from_a_is_read_on_b_and_never_readable_at_the_relay(
        relay, make_device, tmp_path: Path) -> None:
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude Nord")
    data = plaintext(5 * MiB)
    async with await a.sync(team_a, relay.url) as sa:
        person = await team_a.persons.create(name="Personne suivie")
        done: list[int] = []
        team_a.documents.subscribe_progress(lambda p: done.append(p.done))
        doc = await team_a.documents.add(person.id, "carte-ame-recto.pdf", data,
                                         folder="Papiers")
        await eventually(lambda: not team_a.documents.uploading(doc.id), timeout=60,
                         what="the upload ends")
        assert doc.parts == 10 and done == sorted(done) and len(done) == 10
        team_b = await join(sa, b, relay.url)
        async with await b.sync(team_b, relay.url) as sb:
            await eventually(lambda: len(team_b.documents.of(person.id)) == 1,
                             what="b sees the record")
            assert not team_b.documents.cached(doc.id)  # bodies come when opened
            steps: list[tuple[int, int]] = []
            got = await team_b.documents.read(doc.id, progress=lambda d, t: steps.append((d, t)))
            assert got == data
            assert steps[-1] == (len(data), len(data)) and len(steps) >= 2
            assert team_b.documents.cached(doc.id)
            await sb.wait_synced()
        # offline now: b opens what it holds
        assert await team_b.documents.read(doc.id) == data
        await sa.wait_synced()
    await relay.stop()
    raw = raw_files(tmp_path, "relay.db*")
    assert [f[0] for f in relay_files(relay.db)] == [doc.file]
    assert fragments_in(data, raw, size=16, step=4096) == 0
    assert b"CARTE-AME" not in raw and b"carte-ame-recto" not in raw and b"Papiers" not in raw
    assert bytes.fromhex(doc.key) not in raw
    for device in (a, b):  # the device stores hold it encrypted at rest too
        path = Path(device.store.path)
        assert fragments_in(data, raw_files(path.parent, path.name + "*"), size=16,
                            step=4096) == 0


async def raw_client(device: Device, team_id: str, url: str) -> RelayClient:
    keys = await device.vault.team(uuid.UUID(team_id).bytes)
    client = await RelayClient.connect(url)
    await client.authenticate(keys.identity, keys.team_id)
    return client


async def test_a_device_without_the_health_flag_gets_no_key_and_no_body(
        relay, make_device) -> None:
    a, c = await make_device("a"), await make_device("c")
    team_a = await a.create_team("Maraude Nord", health=True)
    async with await a.sync(team_a, relay.url) as sa:
        person = await team_a.persons.create(name="Personne suivie")
        assert team_a.medical is not None
        treatment = await team_a.medical.treatments.create(person=person.id, name="Traitement")
        secret = plaintext(600_000)
        med = await team_a.documents.add(treatment.id, "ordonnance.pdf", secret)
        general = await team_a.documents.add(person.id, "photo.jpg", b"\xff\xd8\xff" * 100)
        await eventually(lambda: not team_a.documents.uploading(med.id), what="uploaded")
        team_c = await join(sa, c, relay.url)  # a normal member, no health flag
        async with await c.sync(team_c, relay.url) as sc:
            await eventually(lambda: len(team_c.documents.list()) == 1, what="c syncs")
            assert [d.id for d in team_c.documents.list()] == [general.id]
            with pytest.raises(NotFoundError):
                team_c.documents.get(med.id)
            with pytest.raises(NotFoundError):  # c holds no medical owner to attach to
                await team_c.documents.add(treatment.id, "x.txt", b"x")
            await sc.wait_synced()
        # the relay refuses c the medical file, whatever it asks
        client = await raw_client(c, team_c.id, relay.url)
        try:
            file = bytes.fromhex(med.file)
            for msg in (m.FileGet(id=client.next_id(), c=1, file=file),
                        m.FileStatus(id=client.next_id(), c=1, file=file)):
                with pytest.raises(RelayRefusedError) as exc:
                    await client.request(msg)
                assert exc.value.code == ErrorCode.FORBIDDEN
            with pytest.raises(RelayRefusedError) as exc:
                await client.request(m.FileGet(id=client.next_id(), c=0, file=file))
            assert exc.value.code == ErrorCode.NOT_FOUND
        finally:
            await client.close()
        store_raw = Path(c.store.path).read_bytes()
        assert bytes.fromhex(med.key) not in store_raw and med.key.encode() not in store_raw
        await sa.wait_synced()


async def test_an_interrupted_upload_resumes_where_it_stopped(
        relay, make_device, tmp_path: Path) -> None:
    a = await make_device("a")
    team_a = await a.create_team("Maraude Nord")
    data = plaintext(5 * MiB)  # 10 parts
    sent: list[int] = []
    blocked = asyncio.Event()
    async with await a.sync(team_a, relay.url) as sa:
        person = await team_a.persons.create(name="Personne suivie")

        async def cut_after_third(_file: str, index: int) -> None:
            sent.append(index)
            if index == 2 and sent.count(2) == 1:  # the connection drops once, here
                assert sa.documents.client is not None
                await sa.documents.client.ws.close()
            if index == 6:  # then the device stops (the process is killed) mid-upload
                blocked.set()
                await asyncio.Event().wait()

        sa.documents.after_part = cut_after_third
        doc = await team_a.documents.add(person.id, "dossier.pdf", data)
        await asyncio.wait_for(blocked.wait(), 60)
        await sa.wait_synced()  # the record itself went out
    await a.close()
    assert sent == [0, 1, 2, 3, 4, 5, 6]  # resumed after the cut: no part sent twice
    parts_at_relay = {f: p for f, _c, p, _k in relay_files(relay.db)}
    assert parts_at_relay == {doc.file: 7}

    a = await Device.open(tmp_path / "a.mano", PASS)
    try:
        team_a = await a.open_team(team_a.id)
        assert team_a.documents.uploading(doc.id)  # still owed after the restart
        async with await a.sync(team_a, relay.url) as sa:
            sa.documents.after_part = lambda _f, i: _record(sent, i)
            await eventually(lambda: not team_a.documents.uploading(doc.id), timeout=60,
                             what="the upload finishes")
        assert sent == list(range(10))
        assert relay_files(relay.db) == [(doc.file, 0, 10, 1)]
    finally:
        await a.close()


async def _record(sent: list[int], index: int) -> None:
    sent.append(index)


async def test_reading_before_the_upload_is_unavailable_not_wrong(relay, make_device) -> None:
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude Nord")
    async with await a.sync(team_a, relay.url) as sa:
        person = await team_a.persons.create(name="Personne suivie")
        team_b = await join(sa, b, relay.url)
        gate = asyncio.Event()

        async def hold(_file: str, _index: int) -> None:
            await gate.wait()

        sa.documents.after_part = hold
        doc = await team_a.documents.add(person.id, "x.pdf", plaintext(1 * MiB))
        async with await b.sync(team_b, relay.url):
            await eventually(lambda: len(team_b.documents.list()) == 1, what="b sees it")
            with pytest.raises(DocumentUnavailableError):
                await team_b.documents.read(doc.id)
            gate.set()
            await eventually(lambda: not team_a.documents.uploading(doc.id), what="uploaded")
            assert len(await team_b.documents.read(doc.id)) == 1 * MiB


async def test_an_erasure_leaves_no_file_at_the_relay_and_no_body_anywhere(
        relay, make_device) -> None:
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude Nord", health=True)
    async with await a.sync(team_a, relay.url) as sa:
        person = await team_a.persons.create(name="Personne effacée")
        kept = await team_a.persons.create(name="Personne gardée")
        assert team_a.medical is not None
        treatment = await team_a.medical.treatments.create(person=person.id, name="T")
        docs = [await team_a.documents.add(person.id, "id.pdf", plaintext(700_000)),
                await team_a.documents.add(treatment.id, "ordo.pdf", plaintext(300_000))]
        keep = await team_a.documents.add(kept.id, "garde.pdf", b"%PDF kept")
        team_b = await join(sa, b, relay.url, health=True)
        async with await b.sync(team_b, relay.url) as sb:
            await eventually(lambda: len(team_b.documents.list()) == 3, what="b has them")
            await eventually(lambda: not any(team_a.documents.uploading(d.id) for d in docs),
                             what="uploaded")
            for d in docs:
                await team_b.documents.read(d.id)
            assert len(team_b.documents.bodies.cached) == 2
            assert len(relay_files(relay.db)) == 3
            order = await team_a.erasures.erase([person.id])
            await eventually(lambda: all(t.erasures.status(order.id).complete
                                         for t in (team_a, team_b)), timeout=90,
                             what="the erasure completes")
            assert relay_files(relay.db) == [(keep.file, 0, 1, 1)]
            for device, team in ((a, team_a), (b, team_b)):
                bodies = team.documents.bodies
                assert set(bodies.cached) <= {keep.file} and not bodies.deletions, (
                    device is a, [d.file for d in docs], keep.file, bodies.cached)
                for d in docs:
                    assert await device.store.items(bodies.body_ns(d.file)) == []
                assert [d.id for d in team.documents.list()] == [keep.id]
            await sb.wait_synced()
        await sa.wait_synced()


async def test_attached_offline_then_sent_and_a_deletion_reaches_every_copy(
        relay, make_device) -> None:
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude Nord")
    person = await team_a.persons.create(name="Personne suivie")
    # never connected yet: saved here, owed to the relay
    doc = await team_a.documents.add(person.id, "photo.jpg", plaintext(900_000))
    assert team_a.documents.uploading(doc.id)
    async with await a.sync(team_a, relay.url) as sa:
        await eventually(lambda: not team_a.documents.uploading(doc.id), what="sent once online")
        team_b = await join(sa, b, relay.url)
        async with await b.sync(team_b, relay.url) as sb:
            await eventually(lambda: len(team_b.documents.list()) == 1, what="b sees it")
            await team_b.documents.read(doc.id)
            assert team_b.documents.cached(doc.id)
            await team_a.documents.delete(doc.id)
            await eventually(lambda: not team_b.documents.bodies.cached, what="b drops its copy")
            await eventually(lambda: relay_files(relay.db) == [], what="the relay deletes it")
            assert team_b.documents.list() == []
            assert await b.store.items(team_b.documents.bodies.body_ns(doc.file)) == []
            await sb.wait_synced()
        await sa.wait_synced()


async def test_a_full_quota_is_an_alert_and_the_body_stays_owed(make_device, tmp_path: Path
                                                                ) -> None:
    from tests.harness.relay import PROCESS_ARGS, RelayProcess

    proc = await RelayProcess(str(tmp_path / "small.db"), *PROCESS_ARGS,
                              "--max-team-storage", "400000").start()
    try:
        a = await make_device("a")
        team_a = await a.create_team("Maraude Nord")
        async with await a.sync(team_a, proc.url) as sa:
            person = await team_a.persons.create(name="Personne suivie")
            doc = await team_a.documents.add(person.id, "gros.pdf", plaintext(1 * MiB))
            await eventually(lambda: any(al.kind == "documents" for al in sa.state.alerts),
                             what="the refusal is alerted")
            refusal = next(al for al in sa.state.alerts if al.kind == "documents")
            assert "code 15" in refusal.detail
            assert team_a.documents.uploading(doc.id) and team_a.documents.cached(doc.id)
            await team_a.persons.create(name="Une autre")  # the session goes on
            await sa.wait_synced()
    finally:
        await proc.stop()
