"""Choosing a person: type a few letters of a name, an alias or a phone number, then pick one
line among the matches. Each line tells homonyms apart (other names, birth date, sub-teams,
followed since: ``tui.people_index.describe``), so eight persons called the same are eight
different lines. Used by every form that names a person (an action, a passage, a family link).

Keys: typing filters; Down goes to the matches; Enter picks the highlighted line (or the only
match, from the search field); Escape in the matches goes back to the search field."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.text import Visible, cell, plain

Search = Callable[[str], Sequence[tuple[str, str]]]  # text → (person id, line) pairs
MAX_SHOWN = 8


class MatchList(OptionList):
    BINDINGS = [Binding("escape", "back", "key.back", show=False)]

    def action_back(self) -> None:
        parent = self.parent
        assert parent is not None
        parent.query_one(Input).focus()


class PersonPicker(Vertical):
    """``value``: the chosen person's id (None until one is picked)."""

    DEFAULT_CSS = """
    PersonPicker { height: auto; }
    PersonPicker MatchList { height: auto; max-height: 8; display: none; }
    PersonPicker MatchList.shown { display: block; }
    PersonPicker .picker-chosen { height: auto; padding: 0 1; }
    """

    class Picked(Message):
        def __init__(self, picker: PersonPicker, person_id: str | None) -> None:
            super().__init__()
            self.picker = picker
            self.person_id = person_id

    def __init__(self, search: Search, *, value: str | None = None, label: str = "",
                 placeholder: str = "", chosen_text: Callable[[str], str] = lambda s: s,
                 more_text: Callable[[int], str] = lambda n: f"+{n}",
                 none_text: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self._search = search
        self.value = value
        self._label = label
        self._placeholder = placeholder
        self._chosen_text = chosen_text
        self._more_text = more_text
        self._none_text = none_text
        self._found: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        yield Input(self._label.split(" · ")[0] if self.value else "", compact=True,
                    placeholder=self._placeholder, highlighter=Visible(),
                    classes="picker-search")
        yield MatchList(classes="picker-matches")
        yield Static(plain(self._chosen_text(self._label)) if self.value else "",
                     classes="picker-chosen")

    @property
    def search_input(self) -> Input:
        return self.query_one(Input)

    def focus(self, scroll_visible: bool = True) -> PersonPicker:
        self.search_input.focus(scroll_visible)
        return self

    @on(Input.Changed, ".picker-search")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self.value is not None and event.value != self._label.split(" · ")[0]:
            self.value = None  # typing again: searching for someone else
            self._label = ""
            self.query_one(".picker-chosen", Static).update("")
            self.post_message(self.Picked(self, None))
        self.refresh_matches(event.value)

    def refresh_matches(self, text: str) -> None:
        matches = self.query_one(MatchList)
        matches.clear_options()
        if not text.strip():
            self._found = []
            matches.remove_class("shown")
            return
        found = list(self._search(text))
        self._found = found[:MAX_SHOWN]
        options: list[Option | None] = [Option(cell(line, 200), id=pid)
                                        for pid, line in self._found]
        if len(found) > MAX_SHOWN:
            options.append(Option(Text(self._more_text(len(found) - MAX_SHOWN)), disabled=True))
        if not found:
            options.append(Option(Text(self._none_text), disabled=True))
        matches.add_options(options)
        matches.add_class("shown")
        if self._found:
            matches.highlighted = 0

    def on_key(self, event: events.Key) -> None:
        if event.key == "down" and self.search_input.has_focus and self._found:
            self.query_one(MatchList).focus()
            event.stop()

    @on(Input.Submitted, ".picker-search")
    def _enter_in_search(self, event: Input.Submitted) -> None:
        if len(self._found) == 1 or (self._found and self.value is None):
            event.stop()
            self.pick(*self._found[0])
        # else: already picked (or nothing matches): Enter goes on to the form (save)

    @on(OptionList.OptionSelected, ".picker-matches")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        pid = event.option.id
        for found_id, line in self._found:
            if found_id == pid:
                self.pick(found_id, line)
                return

    def pick(self, person_id: str | None, line: str = "") -> None:
        """Choose this person (None: nobody) and show which one was chosen."""
        self.value = person_id
        self._label = line
        chosen = self.query_one(".picker-chosen", Static)
        chosen.update(plain(self._chosen_text(line)) if person_id else "")
        matches = self.query_one(MatchList)
        matches.clear_options()
        matches.remove_class("shown")
        self._found = []
        search = self.search_input
        with search.prevent(Input.Changed):
            search.value = line.split(" · ")[0] if person_id else ""
        search.focus()
        self.post_message(self.Picked(self, person_id))
