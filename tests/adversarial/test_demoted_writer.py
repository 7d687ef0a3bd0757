"""A health professional whose health flag was withdrawn keeps writing MEDICAL at the old
epoch, through a relay that lets it (an older or compromised relay: the real one refuses,
tests/adversarial/test_hostile_members.py). The receiving health devices refuse it too."""

from __future__ import annotations

import os
import uuid

import pytest

from mano_core.crypto import Role
from mano_core.crypto.envelope import seal
from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.sync.transport import RelayClient
from sync_server import handlers
from sync_server.committer import Committer
from tests.sync.helpers import eventually, join

pytestmark = pytest.mark.timeout(180)


async def test_live_medical_envelope_of_a_demoted_author_is_refused_by_devices(
    make_device, url, monkeypatch
) -> None:
    # The relay of before issue 17: it judged a push by the epoch alone.
    monkeypatch.setattr(handlers, "may_write",
                        lambda log, device, c, epoch: log.can_write(device, c, epoch))
    monkeypatch.setattr(Committer, "_still_allowed", lambda self, batch: batch)
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude", health=True)
    async with await a.sync(team_a, url) as sa:
        team_b = await join(sa, b, url, health=True)
        keys_b = await b.vault.team(uuid.UUID(team_b.id).bytes)
        nurse = keys_b.identity.device_id
        await eventually(lambda: sa.keys.log.has_access(nurse, Compartment.MEDICAL), 10,
                         "the nurse in a's log")
        await eventually(lambda: sa.state.cursor.get(Compartment.MEDICAL) is not None
                         and Compartment.MEDICAL in sa.sync.live_after, 60, "a live on MEDICAL")
        async with await RelayClient.connect(url) as c:
            await c.authenticate(sa.keys.identity, sa.keys.team_id)
            entry = sa.keys.log.change_role(sa.keys.identity, nurse, Role.NORMAL, False)
            await c.request(m.LogAppend(id=c.next_id(), entries=[entry]))
        await eventually(lambda: not sa.keys.log.has_access(nurse, Compartment.MEDICAL), 10,
                         "the demotion on a")
        # The nurse's keys still hold the MEDICAL key of the old epoch.
        env = seal(keys_b.identity, keys_b.keyring, team_id=keys_b.team_id,
                   compartment=Compartment.MEDICAL, epoch=0, counter=7,
                   prev_hash=os.urandom(32), plaintext=b"\x81\xa1u\x90")
        async with await RelayClient.connect(url) as bad:
            await bad.authenticate(keys_b.identity, keys_b.team_id)
            await bad.push(env)  # this relay takes it and delivers it live
        await eventually(lambda: any("no longer has access" in x.detail
                                     for x in sa.state.alerts), 60, "a 'rejected' alert")
