"""The guarded index built off the event loop (issue 24).

A device screens every teammate's update against the role table (mano_core.rules.remote),
which needs the index of the items only some roles may write (mano_core.rules.touch). The
document builds it from its whole state on first use: a Python read of every struct, 1.2 s of
CPU on the UI loop at MANO scale (12 s at ×10), the first time a teammate's update arrives
after opening. Here it is built in a worker thread (pure Python: the loop gets the GIL back
every few milliseconds) from the same bytes the document would read (``Doc.get_update()``);
the updates the document integrates meanwhile are kept in a backlog and observed in order
once it is built, as the document does after a build on first use (so the index is the one
the document would have built, ``DocumentCore.guarded_index``). The sync client awaits
``ready`` before screening; the app starts it once the team is read."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from mano_core.document.ydeps import MEMO_MAX_UPDATE
from mano_core.ids import Compartment
from mano_core.rules.touch import GuardedIndex

if TYPE_CHECKING:
    from mano_core.document.team_doc import DocumentCore
    from mano_core.team import Team


class GuardedBuild:
    """One team's build of the general document's guarded index (the one screened)."""

    def __init__(self, team: Team) -> None:
        self.team = team
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start building it now, if it is not built or under way."""
        core = self._core()
        if core is None or core._guarded is not None or self._task is not None:
            return
        self._task = asyncio.get_running_loop().create_task(self._build(core))

    async def ready(self, compartment: Compartment = Compartment.GENERAL) -> None:
        """Return once the index screening ``compartment`` is built (at once if it is, or if
        that compartment is not screened)."""
        if compartment is not Compartment.GENERAL:
            return
        self.start()
        if self._task is not None:
            await asyncio.shield(self._task)  # a cancelled waiter leaves the build running

    def _core(self) -> DocumentCore | None:
        return getattr(self.team, "doc", None)

    async def _build(self, core: DocumentCore) -> None:
        backlog: list[bytes] = []
        core._guard_backlog = backlog
        try:
            state = core.doc.get_update()
            index = GuardedIndex()
            try:
                if len(state) <= MEMO_MAX_UPDATE:
                    index.build(state)  # small, and its read would share the parse memo
                else:   # read past the memo (ydeps): nothing shared with the loop's thread
                    await asyncio.to_thread(index.build, state)
            except Exception:  # noqa: BLE001 - the document builds it on first use instead
                return           # (and raises there what it raises)
            if core._guarded is None:  # (not built at once meanwhile, on a synchronous use)
                for update in backlog:
                    index.observe(update)
                core._guarded = index
        finally:
            core._guard_backlog = None
            self._task = None
