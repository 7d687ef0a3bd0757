"""Verifiable field history (docs/security.md, "Audit").

Every history entry a device with keys writes is signed with its Ed25519 identity over a
canonical encoding of what the entry says (team, compartment, entry id, record, field, old, new,
time, claimed author, device). A reader checks each entry against the team's membership log:

    audit.bind(team, keys)             # done by Team.attach_keys: new entries are signed
    for line in audit.trail(team, person.id):
        print(line.field, line.old, line.new, line.member, line.status)

Sans-I/O and independent of Team (it only reads ``team.doc``, ``team.medical_doc``,
``team.keys`` and ``team.id``): nothing here imports the Team facade.
"""

from __future__ import annotations

import enum
import uuid
import weakref
from dataclasses import dataclass
from typing import Any, Final, Protocol

import msgspec

from mano_core.crypto import DeviceIdentity, MembershipLog, verify_signature
from mano_core.document.queries import History
from mano_core.document.team_doc import DocumentCore
from mano_core.ids import Compartment
from mano_core.model.records import HistoryEntry

__all__ = ["DOMAIN_HISTORY", "AuditLine", "AuditStatus", "EntrySigner", "bind", "signed_bytes",
           "trail", "verify_entry"]

DOMAIN_HISTORY: Final = "mano/v1/history"
_FORMAT: Final = 1  # first element of the signed tuple: a later format signs a different tuple
_ENCODER: Final = msgspec.msgpack.Encoder(order="sorted")


class AuditStatus(enum.Enum):
    """What the signature of one history entry proves."""

    VERIFIED = "verified"  # good signature by a device of the log, whose member is the author
    UNSIGNED = "unsigned"  # written without keys (local-only team, import, older data)
    FORGED = "forged"  # bad signature, or the claimed author is not the device's member
    UNKNOWN_DEVICE = "unknown_device"  # signed by a device this team's log does not know


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One field change of a record, with who signed it and whether that holds."""

    entry_id: str
    compartment: Compartment
    field: str
    old: Any
    new: Any
    at: Any  # datetime: the writing device's clock, as it claims
    author: str | None  # the member id the entry claims
    member: str | None  # the member of the signing device per the log (None: unknown)
    device: str  # the signing device's id, hex ("" when unsigned)
    status: AuditStatus


class SigningKeys(Protocol):
    """What signing needs of ``keys_at_rest.TeamKeys``."""

    @property
    def identity(self) -> DeviceIdentity: ...
    @property
    def log(self) -> MembershipLog: ...
    @property
    def team_id(self) -> bytes: ...


def _canonical(value: Any) -> Any:
    """The value as msgpack will encode it the same before and after a trip through the CRDT
    (pycrdt hands numbers back as floats and does not keep dict order)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}  # sorted by the encoder
    return value


def signed_bytes(team_id: bytes, compartment: Compartment, entry: HistoryEntry) -> bytes:
    """The exact bytes a history entry's signature covers (under DOMAIN_HISTORY): msgpack of
    (format, team id, compartment, entry id, record collection, record id, field, old, new,
    at, author, device id). ``entry.sig`` is not part of it."""
    return _ENCODER.encode((
        _FORMAT, team_id, int(compartment), entry.id, entry.record_collection, entry.record_id,
        entry.field, _canonical(entry.old), _canonical(entry.new),
        msgspec.to_builtins(entry.at), entry.author, entry.device,
    ))


class EntrySigner:
    """Signs the history entries of one team with this device's identity (a HistorySigner)."""

    def __init__(self, identity: DeviceIdentity, team_id: bytes) -> None:
        self._identity = identity
        self._team_id = team_id
        self.device = identity.device_id.hex()

    def sign(self, compartment: Compartment, entry: HistoryEntry) -> str:
        data = signed_bytes(self._team_id, compartment, entry)
        return self._identity.sign(data, domain=DOMAIN_HISTORY).hex()


def bind(team: Any, keys: SigningKeys) -> None:
    """Make ``team``'s documents sign the history entries they write with ``keys``."""
    signer = EntrySigner(keys.identity, keys.team_id)
    for core in _cores(team):
        core.signer = signer
    _CACHES.pop(team, None)  # another log: verify again


def verify_entry(entry: HistoryEntry, compartment: Compartment, team_id: bytes,
                 log: MembershipLog | None) -> AuditLine:
    """Check one entry's signature and author against ``log`` (None: no log, as in a
    local-only team). Never raises on malformed entries: they come out FORGED."""
    member: str | None = None
    status = _status(entry, compartment, team_id, log)
    if status is not AuditStatus.UNSIGNED and log is not None:
        state = log.device(_device_id(entry.device) or b"")
        member = state.member if state is not None else None
    return AuditLine(entry.id, compartment, entry.field, entry.old, entry.new, entry.at,
                     entry.author, member, entry.device, status)


def _status(entry: HistoryEntry, compartment: Compartment, team_id: bytes,
            log: MembershipLog | None) -> AuditStatus:
    if not entry.device and not entry.sig:
        return AuditStatus.UNSIGNED
    device = _device_id(entry.device)
    try:
        sig = bytes.fromhex(entry.sig)
    except ValueError:
        return AuditStatus.FORGED
    if device is None or not verify_signature(
            device, sig, signed_bytes(team_id, compartment, entry), domain=DOMAIN_HISTORY):
        return AuditStatus.FORGED
    state = log.device(device) if log is not None else None
    if state is None:
        return AuditStatus.UNKNOWN_DEVICE
    return AuditStatus.VERIFIED if state.member == entry.author else AuditStatus.FORGED


def _device_id(text: str) -> bytes | None:
    try:
        device = bytes.fromhex(text)
    except ValueError:
        return None
    return device if len(device) == 32 else None


class _Cache:
    """Verification results of one team's entries. An entry id is only trusted to name the
    same entry while the collection hands back the same (immutable) object, and a result only
    while the log has not grown (a device unknown yesterday may be in it today)."""

    def __init__(self) -> None:
        self.log: MembershipLog | None = None
        self.log_size = -1
        self.lines: dict[str, tuple[HistoryEntry, AuditLine]] = {}

    def line(self, entry: HistoryEntry, compartment: Compartment, team_id: bytes,
             log: MembershipLog | None) -> AuditLine:
        size = len(log) if log is not None else 0
        if log is not self.log or size != self.log_size:  # TeamKeys replaces its log
            self.lines.clear()
            self.log, self.log_size = log, size
        hit = self.lines.get(entry.id)
        if hit is not None and hit[0] is entry and hit[1].compartment is compartment:
            return hit[1]
        line = verify_entry(entry, compartment, team_id, log)
        self.lines[entry.id] = (entry, line)
        return line


_CACHES: weakref.WeakKeyDictionary[Any, _Cache] = weakref.WeakKeyDictionary()


def trail(team: Any, record_id: str) -> list[AuditLine]:
    """Every history entry of a record, oldest first, each verified (cached per entry).

    A medical record's entries live in the medical compartment and are only found on devices
    that hold it."""
    keys = getattr(team, "keys", None)
    log: MembershipLog | None = keys.log if keys is not None else None
    team_id = keys.team_id if keys is not None else uuid.UUID(team.id).bytes
    cache = _CACHES.get(team)
    if cache is None:
        cache = _CACHES[team] = _Cache()
    lines = [cache.line(entry, core.compartment, team_id, log)
             for core in _cores(team) for entry in _history(core).of_record(record_id)]
    return sorted(lines, key=lambda line: (line.at, line.entry_id))


def _history(core: DocumentCore) -> History:
    history = core.collections[HistoryEntry.collection]
    assert isinstance(history, History)
    return history


def _cores(team: Any) -> list[DocumentCore]:
    cores: list[DocumentCore] = [team.doc]
    if getattr(team, "medical_doc", None) is not None:
        cores.append(team.medical_doc)
    return cores
