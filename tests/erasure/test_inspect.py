"""The erasure search (tests/erasure/inspect.py) is an oracle of the fault trials: it must fail
on what it cannot read, never pass by reading nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sync_server.storage.sqlite import _SCHEMA
from tests.sync.helpers import seal_bulk_persons

from .inspect import UnreadableError, containing, relay_contents, store_plaintexts


async def test_sealed_outbox_envelopes_are_opened_or_the_search_fails(make_device) -> None:
    a, b = await make_device("a"), await make_device("b")
    team = await a.create_team("Maraude Nord")
    other = await b.create_team("Accueil de jour")
    await seal_bulk_persons(team, team.keys, 2, "sealed")
    plain = await store_plaintexts(a.store, {b"": team.keys})
    assert containing(plain, [b"N-0", b"N-1"]) == [b"N-0", b"N-1"]
    with pytest.raises(UnreadableError, match="no keys given"):
        await store_plaintexts(a.store, {})
    with pytest.raises(UnreadableError, match="no keys given"):
        await store_plaintexts(a.store, {b"": other.keys})


def _relay_db(path: Path, envelopes: list[tuple[bytes, bytes]]) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(_SCHEMA)
    for seq, (team, data) in enumerate(envelopes, 1):
        conn.execute("INSERT INTO envelopes VALUES (?, 0, ?, ?, ?, ?, 0)",
                     (team, seq, b"a" * 32, seq, data))
    conn.commit()
    conn.close()
    return path


async def test_relay_envelopes_are_all_opened_or_the_search_fails(make_device,
                                                                   tmp_path: Path) -> None:
    a = await make_device("a")
    team = await a.create_team("Maraude Nord")
    await seal_bulk_persons(team, team.keys, 2, "sealed")
    sealed = [item.payload for item in await a.store.outbox_pending()
              if item.doc.endswith("/sealed")]
    assert len(sealed) == 2
    tid = team.keys.team_id
    contents = relay_contents(_relay_db(tmp_path / "ok.db", [(tid, s) for s in sealed]),
                              team.keys)
    assert (contents.envelopes, contents.snapshots) == (2, 0)
    assert containing(contents.plaintexts, [b"N-0", b"N-1"]) == [b"N-0", b"N-1"]

    flipped = sealed[1][:-70] + bytes([sealed[1][-70] ^ 1]) + sealed[1][-69:]
    with pytest.raises(UnreadableError, match="does not open"):
        relay_contents(_relay_db(tmp_path / "bad.db", [(tid, sealed[0]), (tid, flipped)]),
                       team.keys)
    with pytest.raises(UnreadableError, match="not an envelope"):
        relay_contents(_relay_db(tmp_path / "junk.db", [(tid, b"junk")]), team.keys)
