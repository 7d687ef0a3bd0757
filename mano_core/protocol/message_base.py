"""The sync protocol's version, field types, relay capabilities and the base of every message
(docs/protocol.md); the messages themselves are in the messages_* modules, all re-exported
by mano_core.protocol.messages."""

from __future__ import annotations

from typing import Annotated, Final

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
