"""PostgreSQL for the relay tests: the DSN in MANO_TEST_POSTGRES_DSN, or a private cluster that
scripts/postgres.sh starts when the server binaries are installed; one schema per test."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import asyncpg

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres.sh"
SKIP_REASON = ("PostgreSQL tests need MANO_TEST_POSTGRES_DSN (or PostgreSQL's server binaries "
               "for scripts/postgres.sh start); see docs/operations.md")


def ensure_postgres() -> tuple[str | None, bool, str]:
    """(dsn or None, whether this call started the cluster, why not)."""
    dsn = os.environ.get("MANO_TEST_POSTGRES_DSN")
    if dsn:
        return dsn, False, ""
    if os.environ.get("MANO_TEST_POSTGRES", "auto") == "off":
        return None, False, "PostgreSQL tests disabled by MANO_TEST_POSTGRES=off"
    was_running = subprocess.run([str(SCRIPT), "status"], capture_output=True).returncode == 0
    proc = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        return None, False, f"{SKIP_REASON} ({proc.stderr.strip()[-200:]})"
    for line in proc.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        os.environ[name] = value
    return os.environ["MANO_TEST_POSTGRES_DSN"], not was_running, ""


def stop_postgres() -> None:
    """Stop the private cluster (only called when this test session started it)."""
    subprocess.run([str(SCRIPT), "stop"], capture_output=True, timeout=120)
    for name in ("MANO_TEST_POSTGRES_DSN", "MANO_TEST_POSTGRES_CTL"):
        os.environ.pop(name, None)


def with_schema(dsn: str, schema: str) -> str:
    """``dsn`` with its tables in ``schema`` (asyncpg passes unknown parameters as settings)."""
    return f"{dsn}{'&' if '?' in dsn else '?'}search_path={schema}"


def new_schema() -> str:
    return "t_" + uuid.uuid4().hex[:16]


async def drop_schema(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def control(command: str) -> None:
    """Run ``scripts/postgres.sh COMMAND`` on the cluster the tests use (restart, stop…)."""
    ctl = os.environ.get("MANO_TEST_POSTGRES_CTL")
    assert ctl, "no control script for this PostgreSQL"
    subprocess.run([ctl, command], check=True, capture_output=True, timeout=120)
