"""The Documents tab of a person's file: the files attached to the person and, on a health
professional's device, to their medical file, consultations and treatments.

Attach a file from a path (j), save a copy to a path (s), rename (n), move to a folder (m),
delete (Suppr, after a confirmation). Listed by folder then name, with where each body is:
on this device (opens offline), still to send, or on the relay only (downloaded when saved).
A widget of its own: the person file only places it (tui/screens/person_file.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from mano_core.documents import Document, Documents, HealthDocument, Progress
from mano_core.errors import DocumentError, LimitExceededError, ManoError, NotFoundError
from tui import format as fmt
from tui.text import plain
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.forms import Field, FieldError, FormScreen
from tui.widgets.table import LiteralTable


class PersonDocuments(Vertical):
    """The documents of one person (redrawn when the team's data changes)."""

    DEFAULT_CLASSES = "person-documents"
    BINDINGS = [
        Binding("j", "attach", "key.doc_attach"),
        Binding("s", "save_copy", "key.doc_save"),
        Binding("n", "rename", "key.doc_rename"),
        Binding("m", "move", "key.doc_move"),
        Binding("delete", "delete", "key.doc_delete"),
    ]

    def __init__(self, person_id: str) -> None:
        super().__init__()
        self.person_id = person_id
        self._unsubscribe: Any = None

    @property
    def _app(self) -> Any:
        return self.app  # the Mano app (a widget never imports it): .t, .session, .say

    @property
    def _team(self) -> Any:
        return self._app.session.team

    @property
    def _docs(self) -> Documents:
        docs: Documents = self._team.documents
        return docs

    def compose(self) -> ComposeResult:
        yield Static("", id="documents-help", classes="documents-help")
        yield LiteralTable(id="documents", cursor_type="row", zebra_stripes=True)
        yield Static("", id="documents-progress", classes="documents-progress")

    def on_mount(self) -> None:
        t = self._app.t
        self.query_one("#documents", LiteralTable).add_columns(
            t("documents.col.folder"), t("documents.col.name"), t("documents.col.type"),
            t("documents.col.size"), t("documents.col.owner"), t("documents.col.where"))
        self.query_one("#documents-help", Static).update(plain(t("documents.help")))
        self.watch(self.app, "data_version", lambda _v: self.reload(), init=False)
        self._unsubscribe = self._team.documents.subscribe_progress(self._progress)
        self.reload()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    # --- drawing --------------------------------------------------------------------------------

    def documents(self) -> list[Document]:
        """The person's documents and, on a health device, those of their medical records."""
        docs = self._docs
        found = list(docs.of(self.person_id))
        found += [d for d in docs.list()
                  if isinstance(d, HealthDocument) and d.person == self.person_id]
        return sorted(found, key=lambda d: (d.folder.casefold(), d.name.casefold(), d.id))

    def reload(self) -> None:
        t = self._app.t
        docs = self._docs
        table = self.query_one("#documents", LiteralTable)
        keep = self.selected()
        table.clear()
        for d in self.documents():
            where = ("documents.where.sending" if docs.uploading(d.id) else
                     "documents.where.here" if docs.cached(d.id) else "documents.where.relay")
            table.add_row(d.folder or "—", d.name, d.mime, fmt.size(t, d.size),
                          self._owner(d), t(where), key=d.id)
        if keep is not None and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep))
        if not table.row_count:
            self.query_one("#documents-progress", Static).update(plain(t("documents.none")))

    def _owner(self, d: Document) -> str:
        t = self._app.t
        if d.owner_kind == "person":
            return str(t("documents.owner.person"))
        medical = self._team.medical
        label = str(t(f"documents.owner.{d.owner_kind}"))
        try:
            if d.owner_kind == "consultation" and medical is not None:
                c = medical.consultations.get(d.owner)
                return f"{label} {c.type} {c.name}".strip()
            if d.owner_kind == "treatment" and medical is not None:
                return f"{label} {medical.treatments.get(d.owner).name}"
        except NotFoundError:
            pass
        return label

    def _progress(self, p: Progress) -> None:
        t = self._app.t
        percent = 100 if not p.total else min(100, p.done * 100 // p.total)
        key = "documents.progress.upload" if p.direction == "upload" else \
            "documents.progress.download"
        try:
            name = self._team.documents.get(p.document).name
        except NotFoundError:
            name = "…"
        self.query_one("#documents-progress", Static).update(
            plain(t(key, name=name, percent=percent)))
        if percent >= 100:
            self.reload()

    def selected(self) -> str | None:
        table = self.query_one("#documents", LiteralTable)
        if table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:  # noqa: BLE001 - no row under the cursor
            return None
        return str(key.value) if key.value is not None else None

    # --- actions --------------------------------------------------------------------------------

    def _form(self, title: str, fields: list[Field], submit: Any, done: str) -> None:
        t = self._app.t
        self.app.push_screen(
            FormScreen(title, fields, submit, save_label=t("form.save"),
                       cancel_label=t("form.cancel"),
                       field_error=lambda f, m: t("form.field_error", field=f, message=m)),
            lambda result: self._app.say(t(done)) if result is not None else None)

    def _owners(self) -> list[tuple[str, str]]:
        """Where a new document may go: the person, and on a health device their medical
        file, consultations and treatments."""
        t = self._app.t
        out = [(str(t("documents.owner.person")), self.person_id)]
        medical = self._team.medical
        if medical is not None:
            for f in medical.medical_files.filter(lambda f: f.person == self.person_id):
                out.append((str(t("documents.owner.medicalFile")), f.id))
            for c in medical.consultations.filter(lambda c: c.person == self.person_id):
                out.append((f"{t('documents.owner.consultation')} {c.type} {c.name}".strip(),
                            c.id))
            for tr in medical.treatments.filter(lambda x: x.person == self.person_id):
                out.append((f"{t('documents.owner.treatment')} {tr.name}", tr.id))
        return out

    def action_attach(self) -> None:
        t = self._app.t
        docs = self._docs
        owners = self._owners()

        async def submit(v: dict[str, Any]) -> Document:
            raw = str(v["path"]).strip()
            if not raw:
                raise FieldError("path", t("documents.error.no_path"))
            path = Path(raw).expanduser()
            if not await asyncio.to_thread(path.is_file):
                raise FieldError("path", t("documents.error.no_file"))
            try:
                return await docs.add(v.get("owner") or self.person_id, str(v["name"]), path,
                                      folder=str(v["folder"]))
            except LimitExceededError as exc:
                raise FieldError("path", t("documents.error.too_big",
                                           limit=fmt.size(t, exc.maximum))) from None
            except OSError as exc:
                raise FieldError("path", t("documents.error.unreadable",
                                           reason=exc.strerror or "")) from None
            except NotFoundError:
                raise FieldError("owner", t("documents.error.owner")) from None

        fields = [Field("path", t("documents.field.path"), placeholder="~/scan.pdf"),
                  Field("name", t("documents.field.name"),
                        placeholder=t("documents.field.name_hint"), wire=("name",)),
                  Field("folder", t("documents.field.folder"), wire=("folder",))]
        if len(owners) > 1:
            fields.append(Field("owner", t("documents.field.owner"), kind="select",
                                options=owners, value=self.person_id))
        self._form(t("documents.attach"), fields, submit, "documents.attached")

    def action_save_copy(self) -> None:
        t = self._app.t
        docs = self._docs
        doc_id = self.selected()
        if doc_id is None:
            return
        doc = docs.get(doc_id)

        async def submit(v: dict[str, Any]) -> Path:
            raw = str(v["path"]).strip()
            if not raw:
                raise FieldError("path", t("documents.error.no_path"))
            path = Path(raw).expanduser()
            if await asyncio.to_thread(path.is_dir):
                path = path / doc.name
            if await asyncio.to_thread(path.exists):
                raise FieldError("path", t("documents.error.exists"))
            try:
                data = await docs.read(doc_id)
            except DocumentError:
                raise FieldError("path", t("documents.error.unavailable")) from None
            try:
                await asyncio.to_thread(_write_new, path, data)
            except OSError as exc:
                raise FieldError("path", t("documents.error.unwritable",
                                           reason=exc.strerror or "")) from None
            return path

        self._form(t("documents.save_copy", name=doc.name),
                   [Field("path", t("documents.field.save_path"),
                          value=str(Path("~") / doc.name))], submit, "documents.saved")

    def action_rename(self) -> None:
        t = self._app.t
        docs = self._docs
        doc_id = self.selected()
        if doc_id is None:
            return

        async def submit(v: dict[str, Any]) -> Document:
            return await docs.rename(doc_id, str(v["name"]))

        self._form(t("documents.rename"), [Field("name", t("documents.field.name"),
                                                 value=docs.get(doc_id).name, wire=("name",))],
                   submit, "documents.renamed")

    def action_move(self) -> None:
        t = self._app.t
        docs = self._docs
        doc_id = self.selected()
        if doc_id is None:
            return

        async def submit(v: dict[str, Any]) -> Document:
            return await docs.move(doc_id, str(v["folder"]))

        self._form(t("documents.move"), [Field("folder", t("documents.field.folder"),
                                               value=docs.get(doc_id).folder,
                                               wire=("folder",))],
                   submit, "documents.moved")

    @work(group="write", exclusive=True)
    async def action_delete(self) -> None:
        t = self._app.t
        docs = self._docs
        doc_id = self.selected()
        if doc_id is None:
            return
        name = docs.get(doc_id).name
        confirmed = await self.app.push_screen_wait(ConfirmScreen(
            t("documents.delete_title", name=name), [t("documents.delete_body")],
            confirm_label=t("documents.delete_confirm"), cancel_label=t("form.cancel")))
        if not confirmed:
            return
        try:
            await docs.delete(doc_id)
        except ManoError as exc:
            self._app.say(self._app.error_text(exc), error=True)
            return
        self._app.say(t("documents.deleted", name=name))


def _write_new(path: Path, data: bytes) -> None:
    """Write a new file (never over an existing one: ``x`` mode)."""
    with path.open("xb") as f:
        f.write(data)
