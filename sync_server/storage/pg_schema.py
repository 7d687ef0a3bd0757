"""The PostgreSQL schema of the relay, as numbered migrations recorded in ``schema_version``.

Several nodes may start at once: migrations run in one transaction under a transaction-level
advisory lock, and a node refuses a database whose version is newer than it knows."""

from __future__ import annotations

import re
from typing import Any

from mano_core.errors import RelayStorageError
from sync_server.storage.pg_files import FILES_MIGRATION

CHANNEL = "mano_relay"  # LISTEN/NOTIFY channel of cross-node events
_LOCK_KEY = 0x6D616E6F  # "mano": the advisory lock that serialises migrations

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "initial schema", """
-- teams.usage counts snapshots, key packages and invitations; heads.bytes the envelopes of one
-- compartment (so that appending envelopes locks only its counter row, never the team row).
CREATE TABLE teams(
    team bytea PRIMARY KEY, created_at double precision NOT NULL, usage bigint NOT NULL DEFAULT 0
);
CREATE TABLE log_entries(
    team bytea NOT NULL, idx integer NOT NULL, entry bytea NOT NULL, PRIMARY KEY(team, idx)
);
CREATE TABLE heads(
    team bytea NOT NULL, c integer NOT NULL, head bigint NOT NULL, pruned bigint NOT NULL,
    bytes bigint NOT NULL DEFAULT 0, PRIMARY KEY(team, c)
);
CREATE TABLE envelopes(
    team bytea NOT NULL, c integer NOT NULL, seq bigint NOT NULL,
    author bytea NOT NULL, counter bigint NOT NULL, data bytea NOT NULL,
    received_at double precision NOT NULL, PRIMARY KEY(team, c, seq)
);
CREATE UNIQUE INDEX envelopes_dedup ON envelopes(team, c, author, counter);
CREATE TABLE snapshots(
    sid bigserial PRIMARY KEY, team bytea NOT NULL, c integer NOT NULL, upto bigint NOT NULL,
    parts integer NOT NULL, size bigint NOT NULL, created_at double precision NOT NULL
);
CREATE INDEX snapshots_by_team ON snapshots(team, c, upto);
CREATE TABLE snapshot_parts(
    sid bigint NOT NULL, part integer NOT NULL, data bytea NOT NULL, PRIMARY KEY(sid, part)
);
CREATE TABLE key_packages(
    kid bigserial PRIMARY KEY, team bytea NOT NULL, recipient bytea NOT NULL,
    sender bytea NOT NULL, blob bytea NOT NULL, created_at double precision NOT NULL
);
CREATE INDEX key_packages_to ON key_packages(team, recipient, kid);
CREATE TABLE invitations(
    team bytea NOT NULL, invite bytea NOT NULL, request bytea NOT NULL, answer bytea,
    created_at double precision NOT NULL, PRIMARY KEY(team, invite)
);
CREATE INDEX invitations_created ON invitations(created_at);
"""),
    (2, "membership logs count in teams.usage", """
UPDATE teams SET usage = usage + (SELECT coalesce(sum(length(entry)), 0) FROM log_entries l
                                  WHERE l.team = teams.team);
"""),
    (3, "document files", FILES_MIGRATION),
    (4, "invitations opened by their admin (verifier of the relay proof)", """
CREATE TABLE invite_opens(
    team bytea NOT NULL, invite bytea NOT NULL, verifier bytea NOT NULL,
    created_at double precision NOT NULL, PRIMARY KEY(team, invite)
);
CREATE INDEX invite_opens_created ON invite_opens(created_at);
"""),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


async def migrate(conn: Any) -> int:
    """Bring the database on ``conn`` (an asyncpg connection) to SCHEMA_VERSION; returns the
    version found before. Raises RelayStorageError if the database is newer than this code."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        if await conn.fetchval("SELECT current_schema()") is None:
            # search_path names a schema that does not exist yet: create it
            path = await conn.fetchval("SHOW search_path")
            first = path.split(",")[0].strip().strip('"')
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", first):
                raise RelayStorageError(f"search_path {path!r}: not a plain schema name")
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{first}"')
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version(version integer PRIMARY KEY, "
            "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        found = int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))
        if found > SCHEMA_VERSION:
            raise RelayStorageError(
                f"database schema version {found} is newer than this relay ({SCHEMA_VERSION})")
        for version, name, sql in MIGRATIONS:
            if version > found:
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_version(version, name) VALUES ($1, $2)", version, name)
    return found
