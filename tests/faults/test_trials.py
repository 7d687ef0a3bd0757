"""Seeded fault-injection trials (see tests/faults/trial.py and docs/reliability.md).

A few trials in the default run; MANO_FAULT_TRIALS=200 (or scripts/faults.py) for long runs,
MANO_FAULT_SEED to start from another seed (a failure names its seed: rerun just that one)."""

from __future__ import annotations

import os

import pytest

from tests.faults.trial import run_trial

TRIALS = int(os.environ.get("MANO_FAULT_TRIALS", "3"))
SEED = int(os.environ.get("MANO_FAULT_SEED", "1000"))


@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.parametrize("seed", range(SEED, SEED + TRIALS))
async def test_devices_converge_and_keep_every_saved_edit_under_faults(seed, tmp_path):
    result = await run_trial(seed, tmp_path)
    assert result.edits > 0 and sum(result.faults.values()) > 0
