"""The file's first tab: every field of the person (from the person spec), out of the active
list with its date and reasons, the custom fields by section (those enabled for the person's
sub-teams; health-only ones on health devices only), and the consent to shared follow-up.
The person form (``e``) and leaving or coming back to the active list (``o``) are here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from mano_core.model.records import Person
from tui.erasure_view import consent_block
from tui.records.build import detail_rows, form_fields, label, record_changes
from tui.records.spec import OUT_OF_LIST_SPEC, PERSON_SPEC
from tui.records.values import day_text
from tui.text import lines, styled

from .tab import PersonTab, register


def summary_lines(tab: PersonTab, p: Person) -> list[str | Text]:
    """The person's fields as ``label : value`` lines, values in full."""
    t = tab.t
    s = tab.session
    out: list[str | Text] = []
    if p.out_of_active_list:
        reasons = ", ".join(p.out_of_active_list_reasons) or "—"
        out += [styled((t("person.out_since", date=day_text(t, p.out_of_active_list_date)),
                        "bold")),
                t("file.field", label=label(PERSON_SPEC, t, "outOfActiveListReasons"),
                  value=reasons), ""]
    section = ""
    for sec, name, value in detail_rows(PERSON_SPEC, s, t, p, skip=("name",)):
        if sec != section:
            section = sec
            out += ["", styled((sec, "bold underline"))]
        if "\n" in value:
            out += [t("file.field_label", label=name), value]
        else:
            out.append(t("file.field", label=name, value=value))
    out += consent_block(s, t, p)
    return out


class SummaryTab(PersonTab):
    name = "summary"

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("", id="summary")

    def reload(self, person: Person) -> None:
        self.query_one("#summary", Static).update(lines(summary_lines(self, person)))

    def commands(self) -> dict[str, Callable[[], Any]]:
        return {"out": self.out_or_back}

    def out_or_back(self) -> None:
        """Out of the active list (a date and reasons), or back into it."""
        t = self.t
        team = self.session.team
        p = team.persons.get(self.person_id)
        if p.out_of_active_list:
            self.run_worker(self._back_in(p), group="write")
            return
        today = self.mano.now().date()
        fields = form_fields(OUT_OF_LIST_SPEC, self.session, t, defaults={
            "outOfActiveListDate": today, "outOfActiveListReasons": []})

        async def submit(v: dict[str, Any]) -> Person:
            changes = record_changes(OUT_OF_LIST_SPEC, v)
            return await team.persons.update(p.id, out_of_active_list=True, **changes)

        self.form(t("person.out_title", name=p.name), fields, submit,
                  t("person.out_done", name=p.name))

    async def _back_in(self, p: Person) -> None:
        t = self.t
        if not await self.confirm(t("person.back_title", name=p.name),
                                  [t("person.back_text")], t("person.back_confirm")):
            return
        await self.write(self.session.team.persons.update(
            p.id, out_of_active_list=False, out_of_active_list_date=None,
            out_of_active_list_reasons=[]), t("person.back_done", name=p.name))


register(SummaryTab)
