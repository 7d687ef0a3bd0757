"""`mano report`: the day's report and activity of the sub-teams (noon to noon for a night
sub-team); --increment, --description and --collaboration write to it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mano_core.reporting import daily
from mano_core.reporting.view import PARIS, resolve_subteams
from tui.i18n import Translator

from .common import STORE_ARG, day_arg, increment_arg, open_first_team, print_json, say, today_paris


async def report(args: argparse.Namespace, t: Translator) -> int:
    store, team = await open_first_team(Path(args.store), t)
    async with store:
        subs = resolve_subteams(team, args.subteam) if args.subteam else tuple(
            team.subteams.list())
        day = args.day or today_paris()
        writes = args.increment or args.description is not None or args.collaboration
        if writes and len(subs) != 1:
            print(t("report.one_subteam"), file=sys.stderr)
            return 2
        for service, by in args.increment or ():
            await daily.increment(team, subs[0].id, day, service, by)
        if args.description is not None:
            await daily.set_description(team, subs[0].id, day, args.description)
        for partner in args.collaboration or ():
            await daily.add_collaboration(team, subs[0].id, day, partner)
        out = [(s, daily.get(team, s.id, day), daily.activity(team, s.id, day)) for s in subs]
        if args.json:
            print_json([{"subteam": s.name, "report": r, "activity": a} for s, r, a in out])
            return 0
        for sub, rep, act in out:
            say(t("report.title", team=sub.name, day=day.isoformat(),
                    start=f"{act.start.astimezone(PARIS):%d/%m %H:%M}",
                    end=f"{act.end.astimezone(PARIS):%d/%m %H:%M}"))
            if rep is None:
                print(f"  {t('report.none')}")
            else:
                if rep.description:
                    say(f"  {t('report.description')}: {rep.description}")
                if rep.collaborations:
                    say(f"  {t('report.collaborations')}: {', '.join(rep.collaborations)}")
                for name, count in rep.services.items():
                    say(f"  {count:>5}  {name}")
            for name, count in act.counts().items():
                print(f"  {count:>5}  {t.get('activity.' + name, name, count=count)}")
    return 0


def register(sub: Any) -> None:
    """Add `mano report` to the `mano` subparsers."""
    p = sub.add_parser("report", help="daily report and activity of the sub-teams for one day",
                       description="The day's report (noon to noon for a night sub-team).")
    p.add_argument("--store", **STORE_ARG)
    p.add_argument("--subteam", action="append", help="sub-team name or id (repeatable)")
    p.add_argument("--day", type=day_arg, help="YYYY-MM-DD (default: today, Paris)")
    p.add_argument("--increment", action="append", metavar="SERVICE[=N]", type=increment_arg,
                   help="add N (default 1, may be negative) to a service counter")
    p.add_argument("--description", help="replace the day's shared description")
    p.add_argument("--collaboration", action="append", help="add a partner collaboration")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=report)
