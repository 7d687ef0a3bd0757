"""`mano` without a subcommand: the terminal app on this device's store."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from mano_core.errors import MissingDependencyError
from mano_core.optional import require
from tui import crash


def default_app_store() -> Path:
    """Where `mano` keeps this device's encrypted store unless --store says otherwise."""
    import platformdirs
    return Path(os.environ.get("MANO_STORE") or
                platformdirs.user_data_path("mano") / "device.mano")


def has_textual() -> bool:
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
    if not has_textual():
        return 2
    from tui.app import make_app
    app = make_app(args.app_store or default_app_store(), relay=args.relay or
                   os.environ.get("MANO_RELAY"), lang=args.lang)
    app.run()
    return app_status(app)


def app_status(app: Any) -> int:
    """The command's exit status once the app has closed (non-zero if it stopped on an
    error: its report's path was printed by then)."""
    if app.crash_report is not None:
        return crash.CRASH_EXIT
    return int(app.return_code or 0)
