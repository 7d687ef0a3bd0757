"""Devices with real store files (cheap KDF) and a real relay subprocess, for audit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from mano_core.device import Device
from mano_core.store import TEST_KDF
from tests.relay.kit import RelayProcess

PASS = "phrase de passe de test"


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[RelayProcess]:
    p = await RelayProcess(str(tmp_path / "relay.db"), "--synchronous", "NORMAL",
                           "--rate", "100000", "--burst", "100000").start()
    yield p
    await p.stop()


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
