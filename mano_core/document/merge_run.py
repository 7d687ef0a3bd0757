"""A delivery's envelopes merged by pycrdt in one call where one update can carry them exactly
(issue 24): ``DocumentCore.apply_remote_groups`` merged each update with its own call, its
dependencies checked, its state vector advanced and the guarded index told, one after the
other (~5 µs an update of Python around pycrdt's ~2 µs). A run of whole envelopes that the
one-by-one merge would integrate at once (nothing it would park, nothing it would refuse) is
written as one update by the compiled module (``_combine_c.pxi``: the same structs, client by
client, and the union of the delete sets) and merged in one call, in the same transaction; the
guarded index is told of each update as before. Anything else (an update that would wait for
its dependencies, one of several clients, one that overlaps what the document holds, a
state, a run pycrdt refuses) is merged one by one as before, which stays the reference
(tests/document/test_merge_run.py compares the two documents)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

from . import ydeps


class MergeRun:
    """The runs of one ``apply_remote_groups``: ``merged(index, …)`` merges the groups from
    ``index`` on as one update when at least two updates of whole groups can be (True: skip
    them, ``skips``); after a run pycrdt refused, every group is merged one by one."""

    __slots__ = ("_bounds", "_flat", "_on", "_until", "refused")

    def __init__(self, groups: Sequence[Sequence[bytes]]) -> None:
        self._flat: list[bytes] = []
        self._bounds: list[int] = []  # where each group starts in _flat, then its length
        for group in groups:
            self._bounds.append(len(self._flat))
            self._flat.extend(group)
        self._bounds.append(len(self._flat))
        self._on = ydeps.combining() and len(self._flat) > 1
        self._until = 0  # the groups before it were merged by a run
        self.refused = False  # pycrdt refused a run (the document is then read again)

    def skips(self, index: int) -> bool:
        """Whether group ``index`` was merged by the run of an earlier group."""
        return index < self._until

    def merged(self, index: int, state: dict[int, int], apply: Callable[[bytes], None],
               guard: Callable[[bytes], None]) -> bool:
        """Merge groups ``index``… as one update (``apply``, in the open transaction) when it
        carries at least two updates of whole groups, each of which the one-by-one merge
        would integrate at once against ``state`` (the document's state vector as merged so
        far, advanced here as that merge would); ``guard`` is then called with each update,
        in order. False, with nothing changed, otherwise."""
        if not self._on:
            return False
        at = self._bounds[index]
        trial = dict(state)
        one, end = ydeps.combine_run(self._flat, at, trial)
        last = bisect.bisect_right(self._bounds, end) - 1  # whole groups only
        stop = self._bounds[last]
        if stop - at < 2:
            return False
        if stop != end:  # (the run ended inside an envelope: without that envelope)
            trial = dict(state)
            one, end = ydeps.combine_run(self._flat[:stop], at, trial)
            if end != stop:
                return False
        assert one is not None
        try:
            apply(one)
        except (ValueError, RuntimeError):  # pycrdt refused the run: one by one from here
            self._on, self.refused = False, True
            return False
        for update in self._flat[at:stop]:
            guard(update)
        state.clear()
        state.update(trial)
        self._until = last
        return True
