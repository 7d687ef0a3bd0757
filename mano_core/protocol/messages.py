"""Every message of the sync protocol, version 1, as msgspec Structs (docs/protocol.md).

Each websocket binary message carries exactly one msgpack map. Its ``"t"`` key names the
message type (a tagged union); the other keys are the fields below. Unknown keys are ignored
(so a later minor revision may add optional fields); unknown types are an error.
"""

from __future__ import annotations

import typing
from typing import Annotated, Final, TypeAlias

import msgspec
from msgspec import Meta

from mano_core import limits

PROTOCOL_VERSION: Final = 1
SUPPORTED_VERSIONS: Final = (1,)

U32 = Annotated[int, Meta(ge=0, le=2**32 - 1)]
Seq = Annotated[int, Meta(ge=0, le=2**63 - 1)]
CompartmentNo = Annotated[int, Meta(ge=0, le=255)]
TeamId = Annotated[bytes, Meta(min_length=16, max_length=16)]
DeviceId = Annotated[bytes, Meta(min_length=32, max_length=32)]
Signature = Annotated[bytes, Meta(min_length=64, max_length=64)]
Nonce = Annotated[bytes, Meta(min_length=32, max_length=32)]
InviteId = Annotated[bytes, Meta(min_length=16, max_length=32)]
Verifier = Annotated[bytes, Meta(min_length=32, max_length=32)]
Proof = Annotated[bytes, Meta(max_length=64)]
Blob = Annotated[bytes, Meta(max_length=limits.MAX_BLOB_SIZE)]
EnvelopeBytes = Annotated[bytes, Meta(min_length=1, max_length=limits.MAX_ENVELOPE_SIZE)]
LogEntry = Annotated[bytes, Meta(min_length=1, max_length=limits.MAX_LOG_ENTRY_SIZE)]
LogEntries_ = Annotated[list[LogEntry], Meta(max_length=limits.MAX_LOG_ENTRIES_PER_FRAME)]
ChunkBytes = Annotated[bytes, Meta(max_length=limits.MAX_SNAPSHOT_CHUNK)]
FileId = Annotated[bytes, Meta(min_length=16, max_length=16)]
FilePartBytes = Annotated[bytes, Meta(max_length=limits.MAX_FILE_PART)]
Name = Annotated[str, Meta(max_length=limits.MAX_CLIENT_NAME)]
Text = Annotated[str, Meta(max_length=limits.MAX_ERROR_MESSAGE)]
Versions = Annotated[list[U32], Meta(min_length=1, max_length=16)]
Capability = Annotated[str, Meta(max_length=limits.MAX_CAPABILITY_NAME)]
Capabilities = Annotated[list[Capability], Meta(max_length=limits.MAX_CAPABILITIES)]

# What a relay of this version can do beyond version 1's base (``welcome.caps``): a client
# uses a feature only when its name is there, and falls back to the base protocol otherwise.
CAP_HEAD_GET: Final = "head_get"  # the head_get request (§4): an older relay closes on it
CAP_CATCHUP_PLAN: Final = "catchup_plan"  # catchup_get -> catchup_plan (§4a, snapshot-first)
RELAY_CAPABILITIES: Final[tuple[str, ...]] = (CAP_HEAD_GET, CAP_CATCHUP_PLAN)


class Message(msgspec.Struct, frozen=True, tag_field="t", omit_defaults=False):
    """Base of every message; never sent itself."""


# --- session -----------------------------------------------------------------------------------


class Hello(Message, frozen=True, tag="hello"):
    """Client → relay, first message: the protocol versions the client speaks."""

    versions: Versions
    client: Name = ""


class Welcome(Message, frozen=True, tag="welcome"):
    """Relay → client: the chosen version and the authentication challenge nonce.

    ``caps``: the optional features this relay serves (names; unknown ones are ignored by a
    client, and an older relay sends none: then the client uses the base protocol only)."""

    version: U32
    nonce: Nonce
    relay: Name = ""
    max_frame: U32 = limits.MAX_FRAME_SIZE
    caps: Capabilities = msgspec.field(default_factory=list)


class Auth(Message, frozen=True, tag="auth"):
    """Client → relay: sign the challenge (mano_core.protocol.auth) as ``device`` of ``team``.

    ``genesis`` (the whole membership log so far) creates the team at the relay if it does not
    hold it yet; it is ignored if identical to the relay's copy, refused otherwise."""

    team: TeamId
    device: DeviceId
    sig: Signature
    genesis: LogEntries_ | None = None


class AuthOk(Message, frozen=True, tag="auth_ok"):
    """Relay → client: authenticated; the relay's membership log has ``log_length`` entries."""

    team: TeamId
    device: DeviceId
    log_length: U32
    log_head: bytes


class Ok(Message, frozen=True, tag="ok"):
    """Relay → client: request ``id`` succeeded (for requests with no other answer)."""

    id: U32


class Error(Message, frozen=True, tag="error"):
    """Relay → client: request ``id`` (0: none) failed with ``code`` (ErrorCode)."""

    code: U32
    msg: Text = ""
    id: U32 = 0
    fatal: bool = False


# --- membership log ----------------------------------------------------------------------------


class LogFetch(Message, frozen=True, tag="log_fetch"):
    """Client → relay: send the membership-log entries from index ``after`` (0-based) on."""

    id: U32
    after: U32


class LogAppend(Message, frozen=True, tag="log_append"):
    """Client → relay: append signed entries to the team's membership log (verified)."""

    id: U32
    entries: Annotated[list[LogEntry], Meta(min_length=1, max_length=256)]


class LogEntries(Message, frozen=True, tag="log_entries"):
    """Relay → client: log entries ``start``, ``start+1``, … (``id`` 0: a live append)."""

    id: U32
    start: U32
    entries: LogEntries_


# --- envelopes ---------------------------------------------------------------------------------


class Subscribe(Message, frozen=True, tag="subscribe"):
    """Client → relay: deliver compartment ``c`` from sequence ``after + 1`` on, then live."""

    id: U32
    c: CompartmentNo
    after: Seq


class Unsubscribe(Message, frozen=True, tag="unsubscribe"):
    """Client → relay: stop live delivery of compartment ``c``; answered by ``ok``."""

    id: U32
    c: CompartmentNo


class Push(Message, frozen=True, tag="push"):
    """Client → relay: store and fan out one envelope; answered by ``ack`` once durable."""

    id: U32
    env: EnvelopeBytes


class Ack(Message, frozen=True, tag="ack"):
    """Relay → client: envelope of push ``id`` is durably stored as ``seq`` of compartment ``c``.

    ``dup`` is true when it had been stored before (same author and counter)."""

    id: U32
    c: CompartmentNo
    seq: Seq
    dup: bool = False


class Deliver(Message, frozen=True, tag="deliver"):
    """Relay → client: envelopes of compartment ``c`` as ``[seq, envelope]`` pairs, in order."""

    c: CompartmentNo
    items: Annotated[
        list[tuple[Seq, EnvelopeBytes]], Meta(max_length=limits.MAX_LIST_ITEMS_PER_FRAME)
    ]


class CaughtUp(Message, frozen=True, tag="caught_up"):
    """Relay → client: every stored envelope of ``c`` up to ``seq`` was delivered; live follows."""

    id: U32
    c: CompartmentNo
    seq: Seq


class HeadGet(Message, frozen=True, tag="head_get"):
    """Client → relay: the last sequence stored in compartment ``c`` now."""

    id: U32
    c: CompartmentNo


class Head(Message, frozen=True, tag="head"):
    """Relay → client: ``seq`` is the last sequence of ``c`` stored (committed) when the
    relay read it; a subscriber receives every envelope up to it."""

    id: U32
    c: CompartmentNo
    seq: Seq


class CatchupGet(Message, frozen=True, tag="catchup_get"):
    """Client → relay (capability ``catchup_plan``): what catching up on ``c`` from ``after``
    (the last sequence applied) would take, to choose between the envelopes and the newest
    snapshot first."""

    id: U32
    c: CompartmentNo
    after: Seq


class CatchupPlan(Message, frozen=True, tag="catchup_plan"):
    """Relay → client: ``head`` the last sequence stored; ``upto``/``size`` the newest
    snapshot's coverage and bytes (0/0: none); ``behind`` the bytes of the stored envelopes
    after ``after``; ``tail`` those after ``max(after, upto)`` (what follows the snapshot)."""

    id: U32
    c: CompartmentNo
    head: Seq
    upto: Seq
    size: Seq
    behind: Seq
    tail: Seq


# --- snapshots ---------------------------------------------------------------------------------


class SnapshotPut(Message, frozen=True, tag="snapshot_put"):
    """Client → relay: part ``part`` (0, 1, …) of an encrypted snapshot of ``c`` up to ``upto``.
    ``spare``: store it only if no snapshot of ``c`` covering ``upto`` is stored or being
    uploaded (a periodic snapshot; never an erasure's, which must replace: §6)."""

    id: U32
    c: CompartmentNo
    upto: Seq
    part: U32
    last: bool
    data: ChunkBytes
    spare: bool = False


class SnapshotGet(Message, frozen=True, tag="snapshot_get"):
    """Client → relay: send the newest snapshot of compartment ``c`` (with ``before`` > 0:
    the newest whose ``upto`` is below it, after refusing a newer one)."""

    id: U32
    c: CompartmentNo
    before: Seq = 0


class SnapshotData(Message, frozen=True, tag="snapshot_data"):
    """Relay → client: part ``part`` of the newest snapshot of ``c`` (covers up to ``upto``)."""

    id: U32
    c: CompartmentNo
    upto: Seq
    part: U32
    last: bool
    data: ChunkBytes


class Purge(Message, frozen=True, tag="purge"):
    """Client → relay: drop every stored envelope of ``c`` with sequence <= ``upto`` and every
    stored snapshot of ``c`` but the newest, which must cover ``upto`` (erasure, issue 11)."""

    id: U32
    c: CompartmentNo
    upto: Seq


class Purged(Message, frozen=True, tag="purged"):
    """Relay → client: purge ``id`` is durable; it dropped ``envelopes`` envelopes and
    ``snapshots`` snapshots (both 0 when an identical purge ran before)."""

    id: U32
    c: CompartmentNo
    upto: Seq
    envelopes: Seq
    snapshots: U32


# --- document files (docs/protocol.md §7a) ---------------------------------------------------


class FilePut(Message, frozen=True, tag="file_put"):
    """Client → relay: part ``part`` of the opaque file ``file`` of compartment ``c``; part 0
    creates it, ``last`` finishes it. Answered by ``ok`` once that part is durable."""

    id: U32
    c: CompartmentNo
    file: FileId
    part: U32
    last: bool
    data: FilePartBytes


class FileStatus(Message, frozen=True, tag="file_status"):
    """Client → relay: how much of ``file`` is stored (to resume an upload)."""

    id: U32
    c: CompartmentNo
    file: FileId


class FileInfo(Message, frozen=True, tag="file_info"):
    """Relay → client: ``parts`` parts (``size`` bytes) of ``file`` are stored; ``complete``
    once its last part is."""

    id: U32
    c: CompartmentNo
    file: FileId
    parts: U32
    size: Seq
    complete: bool


class FileGet(Message, frozen=True, tag="file_get"):
    """Client → relay: send parts ``first`` … ``first + count - 1`` of a complete file
    (``count`` 0: to the end)."""

    id: U32
    c: CompartmentNo
    file: FileId
    first: U32 = 0
    count: U32 = 0


class FileData(Message, frozen=True, tag="file_data"):
    """Relay → client: part ``part`` of ``file``; ``last`` on the range's final part."""

    id: U32
    file: FileId
    part: U32
    last: bool
    data: FilePartBytes


class FileDelete(Message, frozen=True, tag="file_delete"):
    """Client → relay: delete ``file`` and every part of it (``ok`` also if it was gone)."""

    id: U32
    c: CompartmentNo
    file: FileId


# --- key packages ------------------------------------------------------------------------------


class KeyPut(Message, frozen=True, tag="key_put"):
    """Client → relay: store an opaque key package for device ``to`` of the same team."""

    id: U32
    to: DeviceId
    blob: Blob


class KeyFetch(Message, frozen=True, tag="key_fetch"):
    """Client → relay: send the key packages waiting for this device."""

    id: U32


class KeyItem(msgspec.Struct, frozen=True):
    """One stored key package: relay-assigned ``kid``, sending device, opaque blob."""

    kid: Seq
    sender: DeviceId
    blob: Blob


class Keys(Message, frozen=True, tag="keys"):
    """Relay → client: key packages for this device (``id`` 0: pushed live)."""

    id: U32
    items: Annotated[list[KeyItem], Meta(max_length=limits.MAX_LIST_ITEMS_PER_FRAME)]


class KeyAck(Message, frozen=True, tag="key_ack"):
    """Client → relay: these key packages were stored by the device: delete them."""

    id: U32
    kids: Annotated[list[Seq], Meta(max_length=limits.MAX_LIST_ITEMS_PER_FRAME)]


# --- invitations -------------------------------------------------------------------------------


class InviteOpen(Message, frozen=True, tag="invite_open"):
    """Admin → relay: invitation ``invite`` may take one join request, from a client showing
    the proof whose SHA-256 is ``verifier`` (docs/protocol.md, invitations)."""

    id: U32
    invite: InviteId
    verifier: Verifier


class InviteRequest(Message, frozen=True, tag="invite_request"):
    """Client (guest or member) → relay: an opaque join request for invitation ``invite``;
    ``proof`` is the code's relay proof (SHA-256(proof) = the verifier its admin opened)."""

    id: U32
    team: TeamId
    invite: InviteId
    blob: Blob
    proof: Proof = b""  # absent from older clients: refused (FORBIDDEN)


class InviteItem(msgspec.Struct, frozen=True):
    """One waiting invitation request."""

    invite: InviteId
    blob: Blob


class InviteList(Message, frozen=True, tag="invite_list"):
    """Admin → relay: send the team's unanswered invitation requests."""

    id: U32


class Invites(Message, frozen=True, tag="invites"):
    """Relay → admin: unanswered invitation requests (``id`` 0: pushed live)."""

    id: U32
    items: Annotated[list[InviteItem], Meta(max_length=limits.MAX_LIST_ITEMS_PER_FRAME)]


class InviteAnswer(Message, frozen=True, tag="invite_answer"):
    """Admin → relay: the answer to ``invite``; relay → guest: that answer (``id``: its fetch)."""

    id: U32
    invite: InviteId
    blob: Blob


class InviteFetch(Message, frozen=True, tag="invite_fetch"):
    """Guest → relay: send the answer to ``invite`` now, or as soon as an admin answers."""

    id: U32
    team: TeamId
    invite: InviteId


# --- presence ----------------------------------------------------------------------------------


class Presence(Message, frozen=True, tag="presence"):
    """Ephemeral encrypted blob for the team's live sessions; never stored.

    Client → relay: ``device`` is ignored; relay → clients: ``device`` is the sender."""

    blob: Blob
    device: bytes = b""


AnyMessage: TypeAlias = (
    Hello | Welcome | Auth | AuthOk | Ok | Error
    | LogFetch | LogAppend | LogEntries
    | Subscribe | Unsubscribe | Push | Ack | Deliver | CaughtUp | HeadGet | Head
    | CatchupGet | CatchupPlan
    | SnapshotPut | SnapshotGet | SnapshotData | Purge | Purged
    | FilePut | FileStatus | FileInfo | FileGet | FileData | FileDelete
    | KeyPut | KeyFetch | Keys | KeyAck
    | InviteOpen | InviteRequest | InviteList | Invites | InviteAnswer | InviteFetch
    | Presence
)  # fmt: skip

ALL_MESSAGES: Final[tuple[type[Message], ...]] = typing.get_args(AnyMessage)
