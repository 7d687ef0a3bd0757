"""The relay's storage interface: a small async Protocol that every backend implements.

Everything stored is opaque to the relay (envelopes, snapshots, key packages, invitation blobs
are ciphertext; membership-log entries are signed public data). One module per backend; the
contract tests in tests/relay/test_storage_contract.py run against each of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from mano_core.errors import RelayStorageError

# Every integer a backend stores fits a signed 64-bit column (SQLite INTEGER, PostgreSQL
# BIGINT): sequences, sizes and ids are < 2^63 by construction or by the wire's limits; the
# u64 author counter of an envelope header is stored through ``to_i64``.
MAX_STORED_INT: Final = 2**63 - 1
MAX_COUNTER: Final = 2**64 - 1
UNREACHABLE: Final = "database unreachable"  # /healthz's reason prefix (docs/operations.md)


def unreachable(exc: BaseException) -> str:
    """/healthz's reason for a failed storage operation: ``database unreachable: …`` once, also
    when the storage's own error already says it (PostgresStorage's ``_run`` does)."""
    reason = str(exc) or type(exc).__name__
    return reason if reason.startswith(UNREACHABLE) else f"{UNREACHABLE}: {reason}"


def check_int(name: str, value: int, low: int = 0, high: int = MAX_STORED_INT) -> int:
    """``value`` if ``low <= value <= high``, else RelayStorageError (nothing is stored)."""
    if not low <= value <= high:
        raise RelayStorageError(f"{name} {value} is outside {low}..{high}")
    return value


def to_i64(counter: int) -> int:
    """Map an unsigned 64-bit author counter onto a signed 64-bit column (a bijection: the
    relay only compares counters for equality, in the dedup key)."""
    check_int("author counter", counter, 0, MAX_COUNTER)
    return counter - (1 << 64) if counter > MAX_STORED_INT else counter


@dataclass(frozen=True, slots=True)
class NewEnvelope:
    """An envelope to append. ``author``/``counter`` come from its header (the dedup key)."""

    team: bytes
    compartment: int
    author: bytes
    counter: int
    data: bytes

    def __post_init__(self) -> None:
        check_int("compartment", self.compartment, 0, 255)
        check_int("author counter", self.counter, 0, MAX_COUNTER)


@dataclass(frozen=True, slots=True)
class Appended:
    """Where an appended envelope went: its sequence, and whether it was already stored."""

    seq: int
    duplicate: bool


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """A stored snapshot of one compartment covering sequences up to ``upto``."""

    sid: int
    team: bytes
    compartment: int
    upto: int
    parts: int
    size: int
    created_at: float


@dataclass(frozen=True, slots=True)
class KeyPackage:
    """An opaque key package waiting for device ``recipient``."""

    kid: int
    sender: bytes
    blob: bytes


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A document file of one team (opaque ciphertext parts): ``parts`` stored so far,
    ``size`` their bytes, ``complete`` once the last part was stored."""

    team: bytes
    file: bytes
    compartment: int
    parts: int
    size: int
    complete: bool
    created_at: float


def already_appended(log_tail: Sequence[bytes], start: int, length: int,
                     entries: Sequence[bytes]) -> bool:
    """Whether a log of ``length`` entries, whose entries from index ``start`` are
    ``log_tail``, already ends with exactly ``entries`` appended at ``start``: the append is
    then done, not a conflict (PostgresStorage retries a transaction whose COMMIT lost its
    answer, TransactionResolutionUnknownError, and the retry finds the first try's rows)."""
    return length == start + len(entries) and list(log_tail) == list(entries)


def part_again(info: StoredFile, compartment: int, part: int, last: bool) -> bool:
    """Whether ``part`` would be the stored file ``info``'s last part again (same compartment,
    same place, same ``last``): put_file_part then compares the bytes, and the same bytes are
    that part already stored, not a conflict (PostgresStorage's retry after a lost COMMIT
    answer finds its first try's part)."""
    return (info.compartment == compartment and part == info.parts - 1
            and info.complete == last)


def snapshot_part_again(parts: int, part: int, stored: bytes | None, data: bytes) -> bool:
    """Whether ``data`` at ``part`` of an unfinished snapshot holding ``parts`` parts, whose
    part ``part`` holds ``stored`` (None: none yet), is its last stored part again with the
    same bytes: put_snapshot_part is then done, nothing written (PostgresStorage's retry after
    a lost COMMIT answer finds its first try's part)."""
    return part == parts - 1 and stored == data


class Storage(Protocol):
    """Durable storage of the relay. Every method is atomic; ``append_envelopes`` commits its
    whole batch in one transaction and returns only once it is durable. A failure of the
    database or its driver raises RelayStorageError (the driver's error as its cause)."""

    async def open(self) -> None:
        """Create or migrate the schema. Called once before any other method."""

    async def close(self) -> None:
        """Flush and release resources."""

    async def ping(self) -> None:
        """Raise RelayStorageError unless the storage can serve requests now (health checks)."""

    # --- teams and membership logs -----------------------------------------------------------

    async def create_team(self, team: bytes, log: Sequence[bytes], now: float) -> bool:
        """Create ``team`` with its genesis ``log``; False if it already exists (unchanged)."""

    async def load_log(self, team: bytes) -> list[bytes] | None:
        """The team's whole membership log, or None if the team is unknown."""

    async def append_log(self, team: bytes, start: int, entries: Sequence[bytes]) -> None:
        """Append entries at index ``start``. Raises RelayConflictError if the log's length is
        not ``start``, unless the log already ends with exactly these entries from ``start``:
        then nothing is written and the call succeeds (the same append again, as after a retry
        whose first COMMIT went through with its answer lost: see already_appended)."""

    async def team_usage(self, team: bytes) -> int:
        """Bytes the team stores: membership log, envelopes, snapshots (unfinished ones too),
        key packages, invitations."""

    # --- envelopes -----------------------------------------------------------------------------

    async def append_envelopes(self, items: Sequence[NewEnvelope], now: float) -> list[Appended]:
        """Store ``items`` in one transaction, assigning each new one the next sequence of its
        (team, compartment); an item whose (team, compartment, author, counter) is stored
        already (or earlier in the batch) gets the original sequence and ``duplicate=True``."""

    async def read_envelopes(
        self, team: bytes, compartment: int, after: int, limit: int
    ) -> list[tuple[int, bytes]]:
        """Up to ``limit`` stored envelopes with sequence > ``after``, in order."""

    async def head(self, team: bytes, compartment: int) -> int:
        """The last sequence assigned in (team, compartment); 0 if none."""

    async def pruned_upto(self, team: bytes, compartment: int) -> int:
        """Every sequence <= this was pruned (0: nothing was)."""

    async def envelope_bytes(self, team: bytes, compartment: int, after: int,
                             upto: int | None = None) -> int:
        """The bytes of the stored envelopes with ``after`` < sequence (<= ``upto`` if given):
        what catching up from ``after`` would deliver (``catchup_plan``)."""

    # --- snapshots -----------------------------------------------------------------------------

    async def put_snapshot(
        self, team: bytes, compartment: int, upto: int, parts: Sequence[bytes], now: float
    ) -> SnapshotInfo:
        """Store a snapshot made of ``parts`` (in order), once also when a retry ran it
        twice."""

    async def begin_snapshot(self, team: bytes, compartment: int, upto: int, now: float) -> int:
        """Start storing a snapshot part by part (an upload streamed to storage, never held in
        memory); returns its ``sid``. Unfinished, it is invisible to ``newest_snapshot``,
        ``prune`` and ``purge``; its parts count in the team's usage as they are stored. One
        call makes one snapshot, also when a retry ran it twice."""

    async def put_snapshot_part(self, sid: int, part: int, data: bytes) -> None:
        """Store part ``part`` of the unfinished snapshot ``sid``. Raises RelayConflictError,
        storing nothing, if ``sid`` is not unfinished or ``part`` is stored already, unless it
        is the last stored part with these very bytes (the same part again, as after a retry
        whose COMMIT lost its answer: see snapshot_part_again): then nothing is written."""

    async def finish_snapshot(self, sid: int) -> SnapshotInfo:
        """Make the unfinished snapshot ``sid`` visible, with the parts stored so far."""

    async def abort_snapshot(self, sid: int) -> None:
        """Delete an unfinished snapshot and its parts (their usage is given back); nothing
        if it is finished or gone."""

    async def newest_snapshot(self, team: bytes, compartment: int, *,
                              before: int = 0) -> SnapshotInfo | None:
        """The snapshot with the highest ``upto`` (newest on ties), or None; with ``before``
        (> 0), the one with the highest ``upto`` below it (a device that refused the newest
        falls back to an older one)."""

    async def snapshot_part(self, sid: int, part: int) -> bytes | None:
        """One part of a stored snapshot, or None if it is gone."""

    async def prune(
        self, team: bytes, compartment: int, *, now: float, retention: float, keep: int
    ) -> int:
        """Keep the ``keep`` newest snapshots and drop older ones; delete envelopes that are
        covered by the oldest kept snapshot AND older than ``retention`` seconds. Returns the
        number of envelopes deleted. Never deletes an envelope above the oldest kept snapshot,
        and nothing at all while fewer than ``keep`` snapshots exist."""

    async def purge(self, team: bytes, compartment: int, upto: int) -> tuple[int, int]:
        """Erasure: delete every envelope of (team, compartment) with sequence <= ``upto`` and
        every snapshot of it but the newest (``newest_snapshot``), in one transaction; then
        ``pruned_upto`` is >= ``upto``. Returns (envelopes deleted, snapshots deleted): (0, 0)
        when an identical purge ran before. The deleted bytes must not stay readable in the
        backend's files where the backend can prevent it (SQLite: secure_delete and a WAL
        checkpoint; PostgreSQL: VACUUM). Raises RelayConflictError, deleting nothing, unless
        the newest snapshot covers ``upto``."""

    # --- document files (sync_server/storage/*_files.py) -----------------------------------------

    async def put_file_part(self, team: bytes, compartment: int, file: bytes, part: int,
                            data: bytes, last: bool, now: float) -> StoredFile:
        """Store part ``part`` of ``file`` in one transaction: part 0 creates the file; its
        bytes count in the team's usage at once; ``last`` makes it complete. Raises
        RelayConflictError, storing nothing, unless ``part`` is the next part of an unfinished
        file of that compartment (0 for a file that does not exist), or the file's last stored
        part with these very bytes and ``last`` (the same part again, as after a retry whose
        COMMIT lost its answer: see part_again): then nothing is written and the call returns
        the file as stored."""

    async def file_info(self, team: bytes, file: bytes) -> StoredFile | None:
        """The stored file (finished or not), or None."""

    async def file_part(self, team: bytes, file: bytes, part: int) -> bytes | None:
        """One stored part, or None if the file or the part is gone."""

    async def delete_file(self, team: bytes, file: bytes) -> int:
        """Delete the file and its parts and give their bytes back; returns how many bytes (0
        if there was none). The deleted bytes must not stay readable in the backend's files
        where the backend can prevent it (as for ``purge``)."""

    async def open_files(self, team: bytes) -> int:
        """How many files of the team are unfinished."""

    # --- key packages --------------------------------------------------------------------------

    async def put_key(
        self, team: bytes, recipient: bytes, sender: bytes, blob: bytes, now: float
    ) -> int:
        """Store a key package for ``recipient``; returns its id (kid)."""

    async def fetch_keys(self, team: bytes, recipient: bytes, limit: int) -> list[KeyPackage]:
        """Up to ``limit`` key packages waiting for ``recipient``, oldest first."""

    async def count_keys(self, team: bytes, recipient: bytes) -> int:
        """How many key packages wait for ``recipient``."""

    async def delete_keys(self, team: bytes, recipient: bytes, kids: Sequence[int]) -> None:
        """Delete those of ``recipient``'s key packages (others' ids are ignored)."""

    # --- invitations ---------------------------------------------------------------------------

    async def open_invite(self, team: bytes, invite: bytes, verifier: bytes, now: float) -> bool:
        """Record that an admin opened ``invite`` with ``verifier`` (SHA-256 of the proof its
        requests must carry); True if stored or already open with that verifier, False if the
        id is open with another verifier. Its bytes count in the team's usage."""

    async def invite_verifier(self, team: bytes, invite: bytes) -> bytes | None:
        """The verifier ``invite`` was opened with, or None if it is not open (never, or
        expired)."""

    async def count_open_invites(self, team: bytes) -> int:
        """How many invitations of the team are open (until they expire)."""

    async def put_invite_request(
        self, team: bytes, invite: bytes, blob: bytes, now: float
    ) -> bool:
        """Store a join request; True if stored or identical to the stored one, False if the
        invitation id already holds a different request."""

    async def pending_invites(self, team: bytes, limit: int) -> list[tuple[bytes, bytes]]:
        """Unanswered ``(invite, request)`` pairs of the team, oldest first."""

    async def answer_invite(self, team: bytes, invite: bytes, blob: bytes) -> bool:
        """Store the answer to a request; False if there is no such request."""

    async def invite_answer(self, team: bytes, invite: bytes) -> bytes | None:
        """The stored answer, or None if unanswered or unknown."""

    async def expire(self, before: float) -> int:
        """Delete invitation requests and opened invitations created before ``before``,
        unfinished snapshots (uploads a crash interrupted) begun before it, and unfinished
        document files created before it; returns how many invitation requests."""
