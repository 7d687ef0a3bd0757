"""`mano search TEXT`: persons by name or alias (accents, case and word order ignored)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tui.i18n import Translator

from .common import DEFAULT_STORE, open_first_team, say

SHOWN = 50  # persons printed; how many more were found is said


async def search(args: argparse.Namespace, t: Translator) -> int:
    store, team = await open_first_team(Path(args.store), t)
    async with store:
        found = team.persons.search(args.text)
        if not found:
            print(t("search.none", text=args.text))
        for person in found[:SHOWN]:
            aliases = f" ({', '.join(person.other_names)})" if person.other_names else ""
            flag = f"  {t('flag.vulnerable')}" if person.alertness else ""  # words, not a sign
            say(f"{person.name}{aliases}{flag}")
        if len(found) > SHOWN:
            print(t("search.more", count=len(found) - SHOWN, total=len(found), shown=SHOWN))
    return 0


def register(sub: Any) -> None:
    """Add `mano search` to the `mano` subparsers."""
    p = sub.add_parser("search", help="persons by name or alias (accents and case ignored)")
    p.add_argument("text")
    p.add_argument("--store", default=str(DEFAULT_STORE))
    p.set_defaults(func=search)
