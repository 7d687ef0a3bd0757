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

``open_snapshot`` and ``open_snapshot_parts`` also open a version-2 snapshot (snapshot_v2.py:
pieces under a signed manifest), its updates joined back into the one state it carries
(snapshot_join.py): the path of a snapshot merged into a document that holds something (into
an empty one, a version-2 snapshot is received as it downloads: snapshot_receive.py,
snapshot_adopt.py). Which version a device writes: snapshot_readers.py (docs/protocol.md §15).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mano_core import bounded
from mano_core.crypto import ChainState, DeviceIdentity, Keyring, MembershipLog
from mano_core.crypto._wire import signature_prefix, verify_framed
from mano_core.errors import (
    BadSignatureError,
    DecryptionError,
    MalformedEnvelopeError,
    ManoError,
    MissingKeyError,
    UnauthorizedAuthorError,
    WrongContextError,
)
from mano_core.ids import Compartment
from mano_core.sync import snapshot_v2
from mano_core.sync.snapshot_join import join

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


def snapshot_author(raw: bytes | Sequence[bytes]) -> bytes:
    """The author device named in a snapshot's header (not verified: ``open_snapshot`` does
    that), from its bytes or its parts as downloaded (the header may span several: a relay
    chooses the parts); b"" if the header is too short."""
    head = raw[:HEADER_SIZE] if isinstance(raw, bytes) else b""
    if not isinstance(raw, bytes):
        for part in raw:
            head += part[:HEADER_SIZE - len(head)]
            if len(head) >= HEADER_SIZE:
                break
    if len(head) < HEADER_SIZE:
        return b""
    return bytes(_HEADER.unpack(head)[4])


def open_snapshot(raw: bytes, *, log: MembershipLog, keyring: Keyring, team_id: bytes,
                  compartment: Compartment) -> Snapshot:
    """Verify and decrypt a snapshot (version 1 or 2); each failure raises its own
    EnvelopeError subclass (MissingKeyError if this device lacks the key)."""
    if snapshot_v2.is_v2(raw):
        return _from_v2(snapshot_v2.open_snapshot_v2(raw, log=log, keyring=keyring,
                                                     team_id=team_id, compartment=compartment))
    framed = _frame([raw])
    opening = _Opening(framed, log=log, keyring=keyring, team_id=team_id,
                       compartment=compartment)
    return opening.finish(opening.verify(), opening.decrypt())


class SnapshotFrame:
    """A snapshot's parts framed for its signature as they are downloaded (issue 24): the
    copy of the 20 MB that ``open_snapshot_parts`` would make after the last part (~15–60 ms
    on the first sync's path, most of it the fresh buffer's page faults) is made part by
    part while the device waits for the next one. Only appended to (``add``), then opened
    once: the bytes checked by the signature are the very bytes decrypted."""

    __slots__ = ("_buffer", "parts", "size")

    def __init__(self) -> None:
        self._buffer = bytearray(_PREFIX)
        self.parts = 0
        self.size = 0  # the snapshot's bytes so far

    def add(self, part: bytes) -> None:
        self._buffer += part
        self.parts += 1
        self.size += len(part)

    def header(self) -> bytes:
        """The snapshot's first bytes (its header, once that many arrived)."""
        return bytes(self._buffer[len(_PREFIX):len(_PREFIX) + HEADER_SIZE])

    def framed(self) -> bytearray:
        return self._buffer


async def open_snapshot_parts(parts: Sequence[bytes] | SnapshotFrame, *, log: MembershipLog,
                              keyring: Keyring, team_id: bytes, compartment: Compartment,
                              read_ahead: Callable[[bytes], None] | None = None) -> Snapshot:
    """``open_snapshot`` of the parts of a snapshot as downloaded (issue 24: a new device's
    first sync): one copy of them, framed for the signature (no join, then slice, then
    concatenation again), and the signature's check and the decryption run at once, each in
    a worker thread (both release the GIL: ~50 and ~15 ms at MANO scale). Same checks, same
    errors in the same order: the snapshot is returned, and anything of it is used, only once
    the signature is known good. ``read_ahead(state)``: called with the decrypted state while
    the signature is still being checked (the bounded reader of the merge to come,
    mano_core.document.preread: AEAD-authenticated bytes, read and not applied; its refusal
    is left to the merge, which reads again). ``parts`` may be a ``SnapshotFrame`` they
    were added to as they arrived. A version-2 snapshot is opened by ``_open_v2``."""
    if snapshot_v2.is_v2(_first_bytes(parts)):
        return await _open_v2(parts, log=log, keyring=keyring, team_id=team_id,
                              compartment=compartment, read_ahead=read_ahead)
    framed = parts.framed() if isinstance(parts, SnapshotFrame) else _frame(parts)
    opening = _Opening(framed, log=log, keyring=keyring, team_id=team_id,
                       compartment=compartment)
    # Both handed to the executor now, the signature first (the longer): a task started by
    # ensure_future(to_thread(...)) reached the executor only at the loop's next turn, after
    # the decryption had begun, 10-30 ms late on the first sync (issue 24).
    loop = asyncio.get_running_loop()
    verifying = loop.run_in_executor(None, opening.verify)
    try:
        body = await loop.run_in_executor(None, opening.decrypt)
        decoded: _Body | None = None
        if read_ahead is not None and body is not None:
            with contextlib.suppress(ManoError):  # judged after the signature, as without
                decoded = bounded.decode(body, _Body, error=MalformedEnvelopeError,
                                         what="snapshot body")
                read_ahead(decoded.state)
    finally:
        good = await asyncio.shield(verifying)  # (a worker thread: it runs to its end)
    return opening.finish(good, body, decoded)


_PREFIX: Final = signature_prefix(DOMAIN)


def _first_bytes(parts: Sequence[bytes] | SnapshotFrame) -> bytes:
    if isinstance(parts, SnapshotFrame):
        return parts.header()
    return next((part[:1] for part in parts if part), b"")


async def _open_v2(parts: Sequence[bytes] | SnapshotFrame, *, log: MembershipLog,
                   keyring: Keyring, team_id: bytes, compartment: Compartment,
                   read_ahead: Callable[[bytes], None] | None) -> Snapshot:
    """A version-2 snapshot's parts verified, decrypted and joined into one state in a worker
    thread (its hashing and AES-GCM release the GIL); ``read_ahead`` then, on the loop. The
    errors of snapshot_v2 and snapshot_join; nothing of it is used unless all passed."""
    if isinstance(parts, SnapshotFrame):
        raw: list[bytes | memoryview] = [memoryview(parts.framed())[len(_PREFIX):]]
    else:
        raw = list(parts)

    def opened() -> Snapshot:
        return _from_v2(snapshot_v2.open_snapshot_v2(raw, log=log, keyring=keyring,
                                                     team_id=team_id, compartment=compartment))

    # (The frame's view is not released here: on a cancellation the thread may still be
    # reading it, and release() would then raise BufferError in place of the cancellation.)
    snap = await asyncio.to_thread(opened)
    if read_ahead is not None:
        with contextlib.suppress(ManoError):  # judged by the merge, which reads again
            read_ahead(snap.state)
    return snap


def _from_v2(snap: snapshot_v2.SnapshotV2) -> Snapshot:
    return Snapshot(snap.compartment, snap.epoch, snap.author, snap.upto, join(snap.updates),
                    snap.chain)


def _frame(parts: Sequence[bytes]) -> bytes:
    """The signature's prefix followed by the snapshot's bytes, in one buffer: the signed
    message is all of it but the signature, the ciphertext a view into it."""
    return b"".join([_PREFIX, *parts])


class _Opening:
    """A snapshot's header checked (format, team and compartment, the author's right to
    write it); its signature and decryption, which ``finish`` judges in that order."""

    def __init__(self, framed: bytes | bytearray, *, log: MembershipLog, keyring: Keyring,
                 team_id: bytes, compartment: Compartment) -> None:
        view = memoryview(framed)
        raw = view[len(_PREFIX):]
        if len(raw) < HEADER_SIZE + 16 + SIG_SIZE:
            raise MalformedEnvelopeError("snapshot too short")
        self.header = bytes(raw[:HEADER_SIZE])
        version, team, c, epoch, author, upto, nonce = _HEADER.unpack(self.header)
        if version != VERSION:
            raise MalformedEnvelopeError(f"unknown snapshot version {version}")
        if team != team_id or c != int(compartment):
            raise WrongContextError("snapshot of another team or compartment")
        if not log.can_write(author, compartment, epoch):
            raise UnauthorizedAuthorError("snapshot author may not write this compartment")
        self.aead: AESGCM | None = None
        self.missing: MissingKeyError | None = None  # raised once the signature is good
        try:
            self.aead = keyring.aead(compartment, epoch)
        except MissingKeyError as exc:
            self.missing = exc
        self.compartment, self.epoch, self.author, self.upto = compartment, epoch, author, upto
        self.nonce = nonce
        self.signed = view[:len(view) - SIG_SIZE]
        self.sig = bytes(view[len(view) - SIG_SIZE:])
        self.ciphertext = raw[HEADER_SIZE:len(raw) - SIG_SIZE]

    def verify(self) -> bool:
        return verify_framed(self.author, self.sig, self.signed)

    def decrypt(self) -> bytes | None:
        """The plaintext, None if the AEAD refuses it."""
        if self.aead is None:
            return None
        try:
            return self.aead.decrypt(self.nonce, self.ciphertext, self.header)
        except InvalidTag:
            return None

    def finish(self, good: bool, body: bytes | None, decoded: _Body | None = None) -> Snapshot:
        if not good:
            raise BadSignatureError("snapshot signature does not match")
        if self.missing is not None:
            raise self.missing
        if body is None:
            raise DecryptionError("snapshot failed authentication")
        if decoded is None:
            decoded = bounded.decode(body, _Body, error=MalformedEnvelopeError,
                                     what="snapshot body")
        return Snapshot(self.compartment, self.epoch, self.author, self.upto, decoded.state,
                        ChainState.from_bytes(decoded.chain))
