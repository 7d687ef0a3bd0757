"""A small demo store (built once per session, copied per test) and the app on it."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from mano_core.demo import generate_team
from mano_core.demo.load import load_demo
from mano_core.device import Device
from mano_core.store import TEST_KDF
from tui.app import ManoApp, make_app
from tui.session import MEMBER_NAMES_KEY

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


async def wait_for(pilot, predicate, timeout: float = 60.0, what: str = "condition") -> None:
    """Let the app run until ``predicate()`` is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)
