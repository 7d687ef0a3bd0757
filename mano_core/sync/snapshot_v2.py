"""Version-2 snapshots: a compartment's state as separately encrypted pieces listed in a signed
manifest, which a receiver checks and can apply one by one as they arrive (issue 24: a new
device's first sync). Sans-I/O: bytes in, checked pieces out.

Layout (integers big-endian), before the relay's chunking (docs/protocol.md §6, §15):

    header    version 0x02 (1) | team (16) | compartment (1) | epoch (4) | author (32)
              | upto (8) | nonce (12) | piece count n (4)                     = 78 bytes
    table     n × (ciphertext length (4) | SHA-256 of the ciphertext (32))     = 36·n bytes
    sig       Ed25519 by the author of "mano/v1/snapshot-manifest" 0x00 || header || table
    pieces    the n ciphertexts, in order, each as long as the table says

    piece i   AES-256-GCM(content key of (compartment, epoch), nonce XOR i, plaintext i,
                          AD = header || i (4))
    plaintext 0: the author's chain state of that compartment (``ChainState.to_bytes``);
              1 … n−1: the document's state as v1 updates in ``document.pieces.cut``'s order
              (each integrates at once into a document holding the ones before it)

The header's first 74 bytes are laid out as version 1's (``snapshot.snapshot_author`` reads
both). A receiver checks the manifest as soon as its bytes are in (format and limits, team and
compartment, that the author may write it per the membership log, the signature over a few
hundred bytes instead of the whole state), then each piece as it completes: its hash against
the manifest before its decryption. Errors, each refusing the whole snapshot:

- ``MalformedEnvelopeError``: not a version-2 header, fewer than 2 or more than
  ``limits.MAX_SNAPSHOT_PIECES`` pieces, a piece shorter than its tag, more than
  ``limits.MAX_SNAPSHOT_SIZE`` bytes in all, bytes after the last piece (extra), the download
  ended before the last piece (truncated), a chain state that does not decode;
- ``WrongContextError``, ``UnauthorizedAuthorError``, ``BadSignatureError`` for the manifest,
  then ``MissingKeyError`` (this device lacks the epoch's key), in that order, as version 1;
- ``SnapshotPieceError`` (a ``BadSignatureError``): a piece whose SHA-256 is not the one the
  author signed (forged, altered or out of order), or whose AES-GCM tag fails.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mano_core.crypto import ChainState, DeviceIdentity, Keyring, MembershipLog
from mano_core.crypto._wire import signature_prefix, verify_framed
from mano_core.document import pieces as doc_pieces
from mano_core.errors import (
    BadSignatureError,
    KeyMaterialError,
    LimitExceededError,
    MalformedEnvelopeError,
    SnapshotPieceError,
    UnauthorizedAuthorError,
    WrongContextError,
)
from mano_core.ids import Compartment
from mano_core.limits import MAX_SNAPSHOT_PIECES, MAX_SNAPSHOT_SIZE, MIN_SNAPSHOT_PIECE

VERSION: Final = 2
DOMAIN: Final = "mano/v1/snapshot-manifest"
_HEADER = struct.Struct(">B16sBI32sQ12sI")
HEADER_SIZE: Final = _HEADER.size
_ENTRY = struct.Struct(">I32s")
ENTRY_SIZE: Final = _ENTRY.size
_INDEX = struct.Struct(">I")
SIG_SIZE: Final = 64
TAG_SIZE: Final = 16
MIN_PIECES: Final = 2  # the chain state and at least one update
_PREFIX: Final = signature_prefix(DOMAIN)


@dataclass(frozen=True, slots=True)
class Manifest:
    """A version-2 snapshot's manifest as parsed by ``read_manifest`` (not verified yet)."""

    header: bytes
    team_id: bytes
    compartment: int
    epoch: int
    author: bytes
    upto: int
    nonce: bytes
    lengths: tuple[int, ...]
    digests: tuple[bytes, ...]
    signature: bytes

    @property
    def size(self) -> int:
        """Bytes of the manifest itself: header, table and signature."""
        return HEADER_SIZE + ENTRY_SIZE * len(self.lengths) + SIG_SIZE

    @property
    def total(self) -> int:
        """Bytes of the whole snapshot: the manifest and every piece."""
        return self.size + sum(self.lengths)

    def signed(self) -> bytes:
        """What the signature covers (after the domain's prefix): header and table."""
        return self.header + b"".join(_ENTRY.pack(n, d)
                                      for n, d in zip(self.lengths, self.digests, strict=True))


@dataclass(frozen=True, slots=True)
class SnapshotV2:
    """A verified, decrypted version-2 snapshot (``open_snapshot_v2``)."""

    compartment: Compartment
    epoch: int
    author: bytes
    upto: int
    chain: ChainState
    updates: tuple[bytes, ...]


def piece_nonce(nonce: bytes, index: int) -> bytes:
    """Piece ``index``'s AES-GCM nonce: the manifest's nonce XOR ``index`` (a 96-bit integer,
    big-endian: only the last 4 bytes change)."""
    return nonce[:8] + _INDEX.pack(_INDEX.unpack(nonce[8:])[0] ^ index)


def piece_ad(header: bytes, index: int) -> bytes:
    """Piece ``index``'s associated data: the manifest's 78-byte header, then ``index`` (u32)."""
    return header + _INDEX.pack(index)


def is_v2(head: bytes | bytearray | memoryview) -> bool:
    """Whether a snapshot's first byte names version 2 (False for version 1 or no bytes)."""
    return len(head) > 0 and head[0] == VERSION


def read_manifest(data: bytes | bytearray | memoryview) -> Manifest | None:
    """The manifest at the start of ``data`` (a snapshot's first bytes), None while its bytes
    are not all in. MalformedEnvelopeError as soon as the header breaks the format or limits
    (before the table is read), or a table entry does."""
    if len(data) < HEADER_SIZE:
        return None
    header = bytes(data[:HEADER_SIZE])
    version, team, c, epoch, author, upto, nonce, count = _HEADER.unpack(header)
    if version != VERSION:
        raise MalformedEnvelopeError(f"not a version-2 snapshot (version {version})")
    if not MIN_PIECES <= count <= MAX_SNAPSHOT_PIECES:
        raise MalformedEnvelopeError(
            f"snapshot of {count} pieces (from {MIN_PIECES} to {MAX_SNAPSHOT_PIECES})")
    size = HEADER_SIZE + ENTRY_SIZE * count + SIG_SIZE
    if len(data) < size:
        return None
    lengths, digests = [], []
    for i in range(count):
        length, digest = _ENTRY.unpack_from(data, HEADER_SIZE + ENTRY_SIZE * i)
        if length < TAG_SIZE:
            raise MalformedEnvelopeError(f"snapshot piece {i} shorter than its tag")
        lengths.append(length)
        digests.append(bytes(digest))
    if size + sum(lengths) > MAX_SNAPSHOT_SIZE:
        raise MalformedEnvelopeError(
            f"snapshot of {size + sum(lengths)} bytes (limit {MAX_SNAPSHOT_SIZE})")
    return Manifest(header, bytes(team), c, epoch, bytes(author), upto, bytes(nonce),
                    tuple(lengths), tuple(digests), bytes(data[size - SIG_SIZE:size]))


def verify_manifest(manifest: Manifest, *, log: MembershipLog, keyring: Keyring,
                    team_id: bytes, compartment: Compartment) -> AESGCM:
    """Check a manifest for this team and ``compartment``: WrongContextError,
    UnauthorizedAuthorError (the author may not write it at that epoch per ``log``),
    BadSignatureError, then MissingKeyError (no key for that epoch), in that order. Returns
    the cipher its pieces open with."""
    if manifest.team_id != team_id or manifest.compartment != int(compartment):
        raise WrongContextError("snapshot of another team or compartment")
    if not log.can_write(manifest.author, compartment, manifest.epoch):
        raise UnauthorizedAuthorError("snapshot author may not write this compartment")
    if not verify_framed(manifest.author, manifest.signature, _PREFIX + manifest.signed()):
        raise BadSignatureError("snapshot manifest signature does not match")
    return keyring.aead(compartment, manifest.epoch)


def open_piece(manifest: Manifest, aead: AESGCM, index: int,
               ciphertext: bytes | bytearray | memoryview) -> bytes:
    """Piece ``index``'s plaintext: its length and SHA-256 checked against the (verified)
    manifest before it is decrypted. MalformedEnvelopeError (wrong length),
    SnapshotPieceError (hash or tag). Thread-safe: hashing and AES-GCM release the GIL."""
    if len(ciphertext) != manifest.lengths[index]:
        raise MalformedEnvelopeError(f"snapshot piece {index}: not the manifest's length")
    if hashlib.sha256(ciphertext).digest() != manifest.digests[index]:
        raise SnapshotPieceError(f"snapshot piece {index}: not the piece the author signed")
    try:
        return aead.decrypt(piece_nonce(manifest.nonce, index), ciphertext,
                            piece_ad(manifest.header, index))
    except InvalidTag:
        raise SnapshotPieceError(f"snapshot piece {index} failed authentication") from None


def decode_chain(plaintext: bytes) -> ChainState:
    """Piece 0's plaintext as a chain state; MalformedEnvelopeError if it does not decode."""
    try:
        return ChainState.from_bytes(plaintext)
    except KeyMaterialError as exc:
        raise MalformedEnvelopeError(f"snapshot chain state: {exc}") from exc


class SnapshotReader:
    """A version-2 snapshot read as it is downloaded: ``feed`` it the bytes in any split (the
    relay's parts); it verifies the manifest once its bytes are in and opens each piece as it
    completes, in order. Nothing it returns is from a piece it did not check. After an error
    the reader is refused for good: ``feed`` and ``finish`` raise the same error again."""

    def __init__(self, *, log: MembershipLog, keyring: Keyring, team_id: bytes,
                 compartment: Compartment) -> None:
        self._log, self._keyring = log, keyring
        self._team_id, self._compartment = team_id, compartment
        self._buffer = bytearray()
        self._aead: AESGCM | None = None
        self._failed: Exception | None = None
        self.manifest: Manifest | None = None  # set once verified
        self.chain: ChainState | None = None   # piece 0, once opened
        self.received = 0                      # bytes fed so far
        self.opened = 0                        # pieces opened so far (the chain included)

    @property
    def done(self) -> bool:
        """Every piece the manifest lists was opened."""
        return self.manifest is not None and self.opened == len(self.manifest.lengths)

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Take the next downloaded bytes; the state's updates (pieces 1 …) they complete, in
        order, each checked and decrypted. Raises the module's errors (MalformedEnvelopeError
        for bytes after the last piece)."""
        if self._failed is not None:
            raise self._failed
        try:
            return self._feed(data)
        except Exception as exc:
            self._failed = exc
            self._buffer = bytearray()
            raise

    def finish(self) -> None:
        """The download has ended: MalformedEnvelopeError if pieces are missing (truncated)."""
        if self._failed is not None:
            raise self._failed
        if not self.done:
            have = self.opened
            want = len(self.manifest.lengths) if self.manifest is not None else "?"
            self._failed = MalformedEnvelopeError(
                f"snapshot truncated: {have} of {want} pieces")
            raise self._failed

    def _feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        self.received += len(data)
        self._buffer += data
        if self.manifest is None:
            manifest = read_manifest(self._buffer)
            if manifest is None:
                return []
            self._aead = verify_manifest(manifest, log=self._log, keyring=self._keyring,
                                         team_id=self._team_id, compartment=self._compartment)
            self.manifest = manifest
            del self._buffer[:manifest.size]
        manifest, aead = self.manifest, self._aead
        assert aead is not None
        out: list[bytes] = []
        count = len(manifest.lengths)
        while self.opened < count and len(self._buffer) >= manifest.lengths[self.opened]:
            index, length = self.opened, manifest.lengths[self.opened]
            with memoryview(self._buffer) as view, view[:length] as piece:
                plaintext = open_piece(manifest, aead, index, piece)
            del self._buffer[:length]
            if index == 0:
                self.chain = decode_chain(plaintext)
            else:
                out.append(plaintext)
            self.opened += 1
        if self.opened == count and self._buffer:
            raise MalformedEnvelopeError("bytes after the snapshot's last piece")
        return out


def open_snapshot_v2(raw: bytes | Sequence[bytes | bytearray | memoryview], *,
                     log: MembershipLog, keyring: Keyring, team_id: bytes,
                     compartment: Compartment) -> SnapshotV2:
    """A whole version-2 snapshot (its bytes, or its parts as downloaded) verified and
    decrypted; the errors of ``SnapshotReader``."""
    reader = SnapshotReader(log=log, keyring=keyring, team_id=team_id,
                            compartment=compartment)
    updates: list[bytes] = []
    for part in [raw] if isinstance(raw, bytes) else raw:
        updates += reader.feed(part)
    reader.finish()
    manifest, chain = reader.manifest, reader.chain
    assert manifest is not None and chain is not None
    return SnapshotV2(compartment, manifest.epoch, manifest.author, manifest.upto, chain,
                      tuple(updates))


# --- the writer ---------------------------------------------------------------------------------

def cut_state(state: bytes, piece_bytes: int | None = None) -> list[bytes]:
    """``state`` (a v1 update) as the updates of a version-2 snapshot: ``document.pieces.cut``
    into pieces of about ``piece_bytes`` (default ``pieces.PIECE_BYTES``, at least
    ``MIN_SNAPSHOT_PIECE``), larger if that makes too many; the whole state as one piece if
    it cannot be cut. MalformedUpdateError if it is not a v1 update."""
    size = max(piece_bytes or doc_pieces.PIECE_BYTES, MIN_SNAPSHOT_PIECE)
    while True:
        updates = doc_pieces.cut(state, size) or [state]
        if len(updates) < MAX_SNAPSHOT_PIECES:
            return updates
        size *= 2


def seal_pieces(identity: DeviceIdentity, keyring: Keyring, *, team_id: bytes,
                compartment: Compartment, epoch: int, upto: int, updates: Sequence[bytes],
                chain: ChainState, nonce: bytes | None = None) -> bytes:
    """A version-2 snapshot of ``chain`` and ``updates`` (in the order a receiver applies
    them), encrypted and signed. MissingKeyError without the epoch's key; LimitExceededError
    beyond ``MAX_SNAPSHOT_PIECES`` or ``MAX_SNAPSHOT_SIZE``; ValueError for no update.
    ``nonce``: test vectors only (default random)."""
    if not updates:
        raise ValueError("a snapshot holds at least one update")
    count = 1 + len(updates)
    if count > MAX_SNAPSHOT_PIECES:
        raise LimitExceededError("MAX_SNAPSHOT_PIECES", count, MAX_SNAPSHOT_PIECES)
    nonce = os.urandom(12) if nonce is None else nonce
    aead = keyring.aead(compartment, epoch)
    header = _HEADER.pack(VERSION, team_id, int(compartment), epoch, identity.device_id, upto,
                          nonce, count)
    sealed = [aead.encrypt(piece_nonce(nonce, i), plaintext, piece_ad(header, i))
              for i, plaintext in enumerate([chain.to_bytes(), *updates])]
    table = b"".join(_ENTRY.pack(len(ct), hashlib.sha256(ct).digest()) for ct in sealed)
    total = HEADER_SIZE + len(table) + SIG_SIZE + sum(map(len, sealed))
    if total > MAX_SNAPSHOT_SIZE:
        raise LimitExceededError("MAX_SNAPSHOT_SIZE", total, MAX_SNAPSHOT_SIZE)
    signature = identity.sign(header + table, domain=DOMAIN)
    return b"".join([header, table, signature, *sealed])


def seal_snapshot_v2(identity: DeviceIdentity, keyring: Keyring, *, team_id: bytes,
                     compartment: Compartment, epoch: int, upto: int, state: bytes,
                     chain: ChainState, nonce: bytes | None = None,
                     piece_bytes: int | None = None) -> bytes:
    """``seal_pieces`` of ``state`` cut by ``cut_state``: what ``snapshot.seal_snapshot`` makes,
    as version 2. The errors of both."""
    return seal_pieces(identity, keyring, team_id=team_id, compartment=compartment,
                       epoch=epoch, upto=upto, updates=cut_state(state, piece_bytes),
                       chain=chain, nonce=nonce)
