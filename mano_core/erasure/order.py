"""Signed erasure orders: what is signed, and who may sign (docs/security.md, "Erasure").

An order is an ``Erasure`` record of the general document. Its signature is Ed25519, domain
``mano/v1/erasure``, over the msgpack array

    [team id (16 bytes), order id, sorted person ids, reason, issued_at (ISO 8601), device id]

so it cannot be replayed in another team, widened to other persons or re-dated. A verifier
accepts it if the signing device is (or was) an admin in the team's membership log or, for
``consent_withdrawn`` in a joint team, is the device that shared every person it names (per
the person's ``Share``, signed by that device under ``mano/v1/share`` over
``[team id, share id, person, organisation, device id, consent id]``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import msgspec

from mano_core.crypto import DeviceIdentity, MembershipLog, Role, verify_signature
from mano_core.errors import InvalidErasureOrderError
from mano_core.model.records import Erasure, Share

DOMAIN: Final = "mano/v1/erasure"
SHARE_DOMAIN: Final = "mano/v1/share"


def signed_bytes(team_id: bytes, order: Erasure) -> bytes:
    """The bytes an order's signature covers."""
    return msgspec.msgpack.encode([team_id, order.id, sorted(set(order.persons)), order.reason,
                                   order.issued_at.isoformat(), bytes.fromhex(order.device)])


def sign(identity: DeviceIdentity, team_id: bytes, order: Erasure) -> str:
    """The hex signature of ``order`` (whose ``device`` is ``identity``'s id) by ``identity``."""
    return identity.sign(signed_bytes(team_id, order), domain=DOMAIN).hex()


def share_bytes(team_id: bytes, share: Share) -> bytes:
    """The bytes a Share's signature covers: who shared whom, under which consent."""
    return msgspec.msgpack.encode([team_id, share.id, share.person, share.organisation,
                                   bytes.fromhex(share.shared_by), share.consent])


def sign_share(identity: DeviceIdentity, team_id: bytes, share: Share) -> str:
    """The hex signature of ``share`` (whose ``shared_by`` is ``identity``) by ``identity``."""
    return identity.sign(share_bytes(team_id, share), domain=SHARE_DOMAIN).hex()


def authentic_shares(team_id: bytes, shares: Iterable[Share]) -> list[Share]:
    """The shares signed by the device they name as ``shared_by`` (a member writing a Share
    that names itself cannot sign it as the real sharer, so it gains no right to erase)."""
    out = []
    for share in shares:
        try:
            device, sig = bytes.fromhex(share.shared_by), bytes.fromhex(share.signature)
        except ValueError:
            continue
        if verify_signature(device, sig, share_bytes(team_id, share), domain=SHARE_DOMAIN):
            out.append(share)
    return out


def may_order(log: MembershipLog, device: bytes, persons: Iterable[str], reason: str,
              shares: Iterable[Share]) -> bool:
    """True if ``device`` may order erasing ``persons`` for ``reason``."""
    state = log.device(device)
    if state is None:
        return False
    if state.role is Role.ADMIN:
        return True  # an admin's order stays valid after the admin leaves (it was valid then)
    if reason != "consent_withdrawn":
        return False
    shared_by = {s.person: s.shared_by for s in authentic_shares(log.team_id, shares)}
    return all(shared_by.get(p) == device.hex() for p in persons)


def verify(log: MembershipLog, order: Erasure, shares: Iterable[Share]) -> None:
    """Raise InvalidErasureOrderError unless ``order`` is signed by a device allowed to give
    it (see the module docstring)."""
    try:
        device = bytes.fromhex(order.device)
        signature = bytes.fromhex(order.signature)
    except ValueError:
        raise InvalidErasureOrderError(f"erasure {order.id}: malformed device or signature") \
            from None
    if not order.persons:
        raise InvalidErasureOrderError(f"erasure {order.id} names nobody")
    if not verify_signature(device, signature, signed_bytes(log.team_id, order), domain=DOMAIN):
        raise InvalidErasureOrderError(f"erasure {order.id}: the signature does not match")
    if not may_order(log, device, order.persons, order.reason, shares):
        raise InvalidErasureOrderError(
            f"erasure {order.id}: device {order.device[:12]}… may not order it")
