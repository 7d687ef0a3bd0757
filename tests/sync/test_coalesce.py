"""Deliver frames already received are applied with the one taken (issue 24): one transaction
for a run of frames of one compartment, in the relay's order, whole frames only, and whatever
else came in between handled in its place (mano_core.sync.receiver.with_queued); and what
such a delivery leaves for the collector when it ends (mano_core/heap.py)."""

from __future__ import annotations

import asyncio

from mano_core.protocol import messages as m
from mano_core.sync.receiver import with_queued


def frame(c: int, first: int, count: int, size: int = 200) -> m.Deliver:
    return m.Deliver(c=c, items=[(s, bytes([s % 251]) * size)
                                 for s in range(first, first + count)])


def queue_of(*messages: m.Message) -> asyncio.Queue[m.Message]:
    q: asyncio.Queue[m.Message] = asyncio.Queue()
    for msg in messages:
        q.put_nowait(msg)
    return q


def seqs(items: list[tuple[int, bytes]]) -> list[int]:
    return [s for s, _raw in items]


def test_frames_already_received_join_the_one_taken_in_order() -> None:
    q = queue_of(frame(0, 4, 3), frame(0, 7, 2))
    items, after = with_queued(frame(0, 1, 3), q)
    assert seqs(items) == list(range(1, 9)) and after is None and q.empty()


def test_another_message_ends_the_run_and_is_handled_next() -> None:
    presence = m.Presence(blob=b"x")
    other = frame(1, 1, 2)
    q = queue_of(frame(0, 4, 3), presence, frame(0, 7, 2))
    items, after = with_queued(frame(0, 1, 3), q)
    assert seqs(items) == list(range(1, 7)) and after is presence
    assert q.qsize() == 1  # the frame after it waits its turn
    q = queue_of(other, frame(0, 4, 3))
    items, after = with_queued(frame(0, 1, 3), q)
    assert seqs(items) == [1, 2, 3] and after is other  # another compartment: its own delivery


def test_whole_frames_only_within_the_bounds() -> None:
    q = queue_of(frame(0, 4, 3), frame(0, 7, 3))
    items, after = with_queued(frame(0, 1, 3), q, max_envelopes=8)
    assert seqs(items) == list(range(1, 7))
    assert isinstance(after, m.Deliver) and seqs(after.items) == [7, 8, 9]  # not split
    q = queue_of(frame(0, 4, 3))
    items, after = with_queued(frame(0, 1, 3), q, max_bytes=700)
    assert seqs(items) == [1, 2, 3] and after is not None  # 1,200 bytes would exceed 700
    items, after = with_queued(frame(0, 1, 3, size=1000), queue_of(), max_bytes=700)
    assert seqs(items) == [1, 2, 3] and after is None  # the first frame, whatever its size


async def test_a_delivery_drops_its_parses_before_young_collections_come_back(tmp_path,
                                                                             monkeypatch):
    # heap.one_delivery postpones young collections while a delivery is applied; when it
    # ends the next allocation starts one, which walked every parse of the delivery still
    # held by ydeps.parse_scope (to promote them just before they were freed: 23-103 ms of
    # a 10,000-envelope replay). The scope must be gone by then.
    from mano_core import heap
    from mano_core.document import ydeps
    from mano_core.ids import Compartment
    from mano_core.team import Team

    from .harness import Harness, pair_behind, settle

    held_at_leave: list[bool] = []
    young = heap._YOUNG
    real_leave = young.leave

    def leave() -> bool:
        held_at_leave.append(ydeps._memo.scope is not None)
        return real_leave()

    monkeypatch.setattr(young, "leave", leave)
    async with Harness(tmp_path, catchup_batch=10) as h:
        pair = await pair_behind(h, tmp_path / "devices", 30)
        held_at_leave.clear()
        b, team_b = await pair.open("b")
        async with await h.sync(b, team_b) as sb:
            await settle(sb)
        assert isinstance(team_b, Team) and len(team_b.persons.list()) == 30
        assert sb.state.cursor[Compartment.GENERAL] >= 30
    assert held_at_leave and not any(held_at_leave)
