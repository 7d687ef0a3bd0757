"""Encrypted presence: who is online and which record they have open. Never stored.

blob = epoch (4, big-endian) | nonce (12) | AES-256-GCM(general key of that epoch, nonce,
       msgpack {"m": member id, "v": record id or nil, "t": unix seconds},
       AD = "mano/v1/presence" | team id | sender device id)

The relay adds the sender's (authenticated) device id when it forwards a presence message, and
that id is bound into the associated data, so one member cannot speak for another device."""

from __future__ import annotations

import os
import struct
import time
from typing import Final

import msgspec
from cryptography.exceptions import InvalidTag

from mano_core import bounded
from mano_core.crypto import Keyring
from mano_core.errors import DecryptionError, MalformedEnvelopeError
from mano_core.ids import Compartment

_AD: Final = b"mano/v1/presence"
PRESENCE_INTERVAL: Final = 15.0   # seconds between heartbeats
PRESENCE_TTL: Final = 40.0        # a teammate not heard from for this long is offline


class Presence(msgspec.Struct, frozen=True):
    m: str
    v: str | None = None
    t: float = 0.0


def seal_presence(keyring: Keyring, team_id: bytes, device: bytes, epoch: int,
                  member: str, viewing: str | None, *, nonce: bytes | None = None,
                  now: float | None = None) -> bytes:
    """The presence blob of this device. ``nonce`` and ``now``: test vectors only (default
    random, and the clock)."""
    nonce = os.urandom(12) if nonce is None else nonce
    now = time.time() if now is None else now
    body = msgspec.msgpack.encode(Presence(m=member, v=viewing, t=now))
    ct = keyring.aead(Compartment.GENERAL, epoch).encrypt(nonce, body, _AD + team_id + device)
    return struct.pack(">I", epoch) + nonce + ct


def open_presence(keyring: Keyring, team_id: bytes, device: bytes, blob: bytes) -> Presence:
    """A teammate's presence; MalformedEnvelopeError, DecryptionError, MissingKeyError."""
    if len(blob) < 4 + 12 + 16:
        raise MalformedEnvelopeError("presence too short")
    (epoch,) = struct.unpack(">I", blob[:4])
    try:
        body = keyring.aead(Compartment.GENERAL, epoch).decrypt(
            blob[4:16], blob[16:], _AD + team_id + device)
    except InvalidTag:
        raise DecryptionError("presence failed authentication") from None
    return bounded.decode(body, Presence, error=MalformedEnvelopeError, what="presence body")
