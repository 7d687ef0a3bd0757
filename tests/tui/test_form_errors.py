"""The action and territory forms say an engine refusal from its code, in the interface's
language: the engine's English reason never reaches a French screen."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from textual.app import App
from textual.widgets import Static

from mano_core.codes import Code
from mano_core.errors import ValidationError
from tui.i18n import Translator
from tui.widgets.action_form import ActionChoices, ActionDraft, ActionFormScreen
from tui.widgets.territory_form import TerritoryFormScreen

pytestmark = pytest.mark.timeout(180)


class _Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.t = Translator("fr")


async def _refused(values: dict[str, Any]) -> None:
    raise ValidationError("record", "name", Code.REQUIRED)


def _action_form(t: Translator) -> ActionFormScreen:
    choices = ActionChoices(categories=(), subteams=(), structures=(), find=lambda text: (),
                            person=lambda pid: None, texts=t)
    return ActionFormScreen("Nouvelle action", ActionDraft(name="x", day=dt.date(2026, 12, 1)),
                            choices, _refused)


def _territory_form(t: Translator) -> TerritoryFormScreen:
    return TerritoryFormScreen("Nouveau territoire", {"name": "x"}, (), _refused, t)


@pytest.mark.parametrize("form", [_action_form, _territory_form])
async def test_an_engine_refusal_is_said_in_french(form):
    app = _Host()
    async with app.run_test() as pilot:
        screen = form(app.t)
        app.push_screen(screen)
        await pilot.pause()
        await screen.action_save()
        await pilot.pause()
        text = str(screen.query_one("#error-name", Static).render())
        english = ValidationError("record", "name", Code.REQUIRED).reason
        assert app.t("error.validation.required") in text
        assert english not in text
