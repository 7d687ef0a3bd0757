"""A team made before ML-KEM migrates through a real relay (docs/security.md §4, "Migration"):
each device's identity gains an ML-KEM key when its store is opened, it publishes that key in
the membership log at its next session, and the keys of the next epoch reach it in a hybrid
package."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import pytest

from mano_core.crypto import DeviceIdentity, decode_entry, make_key_packages
from mano_core.device import Device
from tests.harness.devices import PASS
from tests.harness.relay import RelayProcess

from .helpers import eventually, join

pytestmark = pytest.mark.timeout(300)


def _legacy_generate() -> DeviceIdentity:
    return DeviceIdentity.from_bytes(b"\x01" + _REAL_GENERATE().to_bytes()[1:65])


_REAL_GENERATE = DeviceIdentity.generate


async def test_a_team_from_before_ml_kem_migrates_and_gets_hybrid_packages(
        tmp_path: Path, relay: RelayProcess, make_device: Callable[[str], Awaitable[Device]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The team as the previous version made it: X25519-only identities and packages.
    monkeypatch.setattr(DeviceIdentity, "generate", staticmethod(_legacy_generate))
    monkeypatch.setattr(DeviceIdentity, "with_kem", lambda self: self)
    a, b, c = [await make_device(n) for n in "abc"]
    team_a = await a.create_team("Maraude")
    async with await a.sync(team_a, relay.url) as sa:
        team_b = await join(sa, b, relay.url)
        await join(sa, c, relay.url)
        await team_a.persons.create(name="Avant la migration")
        await sa.wait_synced()
    keys_a = await a.vault.team((await a.vault.team_ids())[0])
    assert {decode_entry(e)[0].version for e in keys_a.log.entries} == {1}
    team_id = keys_a.team_id
    c_id = await c.device_id
    for device in (a, b):
        await device.close()
    monkeypatch.undo()

    # The new version opens the stores: each identity gains an ML-KEM key, kept in the store.
    async with await Device.open(tmp_path / "a.mano", PASS) as a2, \
            await Device.open(tmp_path / "b.mano", PASS) as b2:
        ident_b = await b2.vault.identity()
        assert ident_b.kem_public and ident_b.device_id == await b2.device_id
        team_a2, team_b2 = await a2.open_team(team_a.id), await b2.open_team(team_b.id)
        async with await a2.sync(team_a2, relay.url) as sa2, \
                await b2.sync(team_b2, relay.url) as sb2:
            keys_a2 = await a2.vault.team(team_id)
            await eventually(lambda: all(
                d.kem_public for d in keys_a2.log.active_devices() if d.device_id != c_id),
                30, "a and b published their ML-KEM keys")
            ops = [decode_entry(e)[0].op for e in keys_a2.log.entries]
            assert ops.count("set_kem_key") == 2
            # A removal starts a new epoch: b's keys for it travel in a hybrid package (the
            # log holds b's ML-KEM key), which b opens.
            await sa2.remove_device(c_id)
            await team_a2.persons.create(name="Après la migration")
            await eventually(lambda: sorted(p.name for p in team_b2.persons.list())
                             == ["Après la migration", "Avant la migration"], 30,
                             "b reads the edit of the new epoch")
            package = make_key_packages(keys_a2.identity, keys_a2.log, keys_a2.keyring)[
                await b2.device_id]
            assert msgspec.msgpack.decode(package[:-64])[0] == 2
            assert not any(al.kind == "keys" for al in sb2.state.alerts)
