"""The SQLite relay's append of envelopes as ONE call into the writer connection's thread
(issue 24): BEGIN IMMEDIATE, the dedup lookup, the head reads it needs, the three writes and
COMMIT, where they were six or more round trips between the event loop and aiosqlite's
worker thread (each a thread hand-off, on the path of every ack and delivery)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, TypeAlias

from sync_server.storage.base import Appended, NewEnvelope

Key: TypeAlias = tuple[bytes, int, bytes, int]  # team, compartment, author, counter (i64)
Heads: TypeAlias = dict[tuple[bytes, int], int]

_STEP = 200  # keys per dedup lookup: 4 parameters each, well under SQLite's variable limit


def append_in_thread(conn: sqlite3.Connection, items: Sequence[NewEnvelope],
                     keys: Sequence[Key], heads: Heads, now: float
                     ) -> tuple[list[Appended], Heads]:
    """Store ``items`` (their dedup ``keys``) in one transaction on ``conn`` (the writer, in
    its worker thread); returns what each became and the heads this transaction moved (the
    caller adopts them once this returned: committed). ``heads``: the cached sequence heads
    (read only; one not cached is read here). Rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        found: dict[Key, int] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), _STEP):
            chunk = unique[i : i + _STEP]
            values = ",".join("(?,?,?,?)" for _ in chunk)
            for t, c, a, n, seq in conn.execute(
                    "SELECT team, c, author, counter, seq FROM envelopes "
                    f"WHERE (team, c, author, counter) IN (VALUES {values})",
                    [x for k in chunk for x in k]).fetchall():
                found[(bytes(t), int(c), bytes(a), int(n))] = int(seq)
        out: list[Appended] = []
        moved: Heads = {}
        rows_in: list[tuple[Any, ...]] = []
        usage: dict[bytes, int] = {}
        for it, key in zip(items, keys, strict=True):
            if key in found:
                out.append(Appended(found[key], True))
                continue
            where = (it.team, it.compartment)
            if where not in moved:
                moved[where] = heads[where] if where in heads else _head(conn, where)
            seq = moved[where] = moved[where] + 1
            found[key] = seq
            rows_in.append((it.team, it.compartment, seq, it.author, key[3], it.data, now))
            usage[it.team] = usage.get(it.team, 0) + len(it.data)
            out.append(Appended(seq, False))
        if rows_in:
            conn.executemany(
                "INSERT INTO envelopes(team, c, seq, author, counter, data, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", rows_in).close()
            conn.executemany(
                "INSERT INTO heads(team, c, head, pruned) VALUES (?, ?, ?, 0) "
                "ON CONFLICT(team, c) DO UPDATE SET head = excluded.head",
                [(t, c, head) for (t, c), head in moved.items()]).close()
            conn.executemany("UPDATE teams SET usage = usage + ? WHERE team = ?",
                             [(n, t) for t, n in usage.items()]).close()
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # SQLite may have rolled back already (e.g. SQLITE_FULL on COMMIT)
        raise
    return out, moved


def _head(conn: sqlite3.Connection, where: tuple[bytes, int]) -> int:
    row = conn.execute("SELECT head FROM heads WHERE team = ? AND c = ?", where).fetchone()
    return int(row[0]) if row else 0
