"""Two teams on one device (an organisation's home team and a joint team), real stores."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mano_core.device import Device
from mano_core.store import TEST_KDF
from mano_core.team import Team
from tests.relay.kit import RelayProcess

PASS = "phrase de passe de test"
NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.timezone.utc)


@dataclass
class Org:
    device: Device
    home: Team
    joint: Team


@pytest.fixture
async def make_device(tmp_path: Path) -> AsyncIterator[Callable[[str], Awaitable[Device]]]:
    opened: list[Device] = []

    async def make(name: str) -> Device:
        device = await Device.create(tmp_path / f"{name}.mano", PASS, kdf=TEST_KDF)
        opened.append(device)
        return device

    yield make
    for device in opened:
        if not device.store.closed:
            await device.close()


@pytest.fixture
async def org(make_device) -> Org:
    device = await make_device("nord")
    home = await device.create_team("Maraude Nord", health=True)
    joint = await device.create_team("Suivi commun Nord × CAARUD")
    return Org(device, home, joint)


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[RelayProcess]:
    p = await RelayProcess(str(tmp_path / "relay.db"), "--synchronous", "NORMAL",
                           "--rate", "100000", "--burst", "100000").start()
    yield p
    await p.stop()
