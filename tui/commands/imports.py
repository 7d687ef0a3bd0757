"""`mano import`: persons or actions from CSV/XLSX, or MANO's export, all or nothing, with a
dry run; `--example` writes MANO's persons example file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mano_core.reporting import import_file
from mano_core.reporting.imports import FileFormat
from tui.i18n import Translator
from tui.imports_text import mano_report, problem_text

from .common import STORE_ARG, file_arg, open_first_team, print_json, say


async def import_(args: argparse.Namespace, t: Translator) -> int:
    if args.example or args.kind == "mano":
        return await _import_mano(args, t)
    if args.kind is None or args.file is None:
        print(t("import.usage"), file=sys.stderr)
        return 2
    path: Path = args.file
    fmt: FileFormat = "xlsx" if path.suffix.lower() in (".xlsx", ".xlsm") else "csv"
    mapping = dict(m.partition("=")[::2] for m in args.map or ())
    store, team = await open_first_team(Path(args.store), t)
    async with store:
        result = await import_file(team, args.kind, path.read_bytes(), fmt, mapping=mapping,
                                   dry_run=args.dry_run, encoding=args.encoding)
    if args.json:
        print_json(result)
    else:
        for problem in result.problems:
            say(t("import.problem", row=problem.row, column=problem.column or "-",
                  reason=problem_text(t, problem)))
        key = ("import.refused" if result.problems else
               "import.checked" if args.dry_run else "import.done")
        print(t(key, rows=result.rows, valid=result.valid, problems=len(result.problems)))
    return 1 if result.problems else 0


async def _import_mano(args: argparse.Namespace, t: Translator) -> int:
    """`import --example` (MANO's persons example file) and `import mano FILE` (MANO's full
    export or persons file, all or nothing, with its report in the interface's language)."""
    from mano_core.mano_compat import import_mano
    from mano_core.mano_compat.example import example_workbook
    from mano_core.reporting.exports import private_file

    store, team = await open_first_team(Path(args.store), t)
    async with store:
        if args.example:
            output = Path(args.output or "exemple-personnes.xlsx")
            with private_file(output) as handle:
                handle.write(example_workbook(team))
            print(t("import.example", path=output))
            return 0
        if args.file is None:
            print(t("import.usage"), file=sys.stderr)
            return 2

        def progress(done: int, total: int) -> None:
            if sys.stderr.isatty() and total:
                print(f"\r  {done:,} / {total:,}".replace(",", "\u202f"), end="",
                      file=sys.stderr)

        result = await import_mano(team, args.file.read_bytes(), dry_run=args.dry_run,
                                   progress=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.json:
        print_json(result)
    else:
        print(mano_report(t, result, rerun_hint=args.dry_run))
    return 1 if result.problems else 0


def register(sub: Any) -> None:
    """Add `mano import` to the `mano` subparsers."""
    p = sub.add_parser("import", help="persons or actions from CSV/XLSX, or MANO's export "
                                      "(all or nothing)")
    p.add_argument("kind", choices=["persons", "actions", "mano"], nargs="?",
                   help="'mano': MANO's full export or persons file (.xlsx)")
    p.add_argument("file", type=file_arg, nargs="?",
                   help="a .csv (UTF-8 unless --encoding) or .xlsx file")
    p.add_argument("--example", action="store_true",
                   help="write the persons example file (MANO's layout) and stop")
    p.add_argument("--output", "-o", help="--example: file to write")
    p.add_argument("--map", action="append", metavar="COLUMN=FIELD",
                   help="read COLUMN as FIELD (e.g. 'Prénom=name'; 'Notes=' skips a column)")
    p.add_argument("--dry-run", action="store_true", help="check every row, change nothing")
    p.add_argument("--encoding", default="utf-8-sig", help="CSV encoding (e.g. cp1252)")
    p.add_argument("--store", **STORE_ARG)
    p.add_argument("--json", action="store_true", help="machine-readable result")
    p.set_defaults(func=import_)
