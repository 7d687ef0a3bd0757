"""Documents through a relay: ``relay`` here is ``relay_process``, a real relay subprocess, and
``make_device`` makes real devices (tests/harness/)."""

from __future__ import annotations

import pytest

from tests.harness.relay import RelayProcess


@pytest.fixture
def relay(relay_process: RelayProcess) -> RelayProcess:
    return relay_process
