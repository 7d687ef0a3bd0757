"""What a worker does with the keyboard, for Pilot tests: wait for the screen to show
something, open a person's file, open a form with its key, fill it, save it, confirm.

Every step waits for its positive event (``wait_for``, 60 s by default: a waiting test costs
nothing when it passes), never a fixed pause."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tui.screens.agenda import AgendaScreen
from tui.screens.person_file import PersonFileScreen
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.forms import FormScreen, safe_id


async def wait_for(pilot: Any, predicate: Callable[[], object], timeout: float = 60.0,
                   what: str = "condition") -> None:
    """Let the app run until ``predicate()`` is true; AssertionError naming ``what`` after
    ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def opened(pilot: Any) -> None:
    """Until the app shows its agenda (unlocked, the session open)."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="the agenda")
    await pilot.pause()


async def open_file(pilot: Any, person_id: str) -> PersonFileScreen:
    app = pilot.app
    app.push_screen(PersonFileScreen(person_id))
    await wait_for(pilot, lambda: isinstance(app.screen, PersonFileScreen)
                   and app.screen.person_id == person_id, what="the person's file")
    await pilot.pause()
    screen: PersonFileScreen = app.screen
    return screen


async def form_open(pilot: Any, *keys: str) -> FormScreen:
    await pilot.press(*keys)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, FormScreen), what="the form")
    await pilot.pause()
    form: FormScreen = pilot.app.screen
    return form


async def save(pilot: Any) -> None:
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, FormScreen),
                   what="the form saved and closed")


async def confirm(pilot: Any) -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen),
                   what="the confirmation")
    pilot.app.screen.query_one("#confirm").press()
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, ConfirmScreen))


def field(form: FormScreen, name: str) -> Any:
    return form.query_one(f"#field-{safe_id(name)}")


def error(form: FormScreen, name: str) -> str:
    return str(form.query_one(f"#error-{safe_id(name)}").render())


async def new_person(app: Any, name: str = "Personne Z", **fields: Any) -> Any:
    """A new person followed by the app's sub-team, written through the app's engine."""
    return await app.session.team.persons.create(
        name=name, assigned_teams=[app.session.subteam], **fields)
