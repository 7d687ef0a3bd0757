"""Relay tests: ``relay`` here is ``relay_in_process`` (a Relay in the test's event loop, see
tests/harness/relay.py) and ``url`` its address; ``kit`` a real team for raw protocol clients.
PostgreSQL (``pg_dsn``) comes from tests/harness/postgres.py."""

from __future__ import annotations

import pytest

from sync_server.server import Relay
from tests.harness.relay import relay_url
from tests.relay.kit import TeamKit


@pytest.fixture
def relay(relay_in_process: Relay) -> Relay:
    return relay_in_process


@pytest.fixture
def url(relay: Relay) -> str:
    return relay_url(relay)


@pytest.fixture
def kit() -> TeamKit:
    return TeamKit("bob", "carol")
