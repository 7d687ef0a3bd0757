"""Named limits. Every input Mano accepts has one; breaking it raises LimitExceededError (or the
protocol error code documented in docs/protocol.md). Each section belongs to one subsystem."""

from __future__ import annotations

from typing import Final

# --- domain records ---------------------------------------------------------------------------
MAX_TEXT_FIELD: Final = 100_000          # characters in one text field (comments, descriptions)
MAX_SHORT_FIELD: Final = 1_000           # characters in a name, phone, email, category…
MAX_LIST_ITEMS: Final = 1_000            # items in a list-valued field (aliases, categories…)

# --- teammates' updates waiting for their dependencies (mano_core/team.py) --------------------
MAX_PARKED_UPDATES: Final = 1_000        # parked per compartment; the oldest beyond are quarantined
MAX_PARKED_SECONDS: Final = 600.0        # parked longer than this (while open) are quarantined

# --- local store ------------------------------------------------------------------------------
COMPACT_AFTER_UPDATES: Final = 500       # fold update rows into a snapshot after this many
# ... while a catch-up is under way (more deliveries follow): each compaction re-encodes the
# whole state, so folding after every 500-envelope delivery made a catch-up quadratic; an open
# after a crash mid-way replays at most this many stored updates.
COMPACT_AFTER_UPDATES_CATCHING_UP: Final = 20_000
# ... or once the update rows stored since the snapshot weigh this fraction of it (and at least
# COMPACT_AFTER_BYTES): a snapshot-first catch-up's tail (one row per delivery) is not worth
# re-encoding the whole state for, a replay of everything is (team_compartment.compaction_due).
COMPACT_AFTER_FRACTION: Final = 0.5
COMPACT_AFTER_BYTES: Final = 1024 * 1024
# A compaction due starts once its compartment had no commit for this long (each commit puts
# it off: the next deliveries of a catch-up, the user's first look at them), and never later
# than this after it was first due (team_upkeep.py; settle and close start it at once).
COMPACT_QUIET_SECONDS: Final = 0.5
COMPACT_LATEST_SECONDS: Final = 2.0
MIN_PASSPHRASE_LENGTH: Final = 8
MAX_STORE_NAME_BYTES: Final = 1_024      # UTF-8 bytes of a document name, record namespace or key
MAX_STORE_VALUE_BYTES: Final = 256 * 1024 * 1024  # bytes of one update, record or outbox payload
MAX_STORE_SNAPSHOT_BYTES: Final = 1024 ** 3  # bytes of one document snapshot (stored in chunks)
# A snapshot's state from this size is sealed (AES-GCM, which releases the GIL) in a worker
# thread, the event loop running meanwhile (StoreTransaction.write_snapshot; 20 MB: ~30 ms).
SEAL_IN_THREAD_BYTES: Final = 1024 * 1024

# --- documents: encrypted files attached to records (mano_core/documents/) ------------------
DOCUMENT_MAX_SIZE: Final = 20 * 1024 * 1024  # plaintext bytes of one document (device default)
DOCUMENT_CHUNK: Final = 512 * 1024       # plaintext bytes per encrypted part (the last shorter)
DOCUMENT_CACHE_BYTES: Final = 256 * 1024 * 1024  # encrypted bodies kept on a device (LRU)
MAX_DOCUMENT_NAME: Final = 255           # characters of a document's name
MAX_DOCUMENT_FOLDER: Final = 1_000       # characters of its folder path ("a/b/c")

# --- crypto -----------------------------------------------------------------------------------
MAX_SEALED_SIZE: Final = 256 * 1024 * 1024  # bytes of one envelope the crypto layer parses/seals
MAX_MEMBERSHIP_ENTRY_SIZE: Final = 4_096  # bytes of one signed membership-log entry
MAX_MEMBERSHIP_ENTRIES: Final = 100_000  # entries in one team's membership log
MAX_MEMBER_ID_LENGTH: Final = 64         # characters of a member id (a UUID is 36)
MAX_KEY_PACKAGE_SIZE: Final = 64 * 1024  # bytes of one key package (~900 epoch keys)
MAX_KEY_EPOCH: Final = 2**32 - 1         # epochs are u32 on the wire
MAX_INVITATION_LIFETIME: Final = 7 * 24 * 3600  # seconds between creating and expiring an invite
MAX_INVITATION_MESSAGE_SIZE: Final = 4_096  # bytes of an invitation request or welcome

# --- decoding untrusted bytes -----------------------------------------------------------------
MAX_MSGPACK_DEPTH: Final = 32            # nesting of msgpack arrays/maps (frames, envelope
#                                          plaintexts, snapshot bodies, presence, key material)
MAX_CRDT_NESTING: Final = 64             # shared types nested in one another within one update
MAX_CRDT_ANY_DEPTH: Final = 64           # nesting of a JSON-like value inside a CRDT update

# --- protocol / relay -------------------------------------------------------------------------
# Wire limits (docs/protocol.md "Limits"); the relay's defaults, each overridable in its config.
MAX_FRAME_SIZE: Final = 1024 * 1024      # bytes in one websocket message (checked before decode)
MAX_ENVELOPE_SIZE: Final = 960 * 1024    # bytes in one envelope (a frame minus room for fields)
MAX_BLOB_SIZE: Final = 64 * 1024         # key package, invitation request/answer, presence blob
MAX_SNAPSHOT_CHUNK: Final = 960 * 1024   # bytes of snapshot data in one frame
MAX_SNAPSHOT_SIZE: Final = 256 * 1024 * 1024  # bytes in one whole snapshot
# A version-2 snapshot (mano_core/sync/snapshot_v2.py) is sent as pieces, each checked against
# its signed manifest and applied as it arrives. A writer cuts pieces of at least this many
# bytes (the chain state and the last piece excepted): fewer, larger pieces keep the manifest
# short, while 64 KiB still applies in ~1-2 ms, far under the UI loop's 50 ms bound.
MIN_SNAPSHOT_PIECE: Final = 64 * 1024
# Pieces in one v2 snapshot, checked in its header before the manifest is read: the largest
# snapshot (MAX_SNAPSHOT_SIZE) over the smallest piece (MIN_SNAPSHOT_PIECE). Its manifest
# (36 bytes a piece: at most ~144 KiB) then always fits in the first snapshot_data part.
MAX_SNAPSHOT_PIECES: Final = 4096
MAX_LOG_ENTRY_SIZE: Final = 16 * 1024    # bytes in one membership-log entry
MAX_LOG_ENTRIES_PER_FRAME: Final = 256   # membership-log entries in one frame
MAX_LIST_ITEMS_PER_FRAME: Final = 1024   # items of any list in one frame (deliveries, ids…)
MAX_CLIENT_NAME: Final = 128             # characters of the free-form client/relay name
MAX_CAPABILITIES: Final = 64             # capability names in a welcome
MAX_CAPABILITY_NAME: Final = 64          # characters of one capability name
MAX_ERROR_MESSAGE: Final = 512           # characters of an error's human-readable message
# Relay defaults (sync_server.config.RelayConfig holds the values in force).
RATE_MESSAGES_PER_SECOND: Final = 500    # per-device token-bucket refill rate (all its sessions)
RATE_BURST: Final = 2000                 # per-device token-bucket capacity
MAX_CONNECTIONS: Final = 10_000          # open websocket connections, whole relay
MAX_CONNECTIONS_PER_TEAM: Final = 500    # authenticated sessions of one team
MAX_TEAM_STORAGE: Final = 2 * 1024 ** 3  # bytes of envelopes + snapshots + blobs of one team
AUTH_TIMEOUT_SECONDS: Final = 10.0       # from connection open to authenticated (or guest op)
PING_INTERVAL_SECONDS: Final = 20.0      # websocket ping interval
PING_TIMEOUT_SECONDS: Final = 20.0       # close if no pong within this
# Client side: a frozen relay (or a dead link that TCP has not noticed) is seen within
# interval + timeout seconds, so the sync bar never says "online" for long when it is not.
CLIENT_PING_INTERVAL_SECONDS: Final = 2.0
CLIENT_PING_TIMEOUT_SECONDS: Final = 3.0
CLIENT_CLOSE_TIMEOUT_SECONDS: Final = 2.0  # then the socket is dropped without the handshake
IDLE_TIMEOUT_SECONDS: Final = 300.0      # close a session that sent no message for this long
SEND_BUFFER_BYTES: Final = 4 * 1024 * 1024  # unsent bytes to one client before it is "slow"
CATCHUP_BUFFER_MESSAGES: Final = 10_000  # live deliveries held for one session during catch-up
CATCHUP_BATCH: Final = 500               # stored envelopes per catch-up read / Deliver frame
COMMIT_BATCH: Final = 512                # envelopes committed in one transaction at most
# A live delivery's read from storage that failed (sync_server/fanout.py) is retried after a
# pause doubling from the first to the last, for as long as someone subscribes.
PULL_RETRY_FIRST_SECONDS: Final = 0.1
PULL_RETRY_MAX_SECONDS: Final = 5.0
# Device side (issue 24): the Deliver frames of one compartment already received when one is
# taken are applied with it in one transaction, up to these bounds (a catch-up commits a few
# times instead of once per frame; a frame is never waited for, and never split).
COALESCE_DELIVERIES_ENVELOPES: Final = 2000
COALESCE_DELIVERIES_BYTES: Final = 8 * 1024 * 1024
# A delivery's envelopes are opened (decryption, chain link, payload, dependency reads) on the
# event loop, which is let run once this much of that work went by (loop_turns.finish, the
# sync receiver): a delivery of COALESCE_DELIVERIES_ENVELOPES was one stretch of 30-80 ms
# beside the UI's first read (issue 24). A fifth of the UI's 50 ms, as loop_turns.SLICE_SECONDS.
DELIVERY_SLICE_SECONDS: Final = 0.010
MAX_PENDING_INVITES_PER_TEAM: Final = 100  # unanswered invitation requests waiting for an admin
MAX_PENDING_KEYS_PER_DEVICE: Final = 1000  # key packages waiting for one device
INVITE_TTL_SECONDS: Final = 7 * 24 * 3600  # invitation requests/answers are dropped after this
SNAPSHOT_RETENTION_SECONDS: Final = 30 * 24 * 3600  # envelopes kept this long even if covered
SNAPSHOTS_KEPT: Final = 2                # newest snapshots kept per team and compartment
MAX_FILE_PART: Final = 960 * 1024        # bytes of document-file data in one frame
MAX_FILE_SIZE: Final = 24 * 1024 * 1024  # bytes of one stored file (20 MiB + encryption room)
MAX_FILE_PARTS: Final = 1024             # parts of one stored file
MAX_OPEN_FILES_PER_TEAM: Final = 64      # files of one team being uploaded (not finished)
GUARDED_INDEX_PASSES: Final = 4          # extra reads of a state to close the role screening's
                                         # index (mano_core/rules/touch.py) before the exact way
