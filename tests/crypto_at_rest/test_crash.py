"""A device killed while sealing never reuses a counter: every envelope that could have reached
the network is in the outbox, committed with the counter that sealed it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from mano_core.crypto import Envelope, envelope_hash
from mano_core.ids import Compartment, new_id
from mano_core.keys_at_rest import create_team
from tests.harness.devices import PASS, VaultDevice, invite

HELPER = Path(__file__).with_name("seal_writer.py")
ROOT = Path(__file__).resolve().parents[2]
GENERAL = Compartment.GENERAL


def seal_until_killed(device: VaultDevice, team_hex: str, kill_after: int) -> list[int]:
    """Run the sealer in a subprocess, SIGKILL it after ``kill_after`` reported seals."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(HELPER), str(device.path), PASS, team_hex],
        stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    reported: list[int] = []
    try:
        for line in proc.stdout:
            reported.append(int(line.removeprefix("sealed ")))
            if len(reported) == kill_after:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait()
    assert len(reported) == kill_after, "the sealer died on its own"
    return reported


@pytest.mark.parametrize("kill_after", [1, 7, 40])
async def test_counters_after_a_crash_are_strictly_greater(
    make_vault_device: Callable[[str], Awaitable[VaultDevice]], kill_after: int
) -> None:
    founder_dev, mate_dev = await make_vault_device("founder"), await make_vault_device("mate")
    founder = await create_team(founder_dev.vault, "A", new_id())
    mate = await invite(founder, mate_dev.vault)
    before = await founder.seal(b"before the crash", compartment=GENERAL)
    team_id = founder.team_id
    await founder_dev.close()

    reported = seal_until_killed(founder_dev, team_id.hex(), kill_after)
    assert reported == list(range(1, kill_after + 1))

    founder = await (await founder_dev.open()).team(team_id)
    queued = [Envelope.parse(i.payload) for i in await founder_dev.store.outbox_pending()]
    counters = [e.header.counter for e in queued]
    assert counters == list(range(len(counters))) and counters[-1] >= reported[-1]
    assert queued[0].raw == before.envelope
    after = await founder.seal(b"after the crash", compartment=GENERAL)
    header = Envelope.parse(after.envelope).header
    assert header.counter == counters[-1] + 1 > max(reported)
    assert header.prev_hash == envelope_hash(queued[-1].raw)
    # the teammate receives what the relay would have: every queued envelope, then the new one
    chain = mate.chain(GENERAL)
    for envelope in [*queued, Envelope.parse(after.envelope)]:
        mate.open(envelope.raw, GENERAL, chain)
    assert chain.take_reports() == []  # no gap, no fork
