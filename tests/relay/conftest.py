"""Fixtures for relay tests: an in-process relay on an ephemeral port, and a real team."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sync_server.config import RelayConfig
from sync_server.server import Relay
from tests.relay.kit import TeamKit


def relay_config(tmp_path: Path, **kw: object) -> RelayConfig:
    return dataclasses.replace(
        RelayConfig(), port=0, db=str(tmp_path / "relay.db"), synchronous="NORMAL", **kw
    )


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[Relay]:
    async with Relay(relay_config(tmp_path)) as r:
        yield r


@pytest.fixture
def url(relay: Relay) -> str:
    return f"ws://127.0.0.1:{relay.port}"


@pytest.fixture
def kit() -> TeamKit:
    return TeamKit("bob", "carol")
