"""`mano stats`: statistics of a period, or the evolution of a person field."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from mano_core.reporting import Period, compute, field_evolution
from mano_core.reporting.tables import statistics_table
from mano_core.reporting.view import resolve_subteams
from tui.i18n import Translator

from .common import STORE_ARG, day_arg, open_first_team, print_json, today_paris


async def stats(args: argparse.Namespace, t: Translator) -> int:
    store, team = await open_first_team(Path(args.store), t)
    async with store:
        end = args.to or today_paris()
        period = Period(args.start or end - dt.timedelta(days=364), end)
        ids = [s.id for s in resolve_subteams(team, args.subteam or ())]
        if args.evolution:
            evolution = field_evolution(team, args.evolution, period, ids, step_days=args.step)
            if args.json:
                print_json(evolution)
            for point in [] if args.json else evolution.points:
                counts = ", ".join(f"{k}: {v}" for k, v in point.counts.items())
                print(f"{point.day}  {point.persons:>6}  {counts}")
            return 0
        result = compute(team, period, ids)
        if args.json:
            print_json(result)
            return 0
        print(t("stats.title", start=period.start.isoformat(), end=period.end.isoformat()))
        section = None
        for name, indicator, value in statistics_table(result).rows:
            if value is None:
                continue
            if name != section:
                section = name
                print(f"  {t.get('stats.' + str(name), str(name))}")
            print(f"    {t.get('stats.' + str(indicator), str(indicator))}: {value}")
    return 0


def register(sub: Any) -> None:
    """Add `mano stats` to the `mano` subparsers."""
    p = sub.add_parser("stats", help="statistics of a period (persons, actions, services…)")
    p.add_argument("--store", **STORE_ARG)
    p.add_argument("--from", dest="start", type=day_arg, help="first day (default: a year ago)")
    p.add_argument("--to", type=day_arg, help="last day, included (default: today)")
    p.add_argument("--subteam", action="append", help="sub-team name or id (repeatable)")
    p.add_argument("--evolution", metavar="FIELD",
                   help="evolution of a person field instead (gender, customFields.KEY…)")
    p.add_argument("--step", type=int, default=30, help="days between evolution points")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=stats)
