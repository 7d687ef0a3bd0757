"""The idle lock: after ``idle_minutes`` without a key, a click or a paste (or at Ctrl+L) the
app hides everything behind the passphrase; the team stays open and in sync underneath.
While locked only ``LOCKED_ACTIONS`` run."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual import events

from .navigation import LockNow
from .session import DEFAULT_IDLE_MINUTES, IDLE_LOCK_KEY, load_pref, save_pref
from .sections import SectionModes

IDLE_CHECK = 1.0         # seconds between two looks at the idle time
# While locked, only these app actions run (everything else would show what the lock hides).
LOCKED_ACTIONS = frozenset({"quit", "switch_language"})


class IdleLock(SectionModes):
    """ManoApp's idle lock (a base class: ManoApp derives from it)."""

    def __init__(self, idle_clock: Callable[[], float] | None = None) -> None:
        super().__init__()
        self.idle_minutes = DEFAULT_IDLE_MINUTES   # this device's preference (0: never)
        self.locked = False
        self._idle_clock = idle_clock or time.monotonic
        self._last_input = self._idle_clock()

    async def start_idle_watch(self) -> None:
        """Once the team is open: this device's idle time read, and watched from now on."""
        assert self.session is not None
        saved = await load_pref(self.session.device, IDLE_LOCK_KEY)
        self.idle_minutes = int(saved) if saved and saved.isdigit() else DEFAULT_IDLE_MINUTES
        self._last_input = self._idle_clock()
        self.set_interval(IDLE_CHECK, self._check_idle)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown, events.MouseScrollDown,
                              events.MouseScrollUp, events.Paste)):
            self._last_input = self._idle_clock()
        await super().on_event(event)

    def _check_idle(self) -> None:
        if self.session is None or self.locked or not self.idle_minutes:
            return
        if self._idle_clock() - self._last_input >= self.idle_minutes * 60:
            self.lock()

    async def set_idle_minutes(self, minutes: int) -> None:
        """How long nobody may touch the app before it locks (0: never); kept on this device."""
        self.idle_minutes = max(0, minutes)
        self._last_input = self._idle_clock()
        if self.session is not None:
            await save_pref(self.session.device, IDLE_LOCK_KEY, str(self.idle_minutes))

    def lock(self) -> None:
        """Hide everything behind the passphrase. The team stays open and in sync underneath
        (teammates' edits keep arriving, a form being typed is kept), but nothing of it is
        shown or reachable until the passphrase is typed again. Unsaved typed work is
        settled first without a question (nobody may be there to answer): kept on this
        device as it is, so that neither the lock nor a crash while locked costs it."""
        if self.locked or self.session is None:
            return
        self.locked = True          # from now on no action runs (check_action)
        self.clear_notifications()  # a notice may name a person
        if self.session.sync is not None:
            self.session.sync.set_viewing(None)
        self.run_worker(self._lock(), group="lock", exclusive=True)

    async def _lock(self) -> None:
        from .screens.start import LockScreen
        await self.settle_unsaved(ask=False)
        await self.push_screen(LockScreen())

    async def unlocked(self) -> None:
        """The lock screen was given the right passphrase: take it away."""
        from .screens.start import LockScreen
        if isinstance(self.screen, LockScreen):
            await self.pop_screen()
        self.locked = False
        self._last_input = self._idle_clock()
        if self._relabel_on_unlock and await self.settle_unsaved():  # the person is back
            self._relabel_on_unlock = False
            await self._rebuild_sections()

    def action_lock(self) -> None:
        self.lock()

    def on_lock_now(self, message: LockNow) -> None:
        message.stop()
        self.lock()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.locked and action not in LOCKED_ACTIONS)
