"""Strangers creating teams, members growing their membership log: team creation is limited
per address and relay-wide (and may need the operator's token), and every byte a team stores
counts against its quota. Another team keeps syncing; the relay's memory stays bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from mano_core.crypto import DeviceIdentity, Role
from mano_core.errors import RelayRefusedError
from mano_core.ids import new_id
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from tests.adversarial.hostile import MiB, Bystanders, relay_process, rss
from tests.relay.kit import TeamKit

pytestmark = pytest.mark.timeout(240)


async def test_team_creation_is_limited_per_address(tmp_path: Path) -> None:
    """Was: 294 teams in 0.9 s from one client, each with its own quota."""
    async with relay_process(tmp_path, "--max-teams-per-address-hour", "5") as proc:
        async with Bystanders(proc.url) as others:  # its team is this address's first
            before, seen = rss(proc), others.received
            for _ in range(4):
                c = await TeamKit().client(proc.url, "admin", create=True)
                await c.close()
            with pytest.raises(RelayRefusedError) as err:
                await TeamKit().client(proc.url, "admin", create=True)
            assert err.value.code == ErrorCode.RATE_LIMITED and err.value.fatal
            await others.still_flowing(seen)
            assert rss(proc) - before < 20 * MiB


async def test_team_creation_relay_wide_and_with_an_admission_token(tmp_path: Path) -> None:
    async with relay_process(tmp_path, "--admission-token", "op3rator",
                             "--max-teams-per-hour", "3") as proc:
        with pytest.raises(RelayRefusedError) as err:
            await TeamKit().client(proc.url, "admin", create=True)
        assert err.value.code == ErrorCode.AUTH_FAILED
        async with Bystanders(proc.url + "/?admission=op3rator") as others:
            seen = others.received
            kit = TeamKit("bob")
            c = await kit.client(proc.url + "/?admission=op3rator", "admin", create=True)
            await c.close()
            member = await kit.client(proc.url, "bob")  # joining an existing team: no token
            await member.close()
            c = await TeamKit().client(proc.url + "/?admission=op3rator", "admin", create=True)
            await c.close()
            with pytest.raises(RelayRefusedError) as err:  # the relay's 4th this hour
                await TeamKit().client(proc.url + "/?admission=op3rator", "admin", create=True)
            assert err.value.code == ErrorCode.RATE_LIMITED
            await others.still_flowing(seen)


async def test_membership_log_counts_against_the_quota(tmp_path: Path) -> None:
    """Was: 19.6 MiB of membership log counted as 0 bytes."""
    kit = TeamKit()
    async with relay_process(tmp_path, "--max-team-storage", "20000") as proc:
        async with Bystanders(proc.url) as others:
            seen = others.received
            admin = await kit.client(proc.url, "admin", create=True)
            refused = None
            for _ in range(200):
                entry = kit.log.add_device(kit["admin"].identity, DeviceIdentity.generate().public,
                                           member=new_id(), role=Role.NORMAL, health=False)
                try:
                    await admin.request(m.LogAppend(id=admin.next_id(), entries=[entry]))
                except RelayRefusedError as exc:
                    refused = exc
                    break
                kit.log.append(entry)
            assert refused is not None and refused.code == ErrorCode.STORAGE_FULL
            assert len(kit.log) < 100  # ~300 bytes an entry: refused well before 200
            # Envelopes now find the quota used up by the log.
            with pytest.raises(RelayRefusedError) as err:
                await admin.push(kit["admin"].seal(b"x" * 5000))
            assert err.value.code == ErrorCode.STORAGE_FULL
            await others.still_flowing(seen)
            await admin.close()
