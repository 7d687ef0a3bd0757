"""Junk invitation requests against a relay subprocess (issue 17, item 7), while a legitimate
pair of another team keeps syncing and the relay's memory stays bounded.

Was: 100 requests under random invitation ids, needing only the team id (the first 16 bytes of
every code), filled the team's pending requests for 7 days and every new join got TOO_LARGE.
Now a request takes a slot only with the relay proof of an invitation its admin opened, and
each invitation holds one request."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection

from mano_core.crypto import DeviceIdentity, Invitation, Role, redeem_request, relay_proof
from mano_core.errors import RelayRefusedError
from mano_core.protocol import codec
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from tests.adversarial.hostile import MiB, Bystanders, hello, raw, relay_process, rss
from tests.relay.kit import TeamKit

pytestmark = pytest.mark.timeout(300)

JUNK_CONNECTIONS = 10   # guests of one address (its cap is 16)
JUNK_PER_CONNECTION = 25


async def answers(ws: ClientConnection, n: int) -> list[m.Message]:
    """The next ``n`` answers (ok / error) the relay sends on ``ws``."""
    got: list[m.Message] = []
    async with asyncio.timeout(30):
        while len(got) < n:
            msg = codec.decode(await ws.recv())  # type: ignore[arg-type]
            if isinstance(msg, (m.Ok, m.Error)):
                got.append(msg)
    return got


async def test_junk_invitation_requests_take_no_slot_and_block_no_join(tmp_path: Path) -> None:
    async with relay_process(tmp_path) as proc:
        async with Bystanders(proc.url) as others:
            before, seen = rss(proc), others.received
            victim = TeamKit()
            admin = await victim.client(proc.url, "admin", create=True)
            now = int(time.time())
            code, invitation = Invitation.create(
                victim["admin"].identity, victim.log, role=Role.NORMAL, health=False,
                expires_at=now + 3600, now=now)
            await admin.request(m.InviteOpen(id=admin.next_id(), invite=invitation.invitation_id,
                                             verifier=invitation.verifier))
            # An attacker knows the team id (and, say, the invitation id from a log line).
            guests = await asyncio.gather(*(raw(proc.url) for _ in range(JUNK_CONNECTIONS)))

            async def flood(ws: ClientConnection, k: int) -> list[m.Message]:
                await hello(ws)
                for i in range(JUNK_PER_CONNECTION):
                    if i % 5 == 0:  # the real invitation's id with a made-up proof
                        invite, proof = invitation.invitation_id, os.urandom(32)
                    else:           # ids nobody opened (with or without a proof)
                        invite, proof = os.urandom(16), os.urandom(32) if i % 2 else b""
                    await ws.send(codec.encode(m.InviteRequest(
                        id=i + 1, team=victim.team_id, invite=invite,
                        blob=b"junk %d/%d" % (k, i), proof=proof)))
                return await answers(ws, JUNK_PER_CONNECTION)

            results = await asyncio.gather(*(flood(ws, k) for k, ws in enumerate(guests)))
            codes = {(r.code, r.fatal) for rs in results for r in rs
                     if isinstance(r, m.Error)}
            assert not [r for rs in results for r in rs if isinstance(r, m.Ok)]
            assert codes == {(ErrorCode.NOT_FOUND, False), (ErrorCode.FORBIDDEN, False)}
            (pending,) = await admin.request(m.InviteList(id=admin.next_id()))
            assert isinstance(pending, m.Invites) and pending.items == []

            # The holder of the code still gets in: its request takes the invitation's slot.
            newcomer = DeviceIdentity.generate()
            request = redeem_request(code, newcomer)
            real = await raw(proc.url)
            await hello(real)
            await real.send(codec.encode(m.InviteRequest(
                id=1, team=victim.team_id, invite=invitation.invitation_id, blob=request,
                proof=relay_proof(code))))
            assert await answers(real, 1) == [m.Ok(id=1)]
            (pending,) = await admin.request(m.InviteList(id=admin.next_id()))
            assert isinstance(pending, m.Invites)
            assert [(i.invite, i.blob) for i in pending.items] == [
                (invitation.invitation_id, request)]
            # The slot is the invitation's: even the right proof cannot put a second request.
            await real.send(codec.encode(m.InviteRequest(
                id=2, team=victim.team_id, invite=invitation.invitation_id, blob=b"another",
                proof=relay_proof(code))))
            (second,) = await answers(real, 1)
            assert isinstance(second, m.Error) and second.code == ErrorCode.CONFLICT

            for ws in [*guests, real]:
                ws.transport.abort()
            await admin.close()
            await others.still_flowing(seen)
            assert rss(proc) - before < 20 * MiB


async def test_only_an_admin_opens_an_invitation_and_only_once_per_verifier(
    tmp_path: Path,
) -> None:
    async with relay_process(tmp_path) as proc:
        async with Bystanders(proc.url) as others:
            seen = others.received
            kit = others.kit
            bob = await kit.client(proc.url, "bob")  # a member, not an admin
            invite, verifier = os.urandom(16), hashlib.sha256(b"p" * 32).digest()
            with pytest.raises(RelayRefusedError) as refused:
                await bob.request(m.InviteOpen(id=bob.next_id(), invite=invite,
                                               verifier=verifier))
            assert refused.value.code == ErrorCode.FORBIDDEN and not refused.value.fatal
            admin = others.a
            await admin.request(m.InviteOpen(id=admin.next_id(), invite=invite,
                                             verifier=verifier))
            await admin.request(m.InviteOpen(id=admin.next_id(), invite=invite,
                                             verifier=verifier))  # again: accepted
            with pytest.raises(RelayRefusedError) as refused:
                await admin.request(m.InviteOpen(id=admin.next_id(), invite=invite,
                                                 verifier=hashlib.sha256(b"q").digest()))
            assert refused.value.code == ErrorCode.CONFLICT
            await bob.close()
            await others.still_flowing(seen)
