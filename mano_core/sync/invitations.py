"""Invitations over the relay.

Admin side (InvitationDesk): creating an invitation is the admin's approval; the invitation is
kept in the admin device's store and opened at the relay (``invite_open``: the verifier of the
code's relay proof, so that only a holder of the code can take its request slot) at once when
online, else at the next connection; whenever that device is online it answers the requests
made with it (at once, or when it comes back online: requests wait at the relay).
New-device side (join_via_relay): send the redeem request as a guest, wait for the answer,
then authenticate, fetch the log and the key package, and install the team."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import msgspec

from mano_core.crypto import (
    Invitation,
    entry_hash,
    Role,
    accept_request,
    invitation_id_of,
    parse_code,
    redeem_request,
    relay_proof,
)
from mano_core.errors import (
    CryptoError,
    InvitationError,
    InvitationExpiredError,
    InvitationUsedError,
    KeyPackageError,
    RelayRefusedError,
    RelayUnreachableError,
    SyncError,
)
from mano_core.ids import Compartment
from mano_core.keys_at_rest import DeviceVault, TeamKeys, join_team
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.store import LocalStore
from mano_core.sync.key_delivery import KeyDelivery
from mano_core.sync.transport import RelayClient

log = logging.getLogger("mano.sync")
AfterLogChange = Callable[[RelayClient, list[tuple[Compartment, int]]], Awaitable[None]]
JOIN_TIMEOUT: Final = 600.0  # seconds a new device waits for an admin by default
JOIN_RETRY_FIRST: Final = 0.5  # seconds before a join's second attempt (then doubled)
JOIN_RETRY_CAP: Final = 15.0   # never more than this between attempts
T = TypeVar("T")
OPEN_TIMEOUT: Final = 10.0     # seconds create() waits for the relay to open an invitation


class InvitationDesk:
    """The invitations this (admin) device created, answered when their requests arrive."""

    def __init__(self, keys: TeamKeys, store: LocalStore, key_delivery: KeyDelivery,
                 alert: Callable[[str, str], None]) -> None:
        self.keys = keys
        self.store = store
        self.key_delivery = key_delivery
        self._alert = alert
        self._ns = f"invitations/{keys.team_id.hex()}"
        self._ns_admitted = f"invitations/{keys.team_id.hex()}/admitted"
        self._lock = asyncio.Lock()
        self._client: RelayClient | None = None  # the session serve_pending last ran in

    async def create(self, *, role: str, health: bool, ttl_seconds: int) -> str:
        """A new invitation code; raises NotAdminError if this device is not an admin. The
        invitation is stored first, then opened at the relay if this device is online (else
        at its next connection: the new device's request waits until then)."""
        now = int(time.time())
        code, invitation = Invitation.create(
            self.keys.identity, self.keys.log, role=Role(role), health=health,
            expires_at=now + ttl_seconds, now=now)
        await self.store.put(self._ns, invitation.invitation_id.hex(), invitation.to_bytes())
        client = self._client
        if client is not None:
            try:
                await asyncio.wait_for(self._open(client, invitation), OPEN_TIMEOUT)
            except RelayRefusedError as exc:
                if exc.code == 0 or exc.fatal:  # the session ended: opened at the next one
                    log.info("invitation not opened at the relay yet: %s", exc)
                else:
                    self._alert("invitation", f"the relay refused an invitation: {exc}")
            except (SyncError, TimeoutError) as exc:  # offline now: opened at the next session
                log.info("invitation not opened at the relay yet: %s", exc)
        return code

    async def _open(self, client: RelayClient, invitation: Invitation) -> None:
        """Register the invitation at the relay (idempotent). Raises RelayRefusedError."""
        await client.request(m.InviteOpen(id=client.next_id(), invite=invitation.invitation_id,
                                          verifier=invitation.verifier))

    async def open_all(self, client: RelayClient) -> None:
        """Open at the relay every invitation of ours still unanswered (made offline, or
        before the relay forgot it). One the relay refuses is an alert; the others go on."""
        for key, raw in await self.store.items(self._ns):
            invitation = Invitation.from_bytes(raw)
            if invitation.expires_at <= time.time():
                await self.store.delete(self._ns, key)
                continue
            if not invitation.verifier:  # made before relay proofs: it cannot be opened
                self._alert("invitation", "an invitation made by an older version cannot be "
                            "used: make a new one")
                await self.store.delete(self._ns, key)
                continue
            try:
                await self._open(client, invitation)
            except RelayRefusedError as exc:
                if exc.fatal or exc.code == 0:
                    raise
                self._alert("invitation", f"the relay refused an invitation: {exc}")

    async def serve_pending(self, client: RelayClient, after: AfterLogChange) -> None:
        """Open our invitations at the relay, then answer the requests that waited there
        while this device was offline."""
        if not self.keys.log.is_admin(self.keys.identity.device_id):
            return
        self._client = client
        await self.open_all(client)
        (answer,) = await client.request(m.InviteList(id=client.next_id()))
        assert isinstance(answer, m.Invites)
        await self.answer(client, answer.items, after)

    async def answer(self, client: RelayClient, items: list[m.InviteItem],
                     after: AfterLogChange) -> None:
        """Admit the devices whose requests match an invitation of ours. Idempotent: the
        admission is stored before it is published, so an answer interrupted by a lost
        connection is completed, not refused as "already used", the next time."""
        async with self._lock:
            for item in items:
                if await self.store.get(self._ns, item.invite.hex()) is None:
                    continue  # another admin's invitation, or already answered
                admission = await self._admission(item)
                if admission is None:
                    continue
                await self._publish(client, admission.entry, after)
                if admission.key_package is not None:
                    # Queued durably and offered; a refusal does not hold the answer back:
                    # the new device joins and receives its keys once the relay takes them.
                    await self.key_delivery.queue({admission.device_id: admission.key_package})
                    await self.key_delivery.deliver(client, self._alert)
                await client.request(m.InviteAnswer(id=client.next_id(), invite=item.invite,
                                                    blob=admission.welcome))
                async with self.store.transaction() as tx:
                    await tx.delete(self._ns, item.invite.hex())
                    await tx.delete(self._ns_admitted, item.invite.hex())

    async def _admission(self, item: m.InviteItem) -> _Admitted | None:
        stored = await self.store.get(self._ns_admitted, item.invite.hex())
        if stored is not None:
            return msgspec.msgpack.decode(stored, type=_Admitted)
        raw = await self.store.get(self._ns, item.invite.hex())
        assert raw is not None
        try:
            a = accept_request(self.keys.identity, self.keys.log, self.keys.keyring,
                               Invitation.from_bytes(raw), item.blob, now=int(time.time()))
        except (InvitationExpiredError, InvitationUsedError):
            await self.store.delete(self._ns, item.invite.hex())
            return None
        except CryptoError:
            return None  # not made from our code: ignore this request, keep the invitation
        admitted = _Admitted(a.device_id, a.entry, a.key_package, a.welcome)
        await self.store.put(self._ns_admitted, item.invite.hex(),
                             msgspec.msgpack.encode(admitted))
        return admitted

    async def _publish(self, client: RelayClient, entry: bytes, after: AfterLogChange) -> None:
        """Put the admission entry in the relay's log and ours (each only once)."""
        if entry_hash(entry) not in {entry_hash(e) for e in self.keys.log.entries}:
            try:
                await client.request(m.LogAppend(id=client.next_id(), entries=[entry]))
            except RelayRefusedError as exc:
                if exc.code != ErrorCode.BAD_LOG_ENTRY:
                    raise  # BAD_LOG_ENTRY: the relay may already hold it; checked below
            made = await self.keys.append_entries([entry])
            await after(client, made)


class _Admitted(msgspec.Struct, frozen=True):
    device_id: bytes
    entry: bytes
    key_package: bytes | None
    welcome: bytes


async def join_via_relay(vault: DeviceVault, url: str, code: str, *,
                         timeout: float = JOIN_TIMEOUT) -> TeamKeys:
    """Redeem ``code`` through the relay at ``url``; returns the installed team's keys once an
    admin device has answered (it may be offline now: the request waits at the relay). A relay
    that cannot be reached, or a connection lost before the team is installed, is retried with
    backoff (JOIN_RETRY_FIRST doubling up to JOIN_RETRY_CAP) until ``timeout``.
    Raises InvitationError, RelayRefusedError, TimeoutError."""
    identity = await vault.identity()
    team_id, _secret = parse_code(code)
    request = redeem_request(code, identity)
    invite = invitation_id_of(request)
    async with asyncio.timeout(timeout):
        welcome = await _wait_for_answer(url, team_id, invite, request, relay_proof(code))

        async def install(client: RelayClient) -> TeamKeys:
            auth = await client.authenticate(identity, team_id)
            answers = await client.request(m.LogFetch(id=client.next_id(), after=0))
            (keys_msg,) = await client.request(m.KeyFetch(id=client.next_id()))
            entries = [e for a in answers if isinstance(a, m.LogEntries) for e in a.entries]
            if len(entries) < auth.log_length:
                raise InvitationError("the relay served an incomplete log")
            assert isinstance(keys_msg, m.Keys)
            team = await _join_with_a_package(vault, code, welcome, entries, keys_msg.items)
            if keys_msg.items:  # junk included: refused, and acknowledged away
                with contextlib.suppress(RelayRefusedError):  # else at the first sync
                    await client.request(m.KeyAck(id=client.next_id(),
                                                  kids=[i.kid for i in keys_msg.items]))
            return team

        # A connection lost before the team is installed is tried again; after it, nothing
        # raises RelayRefusedError (the key ack's is suppressed).
        return await _retrying(url, install, lambda exc: exc.code == 0)


async def _retrying(url: str, attempt: Callable[[RelayClient], Awaitable[T]],
                    again: Callable[[RelayRefusedError], bool]) -> T:
    """Connect to ``url`` and run ``attempt`` on that connection (closed after it) until it
    returns. A relay that cannot be reached, and a refusal for which ``again`` is true, are
    tried again with backoff (JOIN_RETRY_FIRST doubling up to JOIN_RETRY_CAP); anything else
    propagates. The caller bounds the whole with its timeout."""
    delay = JOIN_RETRY_FIRST
    while True:
        failure: Exception
        try:
            client = await RelayClient.connect(url)
        except RelayUnreachableError as exc:
            failure = exc
        else:
            try:
                return await attempt(client)
            except RelayRefusedError as exc:
                if not again(exc):
                    raise
                failure = exc
            finally:
                await client.close()
        delay = await _retry_later(failure, delay)


async def _retry_later(exc: Exception, delay: float) -> float:
    """Log a failed attempt, wait ``delay`` (with jitter), return the next delay."""
    log.info("join attempt failed (%s), retried in %.1f s", exc, delay)
    await asyncio.sleep(random.uniform(delay / 2, delay))
    return min(delay * 2, JOIN_RETRY_CAP)


async def _join_with_a_package(vault: DeviceVault, code: str, welcome: bytes,
                               entries: list[bytes], items: list[m.KeyItem]) -> TeamKeys:
    """Join with the first package that opens (any member may queue packages for this device:
    one that does not open must not make the join fail and waste the code), then accept the
    others that open. With none, the team is joined without keys: the admin's package arrives
    with the sync (its delivery is retried until the relay takes it)."""
    rest = list(items)
    team: TeamKeys | None = None
    while rest and team is None:
        item = rest.pop(0)
        try:
            team = await join_team(vault, code, welcome, entries, item.blob)
        except KeyPackageError as exc:
            log.warning("key package from device %s… refused: %s", item.sender.hex()[:12], exc)
    if team is None:
        team = await join_team(vault, code, welcome, entries, None)
    for item in rest:
        try:
            await team.accept_package(item.blob)
        except CryptoError as exc:
            log.warning("key package from device %s… refused: %s", item.sender.hex()[:12], exc)
    return team


async def _wait_for_answer(url: str, team_id: bytes, invite: bytes, request: bytes,
                           proof: bytes) -> bytes:
    """Send the redeem request as a guest and fetch the admin's answer, until there is one."""
    async def ask(client: RelayClient) -> bytes:
        await client.request(m.InviteRequest(id=client.next_id(), team=team_id,
                                             invite=invite, blob=request, proof=proof))
        (answer,) = await client.request(m.InviteFetch(id=client.next_id(), team=team_id,
                                                       invite=invite))
        assert isinstance(answer, m.InviteAnswer)
        return answer.blob

    # NOT_FOUND: no answer yet, or the team or the invitation has not reached the relay yet
    # (its admin was offline since making it); 0: the connection was lost.
    return await _retrying(url, ask, lambda exc: exc.fatal
                           or exc.code in (0, ErrorCode.NOT_FOUND))
