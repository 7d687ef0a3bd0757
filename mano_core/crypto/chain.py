"""Per-author envelope chains: replay detection and gap reports.

Each author numbers its envelopes per (team, compartment): counter 0 with a zero ``prev_hash``,
then counter n + 1 carrying the SHA-256 of envelope n. A reader remembers, per author, the last
counter and hash it accepted. A counter not above the last one is a replay (rejected); a jump is
a gap (accepted and reported: the relay may have pruned history behind a snapshot); the right
counter with the wrong ``prev_hash`` means the author forked its own chain (accepted, reported).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import msgspec

from mano_core.crypto import _wire
from mano_core.errors import KeyMaterialError, ReplayError
from mano_core.ids import Compartment

_VERSION: Final = 1

_ChainKey = tuple[bytes, Compartment, bytes]


@dataclass(frozen=True, slots=True)
class ChainReport:
    """An anomaly in an author's chain that did not stop the envelope from opening.

    ``missing`` counters were never seen (gap); ``forked`` means the envelope has the expected
    counter but does not follow the envelope we hold for the previous one."""

    team_id: bytes
    compartment: Compartment
    author: bytes
    expected_counter: int
    received_counter: int
    forked: bool

    @property
    def missing(self) -> range:
        """Counters skipped between the last accepted envelope and this one."""
        return range(self.expected_counter, self.received_counter)


class _ChainData(msgspec.Struct, array_like=True, forbid_unknown_fields=True, frozen=True):
    version: int
    chains: list[tuple[bytes, int, bytes, int, bytes]]


class ChainState:
    """Last accepted (counter, envelope hash) per (team, compartment, author). Mutable.

    ``reports`` accumulates ChainReports until ``take_reports()``. Persist ``to_bytes()`` with
    the applied updates so that a restart does not accept a replay."""

    __slots__ = ("_last", "reports")

    def __init__(self) -> None:
        self._last: dict[_ChainKey, tuple[int, bytes]] = {}
        self.reports: list[ChainReport] = []

    def last(
        self, team_id: bytes, compartment: Compartment, author: bytes
    ) -> tuple[int, bytes] | None:
        """(counter, hash) of the last accepted envelope of that author, if any."""
        return self._last.get((team_id, compartment, author))

    def next_link(
        self, team_id: bytes, compartment: Compartment, author: bytes
    ) -> tuple[int, bytes]:
        """(counter, prev_hash) the author's next envelope must carry."""
        last = self.last(team_id, compartment, author)
        return (0, _wire.ZERO_HASH) if last is None else (last[0] + 1, last[1])

    def check(
        self,
        team_id: bytes,
        compartment: Compartment,
        author: bytes,
        counter: int,
        prev_hash: bytes,
    ) -> ChainReport | None:
        """Raise ReplayError if ``counter`` was already passed; else the report to file, if any.

        Does not change the state (see ``record``)."""
        expected, expected_prev = self.next_link(team_id, compartment, author)
        if counter < expected:
            raise ReplayError(f"counter {counter} of this author already seen (next is {expected})")
        if counter > expected:
            return ChainReport(team_id, compartment, author, expected, counter, False)
        if counter > 0 and prev_hash != expected_prev:
            return ChainReport(team_id, compartment, author, expected, counter, True)
        return None

    def record(
        self,
        team_id: bytes,
        compartment: Compartment,
        author: bytes,
        counter: int,
        envelope_hash: bytes,
        report: ChainReport | None = None,
    ) -> None:
        """Remember an accepted envelope (and file its report)."""
        self._last[(team_id, compartment, author)] = (counter, envelope_hash)
        if report is not None:
            self.reports.append(report)

    def merge(self, other: ChainState) -> None:
        """Adopt ``other``'s position for every author it is further along with (a verified
        snapshot's chains: envelopes it already includes are replays from then on)."""
        for key, (counter, digest) in other._last.items():
            mine = self._last.get(key)
            if mine is None or mine[0] < counter:
                self._last[key] = (counter, digest)

    def copy(self) -> ChainState:
        """An independent copy (pending reports not included): open envelopes against a copy
        and adopt it only once what they carried is committed."""
        other = ChainState()
        other._last = dict(self._last)
        return other

    def take_reports(self) -> list[ChainReport]:
        """Return and clear the pending reports."""
        reports, self.reports = self.reports, []
        return reports

    def to_bytes(self) -> bytes:
        """Serialised state (not secret, but integrity matters: keep it in the local store)."""
        chains = [(t, int(c), a, n, h) for (t, c, a), (n, h) in sorted(self._last.items())]
        return _wire.encode(_ChainData(_VERSION, chains))

    @classmethod
    def from_bytes(cls, data: bytes) -> ChainState:
        """Inverse of ``to_bytes`` (pending reports are not kept). Raises KeyMaterialError."""
        decoded = _wire.decode(data, _ChainData, KeyMaterialError, "chain state")
        if decoded.version != _VERSION:
            raise KeyMaterialError("unknown chain-state version")
        state = cls()
        for team_id, c_value, author, counter, digest in decoded.chains:
            if c_value not in Compartment._value2member_map_:
                raise KeyMaterialError("unknown compartment in chain state")
            state._last[(team_id, Compartment(c_value), author)] = (counter, digest)
        return state
