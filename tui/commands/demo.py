"""`mano demo`: the full demo in the app (relay, demo team, a teammate editing), or with
--no-tui (or without a terminal) a generated team encrypted, reopened and summarised."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import Any

from mano_core.demo import DEFAULT_REFERENCE, generate_team
from mano_core.demo.load import load_demo
from mano_core.device import Device
from mano_core.store import INTERACTIVE_KDF, LocalStore
from mano_core.team import Team
from tui import format as fmt
from tui.i18n import Translator
from tui.numbers import number

from .app import app_status, has_textual
from .common import DEFAULT_STORE, DEMO_PASSPHRASE, ask_passphrase
from .summary import print_summary

REFERENCE_NOON = dt.datetime.combine(DEFAULT_REFERENCE, dt.time(11), tzinfo=dt.UTC)


def wants_demo_app(args: argparse.Namespace) -> bool:
    """``mano demo`` opens the app unless --no-tui or there is no terminal to draw it in.
    Decided before any event loop runs: the app runs its own."""
    return not args.no_tui and sys.stdin.isatty() and sys.stdout.isatty()


async def demo(args: argparse.Namespace, t: Translator) -> int:
    """The printed demo (--no-tui, or no terminal): generate, store, reopen, summarise."""
    if args.scale is None:
        args.scale = 0.2
    path = Path(args.store)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    passphrase = ask_passphrase(t, DEMO_PASSPHRASE)
    print(t("demo.generating", scale=number(args.scale, t.lang, decimals=3),
             seed=str(args.seed)))
    generated = generate_team(seed=args.seed, scale=args.scale)
    async with await LocalStore.create(path, passphrase, kdf=INTERACTIVE_KDF) as store:
        member = generated.members[0]
        team = await Team.create(store, name="Maraude Nord (démo)", member=member.id)
        await load_demo(team, generated)
        await _a_morning_of_work(team)
    print(t("demo.saved", name=team.info.name, path=path, size=fmt.size(t, path.stat().st_size)))
    if not os.environ.get("MANO_PASSPHRASE"):
        print(t("demo.passphrase", passphrase=passphrase))
    start = time.perf_counter()
    async with await LocalStore.open(path, passphrase) as store:
        reopened = await Device(store).open_team(team.id)
        print(t("demo.reopened",
                 seconds=number(time.perf_counter() - start, t.lang, decimals=2)))
        print_summary(reopened, t)
    needle = generated.persons[0].name
    found = any(needle.encode() in Path(f"{path}{s}").read_bytes()
                for s in ("", "-wal") if Path(f"{path}{s}").exists())
    print(t("demo.plaintext", needle=needle,
            result=t("demo.present") if found else t("demo.absent")))
    return 1 if found else 0


async def _a_morning_of_work(team: Team) -> None:
    """A few edits through the public API, as a worker would make them (each one durable)."""
    person = (team.persons.vulnerable() or team.persons.list())[0]
    await team.persons.update(person.id, phone="06 39 98 00 00",
                              description="Blouson bleu, sac à dos rouge")
    await team.comments.create(text="Vu ce matin, pansement refait. Revoir jeudi.",
                               person=person.id, date=REFERENCE_NOON, urgent=True)
    todo = [a for a in team.actions.of_person(person.id) if a.status == "A FAIRE"]
    if todo:
        await team.actions.mark_done(todo[0].id, at=REFERENCE_NOON)


def run_demo_app(args: argparse.Namespace) -> int:
    """Relay, demo team, simulated teammate and the app; quitting stops them all."""
    if not has_textual():
        return 2
    from tui.app import make_app
    from tui.demo.runner import DemoRun
    run = DemoRun(scale=1.0 if args.scale is None else args.scale, seed=args.seed,
                  every=args.every)
    app = make_app(run.store, lang=args.lang, demo_steps=run)
    try:
        app.run()
    finally:
        run.stop()
    return app_status(app)


def register(sub: Any) -> None:
    """Add `mano demo` to the `mano` subparsers."""
    p = sub.add_parser("demo", help="the full demo (relay, team, teammate, app), or --no-tui")
    p.add_argument("--store", default=str(DEFAULT_STORE),
                   help="--no-tui: store file (%(default)s)")
    p.add_argument("--scale", type=float, default=None,
                   help="1.0 = MANO scale: 3,000 persons, 8,000 actions, 24,000 comments "
                        "(default: 1.0 in the app, 0.2 with --no-tui)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--every", type=float, default=8.0,
                   help="seconds between the simulated teammate's edits (about)")
    p.add_argument("--no-tui", action="store_true",
                   help="print the summary instead of opening the app (also without a terminal)")
    p.set_defaults(func=demo)
