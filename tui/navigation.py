"""Where to go next, as messages: a screen or widget posts one, the app handles it.

Screens never import each other to move on (harlequin's pattern): a list posts
``OpenPerson(person_id)`` and the app pushes the person file. A new destination is a new
message here and one handler in ``tui.app``. Widgets may post these too; they never import
a screen."""

from __future__ import annotations

from textual.message import Message


class OpenPerson(Message):
    """Show a person's file."""

    def __init__(self, person_id: str) -> None:
        super().__init__()
        self.person_id = person_id


class EditPerson(Message):
    """The person form: a new person when ``person_id`` is None (their file opens once saved,
    unless ``then_open`` is False), else that person's."""

    def __init__(self, person_id: str | None = None, *, then_open: bool = True) -> None:
        super().__init__()
        self.person_id = person_id
        self.then_open = then_open


class OpenAction(Message):
    """Show an action's detail."""

    def __init__(self, action_id: str) -> None:
        super().__init__()
        self.action_id = action_id


class OpenSection(Message):
    """Switch to a top-level section (``agenda``, ``persons``… as in ``widgets.nav.SECTIONS``)."""

    def __init__(self, section: str) -> None:
        super().__init__()
        self.section = section


class LockNow(Message):
    """Close the team and ask for the passphrase again (idle time reached, or asked for)."""


class OpenExchange(Message):
    """Show the exports and imports screen."""
