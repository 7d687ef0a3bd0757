"""The one exception tree of Mano. Every error that crosses a public API derives from ManoError.

::

    ManoError
    ├── ValidationError            a record failed validation (names record, field, reason)
    ├── NotFoundError              no record with that id in that collection
    │   └── DamagedRecordError     a stored record fails validation (shown as damaged)
    ├── PermissionDeniedError      this device's role or health flag does not allow it
    ├── ErasureError               erasing persons (docs/security.md, "Erasure")
    │   ├── ErasureForbiddenError  this device may not order that erasure
    │   └── InvalidErasureOrderError  an order that does not verify (ignored, reported)
    ├── ConsentRequiredError       sharing into a joint team without a current consent
    ├── DocumentError              an attached document's body (mano_core.documents)
    │   ├── DocumentUnavailableError  not on this device and the relay cannot give it now
    │   └── DocumentCorruptedError    a body that fails authentication (never shown)
    ├── MalformedUpdateError       bytes that should be a CRDT update are not one
    ├── StoreError                 the encrypted local store
    │   ├── WrongPassphraseError
    │   ├── StoreExistsError       creating a store where one already is
    │   ├── StoreMissingError      opening a store that does not exist
    │   ├── StoreCorruptedError    a row fails authentication or cannot be decoded
    │   ├── StoreFullError         the disk is full; nothing was committed
    │   ├── SnapshotRangeError     a snapshot asked to cover updates the document does not hold
    │   └── StoreClosedError
    ├── CryptoError                keys, envelopes, membership, invitations
    │   ├── EnvelopeError          opening an envelope failed; nothing was applied
    │   │   ├── MalformedEnvelopeError
    │   │   ├── UnauthorizedAuthorError   author not allowed to write that compartment/epoch
    │   │   ├── BadSignatureError
    │   │   ├── ReplayError               counter already seen for that author
    │   │   ├── WrongContextError         team/compartment/epoch not the one expected
    │   │   └── DecryptionError           AEAD tag check failed
    │   ├── MissingKeyError        this device holds no key for that compartment/epoch
    │   ├── KeyPackageError        a key package is malformed, misaddressed or from a wrong issuer
    │   ├── KeyMaterialError       stored key material (identity, keyring, …) cannot be decoded
    │   ├── MembershipError        an invalid membership-log entry
    │   │   ├── NotAdminError
    │   │   └── ForkedLogError
    │   └── InvitationError
    │       ├── InvitationExpiredError
    │       ├── InvitationUsedError
    │       └── InvitationInvalidError  mistyped code, wrong secret or tampered request/answer
    ├── ProtocolError              the sync protocol
    │   ├── LocalProtocolError     we tried an illegal move (a bug on our side)
    │   ├── RemoteProtocolError    the peer sent something malformed or illegal
    │   └── RelayStorageError      the relay's storage failed (never shown to peers as such)
    │       └── RelayConflictError a relay write lost a race (e.g. the log grew meanwhile)
    ├── LimitExceededError         a named limit (mano_core.limits) was broken
    │   └── TooDeepError           msgpack or CRDT structure nested beyond its limit
    ├── MissingDependencyError     an optional part (an extra: xlsx, tui, postgres) is not installed
    └── SyncError                  the sync client (connection, auth refused, …)
        ├── RelayUnreachableError  no connection to the relay could be made (worth retrying)
        └── RelayRefusedError      the relay answered a request with an error code

Errors from the peer (RemoteProtocolError) are distinct from our own mistakes
(LocalProtocolError), as in h11.
"""

from __future__ import annotations

from typing import Any

from mano_core.codes import Code, render


class ManoError(Exception):
    """Base class of every error Mano raises on purpose."""


# --- domain -----------------------------------------------------------------------------------


class ValidationError(ManoError):
    """A record failed validation. Nothing was changed. ``code`` and ``params`` say why, for
    an interface to translate (mano_core.codes); ``reason`` is the English text."""

    def __init__(self, record: str, field: str, code: Code, /, **params: Any) -> None:
        self.record = record
        self.field = field
        self.code = code
        self.params = params
        self.reason = render(code, params)
        super().__init__(f"{record}.{field}: {self.reason}")


class NotFoundError(ManoError, KeyError):
    """No record with that id in that collection."""

    def __init__(self, collection: str, record_id: str) -> None:
        self.collection = collection
        self.record_id = record_id
        super().__init__(f"{collection}: no record {record_id!r}")

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class DamagedRecordError(NotFoundError):
    """A record in the document fails validation (a teammate's device wrote it, e.g. a person
    whose name is a number): ``damage`` says who wrote it, when and what is wrong. It is left
    out of lists; an admin can repair it (``repair``) or delete it. A NotFoundError, so code
    that skips missing records skips it too."""

    def __init__(self, damage: object, collection: str, record_id: str) -> None:
        super().__init__(collection, record_id)
        self.damage = damage
        self.args = (str(damage),)


class PermissionDeniedError(ManoError):
    """This device's role (admin, normal, restricted) or health flag does not allow what was
    asked (docs/security.md, "Who may do what"). Nothing was changed."""


class ErasureError(ManoError):
    """An erasure could not be ordered or applied (docs/security.md, "Erasure")."""


class ErasureForbiddenError(ErasureError):
    """This device may not order that erasure: only an admin device may, or in a joint team
    the device that shared the person (consent withdrawn). Nothing was changed."""


class InvalidErasureOrderError(ErasureError):
    """An erasure order in the document does not verify (bad signature, or its signer may not
    order it): it is ignored and reported, nothing is erased."""


class ConsentRequiredError(ManoError):
    """Sharing a person into a joint team needs a recorded, current consent covering that
    partner organisation and scope. Nothing was shared."""


class DocumentError(ManoError):
    """An attached document's body could not be read or stored (mano_core.documents)."""


class DocumentUnavailableError(DocumentError):
    """The body is not cached on this device and cannot be fetched now (offline, or its
    author's upload has not reached the relay yet). Try again once online."""


class DocumentCorruptedError(DocumentError):
    """A body that fails authentication (altered, truncated or swapped at the relay or on
    disk): nothing of it is returned."""


class MalformedUpdateError(ManoError):
    """Bytes that should be a CRDT update are not a well-formed one. Nothing was applied."""


# --- local store -------------------------------------------------------------------------------


class StoreError(ManoError):
    """The encrypted local store failed."""


class WrongPassphraseError(StoreError):
    """The passphrase does not unlock this store. Nothing was changed."""


class StoreExistsError(StoreError):
    """A store already exists at that path."""


class StoreMissingError(StoreError):
    """No store exists at that path."""


class StoreCorruptedError(StoreError):
    """A row of the store failed authentication or could not be decoded."""


class StoreFullError(StoreError):
    """The disk is full. The write was rolled back; earlier commits are intact."""


class SnapshotRangeError(StoreError):
    """``write_snapshot`` was given an ``upto_seq`` outside the current snapshot's seq .. the last
    update's seq (older than the snapshot, or updates not stored yet). Nothing was written."""


class StoreClosedError(StoreError):
    """The store was used after being closed."""


# --- cryptography ------------------------------------------------------------------------------


class CryptoError(ManoError):
    """Keys, envelopes, membership or invitations."""


class EnvelopeError(CryptoError):
    """An envelope could not be opened. Nothing was applied."""


class MalformedEnvelopeError(EnvelopeError):
    """The envelope's bytes do not follow the format."""


class UnauthorizedAuthorError(EnvelopeError):
    """The author was not a member allowed to write that compartment at that epoch."""


class BadSignatureError(EnvelopeError):
    """The author's signature does not match the header and ciphertext."""


class SnapshotPieceError(BadSignatureError):
    """A piece of a version-2 snapshot (mano_core/sync/snapshot_v2.py) does not match the
    manifest its author signed: its SHA-256 differs (a forged, altered or reordered piece), or
    its AES-GCM tag fails. That snapshot is refused whole; nothing of it was applied."""


class ReplayError(EnvelopeError):
    """This author's counter was already seen: a replayed or duplicated envelope."""


class WrongContextError(EnvelopeError):
    """The envelope belongs to another team, compartment or epoch than expected."""


class DecryptionError(EnvelopeError):
    """The AEAD tag check failed: the ciphertext or its header was altered."""


class MissingKeyError(CryptoError):
    """This device holds no key for that compartment and epoch."""


class KeyPackageError(CryptoError):
    """A key package is malformed, not addressed to this device, or from an issuer the log does
    not allow to hand out those keys. The keyring is unchanged."""


class KeyMaterialError(CryptoError):
    """Serialised key material (a device identity, a keyring, chain state) cannot be decoded."""


class MembershipError(CryptoError):
    """An invalid membership-log entry: the log is unchanged."""


class NotAdminError(MembershipError):
    """The entry is signed by a device that is not an admin at that point of the log."""


class ForkedLogError(MembershipError):
    """The entry does not extend the head of the log (a fork or a gap)."""


class InvitationError(CryptoError):
    """An invitation cannot be redeemed."""


class InvitationExpiredError(InvitationError):
    """The invitation's expiry has passed."""


class InvitationUsedError(InvitationError):
    """The invitation was already redeemed (invitations are single use)."""


class InvitationInvalidError(InvitationError):
    """The code is mistyped, or the request/answer does not prove knowledge of its secret."""


# --- protocol and sync -------------------------------------------------------------------------


class ProtocolError(ManoError):
    """The sync protocol failed. ``code`` is the wire error code (docs/protocol.md)."""

    code: int = 0

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class LocalProtocolError(ProtocolError):
    """We attempted an illegal move in the protocol state machine."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something malformed or illegal."""


class RelayStorageError(ProtocolError):
    """The relay's storage backend failed; nothing of that request was committed."""


class RelayConflictError(RelayStorageError):
    """A relay storage write lost a race (the membership log grew meanwhile); nothing written."""


class LimitExceededError(ManoError):
    """A named limit (see mano_core.limits) was broken."""

    def __init__(self, limit: str, value: int, maximum: int) -> None:
        self.limit = limit
        self.value = value
        self.maximum = maximum
        super().__init__(f"{limit}: {value} exceeds the limit of {maximum}")


class TooDeepError(LimitExceededError):
    """Untrusted bytes nest arrays/maps (msgpack) or types (a CRDT update) deeper than their
    named limit (``limits.MAX_MSGPACK_DEPTH``, ``limits.MAX_CRDT_NESTING``). Raised before any
    recursive decoder runs; each decoder reports it as its own error (MalformedUpdateError,
    MalformedEnvelopeError, RemoteProtocolError BAD_FRAME…) with this one as the cause."""


class MissingDependencyError(ManoError, ImportError):
    """A feature needs a package of an extra that is not installed (``pip install
    'mano[extra]'``). ``extra`` names it."""

    def __init__(self, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(f"{package} is not installed: pip install 'mano[{extra}]'")


class SyncError(ManoError):
    """The sync client could not do what was asked (connection, authentication refused, …)."""


class RelayUnreachableError(SyncError):
    """No connection to the relay could be made: refused, unreachable, timed out, or closed
    before the relay's welcome. Nothing was sent; trying again later is the remedy."""


class RelayRefusedError(SyncError):
    """The relay refused a request: ``code`` is its ErrorCode, ``fatal`` if it closed."""

    def __init__(self, code: int, message: str, fatal: bool = False) -> None:
        self.code = code
        self.fatal = fatal
        super().__init__(f"relay refused (code {code}): {message}")
