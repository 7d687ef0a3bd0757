"""The `mano` command: the terminal app, and subcommands for scripts.

    mano [--store PATH] [--relay URL] [--lang fr|en]    the app (first run: create or join a team)
    mano demo [--scale 1.0] [--seed 0]                   the full demo: relay, team, teammate, app
    mano demo --no-tui [--store PATH] [--scale 0.2]      generate, encrypt, reopen and show a team
    mano summary [--store PATH]                          what a store holds
    mano search TEXT [--store PATH]                      persons by name or alias
    mano report [--subteam S] [--day D] [--increment SERVICE=N]   daily report and activity
    mano stats [--from D] [--to D] [--subteam S] [--evolution FIELD]   statistics
    mano export KIND [--format csv|xlsx] [-o FILE]        tables; `export team`: JSON backup
    mano import persons|actions FILE [--map COL=FIELD] [--dry-run]   all-or-nothing import
    mano retention [--months N] [--apply] [--json]     who the retention period erases (dry run)

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
from typing import Any

import msgspec

from mano_core.demo import DEFAULT_REFERENCE, generate_team
from mano_core.demo.load import load_demo
from mano_core.device import Device
from mano_core.errors import (
    ManoError,
    MissingDependencyError,
    StoreMissingError,
    WrongPassphraseError,
)
from mano_core.optional import require
from mano_core.reporting import (
    Period,
    actions_table,
    comments_table,
    compute,
    daily,
    export_team_json,
    field_evolution,
    import_file,
    persons_table,
    reports_table,
    write_csv,
    write_xlsx,
)
from mano_core.reporting.full_export import full_export_tables
from mano_core.reporting.mano_stats import mano_statistics, mano_statistics_rows
from mano_core.reporting.imports import FileFormat
from mano_core.reporting.tables import Table, statistics_sheet, statistics_table
from mano_core.reporting.view import PARIS, resolve_subteams
from mano_core.store import INTERACTIVE_KDF, LocalStore
from mano_core.team import Team

from . import crash
from .cli_retention import add_retention_command
from .i18n import Translator
from .text import clean

DEMO_PASSPHRASE = "demo maraude nord"
DEFAULT_STORE = Path("demo-store") / "demo.mano"
REFERENCE_NOON = dt.datetime.combine(DEFAULT_REFERENCE, dt.time(11), tzinfo=dt.UTC)


def say(line: str) -> None:
    """Print a line carrying user text: its control characters are shown, never sent to
    the terminal as they are (``tui.text.clean``); ``--json`` output is escaped by JSON."""
    print(clean(line))


def _passphrase(t: Translator, default: str | None = None) -> str:
    env = os.environ.get("MANO_PASSPHRASE")
    if env:
        return env
    if default is not None:
        return default
    return getpass.getpass(t("prompt.passphrase"))


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
        reopened = await Device(store).open_team(team.id)
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
    say(t("summary.title", name=team.info.name))
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
        say(f"    [{action.status}] {action.name}{' — ' + who if who else ''}")
    print(f"  {t('summary.overdue', count=len(team.actions.overdue(REFERENCE_NOON)))}")
    print(f"  {t('summary.urgent')}:")
    for comment in team.comments.urgent()[:3]:
        say(f"    {comment.date:%d/%m %H:%M}  {comment.text[:90]}")
    sample = team.persons.vulnerable()[:1] or team.persons.list()[:1]
    if sample:
        person = sample[0]
        say(f"  {t('summary.person', name=person.name)}"
              f"{' (' + ', '.join(person.other_names) + ')' if person.other_names else ''}")
        print(f"    {len(team.actions.of_person(person.id))} action(s), "
              f"{len(team.comments.of_person(person.id))} commentaire(s)")
        print(f"    {t('summary.history', count=len(team.history_of(person.id)))}")
    if team.medical is not None:
        print(f"  {t('summary.medical', count=len(team.medical.medical_files))}")


async def _open_first_team(path: Path, t: Translator) -> tuple[LocalStore, Team]:
    """The store's first team, opened as this device (``Device.open_team``: with its keys, so
    an import or a counter increment on a synced team is signed and queued for the team)."""
    device = await Device.open(path, _passphrase(t))
    teams = await device.teams()
    if not teams:
        await device.close()
        raise StoreMissingError(str(path))
    return device.store, await device.open_team(teams[0].id)


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
            say(f"{person.name}{aliases}{flag}")
    return 0


# --- reports, statistics, exports, imports (issue 7) ---------------------------------------------


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _increment(text: str) -> tuple[str, int]:
    service, _, by = text.partition("=")
    try:
        return service.strip(), int(by or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not SERVICE or SERVICE=N: {text!r}") from None


def _existing_file(text: str) -> Path:
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text!r}")
    return Path(text)


def _today() -> dt.date:
    return dt.datetime.now(PARIS).date()


def _print_json(value: object) -> None:
    print(msgspec.json.format(msgspec.json.encode(value), indent=2).decode())


async def report(args: argparse.Namespace, t: Translator) -> int:
    store, team = await _open_first_team(Path(args.store), t)
    async with store:
        subs = resolve_subteams(team, args.subteam) if args.subteam else tuple(
            team.subteams.list())
        day = args.day or _today()
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
            _print_json([{"subteam": s.name, "report": r, "activity": a} for s, r, a in out])
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


async def stats(args: argparse.Namespace, t: Translator) -> int:
    store, team = await _open_first_team(Path(args.store), t)
    async with store:
        end = args.to or _today()
        period = Period(args.start or end - dt.timedelta(days=364), end)
        ids = [s.id for s in resolve_subteams(team, args.subteam or ())]
        if args.evolution:
            evolution = field_evolution(team, args.evolution, period, ids, step_days=args.step)
            if args.json:
                _print_json(evolution)
            for point in [] if args.json else evolution.points:
                counts = ", ".join(f"{k}: {v}" for k, v in point.counts.items())
                print(f"{point.day}  {point.persons:>6}  {counts}")
            return 0
        result = compute(team, period, ids)
        if args.json:
            _print_json(result)
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


EXPORTS = ("persons", "actions", "comments", "reports", "stats", "all", "team")


async def export(args: argparse.Namespace, t: Translator) -> int:
    fmt = args.format or {"team": "json", "all": "xlsx"}.get(args.kind, "csv")
    if (args.kind == "team") != (fmt == "json") or (args.kind == "all" and fmt != "xlsx"):
        print(t("export.bad_format", kind=args.kind, format=fmt), file=sys.stderr)
        return 2
    output = Path(args.output or f"mano-{args.kind}-{_today()}.{fmt}")
    print(t("export.warning", path=output), file=sys.stderr)
    store, team = await _open_first_team(Path(args.store), t)

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r  {done:,} / {total:,}".replace(",", "\u202f"), end="", file=sys.stderr)

    async with store:
        if fmt == "json":
            rows = export_team_json(team, output, progress=progress)
        else:
            ids = [s.id for s in resolve_subteams(team, args.subteam or ())]
            end = args.to or _today()
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
                figures = mano_statistics(team, Period(start, end), ids)
                built = [*full_export_tables(team, medical=team.medical, period=period,
                                             subteams=ids), tables["stats"](),
                         Table("Statistiques MANO", ("Rubrique", "Indicateur", "Valeur"),
                               list(mano_statistics_rows(figures)))]
            else:
                built = [tables[args.kind]()]
            rows = (write_xlsx(built, output, progress=progress) if fmt == "xlsx"
                    else write_csv(built[0], output, progress=progress))
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.json:
        _print_json({"kind": args.kind, "format": fmt, "path": str(output), "rows": rows})
    else:
        print(t("export.done", rows=rows, path=output))
    return 0


async def import_(args: argparse.Namespace, t: Translator) -> int:
    if args.example or args.kind == "mano":
        return await _import_mano(args, t)
    if args.kind is None or args.file is None:
        print(t("import.usage"), file=sys.stderr)
        return 2
    path: Path = args.file
    fmt: FileFormat = "xlsx" if path.suffix.lower() in (".xlsx", ".xlsm") else "csv"
    mapping = dict(m.partition("=")[::2] for m in args.map or ())
    store, team = await _open_first_team(Path(args.store), t)
    async with store:
        result = await import_file(team, args.kind, path.read_bytes(), fmt, mapping=mapping,
                                   dry_run=args.dry_run, encoding=args.encoding)
    if args.json:
        _print_json(result)
    else:
        for problem in result.problems:
            say(t("import.problem", row=problem.row, column=problem.column or "-",
                    reason=problem.reason))
        key = ("import.refused" if result.problems else
               "import.checked" if args.dry_run else "import.done")
        print(t(key, rows=result.rows, valid=result.valid, problems=len(result.problems)))
    return 1 if result.problems else 0


async def _import_mano(args: argparse.Namespace, t: Translator) -> int:
    """`import --example` (MANO's persons example file) and `import mano FILE` (MANO's full
    export or persons file, all or nothing, with its French report)."""
    from mano_core.mano_compat import french_report, import_mano
    from mano_core.mano_compat.example import example_workbook
    from mano_core.reporting.exports import private_file

    store, team = await _open_first_team(Path(args.store), t)
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
        _print_json(result)
    else:
        print(french_report(result))
    return 1 if result.problems else 0


def _add_reporting_commands(sub: Any) -> None:
    store = {"default": str(DEFAULT_STORE), "help": "store file (%(default)s)"}
    p = sub.add_parser("report", help="daily report and activity of the sub-teams for one day",
                       description="The day's report (noon to noon for a night sub-team).")
    p.add_argument("--store", **store)
    p.add_argument("--subteam", action="append", help="sub-team name or id (repeatable)")
    p.add_argument("--day", type=_day, help="YYYY-MM-DD (default: today, Paris)")
    p.add_argument("--increment", action="append", metavar="SERVICE[=N]", type=_increment,
                   help="add N (default 1, may be negative) to a service counter")
    p.add_argument("--description", help="replace the day's shared description")
    p.add_argument("--collaboration", action="append", help="add a partner collaboration")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=report)
    p = sub.add_parser("stats", help="statistics of a period (persons, actions, services…)")
    p.add_argument("--store", **store)
    p.add_argument("--from", dest="start", type=_day, help="first day (default: a year ago)")
    p.add_argument("--to", type=_day, help="last day, included (default: today)")
    p.add_argument("--subteam", action="append", help="sub-team name or id (repeatable)")
    p.add_argument("--evolution", metavar="FIELD",
                   help="evolution of a person field instead (gender, customFields.KEY…)")
    p.add_argument("--step", type=int, default=30, help="days between evolution points")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=stats)
    p = sub.add_parser("export", help="CSV/XLSX tables, or the whole team as JSON (decrypted)")
    p.add_argument("kind", choices=EXPORTS,
                   help="what to export; 'all' is one XLSX workbook, 'team' a JSON backup")
    p.add_argument("--format", choices=["csv", "xlsx", "json"],
                   help="csv (default), xlsx; json for 'team' only")
    p.add_argument("--output", "-o", help="file to write (default: mano-KIND-DAY.FORMAT)")
    p.add_argument("--store", **store)
    p.add_argument("--subteam", action="append", help="sub-team name or id (repeatable)")
    p.add_argument("--from", dest="start", type=_day, help="reports and stats: first day")
    p.add_argument("--to", type=_day, help="reports and stats: last day")
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    p.set_defaults(func=export)
    p = sub.add_parser("import", help="persons or actions from CSV/XLSX, or MANO's export "
                                      "(all or nothing)")
    p.add_argument("kind", choices=["persons", "actions", "mano"], nargs="?",
                   help="'mano': MANO's full export or persons file (.xlsx)")
    p.add_argument("file", type=_existing_file, nargs="?",
                   help="a .csv (UTF-8 unless --encoding) or .xlsx file")
    p.add_argument("--example", action="store_true",
                   help="write the persons example file (MANO's layout) and stop")
    p.add_argument("--output", "-o", help="--example: file to write")
    p.add_argument("--map", action="append", metavar="COLUMN=FIELD",
                   help="read COLUMN as FIELD (e.g. 'Prénom=name'; 'Notes=' skips a column)")
    p.add_argument("--dry-run", action="store_true", help="check every row, change nothing")
    p.add_argument("--encoding", default="utf-8-sig", help="CSV encoding (e.g. cp1252)")
    p.add_argument("--store", **store)
    p.add_argument("--json", action="store_true", help="machine-readable result")
    p.set_defaults(func=import_)


def default_app_store() -> Path:
    """Where `mano` keeps this device's encrypted store unless --store says otherwise."""
    import platformdirs
    return Path(os.environ.get("MANO_STORE") or
                platformdirs.user_data_path("mano") / "device.mano")


def _has_textual() -> bool:
    """The app needs the extra [tui]; without it, say how to install it (the other commands
    work with the engine alone)."""
    try:
        require("textual", "tui")
        require("segno", "tui")
    except MissingDependencyError as exc:
        print(f"mano: {exc}", file=sys.stderr)
        return False
    return True


def run_app(args: argparse.Namespace) -> int:
    """Open the app (Textual) on this device's store."""
    if not _has_textual():
        return 2
    from .app import make_app
    app = make_app(args.app_store or default_app_store(), relay=args.relay or
                   os.environ.get("MANO_RELAY"), lang=args.lang)
    app.run()
    return _app_status(app)


def run_demo_app(args: argparse.Namespace) -> int:
    """Relay, demo team, simulated teammate and the app; quitting stops them all."""
    if not _has_textual():
        return 2
    from .app import make_app
    from .demo.runner import DemoRun
    run = DemoRun(scale=1.0 if args.scale is None else args.scale, seed=args.seed,
                  every=args.every)
    app = make_app(run.store, lang=args.lang, demo_steps=run)
    try:
        app.run()
    finally:
        run.stop()
    return _app_status(app)


def _app_status(app: Any) -> int:
    """The command's exit status once the app has closed (non-zero if it stopped on an
    error: its report's path was printed by then)."""
    if app.crash_report is not None:
        return crash.CRASH_EXIT
    return int(app.return_code or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mano", description=__doc__.split("\n")[0])
    parser.add_argument("--lang", choices=["fr", "en"], default=None,
                        help="interface language (default: fr, or MANO_LANG)")
    parser.add_argument("--store", dest="app_store", default=None,
                        help="the app's store (default: MANO_STORE or the user data folder)")
    parser.add_argument("--relay", default=None,
                        help="relay URL, e.g. ws://127.0.0.1:8765 (default: MANO_RELAY, or "
                             "the one remembered on this device)")
    sub = parser.add_subparsers(dest="command")
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
    p = sub.add_parser("summary", help="what a store holds")
    p.add_argument("--store", default=str(DEFAULT_STORE))
    p.set_defaults(func=summary)
    p = sub.add_parser("search", help="persons by name or alias (accents and case ignored)")
    p.add_argument("text")
    p.add_argument("--store", default=str(DEFAULT_STORE))
    p.set_defaults(func=search)
    _add_reporting_commands(sub)
    add_retention_command(sub, default_store=DEFAULT_STORE, passphrase=_passphrase)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    t = Translator(args.lang)
    try:
        return _run(args, t)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the last resort: a redacted report, no data shown
        try:
            path = crash.write_report(exc)
        except OSError as report_error:
            path = Path(f"({type(report_error).__name__})")
        print(crash.message(t, path), file=sys.stderr)
        return crash.CRASH_EXIT


def _run(args: argparse.Namespace, t: Translator) -> int:
    # The app runs its own event loop: it is never started from inside asyncio.run().
    if args.command is None:
        return run_app(args)
    if args.command == "demo" and wants_demo_app(args):
        return run_demo_app(args)
    try:
        return int(asyncio.run(args.func(args, t)))
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
