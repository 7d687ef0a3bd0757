"""Exports and imports from the app: the file an export writes holds decrypted data (said
before and after), long work shows a progress bar, and an import is always checked first
(a dry run whose report is shown); it can be applied only once that check found nothing
wrong, and only to the very file that was checked."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, DataTable, Input, ProgressBar, Static

from mano_core.errors import ManoError, PermissionDeniedError
from mano_core.mano_compat.migrate import MigrationResult
from mano_core.model.validation import field_names
from mano_core.reporting import ImportResult
from tui import format as fmt
from tui.exchange_jobs import (
    EXPORT_KINDS,
    FORMATS,
    IMPORT_KINDS,
    ImportKind,
    default_path,
    export,
    file_format,
    run_import,
)
from tui.i18n import error_text
from tui.records import spec as record_specs
from tui.records.build import history_label
from tui.imports_text import mano_report, problem_text
from tui.text import LONG_CELL_LIMIT, Visible, cell, plain
from tui.widgets.footer import TranslatedFooter
from tui.widgets.sync_bar import SyncBar
from tui.widgets.table import LiteralTable
from tui.widgets.select import Select

from .base import ManoScreen

MAX_IMPORT_FILE = 20 * 1024 * 1024   # the engine's MAX_IMPORT_BYTES: refused before reading


class ExchangeScreen(ManoScreen):
    """Export a table, MANO's full export or the team's JSON backup; import persons,
    actions or MANO's files."""

    BINDINGS = [Binding("escape", "back", "key.back")]
    AUTO_FOCUS = "#export-kind"

    def __init__(self) -> None:
        super().__init__(classes="exchange")
        self.checked: tuple[str, ImportKind, str] | None = None   # (path, kind, sha256)
        self.last_result: ImportResult | MigrationResult | None = None

    def compose(self) -> ComposeResult:
        t = self.t
        today = fmt.local(self.mano.now()).date()
        with VerticalScroll(id="exchange-body"):
            yield Static(t("exchange.title"), classes="file-title")
            yield Static(plain("⚠ " + t("exchange.warning")), id="exchange-warning")
            yield Static(t("exchange.export"), classes="table-title")
            with Horizontal(classes="filters"):
                yield Select(compact=True, allow_blank=False, value="all", id="export-kind",
                             options=[(t(f"exchange.kind.{k}"), k) for k in EXPORT_KINDS])
                yield Select(compact=True, allow_blank=False, value="xlsx", id="export-format",
                             options=[("XLSX", "xlsx")])
            yield Input(str(default_path("all", "xlsx", today)), compact=True,
                        id="export-path", highlighter=Visible())
            yield Button(t("exchange.export_button"), id="export-go", variant="primary")
            yield Static(t("exchange.import"), classes="table-title")
            with Horizontal(classes="filters"):
                yield Select(compact=True, allow_blank=False, value="persons", id="import-kind",
                             options=[(t(f"exchange.import_kind.{k}"), k)
                                      for k in IMPORT_KINDS])
            yield Input("", compact=True, id="import-path", highlighter=Visible(),
                        placeholder=t("exchange.import_path"))
            with Horizontal(classes="form-buttons exchange-buttons"):
                yield Button(t("exchange.check_button"), id="import-check", variant="primary")
                yield Button(t("exchange.apply_button"), id="import-apply", variant="warning",
                             disabled=True)
            yield ProgressBar(id="exchange-progress", show_eta=False)
            yield Static("", id="exchange-status")
            problems: DataTable[Any] = LiteralTable(id="import-problems", cursor_type="row",
                                                    zebra_stripes=True)
            problems.add_columns(t("col.row"), t("col.column"), t("col.reason"))
            yield problems
            yield Static("", id="import-report")
        yield SyncBar()
        yield TranslatedFooter()

    def on_mount(self) -> None:
        self.query_one("#exchange-progress").display = False
        self.query_one("#import-problems").display = False

    def action_back(self) -> None:
        if not self.workers or all(w.is_finished for w in self.workers):
            self.app.pop_screen()

    # --- progress -----------------------------------------------------------------------------

    def _start(self, text: str) -> None:
        bar = self.query_one("#exchange-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self._status(text)
        for button in self.query(Button):
            button.disabled = True

    def _done(self) -> None:
        bar = self.query_one("#exchange-progress", ProgressBar)
        if bar.total is None:
            bar.display = False       # nothing was counted (a refusal before any row)
        else:
            bar.update(progress=bar.total)   # left full: the work is over
        for button in self.query(Button):
            button.disabled = button.id == "import-apply" and self.checked is None

    def _status(self, text: str, *, error: bool = False) -> None:
        self.query_one("#exchange-status", Static).update(plain(("⚠ " if error else "") + text))

    def _progress(self, done: int, total: int) -> None:
        """Called from the writing thread, or on the loop by the engine's importers."""
        def show() -> None:
            self.query_one("#exchange-progress", ProgressBar).update(total=max(total, 1),
                                                                     progress=done)
        try:
            self.app.call_from_thread(show)
        except RuntimeError:      # already on the app's thread
            show()

    # --- export -------------------------------------------------------------------------------

    @on(Select.Changed, "#export-kind")
    def _export_kind(self, event: Select.Changed) -> None:
        kind = str(event.value)
        formats = FORMATS[kind]
        chooser = self.query_one("#export-format", Select)
        chooser.set_options([(f.upper(), f) for f in formats])
        chooser.value = formats[0]
        self._set_default_path()

    @on(Select.Changed, "#export-format")
    def _export_format(self) -> None:
        self._set_default_path()

    def _set_default_path(self) -> None:
        kind = self.query_one("#export-kind", Select).value
        chosen = self.query_one("#export-format", Select).value
        if kind is Select.NULL or chosen is Select.NULL:
            return
        today = fmt.local(self.mano.now()).date()
        self.query_one("#export-path", Input).value = str(
            default_path(str(kind), str(chosen), today))

    @on(Button.Pressed, "#export-go")
    def _export_pressed(self) -> None:
        self.run_export()

    @work(exclusive=True, group="exchange")
    async def run_export(self) -> None:
        t = self.t
        kind = str(self.query_one("#export-kind", Select).value)
        chosen = str(self.query_one("#export-format", Select).value)
        path = Path(self.query_one("#export-path", Input).value.strip()).expanduser()
        if not path.name or not path.parent.is_dir():
            self._status(t("exchange.no_folder"), error=True)
            return
        self._start(t("exchange.exporting", path=str(path)))
        try:
            rows = await export(self.session.team, kind, chosen,  # type: ignore[arg-type]
                                path, fmt.local(self.mano.now()).date(), self._progress)
        except PermissionDeniedError:
            self._status(t("error.permission"), error=True)
        except (OSError, ManoError) as exc:
            self._status(t("exchange.failed", reason=error_text(t, exc)), error=True)
        else:
            self._status(t("exchange.exported", rows=rows, path=str(path)))
            self.mano.say(t("exchange.exported", rows=rows, path=str(path)))
        finally:
            self._done()

    # --- import -------------------------------------------------------------------------------

    @on(Input.Changed, "#import-path")
    @on(Select.Changed, "#import-kind")
    def _import_choice_changed(self) -> None:
        self.checked = None                      # a new choice must be checked again
        self.query_one("#import-apply", Button).disabled = True

    def _import_choice(self) -> tuple[Path, ImportKind, bytes] | None:
        t = self.t
        raw = self.query_one("#import-path", Input).value.strip()
        path = Path(raw).expanduser()
        kind: ImportKind = self.query_one("#import-kind", Select).value  # type: ignore[assignment]
        try:
            if not raw or not path.is_file():
                raise FileNotFoundError(raw)
            if path.stat().st_size > MAX_IMPORT_FILE:
                self._status(t("exchange.too_big"), error=True)
                return None
            return path, kind, path.read_bytes()
        except OSError:
            self._status(t("exchange.no_file"), error=True)
            return None

    @on(Button.Pressed, "#import-check")
    def _check_pressed(self) -> None:
        self.run_check()

    @on(Button.Pressed, "#import-apply")
    def _apply_pressed(self) -> None:
        self.run_apply()

    @work(exclusive=True, group="exchange")
    async def run_check(self) -> None:
        """The dry run: every row checked, nothing changed; its report is shown."""
        t = self.t
        chosen = self._import_choice()
        if chosen is None:
            return
        path, kind, data = chosen
        self._start(t("exchange.checking", path=str(path)))
        try:
            result = await run_import(self.session.team, kind, data, file_format(path),
                                      dry_run=True, progress=self._progress)
        except PermissionDeniedError:
            self._status(t("error.permission"), error=True)
            self._done()
            return
        except ManoError as exc:
            self._status(t("exchange.failed", reason=error_text(t, exc)), error=True)
            self._done()
            return
        self.last_result = result
        ok = not result.problems and _count(result) > 0
        self.checked = (str(path), kind, hashlib.sha256(data).hexdigest()) if ok else None
        self._show_report(result, checked=True)
        self._done()
        if ok:
            apply = self.query_one("#import-apply", Button)
            apply.label = t("exchange.apply_count", count=_count(result))
            apply.focus()

    @work(exclusive=True, group="exchange")
    async def run_apply(self) -> None:
        """Apply the import that was checked, if the file is still the one checked."""
        t = self.t
        chosen = self._import_choice()
        if chosen is None or self.checked is None:
            return
        path, kind, data = chosen
        if self.checked != (str(path), kind, hashlib.sha256(data).hexdigest()):
            self.checked = None
            self._status(t("exchange.changed_since_check"), error=True)
            self._done()
            return
        self._start(t("exchange.importing", path=str(path)))
        try:
            result = await run_import(self.session.team, kind, data, file_format(path),
                                      dry_run=False, progress=self._progress)
        except PermissionDeniedError:
            self._status(t("error.permission"), error=True)
            self._done()
            return
        except ManoError as exc:
            self._status(t("exchange.failed", reason=error_text(t, exc)), error=True)
            self._done()
            return
        self.last_result = result
        self.checked = None
        self._show_report(result, checked=False)
        self._done()

    def _field_words(self, kind: str, field: str) -> str:
        """An imported column's field as the person file names it ("Téléphone", not
        ``phone``): the report must not show the engine's attribute names."""
        spec = record_specs.SPECS.get(kind)
        if spec is not None and not field.startswith("customFields"):
            field = dict(field_names(spec.record)).get(field, field)
        return history_label(self.session, self.t, kind, field)

    def _show_report(self, result: ImportResult | MigrationResult, *, checked: bool) -> None:
        t = self.t
        table = self.query_one("#import-problems", DataTable)
        table.clear()
        report = self.query_one("#import-report", Static)
        if isinstance(result, MigrationResult):
            for m in result.problems[:1000]:
                table.add_row(cell(str(m.row)), cell(f"{m.sheet} / {m.column or '—'}"),
                              cell(problem_text(t, m), LONG_CELL_LIMIT))
            report.update(plain(mano_report(t, result)))
        else:
            for p in result.problems[:1000]:
                table.add_row(cell(str(p.row)), cell(p.column or "—"),
                              cell(problem_text(t, p), LONG_CELL_LIMIT))
            mapped = ", ".join(f"{h} → {self._field_words(result.kind, f)}"
                               for h, f in result.columns.items())
            extra = [t("exchange.columns", columns=mapped or "—")]
            if result.ignored_columns:
                extra.append(t("exchange.ignored", columns=", ".join(result.ignored_columns)))
            report.update(plain("\n".join(extra)))
        table.display = bool(result.problems)
        count = _count(result)
        if result.problems:
            text = t("exchange.refused", count=len(result.problems))
        elif checked:
            text = t("exchange.checked", count=count)
        elif result.applied:
            text = t("exchange.imported", count=count)
        else:
            text = t("exchange.nothing")
        self._status(text, error=bool(result.problems))


def _count(result: ImportResult | MigrationResult) -> int:
    """Records the import creates (checked) or created (applied)."""
    if isinstance(result, MigrationResult):
        return result.created if result.applied else sum(s.new for s in result.sheets)
    return len(result.created) if result.applied else result.valid
