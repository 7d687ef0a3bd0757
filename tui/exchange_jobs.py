"""The work behind the exports and imports screen, without widgets: which exports exist and
in which formats, building their tables (on the app's loop: they read the team) and writing
them (in a thread: plain data), and the two kinds of import with their dry run.

A progress callback ``progress(done, total)`` is called from the writing thread; the screen
hands it on to its progress bar through ``App.call_from_thread``."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Final, Literal

from mano_core.mano_compat import import_mano
from mano_core.mano_compat.migrate import MigrationResult
from mano_core.reporting import (
    ImportResult,
    Period,
    actions_table,
    comments_table,
    compute,
    export_team_json,
    import_file,
    persons_table,
    reports_table,
    write_csv,
    write_xlsx,
)
from mano_core.reporting.full_export import full_export_tables
from mano_core.reporting.mano_sheet import mano_statistics_sheet
from mano_core.reporting.tables import Table, statistics_sheet
from mano_core.rules.table import Power
from mano_core.team import Team

Progress = Callable[[int, int], None]
ExportKind = Literal["persons", "actions", "comments", "reports", "all", "team"]
EXPORT_KINDS: Final[tuple[ExportKind, ...]] = ("all", "persons", "actions", "comments",
                                              "reports", "team")
FORMATS: Final[dict[str, tuple[str, ...]]] = {
    "all": ("xlsx",), "team": ("json",), "persons": ("xlsx", "csv"),
    "actions": ("xlsx", "csv"), "comments": ("xlsx", "csv"), "reports": ("xlsx", "csv"),
}
ImportKind = Literal["persons", "actions", "mano"]
IMPORT_KINDS: Final[tuple[ImportKind, ...]] = ("persons", "actions", "mano")
YEAR: Final = dt.timedelta(days=364)   # reports and figures of the full export: a year


def default_path(kind: str, fmt: str, today: dt.date) -> Path:
    return Path.home() / f"mano-{kind}-{today.isoformat()}.{fmt}"


def build_tables(team: Team, kind: ExportKind, today: dt.date) -> list[Table]:
    """The sheets of an export (reads the team: run it on the app's loop).
    PermissionDeniedError when this member may not export."""
    team.require(Power.EXPORTS)
    if kind == "persons":
        return [persons_table(team)]
    if kind == "actions":
        return [actions_table(team)]
    if kind == "comments":
        return [comments_table(team)]
    if kind == "reports":
        return [reports_table(team, start=today - YEAR, end=today)]
    period = Period(today - YEAR, today)   # "all": MANO's full export, then the figures
    return [*full_export_tables(team, medical=team.medical),
            statistics_sheet(compute(team, period)),
            mano_statistics_sheet(team, period, medical=team.medical)]


async def export(team: Team, kind: ExportKind, fmt: str, path: Path, today: dt.date,
                 progress: Progress) -> int:
    """Write the export to ``path`` (mode 0600); returns the rows (records) written."""
    if kind == "team":
        return export_team_json(team, path, progress=progress)
    tables = build_tables(team, kind, today)
    if fmt == "csv":
        return await asyncio.to_thread(write_csv, tables[0], path, progress=progress)
    return await asyncio.to_thread(write_xlsx, tables, path, progress=progress)


async def run_import(team: Team, kind: ImportKind, data: bytes, fmt: str, *, dry_run: bool,
                     progress: Progress) -> ImportResult | MigrationResult:
    """Check (``dry_run``) or apply an import, all or nothing."""
    if kind == "mano":
        return await import_mano(team, data, dry_run=dry_run, progress=progress)
    return await import_file(team, kind, data, "xlsx" if fmt == "xlsx" else "csv",
                             dry_run=dry_run)


def file_format(path: Path) -> str:
    return "xlsx" if path.suffix.lower() in (".xlsx", ".xlsm") else "csv"

