"""The sections as Textual modes: installed once the team is open, rebuilt in the new language
(F12), and settled before the app shuts down.

Textual's shutdown (``App._shutdown`` → ``_close_all``) walks the dict of every mode's screen
stack, awaiting each screen's removal as it goes. A language switch rebuilds the sections in
a worker (``remove_mode``, ``add_mode``, ``switch_mode``, each awaited): a quit (or a test's
end) while it ran let it create a mode's stack inside that walk, and the shutdown failed with
"dictionary changed size during iteration". The rebuild is cancelled and waited for before
the shutdown starts (``_shutdown``), so nothing changes the modes while they are closed."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from typing import Protocol

from textual.app import App
from textual.worker import WorkerCancelled, WorkerFailed

from .i18n import Translator
from .session import save_pref
from .widgets.nav import SECTIONS

if TYPE_CHECKING:
    from .session import Session

# The worker group of what may change the modes or asks before it (a language switch, a
# quit): one at a time (exclusive), and cancelled before the shutdown.
MODES_GROUP = "unsaved"


class UnsavedGuard(Protocol):
    """A screen that may hold typed work not saved yet."""

    def has_unsaved(self) -> bool: ...
    async def settle_unsaved(self, *, ask: bool = True) -> bool: ...


class SectionModes(App[None]):
    """ManoApp's part that owns the section modes and what is asked before they change (a
    base class: ManoApp derives from it and sets ``session``, ``locked`` and ``t``)."""

    session: Session | None   # the team open (None before the unlock)
    locked: bool              # the idle lock is shown
    t: Translator             # the interface's language

    def __init__(self) -> None:
        super().__init__()
        self._sections: set[str] = set()
        # Screens holding typed work not yet saved (the report's text): asked before quitting
        # or rebuilding the sections (``settle_unsaved``).
        self.unsaved_guards: list[UnsavedGuard] = []
        self._relabel_on_unlock = False   # the language changed while locked

    async def settle_unsaved(self, *, ask: bool = True) -> bool:
        """Ask each screen holding unsaved typed work what to do with it; False when the
        person chose to stay. Must run in a worker (it waits for a dialog). ``ask=False``
        (the idle lock): nothing is asked, each keeps its work on this device as it is."""
        for guard in list(self.unsaved_guards):
            if guard.has_unsaved() and not await guard.settle_unsaved(ask=ask):
                return False
        return True

    async def _install_sections(self, skip: str | None = None, only: str | None = None) -> None:
        from .screens import SECTION_SCREENS
        for name, _key in SECTIONS:
            if name == skip or (only is not None and name != only):
                continue
            if name in self._sections:
                await self.remove_mode(name)
            self.add_mode(name, SECTION_SCREENS[name])
            self._sections.add(name)

    def action_switch_language(self) -> None:
        async def switch() -> None:
            # While locked only the lock screen turns (the sections wait for the unlock):
            # nothing is asked, since a question would show what the lock hides.
            if self.locked or await self.settle_unsaved():   # the sections are rebuilt
                await self.set_language("en" if self.t.lang == "fr" else "fr")
        self.run_worker(switch(), group=MODES_GROUP, exclusive=True)

    async def set_language(self, lang: str) -> None:
        """Switch the interface language now, and remember it on this device."""
        self.t = Translator(lang)
        self.title = self.t("app.title")
        self.refresh_bindings()   # the footer redraws its keys in the new language
        relabel = getattr(self.screen, "relabel", None)
        if relabel is not None:
            relabel()             # the screen shown (unlock, first run, lock) keeps its input
        if self.session is None:
            return
        await save_pref(self.session.device, "lang", self.t.lang)
        if self.locked:           # the sections are rebuilt once unlocked
            self._relabel_on_unlock = True
            return
        await self._rebuild_sections()

    async def _rebuild_sections(self) -> None:
        # Rebuild every section in the new language (their texts are composed once). The
        # current one cannot be removed while shown: rebuild another, show it, then this one.
        current = self.current_mode if self.current_mode in self._sections else "agenda"
        other = "persons" if current == "agenda" else "agenda"
        await self._install_sections(skip=current)
        await self.switch_mode(other)
        await self._install_sections(only=current)
        await self.switch_mode(current)

    @property
    def modes_settled(self) -> bool:
        """No language switch (nor quit) is under way: the sections are what they will stay."""
        return not any(w.group == MODES_GROUP and not w.is_finished for w in self.workers)

    async def _shutdown(self) -> None:
        # Before Textual closes the modes' screens (see the module's docstring).
        for worker in [w for w in self.workers if w.group == MODES_GROUP]:
            if worker.is_finished or not worker.is_running:
                continue
            worker.cancel()
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()
        await super()._shutdown()


__all__ = ["MODES_GROUP", "SectionModes", "UnsavedGuard"]
