"""The rules tests run real devices (``make_device``, tests/harness/devices.py) against a real
relay subprocess: ``relay`` here is ``relay_process`` (tests/harness/relay.py)."""

from __future__ import annotations

import pytest

from tests.harness.relay import RelayProcess


@pytest.fixture
def relay(relay_process: RelayProcess) -> RelayProcess:
    return relay_process
