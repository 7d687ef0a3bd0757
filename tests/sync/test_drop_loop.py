"""The seeded loop of connection drops during deliveries on a busy device, through a relay
subprocess (tests/sync/drop_loop.py, issue 16 case 1): a short series here; the long one is
``./dev python -m tests.sync.drop_loop --seeds 200 --jobs 2`` (docs/reliability.md).
MANO_DROP_SEEDS / MANO_DROP_FIRST choose the series (a failure names its seed)."""

from __future__ import annotations

import os

import pytest

from tests.sync.drop_loop import run_seed

SEEDS = int(os.environ.get("MANO_DROP_SEEDS", "3"))
FIRST = int(os.environ.get("MANO_DROP_FIRST", "0"))


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("seed", range(FIRST, FIRST + SEEDS))
async def test_drops_during_deliveries_lose_nothing_after_every_device_reopens(seed, tmp_path):
    result = await run_seed(seed, tmp_path)
    assert result.edits > 100  # the devices did write under the faults
    assert result.faults.total() >= 10
