"""What every part of a relay shares: configuration, storage, metrics and the cross-node bus.

Components take this small context (and the TeamRegistry, sync_server/registry.py) instead of
the whole Relay, so that no module imports the server and each can be built on its own (tests
drive the handlers over MemoryStorage with no websocket server)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sync_server.admission import Admission
from sync_server.config import RelayConfig
from sync_server.fanout import Bus, LocalBus
from sync_server.metrics import Metrics
from sync_server.storage import Storage


@dataclass(slots=True)
class RelayContext:
    """The relay's shared services. ``bus`` is LocalBus until a PostgreSQL relay starts its
    PgBus; ``node`` names this process in cross-node events; ``admission`` counts what
    strangers (unauthenticated connections) hold, per address."""

    config: RelayConfig
    storage: Storage
    admission: Admission = field(init=False)
    metrics: Metrics = field(default_factory=Metrics)
    bus: Bus = field(default_factory=LocalBus)
    node: str = field(default_factory=lambda: os.urandom(4).hex())
    uploads: int = 0  # snapshot uploads in progress (config.max_uploads)

    def __post_init__(self) -> None:
        self.admission = Admission(self.config)
