"""Which snapshot version a device writes (docs/protocol.md §15, "Which snapshot version a
device writes"): version 2 only once every device that may read the compartment has said,
under its own signature, that it reads version 2; else version 1, which every device reads.

The statement is a value of the general document's root map ``snapshotReaders`` (``ROOT``),
at the key of the device's id in hex: ``STATEMENT_VERSION (u8) | highest snapshot version it
reads (u8) | Ed25519 signature (64)`` by that device of ``DOMAIN 0x00 || team id (16) ||
device id (32) || the first two bytes``. Each device writes its own once it is at the head
(``state``/``write_own``); a writer checks every active device with access to the compartment
(``writes_v2``) against the membership log's keys. A statement that is absent, malformed, of
another device or team, or whose signature fails counts as "reads version 1 only": the safe
side (a v1 snapshot costs only speed). It is bound to no time, by decision (docs/security.md,
"Reader statements"): it states a capability that only grows, so a replay puts back only
what the device itself signed; a stale one costs availability, never data.

Why the document and not the membership log: every device and the relay verify the log
strictly, and a device of an older version stops at the first entry it does not know (as
with ``set_kem_key``, docs/security.md §4); the very devices that read only version 1 would
stop syncing. Older devices ignore a root map they do not know (as the JavaScript client
does), and any role may write it (mano_core/rules/remote.py guards named roots only).
Why not both versions uploaded for a while: twice the relay's snapshot bytes for as long as
one old device is in the team, and the relay's pruning counts two snapshots of one ``upto``
as the two it keeps before pruning (docs/protocol.md §6)."""

from __future__ import annotations

import struct
from typing import Any, Final

from pycrdt import Map

from mano_core.crypto import DeviceIdentity, MembershipLog
from mano_core.crypto.identity import verify_signature
from mano_core.ids import Compartment

ROOT: Final = "snapshotReaders"
DOMAIN: Final = "mano/v1/snapshot-reader"
STATEMENT_VERSION: Final = 1
READS: Final = 2                   # the highest snapshot version this version reads
# A device writes its statement once the general compartment's tail or state (as the snapshot
# policy counts them) reach this: below it no snapshot is due (SNAPSHOT_MIN_TAIL), and a
# statement would be one more envelope from every device of every small team. A writer that
# does not find a statement writes version 1: the safe side.
STATE_AFTER_BYTES: Final = 64 * 1024
_BODY = struct.Struct(">BB")
STATEMENT_SIZE: Final = _BODY.size + 64

__all__ = ["DOMAIN", "READS", "ROOT", "STATEMENT_SIZE", "STATE_AFTER_BYTES", "reads", "stated",
           "statement", "writes_v2"]


def statement(identity: DeviceIdentity, team_id: bytes, version: int = READS) -> bytes:
    """This device's signed statement that it reads snapshots up to ``version``."""
    body = _BODY.pack(STATEMENT_VERSION, version)
    return body + identity.sign(team_id + identity.device_id + body, domain=DOMAIN)


def reads(raw: Any, *, team_id: bytes, device_id: bytes) -> int:
    """The highest snapshot version a statement says ``device_id`` reads; 1 for anything that
    is not its well-signed statement in this team (never raises)."""
    if not isinstance(raw, bytes | bytearray) or len(raw) != STATEMENT_SIZE:
        return 1  # (pycrdt gives a binary value back as a bytearray)
    body, signature = bytes(raw[:_BODY.size]), bytes(raw[_BODY.size:])
    version, read = _BODY.unpack(body)
    if version != STATEMENT_VERSION or not verify_signature(
            device_id, signature, team_id + device_id + body, domain=DOMAIN):
        return 1
    return int(read)


def writes_v2(readers: Map[Any] | dict[str, Any], log: MembershipLog, *, me: bytes,
              team_id: bytes, compartment: Compartment) -> bool:
    """Whether a snapshot of ``compartment`` may be version 2: every active device that may
    read it (``me`` aside) has a statement in ``readers`` (the ``ROOT`` map) that it reads
    version 2."""
    for device in log.active_devices():
        if device.device_id == me or not device.has_access(compartment):
            continue
        raw = readers.get(device.device_id.hex())
        if reads(raw, team_id=team_id, device_id=device.device_id) < 2:
            return False
    return True


def stated(readers: Map[Any] | dict[str, Any], *, me: bytes, team_id: bytes) -> bool:
    """Whether ``readers`` holds this device's statement of the version it reads now."""
    return reads(readers.get(me.hex()), team_id=team_id, device_id=me) >= READS
