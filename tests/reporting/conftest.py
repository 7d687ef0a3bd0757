"""Fixtures: a small generated team, as a bare document and as a Team in a real store."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mano_core.demo import DemoTeam, generate_team
from mano_core.demo.load import load_demo
from mano_core.document.compartments import GeneralDocument
from mano_core.model.records import Record
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team

PASS = "une phrase de passe"
SCALE = 0.05
NOW = dt.datetime(2026, 11, 20, 18, tzinfo=dt.UTC)  # the demo's reference instant


def load_document(demo: DemoTeam, doc: GeneralDocument) -> GeneralDocument:
    """The demo's general records and settings in a bare document (no store)."""
    by_collection: dict[str, list[Record]] = defaultdict(list)
    for record in demo.general_records():
        by_collection[record.collection].append(record)
    for name, batch in by_collection.items():
        doc.collections[name].insert_many(batch)
    doc.settings.add("services", *demo.settings.services)
    doc.settings.add("actionCategories", *demo.settings.action_categories)
    doc.settings.add("collaborations", *demo.settings.collaborations)
    return doc


@pytest.fixture(scope="session")
def demo() -> DemoTeam:
    return generate_team(seed=7, scale=SCALE)


@pytest.fixture(scope="session")
def doc(demo: DemoTeam) -> GeneralDocument:
    """Read-only: tests must not write to it (shared by the session)."""
    return load_document(demo, GeneralDocument(author=demo.members[0].id))


@pytest.fixture
async def team(tmp_path: Path, demo: DemoTeam) -> AsyncIterator[Team]:
    async with await LocalStore.create(tmp_path / "device.mano", PASS, kdf=TEST_KDF) as store:
        team = await Team.create(store, name="Maraude Nord", member=demo.members[0].id)
        await load_demo(team, demo)
        yield team


@pytest.fixture
async def empty_team(tmp_path: Path) -> AsyncIterator[Team]:
    async with await LocalStore.create(tmp_path / "empty.mano", PASS, kdf=TEST_KDF) as store:
        yield await Team.create(store, name="Maraude Sud", member="member-a")
