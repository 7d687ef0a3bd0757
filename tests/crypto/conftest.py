"""The crypto tests' teams: ``team`` and ``health_team`` (a health founder) are fresh in-memory
``KeyTeam``s (tests/harness/keys.py)."""

from __future__ import annotations

import pytest

from tests.harness.keys import KeyTeam


@pytest.fixture
def team() -> KeyTeam:
    return KeyTeam()


@pytest.fixture
def health_team() -> KeyTeam:
    return KeyTeam(founder_health=True)
