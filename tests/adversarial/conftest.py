"""An in-process relay, devices with real stores, and a member's raw keys for attacks."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mano_core.device import Device
from mano_core.keys_at_rest import TeamKeys
from mano_core.sync.client import SyncClient
from mano_core.team import Team
from sync_server.server import Relay
from tests.relay.conftest import relay_config
from tests.sync.conftest import make_device  # noqa: F401
from tests.sync.helpers import join


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[Relay]:
    async with Relay(relay_config(tmp_path)) as r:
        yield r


@pytest.fixture
def url(relay: Relay) -> str:
    return f"ws://127.0.0.1:{relay.port}"


@dataclass
class Pair:
    """Admin ``a`` (syncing) and member ``b`` (not syncing: the test drives it by hand)."""

    a: Device
    team_a: Team
    sync_a: SyncClient
    b: Device
    team_b: Team
    keys_b: TeamKeys


@pytest.fixture
async def pair(make_device, url) -> AsyncIterator[Pair]:
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude")
    async with await a.sync(team_a, url) as sa:
        team_b = await join(sa, b, url)
        keys_b = await b.vault.team(uuid.UUID(team_b.id).bytes)
        yield Pair(a, team_a, sa, b, team_b, keys_b)
