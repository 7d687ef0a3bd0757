"""The statistics shown on screen, written as a file a funder opens: CSV (one sheet) or XLSX
(the figures, then MANO's figures on a second sheet). The selection (sub-team, person
filters) is written at the top, so the file says what it counts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mano_core.reporting import Statistics, write_csv, write_xlsx
from mano_core.reporting.mano_stats import ManoStatistics, mano_statistics_rows
from mano_core.reporting.tables import Cell, Table, statistics_sheet

SELECTION = "Sélection"   # the sheets are in French, as the engine's (funders read them so)


def statistics_tables(stats: Statistics, mano: ManoStatistics,
                      selection: list[str]) -> list[Table]:
    """The sheets: the figures with the selection first, and MANO's figures."""
    sheet = statistics_sheet(stats)
    chosen: list[tuple[Cell, ...]] = [(SELECTION, line, None) for line in selection]
    first = Table(sheet.name, sheet.header, [*sheet.rows[:2], *chosen, *sheet.rows[2:]])
    second = Table("Statistiques MANO", sheet.header,
                   [tuple(r) for r in mano_statistics_rows(mano)])
    return [first, second]


async def export_statistics(stats: Statistics, mano: ManoStatistics, selection: list[str],
                            path: Path, kind: str) -> int:
    """Write the file (mode 0600, in a thread: the figures are already computed); returns
    the rows written. OSError, or ManoError when XLSX support is missing."""
    tables = statistics_tables(stats, mano, selection)
    if kind == "csv":
        return await asyncio.to_thread(write_csv, tables[0], path)
    return await asyncio.to_thread(write_xlsx, tables, path)
