"""Every message of the sync protocol, version 1, as msgspec Structs (docs/protocol.md).

Each websocket binary message carries exactly one msgpack map. Its ``"t"`` key names the
message type (a tagged union); the other keys are the fields below. Unknown keys are ignored
(so a later minor revision may add optional fields); unknown types are an error.

The messages are defined by job in the messages_* modules (session and log, envelopes and
catch-up, snapshots and files, keys, invitations and presence), on message_base's field types;
this module gathers them, every name re-exported, with the tagged union ``AnyMessage``.
"""

from __future__ import annotations

import typing
from typing import Final, TypeAlias

from mano_core.protocol.message_base import (
    PROTOCOL_VERSION,
    SUPPORTED_VERSIONS,
    U32,
    Seq,
    CompartmentNo,
    TeamId,
    DeviceId,
    Signature,
    Nonce,
    InviteId,
    Verifier,
    Proof,
    Blob,
    EnvelopeBytes,
    LogEntry,
    LogEntries_,
    ChunkBytes,
    FileId,
    FilePartBytes,
    Name,
    Text,
    Versions,
    Capability,
    Capabilities,
    CAP_HEAD_GET,
    CAP_CATCHUP_PLAN,
    RELAY_CAPABILITIES,
    Message,
)
from mano_core.protocol.messages_session import (
    Hello,
    Welcome,
    Auth,
    AuthOk,
    Ok,
    Error,
    LogFetch,
    LogAppend,
    LogEntries,
)
from mano_core.protocol.messages_envelopes import (
    Subscribe,
    Unsubscribe,
    Push,
    Ack,
    Deliver,
    CaughtUp,
    HeadGet,
    Head,
    CatchupGet,
    CatchupPlan,
)
from mano_core.protocol.messages_blobs import (
    SnapshotPut,
    SnapshotGet,
    SnapshotData,
    Purge,
    Purged,
    FilePut,
    FileStatus,
    FileInfo,
    FileGet,
    FileData,
    FileDelete,
)
from mano_core.protocol.messages_members import (
    KeyPut,
    KeyFetch,
    KeyItem,
    Keys,
    KeyAck,
    InviteOpen,
    InviteRequest,
    InviteItem,
    InviteList,
    Invites,
    InviteAnswer,
    InviteFetch,
    Presence,
)

__all__ = [
    "ALL_MESSAGES",
    "CAP_CATCHUP_PLAN",
    "CAP_HEAD_GET",
    "PROTOCOL_VERSION",
    "RELAY_CAPABILITIES",
    "SUPPORTED_VERSIONS",
    "U32",
    "Ack",
    "AnyMessage",
    "Auth",
    "AuthOk",
    "Blob",
    "Capabilities",
    "Capability",
    "CatchupGet",
    "CatchupPlan",
    "CaughtUp",
    "ChunkBytes",
    "CompartmentNo",
    "Deliver",
    "DeviceId",
    "EnvelopeBytes",
    "Error",
    "FileData",
    "FileDelete",
    "FileGet",
    "FileId",
    "FileInfo",
    "FilePartBytes",
    "FilePut",
    "FileStatus",
    "Head",
    "HeadGet",
    "Hello",
    "InviteAnswer",
    "InviteFetch",
    "InviteId",
    "InviteItem",
    "InviteList",
    "InviteOpen",
    "InviteRequest",
    "Invites",
    "KeyAck",
    "KeyFetch",
    "KeyItem",
    "KeyPut",
    "Keys",
    "LogAppend",
    "LogEntries",
    "LogEntries_",
    "LogEntry",
    "LogFetch",
    "Message",
    "Name",
    "Nonce",
    "Ok",
    "Presence",
    "Proof",
    "Purge",
    "Purged",
    "Push",
    "Seq",
    "Signature",
    "SnapshotData",
    "SnapshotGet",
    "SnapshotPut",
    "Subscribe",
    "TeamId",
    "Text",
    "Unsubscribe",
    "Verifier",
    "Versions",
    "Welcome",
]

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
