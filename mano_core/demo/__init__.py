"""Deterministic generator of realistic demo data, for the demo, the tests and the benchmarks.

>>> team = generate_team(seed=1, scale=0.01)
>>> team.counts()["persons"]
30
"""

from __future__ import annotations

from mano_core.demo.generator import BASE_COUNTS, DEFAULT_REFERENCE, SETTINGS, generate_team
from mano_core.demo.team import DemoSettings, DemoTeam, Member
from mano_core.demo.vocabulary import (
    ACTION_CATEGORIES,
    COLLABORATIONS,
    SERVICES,
    STRUCTURE_CATEGORIES,
    TERRITORY_TYPES,
)

__all__ = [
    "ACTION_CATEGORIES",
    "BASE_COUNTS",
    "COLLABORATIONS",
    "DEFAULT_REFERENCE",
    "SERVICES",
    "SETTINGS",
    "STRUCTURE_CATEGORIES",
    "TERRITORY_TYPES",
    "DemoSettings",
    "DemoTeam",
    "Member",
    "generate_team",
]
