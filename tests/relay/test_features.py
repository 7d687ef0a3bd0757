"""In-process relay: snapshots and pruning, key packages, invitations, presence, limits, and
the guarantee that the relay's database holds no plaintext."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from mano_core.crypto import make_key_packages
from mano_core.errors import RelayRefusedError
from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.sync.transport import RelayClient
from sync_server.server import Relay
from tests.harness.relay import relay_config
from tests.relay.kit import TeamKit

pytestmark = pytest.mark.timeout(180)


async def test_snapshot_upload_download_and_safe_pruning(tmp_path: Path, kit: TeamKit) -> None:
    cfg = relay_config(tmp_path, retention=0.0, snapshots_kept=1)
    async with Relay(cfg) as relay:
        url = f"ws://127.0.0.1:{relay.port}"
        a = await kit.client(url, "admin", create=True)
        for i in range(10):
            await a.push(kit["admin"].seal(b"e%d" % i))
        blob = kit["admin"].seal(b"S" * 2_500_000)  # ~2.5 MB: three parts
        parts = [blob[i : i + 900_000] for i in range(0, len(blob), 900_000)]
        with pytest.raises(RelayRefusedError) as exc:  # cannot claim beyond the head
            await a.request(m.SnapshotPut(id=a.next_id(), c=0, upto=11, part=0, last=True,
                                          data=b"x"))
        assert exc.value.code == ErrorCode.CONFLICT
        rid = a.next_id()
        futs = [a.start(m.SnapshotPut(id=rid, c=0, upto=6, part=i, last=i == len(parts) - 1,
                                      data=p)) for i, p in enumerate(parts[:1])]
        for i, p in enumerate(parts[1:], start=1):
            a.conn.send(m.SnapshotPut(id=rid, c=0, upto=6, part=i, last=i == len(parts) - 1,
                                      data=p))
            for f in a.conn.data_to_send():
                await a.ws.send(f)
        (ok,) = await futs[0]
        assert isinstance(ok, m.Ok)
        got = await a.request(m.SnapshotGet(id=a.next_id(), c=0))
        assert b"".join(x.data for x in got) == blob  # type: ignore[attr-defined]
        assert {x.upto for x in got} == {6}  # type: ignore[attr-defined]
        # retention 0 and one snapshot kept: 1..6 pruned; "after 3" must fetch the snapshot
        b = await kit.client(url, "bob")
        with pytest.raises(RelayRefusedError) as exc:
            await b.subscribe(0, 3)
        assert exc.value.code == ErrorCode.PRUNED
        caught = await b.subscribe(0, 6)
        assert caught.seq == 10
        seqs = []
        while not b.inbox.empty():
            msg = b.inbox.get_nowait()
            assert isinstance(msg, m.Deliver)
            seqs += [s for s, _ in msg.items]
        assert seqs == [7, 8, 9, 10]
        with pytest.raises(RelayRefusedError) as exc:  # bob has no medical access
            await b.request(m.SnapshotGet(id=b.next_id(), c=1))
        assert exc.value.code == ErrorCode.FORBIDDEN
        await a.close()
        await b.close()


async def test_a_snapshot_is_sent_in_order_and_refused_once_replaced(
        tmp_path: Path, kit: TeamKit, monkeypatch: pytest.MonkeyPatch) -> None:
    """A multi-part snapshot arrives whole and in order, each part read once; one replaced
    during the download (a purge) is refused NOT_FOUND after the parts already sent (issue
    24: a read of the next part beside the send was tried, and would have to keep this)."""
    async with Relay(relay_config(tmp_path)) as relay:
        url = f"ws://127.0.0.1:{relay.port}"
        a = await kit.client(url, "admin", create=True)
        for i in range(4):
            await a.push(kit["admin"].seal(b"e%d" % i))
        blob = kit["admin"].seal(bytes(range(256)) * 12_000)  # ~3 MB: four parts
        step = -(-len(blob) // 4)
        rid = a.next_id()
        for i in range(3):
            a._send(m.SnapshotPut(id=rid, c=0, upto=3, part=i, last=False,
                                  data=blob[i * step:(i + 1) * step]))
        (ok,) = await a.request(m.SnapshotPut(id=rid, c=0, upto=3, part=3, last=True,
                                              data=blob[3 * step:]))
        assert isinstance(ok, m.Ok)
        storage = relay.storage
        read, gone = [], set()
        real = storage.snapshot_part

        async def reading(sid: int, part: int) -> bytes | None:
            read.append(part)
            return None if part in gone else await real(sid, part)
        monkeypatch.setattr(storage, "snapshot_part", reading)
        got = await a.request(m.SnapshotGet(id=a.next_id(), c=0))
        assert [x.part for x in got] == [0, 1, 2, 3] == read  # type: ignore[attr-defined]
        assert b"".join(x.data for x in got) == blob  # type: ignore[attr-defined]
        read.clear()
        gone.add(2)  # replaced (a purge) after the first two parts were read
        arrived: list[int] = []
        with pytest.raises(RelayRefusedError) as exc:
            await a.request(m.SnapshotGet(id=a.next_id(), c=0),
                            on_part=lambda x: arrived.append(x.part))  # type: ignore[attr-defined]
        assert exc.value.code == ErrorCode.NOT_FOUND
        assert arrived == [0, 1] and read[:3] == [0, 1, 2]
        await a.close()


async def test_the_catchup_plan_counts_the_bytes_behind_and_after_the_snapshot(
        tmp_path: Path, kit: TeamKit) -> None:
    # docs/protocol.md §4a: ``behind`` is every envelope after the cursor, ``tail`` those
    # after the snapshot's ``upto`` too (the relay sums the tail over its own range).
    async with Relay(relay_config(tmp_path)) as relay:
        url = f"ws://127.0.0.1:{relay.port}"
        a = await kit.client(url, "admin", create=True)
        sizes = []
        for i in range(8):
            envelope = kit["admin"].seal(b"e" * (100 * (i + 1)))
            sizes.append(len(envelope))
            await a.push(envelope)
        snapshot = kit["admin"].seal(b"S" * 1000)
        await a.request(m.SnapshotPut(id=a.next_id(), c=0, upto=5, part=0, last=True,
                                      data=snapshot))
        for after, tail in [(0, sum(sizes[5:])), (3, sum(sizes[5:])), (5, sum(sizes[5:])),
                            (6, sum(sizes[6:])), (8, 0)]:
            plan = await a.catchup_plan(0, after)
            assert (plan.head, plan.upto, plan.size) == (8, 5, len(snapshot)), after
            assert plan.behind == sum(sizes[after:]), after
            assert plan.tail == tail, after
        await a.close()


async def _put(client, kit: TeamKit, upto: int, body: bytes, *, spare: bool,
               parts: int = 1) -> list[m.Message]:
    """Upload one snapshot in ``parts`` parts (all sent before the answer is awaited, as a
    device does), return the answer."""
    blob = kit["admin"].seal(body)
    step = -(-len(blob) // parts)
    pieces = [blob[i:i + step] for i in range(0, len(blob), step)]
    rid = client.next_id()
    for i, piece in enumerate(pieces[:-1]):
        client._send(m.SnapshotPut(id=rid, c=0, upto=upto, part=i, last=False, data=piece,
                                   spare=spare))
    return await client.request(m.SnapshotPut(id=rid, c=0, upto=upto, part=len(pieces) - 1,
                                              last=True, data=pieces[-1], spare=spare))


async def test_a_spare_snapshot_is_not_stored_when_one_as_new_is(tmp_path: Path,
                                                                 kit: TeamKit) -> None:
    # Every device at the head uploads a snapshot of the same upto at once: a spare one is
    # refused (CONFLICT) once one as new is stored, its parts ignored; an erasure's (not
    # spare) still replaces it, as the purge needs.
    async with Relay(relay_config(tmp_path)) as relay:
        url = f"ws://127.0.0.1:{relay.port}"
        a = await kit.client(url, "admin", create=True)
        team = kit.team_id
        for i in range(6):
            await a.push(kit["admin"].seal(b"e%d" % i))
        (ok,) = await _put(a, kit, 4, b"first", spare=True)
        assert isinstance(ok, m.Ok)
        first = await relay.storage.newest_snapshot(team, 0)
        assert first is not None and first.upto == 4
        for upto in (4, 3):  # as new, older: refused at part 0, the three parts ignored
            with pytest.raises(RelayRefusedError) as exc:
                await _put(a, kit, upto, b"again" * 1000, spare=True, parts=3)
            assert exc.value.code == ErrorCode.CONFLICT
            assert "a snapshot up to 4 exists" in str(exc.value)
        assert (await relay.storage.newest_snapshot(team, 0)) == first
        (ok,) = await _put(a, kit, 5, b"newer", spare=True)  # a newer one is stored
        assert isinstance(ok, m.Ok)
        newer = await relay.storage.newest_snapshot(team, 0)
        assert newer is not None and newer.upto == 5 and newer.sid != first.sid
        (ok,) = await _put(a, kit, 5, b"erased", spare=False)  # an erasure's: replaces
        assert isinstance(ok, m.Ok)
        erased = await relay.storage.newest_snapshot(team, 0)
        assert erased is not None and erased.upto == 5 and erased.sid != newer.sid
        got = await a.request(m.SnapshotGet(id=a.next_id(), c=0))
        assert len(b"".join(x.data for x in got)) == erased.size == newer.size + 1  # "erased"
        await a.close()


async def test_a_spare_snapshot_is_not_stored_while_a_teammate_uploads_one_covering_it(
        tmp_path: Path, kit: TeamKit) -> None:
    async with Relay(relay_config(tmp_path)) as relay:
        url = f"ws://127.0.0.1:{relay.port}"
        a = await kit.client(url, "admin", create=True)
        b = await kit.client(url, "bob")
        for i in range(6):
            await a.push(kit["admin"].seal(b"e%d" % i))
        # a's upload up to 5 is in progress (part 0 of 2 stored, the last not sent yet)
        blob = kit["admin"].seal(b"S" * 5000)
        rid = a.next_id()
        a._send(m.SnapshotPut(id=rid, c=0, upto=5, part=0, last=False, data=blob[:2000],
                              spare=True))
        await a.request(m.HeadGet(id=a.next_id(), c=0))  # (answered after part 0: in order)
        with pytest.raises(RelayRefusedError) as exc:
            await _put(b, kit, 5, b"bob's", spare=True, parts=2)
        assert exc.value.code == ErrorCode.CONFLICT
        assert "an upload up to 5 is in progress" in str(exc.value)
        with pytest.raises(RelayRefusedError) as exc:  # an older one: the same
            await _put(b, kit, 4, b"bob's", spare=True)
        assert exc.value.code == ErrorCode.CONFLICT
        assert "in progress" in str(exc.value)
        (ok,) = await a.request(m.SnapshotPut(id=rid, c=0, upto=5, part=1, last=True,
                                              data=blob[2000:], spare=True))
        assert isinstance(ok, m.Ok)
        with pytest.raises(RelayRefusedError) as exc:  # b again: one as new is stored now
            await _put(b, kit, 5, b"bob's", spare=True)
        assert exc.value.code == ErrorCode.CONFLICT
        stored = await relay.storage.newest_snapshot(kit.team_id, 0)
        assert stored is not None and stored.upto == 5 and stored.size == len(blob)
        await a.close()
        await b.close()


async def test_key_packages_wait_for_their_device(url: str, kit: TeamKit) -> None:
    a = await kit.client(url, "admin", create=True)
    pkgs = make_key_packages(kit["admin"].identity, kit["admin"].log, kit["admin"].keyring)
    pkg = pkgs[kit["bob"].id]
    await a.request(m.KeyPut(id=a.next_id(), to=kit["bob"].id, blob=pkg))
    b = await kit.client(url, "bob")
    (keys,) = await b.request(m.KeyFetch(id=b.next_id()))
    assert isinstance(keys, m.Keys) and [k.blob for k in keys.items] == [pkg]
    assert keys.items[0].sender == kit["admin"].id
    await a.request(m.KeyPut(id=a.next_id(), to=kit["bob"].id, blob=b"live"))
    live = await b.recv(timeout=30)
    assert isinstance(live, m.Keys) and live.items[0].blob == b"live"
    await b.request(m.KeyAck(id=b.next_id(), kids=[k.kid for k in keys.items]))
    (left,) = await b.request(m.KeyFetch(id=b.next_id()))
    assert [k.blob for k in left.items] == [b"live"]  # type: ignore[attr-defined]
    await a.close()
    await b.close()


async def test_invitation_request_waits_for_an_admin(url: str, kit: TeamKit) -> None:
    a = await kit.client(url, "admin", create=True)
    invite, proof = b"I" * 16, b"P" * 32
    await a.request(m.InviteOpen(id=a.next_id(), invite=invite,
                                 verifier=hashlib.sha256(proof).digest()))
    await a.close()
    guest = await RelayClient.connect(url)  # not a member: no auth
    await guest.request(m.InviteRequest(id=guest.next_id(), team=kit.team_id, invite=invite,
                                        blob=b"join request", proof=proof))
    answer = guest.start(m.InviteFetch(id=guest.next_id(), team=kit.team_id, invite=invite))
    b = await kit.client(url, "bob")  # not an admin
    with pytest.raises(RelayRefusedError):
        await b.request(m.InviteList(id=b.next_id()))
    a = await kit.client(url, "admin")  # the admin comes online later
    (pending,) = await a.request(m.InviteList(id=a.next_id()))
    assert [(i.invite, i.blob) for i in pending.items] == [(invite, b"join request")]  # type: ignore[attr-defined]
    await a.request(m.InviteAnswer(id=a.next_id(), invite=invite, blob=b"welcome"))
    (got,) = await asyncio.wait_for(answer, 5)
    assert isinstance(got, m.InviteAnswer) and got.blob == b"welcome"
    for c in (a, b, guest):
        await c.close()


async def test_presence_reaches_live_teammates_and_is_not_stored(url: str, kit: TeamKit) -> None:
    a = await kit.client(url, "admin", create=True)
    b = await kit.client(url, "bob")
    a._send(m.Presence(blob=b"encrypted presence"))
    msg = await b.recv(timeout=30)
    assert msg == m.Presence(blob=b"encrypted presence", device=kit["admin"].id)
    await a.close()
    await b.close()


async def test_forbidden_pushes(url: str, kit: TeamKit) -> None:
    a = await kit.client(url, "admin", create=True)
    b = await kit.client(url, "bob")
    with pytest.raises(RelayRefusedError) as exc:  # bob pushes the admin's envelope
        await b.push(kit["admin"].seal(b"not yours"))
    assert exc.value.code == ErrorCode.BAD_ENVELOPE
    with pytest.raises(RelayRefusedError) as exc:
        await b.push(b"\x01" * 300)
    assert exc.value.code == ErrorCode.BAD_ENVELOPE
    with pytest.raises(RelayRefusedError) as exc:  # bob has no medical access
        await b.subscribe(1, 0)
    assert exc.value.code == ErrorCode.FORBIDDEN
    assert (await b.push(kit["bob"].seal(b"mine"))).seq == 1  # session still usable
    await a.close()
    await b.close()


async def test_bad_signature_and_unknown_team(url: str, kit: TeamKit) -> None:
    c = await RelayClient.connect(url)
    with pytest.raises(RelayRefusedError) as exc:
        await c.authenticate(kit["admin"].identity, kit.team_id)  # no genesis, unknown team
    assert exc.value.code == ErrorCode.UNKNOWN_TEAM
    other = TeamKit()
    c = await RelayClient.connect(url)
    with pytest.raises(RelayRefusedError) as exc:  # a genesis of another team
        await c.authenticate(kit["admin"].identity, kit.team_id, other.log.entries)
    assert exc.value.code == ErrorCode.AUTH_FAILED


async def test_limits_rate_storage_connections_slow_consumer(tmp_path: Path, kit: TeamKit) -> None:
    log_bytes = sum(len(e) for e in kit.log.entries)  # the membership log counts too
    cfg = relay_config(tmp_path, rate=1.0, burst=30, max_team_storage=log_bytes + 3000,
                       max_connections_per_team=3, send_buffer=64 * 1024,
                       shutdown_timeout=1.0)
    async with Relay(cfg) as relay:
        url = f"ws://127.0.0.1:{relay.port}"
        a = await kit.client(url, "admin", create=True)
        await a.push(kit["admin"].seal(b"x" * 1000))
        with pytest.raises(RelayRefusedError) as exc:
            await a.push(kit["admin"].seal(b"y" * 2500))
        assert exc.value.code == ErrorCode.STORAGE_FULL
        b = await kit.client(url, "bob")
        c = await kit.client(url, "carol")
        with pytest.raises(RelayRefusedError) as exc:
            await kit.client(url, "bob")
        assert exc.value.code == ErrorCode.TOO_MANY_CONNECTIONS
        # rate: the bucket is per device, burst 30
        for _ in range(40):
            c._send(m.Presence(blob=b"p"))
        await asyncio.wait_for(c.ws.wait_closed(), 5)
        assert c.ws.close_code == 4000 + ErrorCode.RATE_LIMITED
        # slow consumer: bob stops reading; the relay disconnects him, admin is unaffected
        await b.subscribe(0, 0)
        b.ws.transport.pause_reading()
        big = kit["admin"].seal(b"z" * 200)
        for t in relay.teams.values():
            t.usage = 0
        frame = b"\x00" * 60_000
        for session in list(relay.sessions):  # flood bob's socket directly
            if session.device == kit["bob"].id:
                for _ in range(200):
                    if not session.write(frame):
                        break
                assert session.closing
        assert relay.metrics.rejections["slow_consumer"] == 1
        assert (await a.push(big)).seq == 2
        await a.close()
        b.ws.transport.abort()


async def test_relay_database_holds_no_plaintext(tmp_path: Path, kit: TeamKit) -> None:
    secrets_ = [b"Jean-Baptiste DUPONT-MARCHAND", b"HIV+ viral load 12000",
                b"sleeps under Pont Neuf"]
    cfg = relay_config(tmp_path)
    async with Relay(cfg) as relay:
        url = f"ws://127.0.0.1:{relay.port}"
        a = await kit.client(url, "admin", create=True)
        envs = [kit["admin"].seal(s) for s in secrets_]
        envs.append(kit["admin"].seal(secrets_[1], c=Compartment.MEDICAL))
        for e in envs:
            await a.push(e)
        snap = kit["admin"].seal(b" / ".join(secrets_))
        await a.request(m.SnapshotPut(id=a.next_id(), c=0, upto=3, part=0, last=True, data=snap))
        await a.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("relay.db*"))
    assert envs[0] in raw and snap in raw  # the test can fail: the ciphertext is there
    for s in secrets_:
        for form in (s, s.lower(), s.decode().encode("utf-16-le")):
            assert form not in raw
