"""Exports: tables to CSV or XLSX, and a whole team to JSON for its own backup.

Exported files are **decrypted**: they leave the protection of the encrypted store. They are
created readable by their owner only (mode 0600); the command line warns before writing one.
Long exports report progress through ``progress(done, total)``, called every
``PROGRESS_EVERY`` rows and once at the end.

These functions read the team's in-memory records and write a file synchronously: a UI runs
them outside its event loop's thread only after gathering the tables in it (pycrdt documents
are bound to the thread that uses them)."""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any, Final

import msgspec

from mano_core.document.settings import FEATURES, LISTS
from mano_core.optional import require
from mano_core.rules.table import Power
from mano_core.team import Team

from .tables import Cell, Table

Progress = Callable[[int, int], None]
PROGRESS_EVERY: Final = 1_000
JSON_FORMAT: Final = "mano-team-export"
JSON_VERSION: Final = 1


def _no_progress(done: int, total: int) -> None:
    pass


@contextmanager
def private_file(path: str | os.PathLike[str], *,
                 encoding: str | None = None) -> Iterator[IO[Any]]:
    """Open ``path`` for writing (text if ``encoding`` is given), created with mode 0600:
    only its owner can read it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if encoding is None:
        with os.fdopen(fd, "wb") as binary:
            yield binary
    else:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as text:
            yield text


def text_cell(value: Cell) -> str:
    """A cell as CSV text: ISO 8601 dates, Oui/Non, empty for nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def write_csv(table: Table, target: str | os.PathLike[str] | IO[str], *,
              delimiter: str = ";", progress: Progress | None = None) -> int:
    """Write one table as CSV (UTF-8 with BOM, ``;``: what French spreadsheets open as is).

    Returns the number of rows written (header excluded)."""
    if not isinstance(target, str | os.PathLike):
        return _write_csv(table, target, delimiter, progress or _no_progress)
    with private_file(target, encoding="utf-8-sig") as handle:
        return _write_csv(table, handle, delimiter, progress or _no_progress)


def _write_csv(table: Table, handle: IO[str], delimiter: str, progress: Progress) -> int:
    writer = csv.writer(handle, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(table.header)
    total = len(table.rows)
    for done, row in enumerate(table.rows, 1):
        writer.writerow([text_cell(c) for c in row])
        if done % PROGRESS_EVERY == 0:
            progress(done, total)
    progress(total, total)
    return total


def write_xlsx(tables: Sequence[Table], path: str | os.PathLike[str], *,
               progress: Progress | None = None) -> int:
    """Write tables as the sheets of one XLSX workbook; returns the rows written."""
    openpyxl = require("openpyxl", "xlsx")  # imported here: only XLSX needs it (extra [xlsx])

    report = progress or _no_progress
    total = sum(len(t.rows) for t in tables)
    done = 0
    book = openpyxl.Workbook(write_only=True)
    for table in tables:
        sheet = book.create_sheet(_sheet_title(table.name))
        sheet.append(list(table.header))
        for row in table.rows:
            sheet.append([_xlsx_cell(sheet, c) for c in row])
            done += 1
            if done % PROGRESS_EVERY == 0:
                report(done, total)
    with private_file(path) as handle:
        book.save(handle)
    report(total, total)
    return total


def _sheet_title(name: str) -> str:
    return "".join(c for c in name if c not in "[]:*?/\\")[:31] or "Feuille"


def _xlsx_cell(sheet: Any, value: Cell) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        # never let a text become a formula: a text cell, which reads back unchanged
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


FEATURE_COLLECTIONS: Final = {
    "territories": ("territories", "observations"), "encounters": ("encounters",),
    "passages": ("passages",), "groups": ("groups",),
}


def export_team_json(team: Team, path: str | os.PathLike[str], *,
                     progress: Progress | None = None,
                     now: dt.datetime | None = None) -> int:
    """Write every record of the team (tombstones and history included), its settings and,
    on a device holding it, the medical compartment, as one JSON document. Returns the
    number of records written. The file is decrypted: see the module docstring."""
    team.require(Power.EXPORTS)
    report = progress or _no_progress
    # Collections of a feature switched off are not exported (the team does not use them).
    off = {name for feature, names in FEATURE_COLLECTIONS.items()
           if not team.settings.feature(feature) for name in names}
    general = {k: v for k, v in team.doc.collections.items() if k not in off}
    compartments = [("general", general)]
    if team.medical_doc is not None:
        compartments.append(("medical", team.medical_doc.collections))
    total = sum(len(c.list(include_deleted=True)) for _n, cols in compartments
                for c in cols.values())
    header = {
        "format": JSON_FORMAT, "version": JSON_VERSION,
        "exportedAt": (now or dt.datetime.now(dt.UTC)).isoformat(),
        "team": msgspec.to_builtins(team.info),
        "settings": {"lists": {k: team.settings.values(k) for k in LISTS},
                     "features": {k: team.settings.feature(k) for k in FEATURES}},
    }
    encode = msgspec.json.Encoder().encode
    done = 0
    with private_file(path) as out:
        out.write(encode(header)[:-1])  # reopen the object to add the compartments
        for compartment, collections in compartments:
            out.write(b',"' + compartment.encode() + b'":{')
            for k_index, (name, collection) in enumerate(collections.items()):
                out.write((b"," if k_index else b"") + encode(name) + b":[")
                for r_index, record in enumerate(collection.list(include_deleted=True)):
                    out.write((b",\n" if r_index else b"\n") + encode(record))
                    done += 1
                    if done % PROGRESS_EVERY == 0:
                        report(done, total)
                out.write(b"]")
            out.write(b"}")
        if len(compartments) == 1:
            out.write(b',"medical":null')
        out.write(b"}\n")
    report(total, total)
    return total
