"""A small demo store (built once per session, copied per test) and the app on it; the app
on its agenda (``demo_app``), a new person's file open in it (``person_file``), and a team on
two devices synced through a relay subprocess, with an app on each (``two_devices``)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mano_core.demo import generate_team
from mano_core.demo.load import load_demo
from mano_core.device import Device
from mano_core.store import TEST_KDF
from mano_core.sync.state import Status
from mano_core.team import Team
from tests.harness.relay import RelayProcess
from tui.app import ManoApp, make_app
from tui.session import MEMBER_NAMES_KEY

from .pilots import new_person, open_file, opened, wait_for

__all__ = ["NOW", "PASS", "REFERENCE", "SIZE", "TwoDevices", "app_on", "build_store", "wait_for"]

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")  # snapshots never catch a tab mid-slide

PASS = "phrase de passe de test"
REFERENCE = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.timezone.utc)   # 10:30 in Paris
SIZE = (100, 32)


async def build_store(path: Path, scale: float = 0.01) -> None:
    generated = generate_team(seed=3, scale=scale, reference=REFERENCE)
    async with await Device.create(path, PASS, kdf=TEST_KDF) as device:
        me = generated.members[0]
        team = await device.create_team("Maraude Nord", member=me.id, health=True)
        await load_demo(team, generated)
        for member in generated.members:
            await team.settings.set(MEMBER_NAMES_KEY + member.id, member.name)
        # The generated day holds about 35 actions at MANO scale, none at this one: the day's
        # agenda gets a few of its own, so that the screens show a day's work.
        person, subteam = generated.persons[0].id, generated.persons[0].assigned_teams[0]
        for hour, name, status in ((8, "Accompagnement à la PASS", "FAIT"),
                                   (13, "Rendez-vous CCAS", "A FAIRE"),
                                   (16, "Appeler le 115 pour une place", "A FAIRE")):
            due = dt.datetime.combine(REFERENCE, dt.time(hour), tzinfo=dt.UTC)
            await team.actions.create(
                name=name, persons=[person], teams=[subteam], status=status, with_time=True,
                due_at=due,
                completed_at=due if status == "FAIT" else None)


@pytest.fixture(autouse=True)
def steady_cursors(monkeypatch: pytest.MonkeyPatch) -> None:
    """A focused field's cursor stays shown instead of blinking every 0.5 s: a snapshot taken
    later than that on a loaded machine caught it hidden (test_unlock_screen failed so)."""
    from textual.widgets import Input, TextArea

    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
    monkeypatch.setattr(TextArea, "_toggle_cursor_blink_visible", lambda self: None)


@pytest.fixture(scope="session")
def demo_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "demo.mano"
    asyncio.run(build_store(path))
    return path


@pytest.fixture
def demo_store(demo_store_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "demo.mano"
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{demo_store_template}{suffix}")
        if source.exists():
            shutil.copy(source, f"{target}{suffix}")
    return target


def app_on(store: Path, **options: object) -> ManoApp:
    """The app unlocked at once on ``store``, with a fixed clock and no relay."""
    options.setdefault("lang", "fr")
    options.setdefault("passphrase", PASS)
    return make_app(store, kdf=TEST_KDF, clock=lambda: NOW, **options)




DemoApp = Callable[..., contextlib.AbstractAsyncContextManager[tuple[ManoApp, Any]]]


@pytest.fixture
def demo_app(demo_store: Path) -> DemoApp:
    """``async with demo_app(size=SIZE, **run_test_options) as (app, pilot)``: the app on a
    copy of the demo store, unlocked, on its agenda."""
    @contextlib.asynccontextmanager
    async def run(size: tuple[int, int] = SIZE, **options: Any) -> AsyncIterator[
            tuple[ManoApp, Any]]:
        app = app_on(demo_store)
        async with app.run_test(size=size, **options) as pilot:
            await opened(pilot)
            yield app, pilot
    return run


@pytest.fixture
def person_file(demo_app: DemoApp) -> Callable[..., contextlib.AbstractAsyncContextManager[
        tuple[ManoApp, Any, Any]]]:
    """``async with person_file(size=(120, 40), name=..., **fields) as (app, pilot, person)``:
    the app on the demo store, a new person followed by its sub-team (``Personne Z`` unless
    ``name`` says otherwise), her file open."""
    @contextlib.asynccontextmanager
    async def run(size: tuple[int, int] = (120, 40), **fields: Any) -> AsyncIterator[
            tuple[ManoApp, Any, Any]]:
        async with demo_app(size) as (app, pilot):
            person = await new_person(app, **fields)
            await open_file(pilot, person.id)
            yield app, pilot, person
    return run


@dataclass
class TwoDevices:
    """A team founded on device A (its member named "Awa", health) and joined by device B
    ("Basile", a normal member), synced through a relay subprocess; both stores closed, for
    ``apps``. ``prepared`` is what the ``prepare`` step returned."""

    relay: RelayProcess
    a: Path
    b: Path
    prepared: Any

    @contextlib.asynccontextmanager
    async def apps(self, size: tuple[int, int] = SIZE) -> AsyncIterator[tuple[Any, Any]]:
        """Pilots of an app on A's store and one on B's, both on the agenda and online."""
        app_a = app_on(self.a, relay=self.relay.url)
        app_b = app_on(self.b, relay=self.relay.url)
        async with app_a.run_test(size=size) as pa, app_b.run_test(size=size) as pb:
            for pilot in (pa, pb):
                await opened(pilot)
                await wait_for(pilot, lambda p=pilot: p.app.session.sync.state.status
                               is Status.ONLINE, what="online")
            yield pa, pb


@pytest.fixture
def two_devices(tmp_path: Path, relay_process: RelayProcess) -> Callable[..., Awaitable[
        TwoDevices]]:
    """``await two_devices(prepare)``: A founds the team, ``await prepare(team)`` writes what
    B must find there (before B joins), B joins; see TwoDevices."""
    async def make(prepare: Callable[[Team], Awaitable[Any]] | None = None) -> TwoDevices:
        url = relay_process.url
        async with await Device.create(tmp_path / "a.mano", PASS, kdf=TEST_KDF) as a:
            team = await a.create_team("Maraude Nord", health=True)
            await team.settings.set(MEMBER_NAMES_KEY + team.info.member, "Awa")
            prepared = await prepare(team) if prepare is not None else None
            async with await a.sync(team, url) as sync:
                code = await sync.create_invitation(role="normal")
                async with await Device.create(tmp_path / "b.mano", PASS, kdf=TEST_KDF) as b:
                    joined = await b.join_team(url, code, timeout=60)
                    await joined.settings.set(MEMBER_NAMES_KEY + joined.info.member, "Basile")
                    async with await b.sync(joined, url) as sync_b:
                        await sync_b.wait_synced(60)
                await sync.wait_synced(60)
        return TwoDevices(relay_process, tmp_path / "a.mano", tmp_path / "b.mano", prepared)
    return make
