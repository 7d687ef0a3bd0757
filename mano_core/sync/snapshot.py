"""Encrypted, signed snapshots: a compartment's whole state "covering relay sequence ≤ upto".

Layout (all integers big-endian), before the relay's chunking (docs/protocol.md §6):

    header   version 0x01 (1) | team (16) | compartment (1) | epoch (4) | author (32)
             | upto (8) | nonce (12)                                        = 74 bytes
    body     AES-256-GCM(content key of (compartment, epoch), nonce, plaintext, AD = header)
    sig      Ed25519 of "mano/v1/snapshot" 0x00 || header || body by the author  (64)

plaintext = msgpack {"state": the document's state as one update,
                     "chain": the author's ChainState of that compartment (the last counter and
                              hash of every author whose envelopes the state includes)}

A receiver checks, in order: format, team and compartment, that the author may write that
compartment at that epoch per the membership log, the signature, then decrypts. The chain it
carries becomes the receiver's chain state, so envelopes delivered after ``upto`` must continue
each author's chain: a snapshot that does not cover what it claims shows up as a chain gap.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Final

import msgspec
from cryptography.exceptions import InvalidTag

from mano_core import bounded
from mano_core.crypto import ChainState, DeviceIdentity, Keyring, MembershipLog
from mano_core.crypto import verify_signature
from mano_core.errors import (
    BadSignatureError,
    DecryptionError,
    MalformedEnvelopeError,
    UnauthorizedAuthorError,
    WrongContextError,
)
from mano_core.ids import Compartment

VERSION: Final = 1
DOMAIN: Final = "mano/v1/snapshot"
_HEADER = struct.Struct(">B16sBI32sQ12s")
HEADER_SIZE: Final = _HEADER.size
SIG_SIZE: Final = 64


class _Body(msgspec.Struct, frozen=True):
    state: bytes
    chain: bytes


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A verified, decrypted snapshot."""

    compartment: Compartment
    epoch: int
    author: bytes
    upto: int
    state: bytes
    chain: ChainState


def seal_snapshot(identity: DeviceIdentity, keyring: Keyring, *, team_id: bytes,
                  compartment: Compartment, epoch: int, upto: int, state: bytes,
                  chain: ChainState, nonce: bytes | None = None) -> bytes:
    """Encrypt and sign a snapshot. Raises MissingKeyError without the epoch's key.
    ``nonce``: test vectors only (default random)."""
    nonce = os.urandom(12) if nonce is None else nonce
    header = _HEADER.pack(VERSION, team_id, int(compartment), epoch, identity.device_id, upto,
                          nonce)
    body = msgspec.msgpack.encode(_Body(state=state, chain=chain.to_bytes()))
    ciphertext = keyring.aead(compartment, epoch).encrypt(nonce, body, header)
    return header + ciphertext + identity.sign(header + ciphertext, domain=DOMAIN)


def snapshot_author(raw: bytes) -> bytes:
    """The author device named in a snapshot's header (not verified: ``open_snapshot`` does
    that); b"" if the header is too short."""
    if len(raw) < HEADER_SIZE:
        return b""
    return bytes(_HEADER.unpack(raw[:HEADER_SIZE])[4])


def open_snapshot(raw: bytes, *, log: MembershipLog, keyring: Keyring, team_id: bytes,
                  compartment: Compartment) -> Snapshot:
    """Verify and decrypt a snapshot; each failure raises its own EnvelopeError subclass
    (MissingKeyError if this device lacks the key)."""
    if len(raw) < HEADER_SIZE + 16 + SIG_SIZE:
        raise MalformedEnvelopeError("snapshot too short")
    header, ciphertext, sig = raw[:HEADER_SIZE], raw[HEADER_SIZE:-SIG_SIZE], raw[-SIG_SIZE:]
    version, team, c, epoch, author, upto, nonce = _HEADER.unpack(header)
    if version != VERSION:
        raise MalformedEnvelopeError(f"unknown snapshot version {version}")
    if team != team_id or c != int(compartment):
        raise WrongContextError("snapshot of another team or compartment")
    if not log.can_write(author, compartment, epoch):
        raise UnauthorizedAuthorError("snapshot author may not write this compartment")
    if not verify_signature(author, sig, header + ciphertext, domain=DOMAIN):
        raise BadSignatureError("snapshot signature does not match")
    try:
        body = keyring.aead(compartment, epoch).decrypt(nonce, ciphertext, header)
    except InvalidTag:
        raise DecryptionError("snapshot failed authentication") from None
    decoded = bounded.decode(body, _Body, error=MalformedEnvelopeError, what="snapshot body")
    return Snapshot(compartment, epoch, author, upto, decoded.state,
                    ChainState.from_bytes(decoded.chain))
