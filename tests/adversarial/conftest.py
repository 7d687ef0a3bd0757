"""Attacks: ``relay`` here is ``relay_in_process`` (tests/harness/relay.py), ``url`` its
address; devices with real stores (``make_device``), and a member's raw keys (``pair``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from mano_core.device import Device
from mano_core.keys_at_rest import TeamKeys
from mano_core.sync.client import SyncClient
from mano_core.team import Team
from sync_server.server import Relay
from tests.harness.relay import relay_url
from tests.sync.helpers import join


@pytest.fixture
def relay(relay_in_process: Relay) -> Relay:
    return relay_in_process


@pytest.fixture
def url(relay: Relay) -> str:
    return relay_url(relay)


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
