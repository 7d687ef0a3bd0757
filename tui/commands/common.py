"""What the subcommands share: where the store is, the passphrase, opening the store's team,
printing user text safely, argument types."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
from pathlib import Path
from typing import Any

import msgspec

from mano_core.device import Device
from mano_core.errors import StoreMissingError
from mano_core.reporting.view import PARIS
from mano_core.store import LocalStore
from mano_core.team import Team
from tui.i18n import Translator
from tui.text import clean

DEMO_PASSPHRASE = "demo maraude nord"
DEFAULT_STORE = Path("demo-store") / "demo.mano"
# the --store option of the subcommands that read a store
STORE_ARG: dict[str, Any] = {"default": str(DEFAULT_STORE), "help": "store file (%(default)s)"}


def say(line: str) -> None:
    """Print a line carrying user text: its control characters are shown, never sent to
    the terminal as they are (``tui.text.clean``); ``--json`` output is escaped by JSON."""
    print(clean(line))


def ask_passphrase(t: Translator, default: str | None = None) -> str:
    env = os.environ.get("MANO_PASSPHRASE")
    if env:
        return env
    if default is not None:
        return default
    return getpass.getpass(t("prompt.passphrase"))


async def open_first_team(path: Path, t: Translator) -> tuple[LocalStore, Team]:
    """The store's first team, opened as this device (``Device.open_team``: with its keys, so
    an import or a counter increment on a synced team is signed and queued for the team)."""
    device = await Device.open(path, ask_passphrase(t))
    teams = await device.teams()
    if not teams:
        await device.close()
        raise StoreMissingError(str(path))
    return device.store, await device.open_team(teams[0].id)


def day_arg(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def increment_arg(text: str) -> tuple[str, int]:
    service, _, by = text.partition("=")
    try:
        return service.strip(), int(by or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not SERVICE or SERVICE=N: {text!r}") from None


def file_arg(text: str) -> Path:
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text!r}")
    return Path(text)


def today_paris() -> dt.date:
    return dt.datetime.now(PARIS).date()


def print_json(value: object) -> None:
    print(msgspec.json.format(msgspec.json.encode(value), indent=2).decode())
