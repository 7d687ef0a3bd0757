"""``mano-relay``: run the relay. ``mano-relay serve --help`` lists every setting."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import sys
from collections.abc import Sequence

from mano_core.errors import RelayStorageError
from sync_server.config import ENV_PREFIX, ConfigError, RelayConfig, load_config
from sync_server.logs import setup_logging
from sync_server.server import Relay

log = logging.getLogger("mano.relay")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mano-relay",
        description="The Mano relay: stores and fans out end-to-end encrypted envelopes.",
        epilog=f"Every setting may also come from a TOML file (--config or {ENV_PREFIX}CONFIG) "
        f"or an environment variable {ENV_PREFIX}<SETTING> (e.g. {ENV_PREFIX}PORT). "
        "Precedence: flag > environment > file > default.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the relay until SIGTERM/SIGINT",
                           description="Run the relay until SIGTERM or SIGINT.")
    serve.add_argument("--config",
                       help="TOML configuration file (keys as below, or a [relay] table)")
    defaults = RelayConfig()
    for f in dataclasses.fields(RelayConfig):
        flag = "--" + f.name.replace("_", "-")
        kind = {"int": int, "float": float}.get(str(f.type), str)
        default = getattr(defaults, f.name)
        helptext = f"(default: {default!r})" if f.name != "db" else (
            "SQLite file (default: relay.db in the platform data directory; ':memory:' for a "
            "throw-away in-memory store), or postgresql://user:pass@host:port/db to share "
            "one PostgreSQL database between several relay nodes")
        serve.add_argument(flag, dest=f.name, type=kind, default=None, help=helptext)
    sub.add_parser("config", help="print the configuration in force (after files/env/flags)")
    return parser


async def _serve(config: RelayConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with Relay(config) as relay:
        metrics = f" (metrics on {relay.metrics_url})" if relay.metrics_url else ""
        print(f"mano-relay listening on ws://{config.host}:{relay.port}{metrics}", file=sys.stderr,
              flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mano-relay`` console script."""
    args = _parser().parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k not in {"command", "config"}}
    try:
        config = load_config(getattr(args, "config", None), overrides=overrides)
    except ConfigError as exc:
        print(f"mano-relay: {exc}", file=sys.stderr)
        return 2
    if args.command == "config":
        for k, v in dataclasses.asdict(config).items():
            print(f"{k} = {(config.db_display if k == 'db' and v else v)!r}")
        return 0
    setup_logging(config.log_level)
    try:
        asyncio.run(_serve(config))
    except (OSError, RelayStorageError) as exc:
        log.error("cannot start the relay", extra={"error": str(exc)})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
