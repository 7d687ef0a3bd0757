"""`mano retention`: who the team's retention period would erase, and erasing them.

    mano retention [--store PATH] [--months N] [--today YYYY-MM-DD] [--apply] [--json]

Without --apply it is a dry run: nothing is changed. --apply erases exactly the persons the
report lists that are still due (an admin device only). --months sets the team's retention
period first (0: off). The store is opened as a device (``Device.open``), so an erasure is
signed with this device's key when the store holds the team's keys, and reaches the other
devices at the next sync.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from mano_core.device import Device
from mano_core.errors import StoreMissingError
from mano_core.model.records import Erasure
from mano_core.reporting.view import PARIS
from mano_core.retention import (
    RetentionReport,
    apply_retention,
    retention_report,
    set_retention_months,
)
from tui.erasure_view import count_lines
from tui.i18n import Translator
from tui.text import clean

from .common import DEFAULT_STORE, ask_passphrase


def register(sub: Any) -> None:
    """Add `mano retention` to the `mano` subparsers."""
    add_retention_command(sub, default_store=DEFAULT_STORE, passphrase=ask_passphrase)


def add_retention_command(sub: Any, *, default_store: Path,
                          passphrase: Callable[[Translator], str]) -> None:
    """Register `mano retention` on the `mano` subparsers."""
    p = sub.add_parser("retention", help="persons the retention period would erase (dry run); "
                                         "--apply erases them")
    p.add_argument("--store", default=str(default_store), help="store file (%(default)s)")
    p.add_argument("--months", type=_months, metavar="N",
                   help="set the team's retention period first (months; 0: off)")
    p.add_argument("--today", type=_day, help="YYYY-MM-DD (default: today, Paris)")
    p.add_argument("--apply", action="store_true",
                   help="erase them for good (admin device; cannot be undone)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=lambda args, t: retention(args, t, passphrase))


async def retention(args: argparse.Namespace, t: Translator,
                    passphrase: Callable[[Translator], str]) -> int:
    path = Path(args.store)
    if not path.exists():
        raise StoreMissingError(str(path))
    async with await Device.open(path, ask_passphrase(t)) as device:
        teams = await device.teams()
        if not teams:
            raise StoreMissingError(str(path))
        team = await device.open_team(teams[0].id)
        if args.months is not None:
            await set_retention_months(team, args.months)
        today = args.today or dt.datetime.now(PARIS).date()
        report = retention_report(team, today=today)
        order = await apply_retention(team, report) if args.apply else None
    if args.json:
        print(msgspec.json.format(msgspec.json.encode(_as_json(report, order)),
                                  indent=2).decode())
    else:
        _print(t, report, order, applied=args.apply)
    return 0


def _print(t: Translator, report: RetentionReport, order: Erasure | None, *,
           applied: bool) -> None:
    if report.months is None or report.cutoff is None:
        print(t("retention.off"))
        return
    print(t("retention.cli_title", months=report.months, cutoff=f"{report.cutoff:%d/%m/%Y}"))
    for e in report.entries:
        print(clean(t("retention.cli_line", day=f"{e.out_since:%d/%m/%Y}", name=e.name,
                      reasons=", ".join(e.reasons) or "—", records=sum(e.counts.values()))))
    if not report.entries:
        print(t("retention.none"))
        return
    print(t("retention.cli_total", count=len(report.entries)))
    for line in count_lines(t, report.totals):
        print(line)
    if not applied:
        print(t("retention.cli_dry"))
    elif order is None:
        print(t("retention.nothing"))
    else:
        print(t("retention.applied", count=len(order.persons)))


def _as_json(report: RetentionReport, order: Erasure | None) -> dict[str, Any]:
    return {
        "today": report.today, "months": report.months, "cutoff": report.cutoff,
        "persons": [{"id": e.person_id, "name": e.name, "outSince": e.out_since,
                     "reasons": list(e.reasons), "counts": e.counts} for e in report.entries],
        "totals": report.totals,
        "applied": None if order is None else {"erasure": order.id, "persons": order.persons},
    }


def _months(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a number of months: {text!r}")
    return int(text)


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
