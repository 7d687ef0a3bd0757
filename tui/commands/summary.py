"""`mano summary`: what a store holds (counts, today's actions, urgent comments, a person)."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from mano_core.demo import DEFAULT_REFERENCE
from mano_core.team import Team
from tui import format as fmt
from tui.i18n import Translator
from tui.numbers import number
from tui.text import excerpt

from .common import DEFAULT_STORE, open_first_team, say

REFERENCE_NOON = dt.datetime.combine(DEFAULT_REFERENCE, dt.time(11), tzinfo=dt.UTC)
URGENT_EXCERPT = 90   # characters of an urgent comment shown on its line


def print_summary(team: Team, t: Translator) -> None:
    print()
    say(t("summary.title", name=team.info.name))
    print(f"  {t('summary.counts')}")
    for name in ("persons", "actions", "comments", "structures", "territories", "observations",
                 "encounters", "passages", "reports", "groups"):
        coll = getattr(team, name)
        print(f"    {number(len(coll), t.lang):>7}  {t('collection.' + name)}")
    day = DEFAULT_REFERENCE
    due = team.actions.due_on(day)
    print(f"  {t('summary.today', day=fmt.day(day), count=len(due))}")
    for action in due[:5]:
        who = ", ".join(team.persons.get(p).name for p in action.persons[:2]
                        if p in {x.id for x in team.persons.list()})
        say(f"    {fmt.status(t, action.status)}  {action.name}{' — ' + who if who else ''}")
    print(f"  {t('summary.overdue', count=len(team.actions.overdue(REFERENCE_NOON)))}")
    print(f"  {t('summary.urgent')}")
    for comment in team.comments.urgent()[:3]:
        say(f"    {fmt.local(comment.date):%d/%m %H:%M}  {excerpt(comment.text, URGENT_EXCERPT)}")
    sample = team.persons.vulnerable()[:1] or team.persons.list()[:1]
    if sample:
        person = sample[0]
        say(f"  {t('summary.person', name=person.name)}"
              f"{' (' + ', '.join(person.other_names) + ')' if person.other_names else ''}")
        print(f"    {t('summary.actions', count=len(team.actions.of_person(person.id)))}, "
              f"{t('summary.comments', count=len(team.comments.of_person(person.id)))}")
        print(f"    {t('summary.history', count=len(team.history_of(person.id)))}")
    if team.medical is not None:
        print(f"  {t('summary.medical', count=len(team.medical.medical_files))}")


async def summary(args: argparse.Namespace, t: Translator) -> int:
    store, team = await open_first_team(Path(args.store), t)
    async with store:
        print_summary(team, t)
    return 0


def register(sub: Any) -> None:
    """Add `mano summary` to the `mano` subparsers."""
    p = sub.add_parser("summary", help="what a store holds")
    p.add_argument("--store", default=str(DEFAULT_STORE))
    p.set_defaults(func=summary)
