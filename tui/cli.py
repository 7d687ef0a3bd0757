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
import sys
from collections.abc import Sequence
from pathlib import Path

from mano_core.errors import ManoError, StoreMissingError, WrongPassphraseError

from . import crash
from .commands import demo, export, imports, report, retention, search, stats, summary
from .commands.app import run_app
from .commands.demo import run_demo_app, wants_demo_app
from .i18n import Translator


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
    for command in (demo, summary, search, report, stats, export, imports, retention):
        command.register(sub)
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
