"""Cross-node events: the Bus protocol the relay's fan-out listens through, and the one-node
LocalBus (sync_server/pgbus.py implements it on PostgreSQL LISTEN/NOTIFY)."""

from __future__ import annotations

from typing import Protocol


class Bus(Protocol):
    """Cross-node events. ``start``/``stop`` bracket the relay's life; ``problem`` is None while
    events flow, else why they do not (reported by /healthz)."""

    problem: str | None

    async def start(self) -> None:
        """Begin receiving events (and keep reconnecting)."""

    async def stop(self) -> None:
        """Stop receiving events."""

    async def publish_presence(self, team: bytes, device: bytes, blob: bytes) -> None:
        """Forward an ephemeral presence blob to the other nodes (best effort)."""


class LocalBus:
    """One node: there is nobody to tell."""

    problem: str | None = None

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""

    async def publish_presence(self, team: bytes, device: bytes, blob: bytes) -> None:
        """Nothing to forward."""
