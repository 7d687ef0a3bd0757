"""Two teams on one device (an organisation's home team and a joint team), real stores; a
relay subprocess as ``relay``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from mano_core.device import Device
from mano_core.team import Team
from tests.harness.relay import RelayProcess

NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.timezone.utc)


@dataclass
class Org:
    device: Device
    home: Team
    joint: Team


@pytest.fixture
def relay(relay_process: RelayProcess) -> RelayProcess:
    """A real relay subprocess (tests/harness/relay.py)."""
    return relay_process


@pytest.fixture
async def org(make_device) -> Org:
    device = await make_device("nord")
    home = await device.create_team("Maraude Nord", health=True)
    joint = await device.create_team("Suivi commun Nord × CAARUD")
    return Org(device, home, joint)
