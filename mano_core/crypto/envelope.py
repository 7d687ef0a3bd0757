"""Envelopes: one sealed, signed batch of a device's edits.

Wire form: ``header (106 bytes) || AES-256-GCM ciphertext (with 16-byte tag) || signature (64)``.
Header layout (big-endian), byte by byte in docs/security.md, "Envelope format":

    0   u8    format version (1)
    1   16 B  team id
    17  u8    compartment (0 general, 1 medical)
    18  u32   key epoch
    22  32 B  author device id (Ed25519 public key)
    54  u64   author counter (0 for the author's first envelope in that team and compartment)
    62  32 B  SHA-256 of the author's previous envelope (32 zero bytes iff counter is 0)
    94  12 B  AES-GCM nonce (random)

The AEAD associated data is the whole header; the signature covers
``"mano/v1/envelope" || 0x00 || header || ciphertext``.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, NamedTuple

from cryptography.exceptions import InvalidTag

from mano_core import limits
from mano_core.crypto import _wire
from mano_core.crypto.chain import ChainState
from mano_core.crypto.identity import DeviceIdentity
from mano_core.crypto.keyring import Keyring
from mano_core.crypto.membership import MembershipLog
from mano_core.errors import (
    BadSignatureError,
    DecryptionError,
    LimitExceededError,
    MalformedEnvelopeError,
    MissingKeyError,
    UnauthorizedAuthorError,
    WrongContextError,
)
from mano_core.ids import Compartment

FORMAT_VERSION: Final = 1
_HEADER: Final = struct.Struct(">B16sBI32sQ32s12s")
HEADER_SIZE: Final = _HEADER.size  # 106
TAG_SIZE: Final = 16
SIGNATURE_SIZE: Final = _wire.SIGNATURE_SIZE
MIN_ENVELOPE_SIZE: Final = HEADER_SIZE + TAG_SIZE + SIGNATURE_SIZE  # 186 (empty plaintext)
_MAX_COUNTER: Final = 2**64 - 1
_COMPARTMENTS: Final = {int(c): c for c in Compartment}  # (Compartment(n) is an enum call)


class EnvelopeHeader(NamedTuple):
    """The plaintext header; readable by the relay, authenticated by AEAD and signature.
    (Named tuples, this and Envelope: a frozen dataclass sets each field through
    object.__setattr__, and a catch-up parses one per envelope; issue 24.)"""

    version: int
    team_id: bytes
    compartment: Compartment
    epoch: int
    author: bytes
    counter: int
    prev_hash: bytes
    nonce: bytes

    def to_bytes(self) -> bytes:
        """The 106-byte wire form."""
        return _HEADER.pack(
            self.version, self.team_id, int(self.compartment), self.epoch, self.author,
            self.counter, self.prev_hash, self.nonce,
        )


class Envelope(NamedTuple):
    """A parsed (not yet verified) envelope."""

    header: EnvelopeHeader
    ciphertext: bytes
    signature: bytes
    raw: bytes

    @classmethod
    def parse(cls, data: bytes) -> Envelope:
        """Split and format-check an envelope; no keys, no crypto (the relay uses this).

        Raises MalformedEnvelopeError (size out of bounds, unknown version or compartment,
        counter and prev_hash inconsistent)."""
        size = len(data)
        if not MIN_ENVELOPE_SIZE <= size <= limits.MAX_SEALED_SIZE:
            raise MalformedEnvelopeError(
                f"envelope of {size} bytes outside {MIN_ENVELOPE_SIZE}..MAX_SEALED_SIZE"
            )
        data = bytes(data)
        version, team_id, comp, epoch, author, counter, prev_hash, nonce = _HEADER.unpack_from(data)
        if version != FORMAT_VERSION:
            raise MalformedEnvelopeError(f"unknown envelope format version {version}")
        compartment = _COMPARTMENTS.get(comp)
        if compartment is None:
            raise MalformedEnvelopeError(f"unknown compartment {comp}")
        if (counter == 0) != (prev_hash == _wire.ZERO_HASH):
            raise MalformedEnvelopeError("prev_hash is zero exactly for counter 0")
        header = EnvelopeHeader(
            version, team_id, compartment, epoch, author, counter, prev_hash, nonce
        )
        return cls(header, data[HEADER_SIZE:-SIGNATURE_SIZE], data[-SIGNATURE_SIZE:], data)

    @property
    def signed_part(self) -> bytes:
        """``header || ciphertext``: what the signature covers (after the domain label)."""
        return self.raw[:-SIGNATURE_SIZE]


def envelope_hash(raw: bytes) -> bytes:
    """SHA-256 of a whole envelope; the author's next envelope carries it as prev_hash."""
    return _wire.sha256(raw)


def seal(
    identity: DeviceIdentity,
    keyring: Keyring,
    *,
    team_id: bytes,
    compartment: Compartment,
    epoch: int,
    counter: int,
    prev_hash: bytes,
    plaintext: bytes,
    nonce: bytes | None = None,
) -> bytes:
    """Encrypt and sign ``plaintext`` (a batch of edits) into envelope bytes.

    Low level: the caller picks epoch and chain link; prefer ``Sealer``. ``nonce`` (12 bytes)
    is for test vectors only: by default a fresh random one, never reuse it. Raises
    MissingKeyError (no key for that team/compartment/epoch), LimitExceededError (too big),
    MalformedEnvelopeError (counter/prev_hash/epoch out of range)."""
    if keyring.team_id != team_id:
        raise MissingKeyError("this keyring belongs to another team")
    if not 0 <= counter <= _MAX_COUNTER or not 0 <= epoch <= limits.MAX_KEY_EPOCH:
        raise MalformedEnvelopeError("counter is u64 and epoch u32")
    if len(team_id) != 16 or len(prev_hash) != 32:
        raise MalformedEnvelopeError("team id is 16 bytes, prev_hash 32")
    if (counter == 0) != (prev_hash == _wire.ZERO_HASH):
        raise MalformedEnvelopeError("prev_hash is 32 bytes, zero exactly for counter 0")
    size = MIN_ENVELOPE_SIZE + len(plaintext)
    if size > limits.MAX_SEALED_SIZE:
        raise LimitExceededError("MAX_SEALED_SIZE", size, limits.MAX_SEALED_SIZE)
    aead = keyring.aead(compartment, epoch)
    if nonce is None:
        nonce = os.urandom(12)
    elif len(nonce) != 12:
        raise MalformedEnvelopeError("an AES-GCM nonce is 12 bytes")
    header = _HEADER.pack(
        FORMAT_VERSION, team_id, compartment, epoch, identity.device_id, counter, prev_hash, nonce
    )
    signed = header + aead.encrypt(nonce, plaintext, header)
    return signed + identity.sign(signed, domain=_wire.DOMAIN_ENVELOPE)


class Opened(NamedTuple):
    """A verified, decrypted envelope."""

    envelope: Envelope
    plaintext: bytes


class Authenticated(NamedTuple):
    """An envelope of a delivery whose signature a later envelope of its author's chain
    establishes (``batch.authenticated_by_chain``), as parsed there, with the SHA-256 of its
    bytes (its chain link): ``open_envelope`` neither parses nor hashes it again."""

    envelope: Envelope
    digest: bytes


def open_envelope(
    raw: bytes,
    *,
    log: MembershipLog,
    keyring: Keyring,
    team_id: bytes,
    compartment: Compartment,
    chain_state: ChainState,
    authenticated: Mapping[bytes, Authenticated] | None = None,
) -> Opened:
    """Verify and decrypt an envelope received for (team_id, compartment).

    Checks, in order, each with its own error (all EnvelopeError, nothing is changed on error):
    format (MalformedEnvelopeError); team and compartment are the expected ones
    (WrongContextError); the author could write that compartment at that epoch per ``log``
    (UnauthorizedAuthorError); the signature (BadSignatureError); the author's chain
    (ReplayError; gaps and forks are filed in ``chain_state.reports``); then decryption
    (MissingKeyError, a CryptoError, if this device lacks the key; DecryptionError).
    On success ``chain_state`` advances. ``authenticated``: envelopes (by their exact bytes)
    whose signature is established already by a later envelope of the same author's chain
    (``batch.authenticated_by_chain``), parsed and hashed there; every other check is made
    as for any envelope."""
    known = authenticated.get(raw) if authenticated and type(raw) is bytes else None
    envelope = known.envelope if known is not None else Envelope.parse(raw)
    h = envelope.header
    if h.team_id != team_id or log.team_id != team_id or h.compartment is not compartment:
        raise WrongContextError("envelope of another team or compartment")
    if not log.can_write(h.author, h.compartment, h.epoch):
        raise UnauthorizedAuthorError(
            f"author may not write {h.compartment.name} at epoch {h.epoch}"
        )
    if known is None and not _wire.verify(
            h.author, envelope.signature, _wire.DOMAIN_ENVELOPE, envelope.signed_part):
        raise BadSignatureError("envelope signature does not verify")
    report = chain_state.check(h.team_id, h.compartment, h.author, h.counter, h.prev_hash)
    if keyring.team_id != team_id:
        raise WrongContextError("keyring of another team")
    aead = keyring.aead(h.compartment, h.epoch)
    try:
        plaintext = aead.decrypt(h.nonce, envelope.ciphertext, envelope.raw[:HEADER_SIZE])
    except InvalidTag:
        raise DecryptionError("AEAD tag check failed") from None
    digest = known.digest if known is not None else envelope_hash(envelope.raw)
    chain_state.record(h.team_id, h.compartment, h.author, h.counter, digest, report)
    return Opened(envelope, plaintext)


@dataclass(frozen=True, slots=True)
class EnvelopeOpener:
    """``open_envelope`` with the team's log, keyring and chain state bound."""

    log: MembershipLog
    keyring: Keyring
    team_id: bytes
    chain_state: ChainState

    def open(self, raw: bytes, compartment: Compartment) -> Opened:
        """See ``open_envelope``."""
        return open_envelope(
            raw, log=self.log, keyring=self.keyring, team_id=self.team_id,
            compartment=compartment, chain_state=self.chain_state,
        )


class Sealer:
    """Seals this device's batches at the log's current epoch and chains its counters.

    Never falls back to an older epoch (a removed device may hold its key): if the current
    epoch's key has not arrived yet, ``seal`` raises MissingKeyError and the batch must wait.
    Persist ``state.to_bytes()`` durably before sending each envelope: reusing a counter after
    a crash would get the envelope rejected as a replay."""

    __slots__ = ("identity", "state", "team_id")

    def __init__(
        self, identity: DeviceIdentity, team_id: bytes, state: ChainState | None = None
    ) -> None:
        self.identity = identity
        self.team_id = team_id
        self.state = state if state is not None else ChainState()

    def seal(
        self, plaintext: bytes, *, compartment: Compartment, log: MembershipLog, keyring: Keyring
    ) -> bytes:
        """Seal one batch. Raises UnauthorizedAuthorError if this device may not write the
        compartment now, MissingKeyError if it lacks the current key."""
        me = self.identity.device_id
        epoch = log.epoch(compartment)
        if log.team_id != self.team_id or not log.can_write(me, compartment, epoch):
            raise UnauthorizedAuthorError(f"this device may not write {compartment.name} now")
        counter, prev_hash = self.state.next_link(self.team_id, compartment, me)
        raw = seal(
            self.identity, keyring, team_id=self.team_id, compartment=compartment, epoch=epoch,
            counter=counter, prev_hash=prev_hash, plaintext=plaintext,
        )
        self.state.record(self.team_id, compartment, me, counter, envelope_hash(raw))
        return raw
