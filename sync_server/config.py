"""The relay's configuration: defaults < TOML file < MANO_RELAY_* environment < command line."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import platformdirs

from mano_core import limits
from mano_core.errors import ManoError

ENV_PREFIX = "MANO_RELAY_"


class ConfigError(ManoError):
    """The relay configuration is invalid (unknown key, wrong type, out of range)."""


def default_db_path() -> Path:
    """An SQLite file in the platform's per-user data directory."""
    return Path(platformdirs.user_data_dir("mano-relay", appauthor=False)) / "relay.db"


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """Every knob of the relay. Names match the TOML keys, flags (--max-frame) and
    environment variables (MANO_RELAY_MAX_FRAME). Limits are documented in docs/operations.md."""

    host: str = "127.0.0.1"
    port: int = 8765
    db: str = ""                       # "" = default_db_path(); ":memory:"; postgresql://…
    name: str = "mano-relay"
    log_level: str = "info"
    synchronous: str = "FULL"          # SQLite PRAGMA synchronous (FULL: acks survive power loss)
    max_frame: int = limits.MAX_FRAME_SIZE
    max_connections: int = limits.MAX_CONNECTIONS
    max_connections_per_team: int = limits.MAX_CONNECTIONS_PER_TEAM
    max_team_storage: int = limits.MAX_TEAM_STORAGE
    max_snapshot_size: int = limits.MAX_SNAPSHOT_SIZE
    max_file_size: int = limits.MAX_FILE_SIZE  # bytes of one document file
    max_open_files: int = limits.MAX_OPEN_FILES_PER_TEAM  # unfinished uploads per team
    rate: float = limits.RATE_MESSAGES_PER_SECOND
    burst: float = limits.RATE_BURST
    auth_timeout: float = limits.AUTH_TIMEOUT_SECONDS
    ping_interval: float = limits.PING_INTERVAL_SECONDS
    ping_timeout: float = limits.PING_TIMEOUT_SECONDS
    idle_timeout: float = limits.IDLE_TIMEOUT_SECONDS
    send_buffer: int = limits.SEND_BUFFER_BYTES
    catchup_buffer: int = limits.CATCHUP_BUFFER_MESSAGES
    catchup_batch: int = limits.CATCHUP_BATCH
    commit_batch: int = limits.COMMIT_BATCH
    max_pending_invites: int = limits.MAX_PENDING_INVITES_PER_TEAM
    max_open_invites: int = 1_000      # invitations an admin opened, per team, until they expire
    max_pending_keys: int = limits.MAX_PENDING_KEYS_PER_DEVICE
    invite_ttl: float = limits.INVITE_TTL_SECONDS
    retention: float = limits.SNAPSHOT_RETENTION_SECONDS
    snapshots_kept: int = limits.SNAPSHOTS_KEPT
    # Strangers (docs/operations.md "Limits"): before authentication, per client address.
    max_unauthenticated_per_address: int = 256  # open connections not authenticated yet
    max_guests: int = 1_000            # connections waiting for an invitation answer, relay-wide
    max_guests_per_address: int = 16   # … and from one address
    guest_timeout: float = 900.0       # seconds a guest may wait for its answer
    guest_rate: float = 100.0          # messages per second before authentication, per address
    guest_burst: float = 1000.0        # … bucket capacity
    forwarded_header: str = ""         # e.g. X-Forwarded-For: the client address behind a proxy
    # Team creation: per address and relay-wide, per hour; a token if the operator wants one.
    max_teams_per_address_hour: int = 10
    max_teams_per_hour: int = 100
    admission_token: str = ""          # if set, creating a team needs ?admission=<token>
    # Memory held for one session or upload, in bytes.
    catchup_buffer_bytes: int = 32 * 1024 * 1024  # live envelopes buffered during a catch-up
    max_uploads: int = 16              # snapshot uploads in progress, relay-wide
    shutdown_timeout: float = 10.0
    db_pool: int = 8                   # PostgreSQL: pooled connections per node (+1 listener)
    db_timeout: float = 5.0            # PostgreSQL: connect / acquire timeout
    health_interval: float = 2.0       # seconds between database health checks (/healthz)
    metrics_listen: str = ""           # "[host:]port" of the /metrics and /healthz listener
                                       # (host 127.0.0.1 if omitted; port 0: ephemeral; "": off)
    metrics_token: str = ""            # also serve them on the ws port to this bearer token

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ConfigError(f"{f.name} must not be negative")
        if not 0 <= self.port <= 65535:
            raise ConfigError("port must be 0..65535")
        _ = self.metrics_address  # raises ConfigError if malformed
        if self.guest_rate <= 0 or self.guest_burst < 1:
            raise ConfigError("guest_rate > 0, guest_burst >= 1")
        if self.max_frame < 4096 or self.rate <= 0 or self.burst < 1 or self.snapshots_kept < 1:
            raise ConfigError("max_frame >= 4096, rate > 0, burst >= 1, snapshots_kept >= 1")
        if self.db_pool < 2 or self.health_interval <= 0:
            raise ConfigError("db_pool >= 2, health_interval > 0")
        if self.synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ConfigError("synchronous must be OFF, NORMAL, FULL or EXTRA")

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        """(host, port) of the metrics listener, or None when it is off."""
        if not self.metrics_listen:
            return None
        host, _, port = self.metrics_listen.rpartition(":")
        try:
            number = int(port)
        except ValueError:
            number = -1
        if not 0 <= number <= 65535:
            raise ConfigError("metrics_listen is [host:]port with a port in 0..65535")
        return host.strip("[]") or "127.0.0.1", number

    @property
    def db_path(self) -> str:
        """The database path (or DSN) in force."""
        return self.db or str(default_db_path())

    @property
    def is_postgres(self) -> bool:
        """True when ``db`` is a PostgreSQL URL (several nodes may share it)."""
        return self.db.startswith(("postgresql://", "postgres://"))

    @property
    def db_display(self) -> str:
        """``db`` fit for logs: a PostgreSQL URL loses its password."""
        if not self.is_postgres:
            return self.db_path
        return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", self.db)


def _coerce(name: str, value: Any) -> Any:
    types = {f.name: f.type for f in fields(RelayConfig)}
    if name not in types:
        raise ConfigError(f"unknown setting {name!r}")
    kind = types[name]
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: {value!r} is not a valid {kind}") from None


def load_config(
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> RelayConfig:
    """Merge defaults, a TOML file (top level or a [relay] table), MANO_RELAY_* variables and
    ``overrides`` (None values ignored). Raises ConfigError."""
    values: dict[str, Any] = {}
    env = os.environ if env is None else env
    config_file = config_file or env.get(ENV_PREFIX + "CONFIG")
    if config_file:
        try:
            data = tomllib.loads(Path(config_file).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config {config_file}: {exc}") from None
        table = data.get("relay", data)
        values.update({k.replace("-", "_"): _coerce(k.replace("-", "_"), v)
                       for k, v in table.items()})
    for f in fields(RelayConfig):
        raw = env.get(ENV_PREFIX + f.name.upper())
        if raw is not None:
            values[f.name] = _coerce(f.name, raw)
    for k, v in (overrides or {}).items():
        if v is not None:
            values[k] = _coerce(k, v)
    return dataclasses.replace(RelayConfig(), **values)
