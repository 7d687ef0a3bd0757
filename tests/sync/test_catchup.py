"""A device 10,000 envelopes behind catches up, and the snapshot path serves new devices."""

from __future__ import annotations

import pytest
from pycrdt import Doc, Map

from mano_core.ids import Compartment

from .helpers import content, eventually, join, seal_bulk_persons

pytestmark = pytest.mark.timeout(600)  # waits below are generous: a loaded machine is slow
N = int(__import__("os").environ.get("CATCHUP_N", "10000"))


@pytest.mark.slow
async def test_device_ten_thousand_envelopes_behind_catches_up(relay, make_device):
    a, b = await make_device("a"), await make_device("b")
    team_a = await a.create_team("Maraude")
    async with await a.sync(team_a, relay.url) as sa:
        team_b = await join(sa, b, relay.url)
        await sa.wait_synced()
    keys = await a.vault.team((await a.vault.team_ids())[0])
    # While b is away, a seals 10,000 envelopes of one small edit each (the pace of a team's
    # weeks of work) straight into its outbox; they are pushed when a reconnects.
    await seal_bulk_persons(team_a, keys, N, "bulk")
    async with await a.sync(team_a, relay.url) as sa:
        await sa.wait_synced(300)
    async with await b.sync(team_b, relay.url) as sb:
        await eventually(lambda: sb.state.cursor.get(Compartment.GENERAL, 0) >= N, 400,
                         "b's cursor past the 10,000 envelopes")
        assert len(team_b.persons.list()) == N
        assert not [al for al in sb.state.alerts
                    if al.kind in ("gap", "fork", "rejected", "quarantined")]
    assert content(team_b)["persons"] == content(team_a)["persons"]


async def test_snapshot_is_verified_and_used_when_history_is_pruned(relay, make_device):
    # A snapshot made by one device and served by the relay lets another device start from it.
    from mano_core.sync.snapshot import open_snapshot, seal_snapshot
    from mano_core.errors import BadSignatureError

    a = await make_device("a")
    team_a = await a.create_team("Maraude")
    await team_a.persons.create(name="Snap")
    keys = await a.vault.team((await a.vault.team_ids())[0])
    state = team_a.compartment(Compartment.GENERAL).core.encode_state()
    blob = seal_snapshot(keys.identity, keys.keyring, team_id=keys.team_id,
                         compartment=Compartment.GENERAL, epoch=0, upto=7, state=state,
                         chain=keys.chain(Compartment.GENERAL))
    snap = open_snapshot(blob, log=keys.log, keyring=keys.keyring, team_id=keys.team_id,
                         compartment=Compartment.GENERAL)
    doc = Doc()
    doc.apply_update(snap.state)
    assert snap.upto == 7 and "Snap" in str(doc.get("persons", type=Map))
    tampered = bytearray(blob)
    tampered[80] ^= 1
    with pytest.raises(BadSignatureError):
        open_snapshot(bytes(tampered), log=keys.log, keyring=keys.keyring,
                      team_id=keys.team_id, compartment=Compartment.GENERAL)
