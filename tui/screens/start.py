"""Before the team is open: first run (create a team or join one), unlock, demo loading."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Input,
    Label,
    LoadingIndicator,
    RadioButton,
    RadioSet,
    Static,
)

from mano_core.device import Device
from mano_core.errors import (
    InvitationError,
    ManoError,
    StoreCorruptedError,
    StoreExistsError,
    WrongPassphraseError,
)
from tui.navigation import OpenSection
from tui.session import MEMBER_NAMES_KEY, save_pref
from tui.text import Visible, lines, plain
from tui.widgets.footer import TranslatedFooter
from tui.widgets.toggle import Check, Radio

from .base import ManoScreen

MIN_PASSPHRASE = 8


class UnlockScreen(ManoScreen):
    """Asks for the passphrase; a wrong one says so under the field and changes nothing."""

    BINDINGS = [Binding("f12", "app.switch_language", "key.language")]

    def compose(self) -> ComposeResult:
        tr = self.tr
        with Center(), Vertical(classes="card"):
            yield tr(Static(classes="card-title"), "unlock.title")
            yield tr(Static(classes="muted"), "unlock.store",
                     path=self.mano.config.store.name)
            yield tr(Label(), "field.passphrase")
            yield Input(password=True, id="passphrase")
            yield Static("", id="unlock-error", classes="form-error")
            yield LoadingIndicator(id="unlock-busy")
            yield tr(Button("", id="unlock", variant="primary"), "unlock.button")
        yield TranslatedFooter()

    def on_mount(self) -> None:
        self.query_one("#unlock-busy").display = False
        given = self.mano.config.passphrase
        if given:
            self.query_one("#passphrase", Input).value = given
            self.unlock(given)
        else:
            self.query_one("#passphrase", Input).focus()

    @on(Input.Submitted, "#passphrase")
    @on(Button.Pressed, "#unlock")
    def _submit(self) -> None:
        self.unlock(self.query_one("#passphrase", Input).value)

    @work(exclusive=True)
    async def unlock(self, passphrase: str) -> None:
        error = self.query_one("#unlock-error", Static)
        busy = self.query_one("#unlock-busy")
        error.update("")
        busy.display = True
        try:
            device = await Device.open(self.mano.config.store, passphrase)
        except WrongPassphraseError:
            error.update("⚠ " + self.t("unlock.wrong", field=self.t("field.passphrase")))
            self.query_one("#passphrase", Input).focus()
            return
        except (StoreCorruptedError, ManoError) as exc:
            error.update(plain("⚠ " + self.mano.error_text(exc)))
            return
        finally:
            busy.display = False
        await self.mano.open_session(device)


class FirstRunScreen(ManoScreen):
    """No store yet (or a store without a team): found a team, or join one with a code."""

    BINDINGS = [Binding("f12", "app.switch_language", "key.language")]

    def __init__(self, device: Device | None = None) -> None:
        super().__init__()
        self.device = device

    def compose(self) -> ComposeResult:
        tr = self.tr
        with Center(), VerticalScroll(classes="card wide"):
            yield tr(Static(classes="card-title"), "first.title")
            yield tr(Static(classes="muted"), "first.intro")
            with RadioSet(id="choice"):
                yield tr(Radio("", value=True, id="choice-create"), "first.create")
                yield tr(Radio("", id="choice-join"), "first.join")
            with Vertical(id="create-fields"):
                yield tr(Label(), "field.team_name")
                yield tr(Input(id="team-name", highlighter=Visible()), "first.team_placeholder",
                         "placeholder")
                yield tr(Check(compact=True, id="health"), "field.health")
                yield tr(Check(compact=True, value=True, id="defaults"), "first.defaults")
                yield tr(Static(classes="muted", id="defaults-what"), "first.defaults_what")
            with Vertical(id="join-fields"):
                yield tr(Label(), "field.relay")
                yield Input(self.mano.config.relay or "", id="relay",
                            placeholder="ws://127.0.0.1:8765", highlighter=Visible())
                yield tr(Label(), "field.code")
                yield Input(id="code", placeholder="XXXX-XXXX-…", highlighter=Visible())
            yield tr(Label(), "field.your_name")
            yield Input(id="your-name", highlighter=Visible())
            if self.device is None:
                yield tr(Label(), "field.passphrase")
                yield Input(password=True, id="passphrase")
                yield tr(Label(), "field.passphrase_again")
                yield Input(password=True, id="passphrase2")
            yield Static("", id="first-error", classes="form-error")
            with Horizontal(classes="form-buttons"):
                yield tr(Button("", id="go", variant="primary"), "first.go")
            yield LoadingIndicator(id="first-busy")
            yield Static("", id="first-progress", classes="muted")
        yield TranslatedFooter()

    def on_mount(self) -> None:
        self.query_one("#join-fields").display = False
        self.query_one("#first-busy").display = False
        self.query_one("#team-name", Input).focus()

    @on(RadioSet.Changed)
    def _choice(self, event: RadioSet.Changed) -> None:
        joining = event.pressed.id == "choice-join"
        self.query_one("#join-fields").display = joining
        self.query_one("#create-fields").display = not joining

    def _value(self, wid: str) -> str:
        return self.query_one(f"#{wid}", Input).value.strip()

    def _error(self, field_key: str | None, message: str) -> None:
        self._errors([(field_key, message)])

    def _errors(self, problems: list[tuple[str | None, str]]) -> None:
        """Every problem of what was typed at once, one line each (as the forms do)."""
        said = [self.t("form.field_error", field=self.t(key), message=message) if key
                else message for key, message in problems]
        self.query_one("#first-error", Static).update(lines(["⚠ " + x for x in said]))

    @on(Input.Submitted)
    @on(Button.Pressed, "#go")
    def _go(self) -> None:
        t = self.t
        joining = self.query_one("#choice-join", RadioButton).value
        problems: list[tuple[str | None, str]] = []
        if joining:
            if not self._value("relay").startswith(("ws://", "wss://")):
                problems.append(("field.relay", t("error.relay_url")))
            if len(self._value("code")) < 10:
                problems.append(("field.code", t("error.required")))
        elif not self._value("team-name"):
            problems.append(("field.team_name", t("error.required")))
        if not self._value("your-name"):
            problems.append(("field.your_name", t("error.required")))
        if self.device is None:
            phrase = self.query_one("#passphrase", Input).value
            if len(phrase) < MIN_PASSPHRASE:
                problems.append(("field.passphrase", t("error.short", n=MIN_PASSPHRASE)))
            elif phrase != self.query_one("#passphrase2", Input).value:
                problems.append(("field.passphrase_again", t("error.mismatch")))
        if problems:
            return self._errors(problems)
        self.query_one("#first-error", Static).update("")
        self.start(joining)

    @work(exclusive=True)
    async def start(self, joining: bool) -> None:
        t = self.t
        busy = self.query_one("#first-busy")
        progress = self.query_one("#first-progress", Static)
        busy.display = True
        device = self.device
        try:
            if device is None:
                progress.update(t("first.creating_store"))
                config = self.mano.config
                config.store.parent.mkdir(parents=True, exist_ok=True)
                device = await Device.create(config.store,
                                             self.query_one("#passphrase", Input).value,
                                             kdf=config.kdf)
                self.device = device
            if joining:
                relay = self._value("relay")
                progress.update(t("first.waiting_admin"))
                team = await device.join_team(relay, self._value("code"), timeout=600)
                await save_pref(device, "relay", relay)
                self.mano.config.relay = relay
            else:
                team = await device.create_team(
                    self._value("team-name"), health=self.query_one("#health", Check).value,
                    defaults=self.query_one("#defaults", Check).value)  # MANO's, kept or changed
            await team.settings.set(MEMBER_NAMES_KEY + team.info.member,
                                    self._value("your-name"))
        except InvitationError as exc:
            self._error("field.code", self.mano.error_text(exc))
            return
        except (TimeoutError, StoreExistsError, ManoError, OSError) as exc:
            self._error(None, t("error.generic", error=self.mano.error_text(exc)))
            return
        finally:
            busy.display = False
            progress.update("")
        await self.mano.open_session(device, team.id)
        if not joining:
            await self.app.push_screen(SetupGuideScreen())


class DemoLoadingScreen(ManoScreen):
    """While the demo starts its relay, builds its team and uploads it: what is happening."""

    def compose(self) -> ComposeResult:
        with Center(), Vertical(classes="card"):
            yield Static(self.t("demo.title"), classes="card-title")
            yield LoadingIndicator()
            yield Static("", id="demo-steps")
        yield TranslatedFooter()

    def on_mount(self) -> None:
        self.prepare()

    @work(exclusive=True)
    async def prepare(self) -> None:
        run: Any = self.mano.config.demo_steps
        steps = self.query_one("#demo-steps", Static)
        done: list[str] = []

        def step(key: str, **values: Any) -> None:
            done.append("✓ " + self.t(key, **values))
            steps.update(lines(done))

        try:
            await run.prepare(step)
        except Exception as exc:  # noqa: BLE001 - shown to the newcomer, then quit
            steps.update(lines([*done, "⚠ " + self.t("error.generic", error=str(exc))]))
            return
        self.mano.config.relay = run.url
        device = await Device.open(run.store, run.passphrase)
        await self.mano.open_session(device)
        run.start_peer()


class LockScreen(ManoScreen):
    """The app locked itself (idle time, or Ctrl+L): nothing of the team shows until the
    passphrase is typed again. The team stays open and in sync underneath."""

    BINDINGS = [Binding("f12", "app.switch_language", "key.language")]

    def compose(self) -> ComposeResult:
        tr = self.tr
        with Center(), Vertical(classes="card"):
            yield tr(Static(classes="card-title"), "lock.title")
            yield tr(Static(classes="muted"), "lock.explain")
            yield tr(Label(), "field.passphrase")
            yield Input(password=True, id="lock-passphrase")
            yield Static("", id="unlock-error", classes="form-error")
            yield tr(Button("", id="unlock", variant="primary"), "unlock.button")
        yield TranslatedFooter()

    def on_mount(self) -> None:
        self.query_one("#lock-passphrase", Input).focus()

    @on(Input.Submitted, "#lock-passphrase")
    @on(Button.Pressed, "#unlock")
    def _submit(self) -> None:
        self.unlock(self.query_one("#lock-passphrase", Input).value)

    @work(exclusive=True)
    async def unlock(self, passphrase: str) -> None:
        field = self.query_one("#lock-passphrase", Input)
        if not await self.session.device.store.check_passphrase(passphrase):
            field.value = ""
            self.query_one("#unlock-error", Static).update(
                "⚠ " + self.t("unlock.wrong", field=self.t("field.passphrase")))
            field.focus()
            return
        field.value = ""
        # the app takes the lock away: this screen's worker ends with the screen
        self.app.run_worker(self.mano.unlocked(), group="unlock")


class SetupGuideScreen(ModalScreen[None]):
    """After a team is founded: what is set up already and what to set up next."""

    BINDINGS = [Binding("escape", "close", "key.close"),
                Binding("f9,enter", "settings", "key.settings")]

    def compose(self) -> ComposeResult:
        app: Any = self.app
        t = app.t
        team = app.session.team
        lists = sum(len(team.settings.values(k)) for k in (
            "actionCategories", "services", "structureCategories", "territoryTypes"))
        done = [t("setup.fields", count=len(team.custom_fields.list())),
                t("setup.lists", count=lists)]
        todo = [t("setup.subteams"), t("setup.invite"), t("setup.check_lists"),
                t("setup.idle")]
        with Center(), VerticalScroll(classes="form setup"):
            yield Static(t("setup.title"), classes="form-title")
            yield Static(lines([t("setup.done"), *[f"  ✓ {x}" for x in done], "",
                                t("setup.todo"), *[f"  {i + 1}. {x}" for i, x in
                                                   enumerate(todo)], "", t("setup.keys")]),
                         id="setup-body")

    def action_close(self) -> None:
        self.dismiss(None)

    async def action_settings(self) -> None:
        self.dismiss(None)
        self.app.post_message(OpenSection("settings"))
