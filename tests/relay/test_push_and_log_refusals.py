"""The relay's write authorisation, request by request (sync_server/handlers.py push and log
append): each refusal answers its own request with its documented code and leaves the session
serving; the storage quota admits a push that fills it exactly. Written for the mutants a
mutation run left alive (docs/reliability.md, "Mutation testing")."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mano_core.crypto import DeviceIdentity, Role
from mano_core.crypto._wire import DOMAIN_MEMBERSHIP, ZERO_HASH
from mano_core.crypto.envelope import seal
from mano_core.errors import RelayRefusedError
from mano_core.ids import Compartment, new_id
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from sync_server.server import Relay
from tests.harness.relay import relay_config, relay_url
from tests.relay.kit import TeamKit

pytestmark = pytest.mark.timeout(180)


async def _refused(request: object) -> RelayRefusedError:
    """The refusal of one request, which must come (a refusal without its id never would)."""
    with pytest.raises(RelayRefusedError) as refused:
        await asyncio.wait_for(request, 5)  # type: ignore[arg-type]
    assert not refused.value.fatal
    return refused.value


async def test_each_refused_push_answers_its_request_and_the_session_goes_on(
        url: str, kit: TeamKit) -> None:
    await kit.client(url, "admin", create=True)
    bob = await kit.client(url, "bob")
    junk = await _refused(bob.push(b"not an envelope"))
    assert junk.code == ErrorCode.BAD_ENVELOPE and "outside" in str(junk)
    carols = await _refused(bob.push(kit["carol"].seal(b"carol's")))
    assert carols.code == ErrorCode.BAD_ENVELOPE and "not the session's" in str(carols)
    # bob (no health flag) sealing medical with a key he should not hold: the relay refuses
    medical = seal(kit["bob"].identity, kit["admin"].keyring, team_id=kit.team_id,
                   compartment=Compartment.MEDICAL, epoch=0, counter=0, prev_hash=ZERO_HASH,
                   plaintext=b"m")
    forbidden = await _refused(bob.push(medical))
    assert forbidden.code == ErrorCode.FORBIDDEN and "not allowed" in str(forbidden)
    ack = await asyncio.wait_for(bob.push(kit["bob"].seal(b"fine")), 5)
    assert ack.seq == 1
    await bob.close()


async def test_the_storage_quota_admits_a_push_that_fills_it_exactly(
        tmp_path: Path, kit: TeamKit) -> None:
    envs = [kit["admin"].seal(b"x" * 100) for _ in range(3)]
    log_bytes = sum(len(e) for e in kit.log.entries)  # the membership log counts too
    quota = log_bytes + len(envs[0]) + len(envs[1])
    async with Relay(relay_config(tmp_path, max_team_storage=quota)) as relay:
        a = await kit.client(relay_url(relay), "admin", create=True)
        assert (await a.push(envs[0])).seq == 1
        assert (await a.push(envs[1])).seq == 2  # usage == quota now
        full = await _refused(a.push(envs[2]))
        assert full.code == ErrorCode.STORAGE_FULL and "quota" in str(full)
        await a.close()


async def test_log_append_stores_an_admin_entry_and_refuses_others_with_their_code(
        url: str, kit: TeamKit) -> None:
    a = await kit.client(url, "admin", create=True)
    bob = await kit.client(url, "bob")
    newcomer = DeviceIdentity.generate()
    # an entry naming the admin as signer, signed by bob: refused, nothing stored
    built = kit.log.add_device(kit["admin"].identity, newcomer.public, member=new_id(),
                               role=Role.NORMAL, health=False)
    forged = built[:-64] + kit["bob"].identity.sign(built[:-64], domain=DOMAIN_MEMBERSHIP)
    refused = await _refused(bob.request(m.LogAppend(id=bob.next_id(), entries=[forged])))
    assert refused.code == ErrorCode.BAD_LOG_ENTRY
    entry = kit.log.add_device(kit["admin"].identity, newcomer.public, member=new_id(),
                               role=Role.NORMAL, health=False)
    kit.publish(entry)
    (ok,) = await asyncio.wait_for(a.request(m.LogAppend(id=a.next_id(), entries=[entry])), 5)
    assert isinstance(ok, m.Ok)
    (entries, *_) = await bob.request(m.LogFetch(id=bob.next_id(), after=0))
    assert isinstance(entries, m.LogEntries) and entries.entries == kit.log.entries
    stale = await _refused(a.request(m.LogAppend(id=a.next_id(), entries=[entry])))
    assert stale.code == ErrorCode.BAD_LOG_ENTRY  # the same entry again does not extend it
    for cl in (a, bob):
        await cl.close()
