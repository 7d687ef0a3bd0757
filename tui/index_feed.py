"""The persons index (tui/people_index.py) fed with a delivery's persons in slices.

A teammates' delivery announces up to 2,000 persons at once (``ChangeEvent``); folding their
names and putting each in its place in the index took 13–16 ms of the loop per delivery at
MANO scale, inside the delivery's own iteration (the catch-up's largest, issue 24). The app
reads the records when the change is announced (what the event says is committed), and this
feed puts them in the index a slice at a time, the loop handed back between slices, in the
order they were announced. The app redraws for the change once the feed is idle
(``when_idle``): a list drawn then finds every announced person in the index."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from mano_core.model.records import Person
from mano_core.loop_turns import drive

from .people_index import PersonIndex

FEED_SLICE: Final = 0.008   # seconds of the loop one slice may take
FEED_CHUNK: Final = 64      # persons put in the index between two looks at the clock


class IndexFeed:
    """Announced persons (records, or the ids of those gone) waiting for the index."""

    def __init__(self, index: Callable[[], PersonIndex]) -> None:
        self._index = index     # the app's current index (a new team opened: a new one)
        self._queue: deque[Person | str] = deque()
        self._task: asyncio.Task[None] | None = None
        self._idle: list[Callable[[], None]] = []

    @property
    def busy(self) -> bool:
        """Whether announced persons are not all in the index yet."""
        return bool(self._queue)

    def push(self, items: Iterable[Person | str]) -> None:
        """Put these in the index soon, after what was pushed before: a person (its record
        as announced) or the id of one gone."""
        self._queue.extend(items)
        if self._queue and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def when_idle(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the index holds everything pushed (now if it does)."""
        if not self._queue:
            callback()
        elif callback not in self._idle:
            self._idle.append(callback)

    def cancel(self) -> None:
        """Stop feeding (the session closes): what is left is dropped."""
        self._queue.clear()
        self._idle.clear()
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        try:  # (the loop let run between slices as every sliced read does: mano_core.slices)
            await drive(self._chunks(), slice_seconds=FEED_SLICE)
        finally:
            self._task = None
        idle, self._idle = self._idle, []
        for callback in idle:
            callback()

    def _chunks(self) -> Iterator[None]:
        """One chunk put in the index a step, until the queue (pushed to meanwhile) is empty."""
        while self._queue:
            self._apply(FEED_CHUNK)
            yield None

    def _apply(self, count: int) -> None:
        index = self._index()
        persons: list[Person] = []
        while self._queue and count:
            item = self._queue.popleft()
            count -= 1
            if isinstance(item, str):
                if persons:
                    index.update(persons)
                    persons = []
                index.remove(item)
            else:
                persons.append(item)
        if persons:
            index.update(persons)
