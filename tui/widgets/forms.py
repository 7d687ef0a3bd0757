"""Forms in a modal: fields described once, inline errors naming the field, nothing lost.

A form is a list of ``Field``; ``FormScreen`` draws them, and on ctrl+s (or Enter in a one-line
field) reads every field (``parse``: a value that does not read is said under its field, all
of them at once) and hands the values to an async ``submit``. If ``submit`` raises
``FieldError`` or a ValidationError, the message (translated from its code,
``tui.i18n.validation_text``) appears under the field it names and the form stays open with
everything typed in it. Escape closes without saving (the skeleton every modal form shares:
``tui.widgets.modal_form``).

Record forms are not written by hand: ``tui.records.build`` makes their fields from the
record type's spec and the team's custom fields."""

from __future__ import annotations

import hashlib
import re

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Label, Static, TextArea

from tui.records.values import EntryError
from tui.text import Visible, cell, plain, visible
from tui.widgets.modal_form import FieldError as FieldError
from tui.widgets.modal_form import FieldErrors, ModalForm
from tui.widgets.modal_form import Submit as Submit
from tui.widgets.person_picker import PersonPicker, Search
from tui.widgets.toggle import Check
from tui.widgets.select import Select


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def safe_id(name: str) -> str:
    """A field name as a widget id (a custom field's key may hold ``.``, ``:``…): unchanged
    when it is one already, else its unsafe characters replaced and a digest added."""
    if not _UNSAFE.search(name):
        return name
    digest = hashlib.blake2s(name.encode(), digest_size=4).hexdigest()
    return f"{_UNSAFE.sub('_', name)}-{digest}"


class FormErrors(Exception):
    """Fields whose text does not read: {field name: code}."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


@dataclass(frozen=True)
class Field:
    """One input. ``kind``: text, area, check, select (``options``: (label, value) pairs),
    yesno (a select of ``options`` yes/no), multi (one box per option; the value is the list
    of ticked values) or person (a ``PersonPicker`` over ``search``; the value is an id).
    ``wire`` names the engine field it fills, to place the engine's errors under it.
    ``parse`` turns what the widget holds into the value handed to ``submit`` (raising
    ``EntryError`` when it does not read); ``section``: a heading drawn before the field when
    it differs from the previous field's; ``required`` is said next to the label;
    ``labels``: (the name of a choice in the same form, {its value: this field's label}), the
    label following that choice as it changes (a completion date by its status)."""

    name: str
    label: str
    kind: str = "text"
    value: Any = None
    options: Sequence[tuple[str, Any]] = ()
    placeholder: str = ""
    wire: tuple[str, ...] = field(default_factory=tuple)
    parse: Callable[[Any], Any] | None = None
    section: str = ""
    required: bool = False
    search: Search | None = None
    value_label: str = ""  # person: the line of the person already chosen
    labels: tuple[str, Mapping[Any, str]] | None = None


class MultiCheck(Vertical):
    """Several choices, one box each (``[✓]`` ticked): the value is the ticked values."""

    DEFAULT_CSS = "MultiCheck { height: auto; padding: 0 0 0 1; }"

    def __init__(self, options: Sequence[tuple[str, Any]], value: Sequence[Any] | None,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self._options = list(options)
        chosen = list(value or [])
        # a value no longer among the options (a removed sub-team, a stale choice) stays
        # shown and ticked: saving the form never drops it silently
        known = [v for _label, v in self._options]
        self._options += [(str(v), v) for v in chosen if v not in known]
        self._initial = chosen

    def compose(self) -> ComposeResult:
        for i, (label, v) in enumerate(self._options):
            yield Check(cell(label), v in self._initial, compact=True, id=f"{self.id}-{i}")

    @property
    def value(self) -> list[Any]:
        boxes = list(self.query(Check))
        return [v for (_label, v), box in zip(self._options, boxes, strict=True) if box.value]

    def focus(self, scroll_visible: bool = True) -> MultiCheck:
        boxes = list(self.query(Check))
        if boxes:
            boxes[0].focus(scroll_visible)
        return self


class FormScreen(ModalForm):
    """A modal form of ``Field``s; dismissed with what ``submit`` returned once it
    succeeded."""

    def __init__(self, title: str, fields: Sequence[Field], submit: Submit, *,
                 save_label: str, cancel_label: str, field_error: Callable[[str, str], str]
                 ) -> None:
        super().__init__(title, submit, self.read)
        self.fields = list(fields)
        self._save_label = save_label
        self._cancel_label = cancel_label
        self._field_error = field_error

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="form"):
            yield Static(plain(self.form_title), classes="form-title")
            section = ""
            for f in self.fields:
                if f.section and f.section != section:
                    section = f.section
                    yield Static(plain(section, "bold underline"), classes="form-section")
                if f.kind != "check":
                    yield Label(plain(self._label(f)), classes="form-label",
                                id=f"label-{safe_id(f.name)}")
                yield self._widget(f)
                yield Static("", id=f"error-{safe_id(f.name)}", classes="form-error")
            yield from self.buttons(self._save_label, self._cancel_label)

    def on_mount(self) -> None:
        self.refresh_bindings()
        if self.fields:
            self.query_one(f"#field-{safe_id(self.fields[0].name)}").focus()

    def _label(self, f: Field, chosen: Mapping[str, Any] | None = None) -> str:
        text = f.label
        if f.labels is not None:
            follows, by_value = f.labels
            if chosen is None:
                chosen = {g.name: g.value for g in self.fields}
            text = by_value.get(chosen.get(follows), f.label)
        if not f.required:
            return text
        t = getattr(self.app, "t", None)
        return f"{text} ({t('form.required')})" if t is not None else f"{text} *"

    @on(Select.Changed)
    def _follow(self, event: Select.Changed) -> None:
        """The labels that follow the choice just made (a completion date's, its status)."""
        value = None if event.value is Select.NULL else event.value
        for f in self.fields:
            if f.labels is not None and event.select.id == f"field-{safe_id(f.labels[0])}":
                self.query_one(f"#label-{safe_id(f.name)}", Label).update(
                    plain(self._label(f, {f.labels[0]: value})))

    def _widget(self, f: Field) -> Any:
        wid = f"field-{safe_id(f.name)}"
        if f.kind == "area":
            return LiteralTextArea(str(f.value or ""), id=wid, classes="form-area")
        if f.kind == "check":
            return Check(plain(self._label(f)), bool(f.value), id=wid)
        if f.kind == "multi":
            return MultiCheck(f.options, f.value, id=wid)
        if f.kind == "person":
            t = self.app.t  # type: ignore[attr-defined]
            assert f.search is not None
            return PersonPicker(f.search, value=f.value, label=f.value_label,
                                placeholder=f.placeholder or t("picker.hint"),
                                chosen_text=lambda line: t("picker.chosen", person=line),
                                more_text=lambda n: t("picker.more", count=n),
                                none_text=t("picker.none"), id=wid)
        if f.kind in ("select", "yesno"):
            options = list(f.options)
            if f.value is not None and f.value not in [v for _label, v in options]:
                options.append((str(f.value), f.value))  # a stale value stays, shown as is
            return Select([(cell(label), value) for label, value in options], compact=True,
                          value=f.value if f.value is not None else Select.NULL,
                          id=wid, allow_blank=True, prompt="—")
        return Input(str(f.value or ""), placeholder=f.placeholder, id=wid, compact=True,
                     highlighter=Visible())

    def raw_values(self) -> dict[str, Any]:
        """What each widget holds, before ``parse``."""
        out: dict[str, Any] = {}
        for f in self.fields:
            w = self.query_one(f"#field-{safe_id(f.name)}")
            if isinstance(w, TextArea):
                out[f.name] = w.text
            elif isinstance(w, Check | MultiCheck | PersonPicker):
                out[f.name] = w.value
            elif isinstance(w, Select):
                out[f.name] = None if w.value is Select.NULL else w.value
            else:
                assert isinstance(w, Input)
                out[f.name] = w.value
        return out

    def values(self) -> dict[str, Any]:
        """Every field's value (``parse`` applied); FormErrors lists the fields that do not
        read, each with its code."""
        out = self.raw_values()
        bad: dict[str, str] = {}
        for f in self.fields:
            if f.parse is None:
                continue
            try:
                out[f.name] = f.parse(out[f.name])
            except EntryError as exc:
                bad[f.name] = exc.code
        if bad:
            raise FormErrors(bad)
        return out

    def read(self) -> dict[str, Any]:
        try:
            return self.values()
        except FormErrors as exc:
            t = self.app.t  # type: ignore[attr-defined]
            raise FieldErrors({name: t(f"entry.{code}")
                               for name, code in exc.fields.items()}) from None

    def show_error(self, field_name: str, message: str) -> None:
        """Show ``message`` under the field (wire or form name), or at the bottom."""
        target = "_form"
        for f in self.fields:
            if field_name == f.name or field_name in f.wire or any(
                    field_name.startswith(w + ".") for w in f.wire):
                target = f.name
                break
        label = next((f.label for f in self.fields if f.name == target), field_name)
        error = self.query_one(f"#error-{safe_id(target)}", Static)
        error.update(plain("⚠ " + self._field_error(label, message)))
        error.add_class("shown")
        if target != "_form":
            self.query_one(f"#field-{safe_id(target)}").focus()


class LiteralTextArea(TextArea):
    """A TextArea that draws control characters as visible pictures (``tui.text.visible``):
    a teammate's text holding an escape sequence is shown, never sent to the terminal. The
    text itself is not changed."""

    def get_line(self, line_index: int) -> Text:
        # Rich's Text would drop BEL, BS… silently: picture them first (one for one).
        return Text(visible(self.document.get_line(line_index)), end="", no_wrap=True)
