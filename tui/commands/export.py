"""`mano export KIND`: tables as CSV/XLSX, MANO's full export, or the team as JSON (the file
holds decrypted data: said before writing it)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from mano_core.reporting import (
    Period,
    actions_table,
    comments_table,
    compute,
    export_team_json,
    persons_table,
    reports_table,
    write_csv,
    write_xlsx,
)
from mano_core.reporting.full_export import full_export_tables
from mano_core.reporting.mano_sheet import mano_statistics_sheet
from mano_core.reporting.tables import statistics_sheet
from mano_core.reporting.view import resolve_subteams
from tui.i18n import Translator

from .common import STORE_ARG, day_arg, open_first_team, print_json, today_paris


EXPORTS = ("persons", "actions", "comments", "reports", "stats", "all", "team")


async def export(args: argparse.Namespace, t: Translator) -> int:
    fmt = args.format or {"team": "json", "all": "xlsx"}.get(args.kind, "csv")
    if (args.kind == "team") != (fmt == "json") or (args.kind == "all" and fmt != "xlsx"):
        print(t("export.bad_format", kind=args.kind, format=fmt), file=sys.stderr)
        return 2
    output = Path(args.output or f"mano-{args.kind}-{today_paris()}.{fmt}")
    print(t("export.warning", path=output), file=sys.stderr)
    store, team = await open_first_team(Path(args.store), t)

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r  {done:,} / {total:,}".replace(",", "\u202f"), end="", file=sys.stderr)

    async with store:
        if fmt == "json":
            rows = export_team_json(team, output, progress=progress)
        else:
            ids = [s.id for s in resolve_subteams(team, args.subteam or ())]
            end = args.to or today_paris()
            start = args.start or end - dt.timedelta(days=364)
            tables = {
                "persons": lambda: persons_table(team, ids),
                "actions": lambda: actions_table(team, ids),
                "comments": lambda: comments_table(team, ids),
                "reports": lambda: reports_table(team, ids, start=start, end=end),
                "stats": lambda: statistics_sheet(compute(team, Period(start, end), ids)),
            }
            if args.kind == "all":  # MANO's full export: every collection, then the figures
                period = Period(start, end) if args.start or args.to else None
                built = [*full_export_tables(team, medical=team.medical, period=period,
                                             subteams=ids), tables["stats"](),
                         mano_statistics_sheet(team, Period(start, end), ids,
                                               medical=team.medical)]
            else:
                built = [tables[args.kind]()]
            rows = (write_xlsx(built, output, progress=progress) if fmt == "xlsx"
                    else write_csv(built[0], output, progress=progress))
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.json:
        print_json({"kind": args.kind, "format": fmt, "path": str(output), "rows": rows})
    else:
        print(t("export.done", rows=rows, path=output))
    return 0


def register(sub: Any) -> None:
    """Add `mano export` to the `mano` subparsers."""
    p = sub.add_parser("export", help="CSV/XLSX tables, or the whole team as JSON (decrypted)")
    p.add_argument("kind", choices=EXPORTS,
                   help="what to export; 'all' is one XLSX workbook, 'team' a JSON backup")
    p.add_argument("--format", choices=["csv", "xlsx", "json"],
                   help="csv (default), xlsx; json for 'team' only")
    p.add_argument("--output", "-o", help="file to write (default: mano-KIND-DAY.FORMAT)")
    p.add_argument("--store", **STORE_ARG)
    p.add_argument("--subteam", action="append", help="sub-team name or id (repeatable)")
    p.add_argument("--from", dest="start", type=day_arg, help="reports and stats: first day")
    p.add_argument("--to", type=day_arg, help="reports and stats: last day")
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    p.set_defaults(func=export)
