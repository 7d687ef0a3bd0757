"""An edit the device makes on its own (its snapshot-readers statement) does not hold the
user's next edit back (issue 24, mano_core/sync/seal_at_commit.py): the user's edit right
after it is still sealed in its own transaction and reaches the teammate at once, instead of
waiting in the local outbox for the flush timer as an edit within a burst does."""

from __future__ import annotations

from pathlib import Path

import pytest

from mano_core.ids import Compartment
from mano_core.sync import snapshot_readers as readers
from mano_core.team import local_outbox

from .harness import Harness, settle
from .helpers import eventually
from .test_snapshot_versions import stated

pytestmark = pytest.mark.timeout(180)
GENERAL = Compartment.GENERAL


async def test_the_users_edit_after_the_devices_statement_is_sent_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "STATE_AFTER_BYTES", 1 << 40)  # no statement while settling
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team_a = await pair.open("a")
        b, team_b = await pair.open("b")
        async with await h.sync(a, team_a) as sa, await h.sync(b, team_b) as sb:
            await settle(sa)
            await settle(sb)
            # Edits within the flush delay of the last seal wait for the timer: an hour here,
            # so that an edit not sealed at once is seen waiting.
            sa.sync.sm.flush_delay = 3600.0
            assert not stated(team_a, sa)
            monkeypatch.setattr(readers, "STATE_AFTER_BYTES", 0)
            await sa.sync.state_snapshot_reads()  # the device's own edit
            assert stated(team_a, sa)
            await team_a.persons.create(name="Juste après")  # the user's, at once after it
            outbox = local_outbox(team_a.id, GENERAL)
            assert await a.store.outbox_size(outbox) == 0  # sealed in its own transaction
            await eventually(lambda: any(p.name == "Juste après"
                                         for p in team_b.persons.list()), 30,
                             "a's edit on b")
            await eventually(lambda: stated(team_b, sa), 30, "a's statement on b")

            # A second edit of the user's, within the flush delay of the first, is a burst:
            # it waits for the flush timer, as before.
            await team_a.persons.create(name="Rafale")
            assert await a.store.outbox_size(outbox) == 1
