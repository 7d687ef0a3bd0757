"""The medical tab, on health professionals' devices only (the others do not hold the medical
compartment at all): the medical file's fields, consultations (type, status, date, the type's
own fields, visible only to some), treatments and medical comments. Its inner tabs each answer
``n`` (new), Enter (open and correct) and Suppr (delete); a medical comment, like any comment,
is corrected or deleted by its author only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from mano_core.errors import NotFoundError
from mano_core.model.records import Consultation, MedicalComment, MedicalFile, Person, Treatment
from tui import format as fmt
from tui.records.build import detail_rows, form_fields, record_changes
from tui.records.spec import (
    CONSULTATION_SPEC,
    MEDICAL_COMMENT_SPEC,
    MEDICAL_FILE_SPEC,
    TREATMENT_SPEC,
)
from tui.records.values import day_text, moment_text
from tui.text import LONG_CELL_LIMIT, cells, lines, styled
from tui.widgets.forms import Field, FieldError
from tui.widgets.table import LiteralTable

from .tab import PersonTab, cursor_key, register, restore

SUBTABS = ("file", "consultations", "treatments", "notes")


def _completion(values: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """A consultation done or cancelled without a date is so now; one to do has none."""
    status = values.get("status") or "A FAIRE"
    if status == "A FAIRE":
        values["completedAt"] = None
    elif values.get("completedAt") is None:
        values["completedAt"] = now
    values["status"] = status
    return values


class MedicalTab(PersonTab):
    name = "medical"
    medical = True

    def compose(self) -> ComposeResult:
        t = self.t
        with TabbedContent(id="medical-tabs"):
            with TabPane(t("medical.file"), id="med-file"):
                with VerticalScroll():
                    yield Static("", id="medical")
            with TabPane(t("medical.consultations"), id="med-consultations"):
                yield LiteralTable(id="consultations", cursor_type="row", zebra_stripes=True)
            with TabPane(t("medical.treatments"), id="med-treatments"):
                yield LiteralTable(id="treatments", cursor_type="row", zebra_stripes=True)
            with TabPane(t("medical.notes"), id="med-notes"):
                yield LiteralTable(id="medical-comments", cursor_type="row",
                                   zebra_stripes=True)
                with VerticalScroll(classes="detail-box"):
                    yield Static("", id="medical-comment-text")

    def on_mount(self) -> None:
        t = self.t
        self.query_one("#consultations", DataTable).add_columns(
            t("rec.consultation.dueAt"), t("rec.consultation.status"),
            t("rec.consultation.type"), t("rec.consultation.name"), t("medical.visible"))
        self.query_one("#treatments", DataTable).add_columns(
            t("rec.treatment.name"), t("rec.treatment.dosage"), t("rec.treatment.frequency"),
            t("rec.treatment.startDate"), t("rec.treatment.endDate"))
        self.query_one("#medical-comments", DataTable).add_columns(
            t("col.date"), t("col.flags"), t("col.author"), t("col.text"))

    @property
    def current(self) -> str:
        active = self.query_one("#medical-tabs", TabbedContent).active
        return active.removeprefix("med-") or "file"

    def show(self, sub: str) -> None:
        self.query_one("#medical-tabs", TabbedContent).active = f"med-{sub}"

    @on(TabbedContent.TabActivated, "#medical-tabs")
    def _moved(self) -> None:
        self.screen.refresh_bindings()

    # --- reading ------------------------------------------------------------------------------

    @property
    def collections(self) -> Any:
        medical = self.session.team.medical
        assert medical is not None
        return medical

    def medical_file(self) -> MedicalFile | None:
        files = sorted(self.collections.medical_files.filter(
            lambda f: f.person == self.person_id), key=lambda f: (f.created_at, f.id))
        return files[0] if files else None

    def consultations(self) -> list[Consultation]:
        me = self.session.member
        return sorted(self.collections.consultations.filter(
            lambda c: c.person == self.person_id
            and (not c.only_visible_by or me in c.only_visible_by)),
            key=lambda c: (c.due_at, c.id), reverse=True)

    def reload(self, person: Person) -> None:
        t = self.t
        s = self.session
        out: list[Any] = [styled((t("medical.file"), "bold"))]
        f = self.medical_file()
        rows = (detail_rows(MEDICAL_FILE_SPEC, s, t, f, teams=person.assigned_teams)
                if f is not None else [])
        section = t("medical.file")
        for sec, name, value in rows:
            if sec and sec != section:
                section = sec
                out += ["", styled((sec, "bold underline"))]
            out.append(t("file.field", label=name, value=value))
        if not rows:
            out.append(t("medical.file_empty"))
        # an overview of the other inner tabs, to read the whole medical follow-up at once
        consultations = self.consultations()
        treatments = sorted(self.collections.treatments.filter(
            lambda x: x.person == self.person_id),
            key=lambda x: (x.start_date or dt.date.min, x.id), reverse=True)
        out += ["", styled((t("medical.consultations"), "bold"))]
        out += [f"  {moment_text(t, c.due_at)}  {fmt.status(t, c.status)}  {c.type}"
                + (f" — {c.name}" if c.name else "") for c in consultations] or ["  —"]
        out += ["", styled((t("medical.treatments"), "bold"))]
        out += [f"  {tr.name} {tr.dosage} {tr.frequency} ({day_text(t, tr.start_date)} → "
                f"{day_text(t, tr.end_date)})" for tr in treatments] or ["  —"]
        self.query_one("#medical", Static).update(lines(out))

        table = self.query_one("#consultations", DataTable)
        keep = cursor_key(table)
        table.clear()
        for c in consultations:
            visible = (", ".join(s.member_name(m, t) for m in c.only_visible_by)
                       if c.only_visible_by else t("medical.visible_all"))
            table.add_row(*cells(moment_text(t, c.due_at), fmt.status(t, c.status), c.type,
                                 c.name, visible), key=c.id)
        restore(table, keep)

        table = self.query_one("#treatments", DataTable)
        keep = cursor_key(table)
        table.clear()
        for tr in treatments:
            table.add_row(*cells(tr.name, tr.dosage, tr.frequency, day_text(t, tr.start_date),
                                 day_text(t, tr.end_date)), key=tr.id)
        restore(table, keep)

        table = self.query_one("#medical-comments", DataTable)
        keep = cursor_key(table)
        table.clear()
        for mc in sorted(self.collections.comments.filter(
                lambda x: x.person == self.person_id), key=lambda x: (x.date, x.id),
                reverse=True):
            table.add_row(*cells(moment_text(t, mc.date), t("flag.urgent") if mc.urgent else "",
                                 s.member_name(mc.created_by, t), mc.text,
                                 last_limit=LONG_CELL_LIMIT), key=mc.id)
        restore(table, keep)
        self._show_note()

    @on(DataTable.RowHighlighted, "#medical-comments")
    def _show_note(self) -> None:
        t = self.t
        mc = self._note()
        box = self.query_one("#medical-comment-text", Static)
        if mc is None:
            box.update(t("file.none"))
            return
        head = t("comment.head", date=moment_text(t, mc.date),
                 author=self.session.member_name(mc.created_by, t))
        box.update(lines([styled((head, "bold")), mc.text]))

    # --- writing ------------------------------------------------------------------------------

    def commands(self) -> dict[str, Callable[[], Any]]:
        sub = self.current
        if sub == "file":
            return {"new": self.edit_file, "open": self.edit_file}
        if sub == "consultations":
            return {"new": self.new_consultation, "open": self.edit_consultation,
                    "delete": lambda: self._delete("consultations", "#consultations")}
        if sub == "treatments":
            return {"new": lambda: self.treatment(None), "open": self.edit_treatment,
                    "delete": lambda: self._delete("treatments", "#treatments")}
        return {"new": self.new_note, "open": self.edit_note, "delete": self.delete_note}

    def edit_file(self) -> None:
        t = self.t
        person = self.session.team.persons.get(self.person_id)
        f = self.medical_file()
        fields = form_fields(MEDICAL_FILE_SPEC, self.session, t, f,
                             teams=person.assigned_teams)
        if not fields:
            self.mano.say(t("medical.no_fields"))
            return
        files = self.collections.medical_files

        async def submit(v: dict[str, Any]) -> MedicalFile:
            changes = record_changes(MEDICAL_FILE_SPEC, v, f)
            if f is None:
                return await files.create(person=self.person_id,  # type: ignore[no-any-return]
                                          **changes)
            return await files.update(f.id, **changes) if changes else f

        self.form(t("medical.file_title", name=person.name), fields, submit,
                  t("medical.saved"))

    def new_consultation(self) -> None:
        t = self.t
        types = CONSULTATION_SPEC.field("type").options
        assert types is not None
        options = list(types(self.session, t))
        if len(options) == 1:
            self.consultation(None, options[0][1])
            return

        async def chosen(v: dict[str, Any]) -> str:
            return str(v["type"])

        def then(kind: str | None) -> None:
            if kind:
                self.consultation(None, kind)

        from tui.widgets.forms import FormScreen
        self.app.push_screen(FormScreen(
            t("consultation.new"), form_fields(CONSULTATION_SPEC, self.session, t,
                                               only=("type",), custom=False),
            chosen, save_label=t("form.next"), cancel_label=t("form.cancel"),
            field_error=lambda f, m: t("form.field_error", field=f, message=m)), then)

    def edit_consultation(self) -> None:
        key = cursor_key(self.query_one("#consultations", DataTable))
        if key:
            c = self.collections.consultations.get(key)
            self.consultation(c, c.type)

    def consultation(self, c: Consultation | None, kind: str) -> None:
        t = self.t
        now = self.mano.now()
        coll = self.collections.consultations
        teams = [self.session.subteam] if self.session.subteam else []
        # a new one starts from its type (whose own fields the form asks for) and now
        shown = c if c is not None else Consultation(
            id="", created_at=now, updated_at=now, person=self.person_id, type=kind,
            due_at=now, teams=teams)
        fields = form_fields(CONSULTATION_SPEC, self.session, t, shown)

        async def submit(v: dict[str, Any]) -> Consultation:
            v = _completion(v, self.mano.now())
            changes = record_changes(CONSULTATION_SPEC, v, c)
            if c is None:
                return await coll.create(  # type: ignore[no-any-return]
                    person=self.person_id, teams=teams, **changes)
            return await coll.update(c.id, **changes) if changes else c

        self.form(t("consultation.new") if c is None else t("consultation.edit"), fields,
                  submit, t("consultation.saved"))

    def edit_treatment(self) -> None:
        key = cursor_key(self.query_one("#treatments", DataTable))
        if key:
            self.treatment(self.collections.treatments.get(key))

    def treatment(self, tr: Treatment | None) -> None:
        t = self.t
        coll = self.collections.treatments
        fields = form_fields(TREATMENT_SPEC, self.session, t, tr, defaults={
            "startDate": self.mano.now().date()})

        async def submit(v: dict[str, Any]) -> Treatment:
            start, end = v.get("startDate"), v.get("endDate")
            if start is not None and end is not None and end < start:
                raise FieldError("endDate", t("treatment.ends_before_start"))
            changes = record_changes(TREATMENT_SPEC, v, tr)
            if tr is None:
                return await coll.create(person=self.person_id,  # type: ignore[no-any-return]
                                         **changes)
            return await coll.update(tr.id, **changes) if changes else tr

        self.form(t("treatment.new") if tr is None else t("treatment.edit"), fields, submit,
                  t("treatment.saved"))

    def new_note(self) -> None:
        t = self.t
        coll = self.collections.comments
        fields: list[Field] = form_fields(MEDICAL_COMMENT_SPEC, self.session, t,
                                          only=("text", "urgent"))

        async def submit(v: dict[str, Any]) -> MedicalComment:
            return await coll.create(  # type: ignore[no-any-return]
                person=self.person_id, date=self.mano.now(), team=self.session.subteam,
                **record_changes(MEDICAL_COMMENT_SPEC, v))

        self.form(t("medical.note_new"), fields, submit, t("medical.note_saved"))

    def _note(self) -> MedicalComment | None:
        key = cursor_key(self.query_one("#medical-comments", DataTable))
        try:
            return self.collections.comments.get(key) if key else None
        except NotFoundError:
            return None

    def edit_note(self) -> None:
        mc = self._note()
        if mc is None or not self.own(mc):
            return
        t = self.t
        coll = self.collections.comments
        fields = form_fields(MEDICAL_COMMENT_SPEC, self.session, t, mc)

        async def submit(v: dict[str, Any]) -> MedicalComment:
            changes = record_changes(MEDICAL_COMMENT_SPEC, v, mc)
            return await coll.update(mc.id, **changes) if changes else mc

        self.form(t("medical.note_edit"), fields, submit, t("medical.note_saved"))

    def delete_note(self) -> None:
        mc = self._note()
        if mc is not None and self.own(mc):
            self._delete("comments", "#medical-comments")

    def _delete(self, collection: str, table: str) -> None:
        key = cursor_key(self.query_one(table, DataTable))
        if key:
            self.run_worker(self._confirm_delete(collection, key), group="write")

    async def _confirm_delete(self, collection: str, key: str) -> None:
        t = self.t
        coll = getattr(self.collections, collection)
        record = coll.get(key)
        what = getattr(record, "name", "") or getattr(record, "text", "") or getattr(
            record, "type", "")
        if await self.confirm(t("medical.delete_title"), [str(what)],
                              t("medical.delete_confirm")):
            await self.write(coll.delete(key), t("medical.deleted"))


register(MedicalTab)
