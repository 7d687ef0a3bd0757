"""Hostile members against a relay subprocess: a demoted health professional writing MEDICAL
at its old epoch, and integers the relay's storage cannot hold. Meanwhile a legitimate pair of
another team keeps syncing and the relay's memory stays bounded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mano_core.crypto import Role
from mano_core.crypto.envelope import seal
from mano_core.errors import RelayRefusedError
from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from tests.adversarial.hostile import MiB, Bystanders, relay_process, rss
from tests.relay.kit import TeamKit

pytestmark = pytest.mark.timeout(240)


def health_kit() -> TeamKit:
    """admin (health) and nurse (health), both holding the MEDICAL key of epoch 0."""
    kit = TeamKit("nurse")
    kit.publish(kit.log.change_role(kit["admin"].identity, kit["nurse"].id, Role.NORMAL, True))
    kit.sync_keys()
    return kit


async def test_demoted_health_member_cannot_write_medical_at_any_epoch(tmp_path: Path) -> None:
    kit = health_kit()
    async with relay_process(tmp_path) as proc:
        async with Bystanders(proc.url) as others:
            admin = await kit.client(proc.url, "admin", create=True)
            nurse = await kit.client(proc.url, "nurse")
            before = rss(proc)
            ok = await nurse.push(kit["nurse"].seal(b"consultation", Compartment.MEDICAL))
            assert ok.c == Compartment.MEDICAL
            # The admin withdraws the health flag; the nurse's own copy of the log does not
            # learn it, so it keeps sealing at the old epoch with the key it still holds.
            entry = kit.log.change_role(kit["admin"].identity, kit["nurse"].id, Role.NORMAL,
                                        False)
            await admin.request(m.LogAppend(id=admin.next_id(), entries=[entry]))
            seen = others.received
            for text in (b"after demotion", b"again"):
                with pytest.raises(RelayRefusedError) as err:
                    await nurse.push(kit["nurse"].seal(text, Compartment.MEDICAL))
                assert err.value.code == ErrorCode.FORBIDDEN and not err.value.fatal
            # Epoch 0 explicitly, with a fresh counter: refused too.
            keys = kit["nurse"]
            old = seal(keys.identity, keys.keyring, team_id=kit.team_id,
                       compartment=Compartment.MEDICAL, epoch=0, counter=1000,
                       prev_hash=b"\x01" * 32, plaintext=b"x")
            with pytest.raises(RelayRefusedError) as err:
                await nurse.push(old)
            assert err.value.code == ErrorCode.FORBIDDEN
            # GENERAL is still hers to write.
            assert (await nurse.push(kit["nurse"].seal(b"note"))).c == Compartment.GENERAL
            await others.still_flowing(seen)
            assert rss(proc) - before < 20 * MiB
            await admin.close()
            await nurse.close()


async def test_counters_beyond_int64_are_stored_and_other_teams_commit(tmp_path: Path) -> None:
    """A counter >= 2^63 (valid: the header's counter is u64) used to overflow SQLite's INTEGER
    inside the group commit and fail every session batched with it (another team's devices
    got INTERNAL, 1,401 tracebacks in 12 s). Now it is stored like any other."""
    kit = TeamKit()
    async with relay_process(tmp_path) as proc:
        async with Bystanders(proc.url, period=0.01) as others:
            attacker = await kit.client(proc.url, "admin", create=True)
            d = kit["admin"]
            before, seen = rss(proc), others.received
            for n, counter in enumerate((2**63, 2**64 - 1, 2**63 + 12345), start=1):
                env = seal(d.identity, d.keyring, team_id=kit.team_id,
                           compartment=Compartment.GENERAL, epoch=0, counter=counter,
                           prev_hash=b"\x01" * 32, plaintext=b"x")
                acks = await asyncio.gather(*(attacker.push_nowait(env) for _ in range(20)))
                assert {(a.seq, a.dup) for (a,) in acks} <= {(n, False), (n, True)}
            await others.still_flowing(seen)
            assert rss(proc) - before < 20 * MiB
            await attacker.close()
        code, logs = await proc.stop()
    assert code == 0 and "Traceback" not in logs
