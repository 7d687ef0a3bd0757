"""The `mano` command: the client's subcommands (the TUI joins them in a later issue).

    mano demo [--store PATH] [--scale 0.2] [--seed 0]   generate, encrypt, reopen and show a team
    mano summary [--store PATH]                          what a store holds
    mano search TEXT [--store PATH]                      persons by name or alias

The passphrase comes from MANO_PASSPHRASE or is asked for; `mano demo` uses a fixed demo
passphrase unless MANO_PASSPHRASE is set. Output is French unless --lang en (or MANO_LANG=en).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mano_core.demo import DEFAULT_REFERENCE, generate_team
from mano_core.demo.load import load_demo
from mano_core.errors import ManoError, StoreMissingError, WrongPassphraseError
from mano_core.store import INTERACTIVE_KDF, LocalStore
from mano_core.team import Team

from .i18n import Translator

DEMO_PASSPHRASE = "demo maraude nord"
DEFAULT_STORE = Path("demo-store") / "demo.mano"
REFERENCE_NOON = dt.datetime.combine(DEFAULT_REFERENCE, dt.time(11), tzinfo=dt.timezone.utc)


def _passphrase(t: Translator, default: str | None = None) -> str:
    env = os.environ.get("MANO_PASSPHRASE")
    if env:
        return env
    if default is not None:
        return default
    return getpass.getpass(t("prompt.passphrase"))


async def demo(args: argparse.Namespace, t: Translator) -> int:
    path = Path(args.store)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    passphrase = _passphrase(t, DEMO_PASSPHRASE)
    print(t("demo.generating", scale=args.scale, seed=args.seed))
    generated = generate_team(seed=args.seed, scale=args.scale)
    async with await LocalStore.create(path, passphrase, kdf=INTERACTIVE_KDF) as store:
        member = generated.members[0]
        team = await Team.create(store, name="Maraude Nord (démo)", member=member.id)
        await load_demo(team, generated)
        await _a_morning_of_work(team)
    print(t("demo.saved", name=team.info.name, path=path, size=path.stat().st_size / 1e6))
    if not os.environ.get("MANO_PASSPHRASE"):
        print(t("demo.passphrase", passphrase=passphrase))
    start = time.perf_counter()
    async with await LocalStore.open(path, passphrase) as store:
        reopened = await Team.open(store, team.id)
        print(t("demo.reopened", seconds=time.perf_counter() - start))
        _print_summary(reopened, t)
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


def _print_summary(team: Team, t: Translator) -> None:
    print()
    print(t("summary.title", name=team.info.name))
    print(f"  {t('summary.counts')}:")
    for name in ("persons", "actions", "comments", "structures", "territories", "observations",
                 "encounters", "passages", "reports", "groups"):
        coll = getattr(team, name)
        print(f"    {len(coll):>7,}  {t('collection.' + name)}".replace(",", "\u202f"))
    day = DEFAULT_REFERENCE
    due = team.actions.due_on(day)
    print(f"  {t('summary.today', day=day.isoformat(), count=len(due))}")
    for action in due[:5]:
        who = ", ".join(team.persons.get(p).name for p in action.persons[:2]
                        if p in {x.id for x in team.persons.list()})
        print(f"    [{action.status}] {action.name}{' — ' + who if who else ''}")
    print(f"  {t('summary.overdue', count=len(team.actions.overdue(REFERENCE_NOON)))}")
    print(f"  {t('summary.urgent')}:")
    for comment in team.comments.urgent()[:3]:
        print(f"    {comment.date:%d/%m %H:%M}  {comment.text[:90]}")
    sample = team.persons.vulnerable()[:1] or team.persons.list()[:1]
    if sample:
        person = sample[0]
        print(f"  {t('summary.person', name=person.name)}"
              f"{' (' + ', '.join(person.other_names) + ')' if person.other_names else ''}")
        print(f"    {len(team.actions.of_person(person.id))} action(s), "
              f"{len(team.comments.of_person(person.id))} commentaire(s)")
        print(f"    {t('summary.history', count=len(team.history_of(person.id)))}")
    if team.medical is not None:
        print(f"  {t('summary.medical', count=len(team.medical.medical_files))}")


async def _open_first_team(path: Path, t: Translator) -> tuple[LocalStore, Team]:
    store = await LocalStore.open(path, _passphrase(t))
    teams = await Team.list(store)
    if not teams:
        await store.close()
        raise StoreMissingError(str(path))
    return store, await Team.open(store, teams[0].id)


async def summary(args: argparse.Namespace, t: Translator) -> int:
    store, team = await _open_first_team(Path(args.store), t)
    async with store:
        _print_summary(team, t)
    return 0


async def search(args: argparse.Namespace, t: Translator) -> int:
    store, team = await _open_first_team(Path(args.store), t)
    async with store:
        found = team.persons.search(args.text)
        if not found:
            print(t("search.none", text=args.text))
        for person in found[:50]:
            aliases = f" ({', '.join(person.other_names)})" if person.other_names else ""
            flag = " ⚠" if person.alertness else ""
            print(f"{person.name}{aliases}{flag}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mano", description=__doc__.split("\n")[0])
    parser.add_argument("--lang", choices=["fr", "en"], default=None,
                        help="interface language (default: fr, or MANO_LANG)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="generate a demo team in an encrypted store and show it")
    p.add_argument("--store", default=str(DEFAULT_STORE), help="store file (%(default)s)")
    p.add_argument("--scale", type=float, default=0.2,
                   help="1.0 = MANO scale: 3,000 persons, 8,000 actions, 24,000 comments")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=demo)
    p = sub.add_parser("summary", help="what a store holds")
    p.add_argument("--store", default=str(DEFAULT_STORE))
    p.set_defaults(func=summary)
    p = sub.add_parser("search", help="persons by name or alias (accents and case ignored)")
    p.add_argument("text")
    p.add_argument("--store", default=str(DEFAULT_STORE))
    p.set_defaults(func=search)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    t = Translator(args.lang)
    try:
        return asyncio.run(args.func(args, t))
    except WrongPassphraseError:
        print(t("error.passphrase"), file=sys.stderr)
        return 2
    except StoreMissingError:
        print(t("error.missing", path=args.store), file=sys.stderr)
        return 2
    except ManoError as exc:
        print(f"mano: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
