"""Read back everything a device store or a relay database holds, decrypted, to search it for
erased values. Test-only: it reaches into the store's rows on purpose."""

from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mano_core.crypto import ChainState, open_envelope
from mano_core.crypto.envelope import Envelope
from mano_core.errors import CryptoError, MalformedEnvelopeError
from mano_core.ids import Compartment
from mano_core.store import LocalStore
from mano_core.store.rows import open_outbox, open_record, open_snapshot, open_updates
from mano_core.sync.snapshot import open_snapshot as open_relay_snapshot


async def document_rows(store: LocalStore) -> list[bytes]:
    """The ciphertext of every row holding document content (updates, snapshot chunks, outbox
    items); an erasure rewrites all of them."""
    rows = []
    for table in ("updates", "snapshot_chunks", "outbox"):
        rows += [bytes(r[0]) for r in await store._db.fetchall(f"SELECT data FROM {table}")]
    return rows


class UnreadableError(AssertionError):
    """A blob the search had to read could not be decrypted: a search that skipped it could
    pass by reading nothing, so it fails instead."""


async def store_plaintexts(store: LocalStore, keys_by_team: dict[bytes, Any]) -> list[bytes]:
    """Every row of the store decrypted; envelopes waiting in sealed outboxes are opened with
    the team keys given (``TeamKeys``, any key of the dict) so their plaintext is searched too.

    The one expected skip is named: items of a ``.../local`` outbox are a team's updates not
    sealed yet (their plaintext is searched as it is). Every other outbox item must be an
    envelope of a team whose keys are given, and must open: UnreadableError otherwise."""
    state = store._state
    cipher = state.cipher
    out: list[bytes] = []
    async with store._db.reading() as db:  # no write interleaves: heads and rows agree
        docs = []
        for head in [dataclasses.replace(h) for h in state.docs.values()]:
            chunks = await db.fetchall(
                "SELECT idx, data FROM snapshot_chunks WHERE doc_id = ? ORDER BY idx",
                (head.id,))
            updates = await db.fetchall(
                "SELECT seq, data FROM updates WHERE doc_id = ? ORDER BY seq", (head.id,))
            outbox = await db.fetchall("SELECT id, data FROM outbox WHERE doc_id = ?",
                                       (head.id,))
            docs.append((head, chunks, updates, outbox))
        records = await db.fetchall("SELECT tag, ns, data FROM records")
    keys = {k.team_id: k for k in keys_by_team.values()}
    for head, chunks, updates, outbox in docs:
        if chunks:
            out.append(open_snapshot(cipher, head, [(i, bytes(d)) for i, d in chunks]))
        out += open_updates(cipher, head, [(s, bytes(d)) for s, d in updates])
        for item_id, data in outbox:
            payload = open_outbox(cipher, head, item_id, bytes(data))
            out.append(payload)
            if not head.name.endswith(_UNSEALED_OUTBOX):
                out.append(_open_envelope(payload, keys, f"outbox item {item_id} of {head.name}"))
    for tag, ns, data in records:
        out.append(open_record(cipher, bytes(ns), bytes(tag), bytes(data), "?")[1])
    return out


_UNSEALED_OUTBOX = "/local"  # mano_core.team.local_outbox: plaintext updates, not envelopes


def _open_envelope(raw: bytes, keys: dict[bytes, Any], where: str) -> bytes:
    """The plaintext of one envelope, opened with the keys of the team its header names."""
    try:
        header = Envelope.parse(raw).header
    except MalformedEnvelopeError as exc:
        raise UnreadableError(f"{where} is not an envelope: {exc}") from exc
    team = keys.get(header.team_id)
    if team is None:
        raise UnreadableError(f"{where}: envelope of team {header.team_id.hex()}, no keys given")
    try:
        return open_envelope(raw, log=team.log, keyring=team.keyring, team_id=team.team_id,
                             compartment=header.compartment, chain_state=ChainState()).plaintext
    except CryptoError as exc:  # EnvelopeError and MissingKeyError alike: not searched
        raise UnreadableError(f"{where} does not open: {exc!r}") from exc


@dataclass
class RelayContents:
    """What a relay database holds, decrypted: every envelope and snapshot it holds was opened
    (``envelopes`` and ``snapshots`` count them), or the read failed."""

    plaintexts: list[bytes]
    raw: list[bytes]
    envelopes: int
    snapshots: int


def relay_plaintexts(db_path: Path, keys: Any) -> tuple[list[bytes], list[bytes]]:
    """(decrypted envelopes and snapshots, raw blobs) of a SQLite relay database holding one
    team (``keys``, its ``TeamKeys``). Every envelope and snapshot must open: UnreadableError
    otherwise (including one of another team)."""
    contents = relay_contents(db_path, keys)
    return contents.plaintexts, contents.raw


def relay_contents(db_path: Path, keys: Any) -> RelayContents:
    """See ``relay_plaintexts``; also says how many envelopes and snapshots were opened."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        envelopes = [(bytes(team), c, seq, bytes(data)) for team, c, seq, data in conn.execute(
            "SELECT team, c, seq, data FROM envelopes ORDER BY team, c, seq")]
        snapshots: dict[tuple[int, bytes, int], list[bytes]] = {}
        for sid, team, c, data in conn.execute(
                "SELECT s.sid, s.team, s.c, p.data FROM snapshots s"
                " JOIN snapshot_parts p ON p.sid = s.sid ORDER BY s.sid, p.part"):
            snapshots.setdefault((sid, bytes(team), c), []).append(bytes(data))
    finally:
        conn.close()
    by_team = {keys.team_id: keys}
    plain = []
    for team, c, seq, raw in envelopes:
        plain.append(_open_envelope(raw, by_team, f"relay envelope {team.hex()}/{c}/{seq}"))
    blobs = []
    for (sid, team, c), parts in snapshots.items():
        blob = b"".join(parts)
        blobs.append(blob)
        if team != keys.team_id:
            raise UnreadableError(f"relay snapshot {sid} of team {team.hex()}, no keys given")
        try:
            snap = open_relay_snapshot(blob, log=keys.log, keyring=keys.keyring,
                                       team_id=keys.team_id, compartment=Compartment(c))
        except CryptoError as exc:
            raise UnreadableError(f"relay snapshot {sid} does not open: {exc!r}") from exc
        plain.append(snap.state)
    return RelayContents(plain, [e[3] for e in envelopes] + blobs, len(envelopes),
                         len(snapshots))


def file_bytes(path: Path) -> bytes:
    """The database file and its write-ahead log, as they are on disk."""
    data = b""
    for suffix in ("", "-wal", "-journal"):
        p = Path(str(path) + suffix)
        if p.exists():
            data += p.read_bytes()
    return data


def containing(blobs: list[bytes], needles: list[bytes]) -> list[bytes]:
    """The needles found in any blob."""
    return [n for n in needles if any(n in b for b in blobs)]
