"""A writer killed with SIGKILL mid-burst loses nothing it reported saved, and nothing is torn."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mano_core.store import LocalStore

from .conftest import PASSPHRASE

HELPER = Path(__file__).with_name("crash_writer.py")
ROOT = Path(__file__).resolve().parents[2]
BURST = 200


def run_and_kill(path: Path, doc: str, kill_after: int) -> int:
    """Start the writer, SIGKILL it once it has reported ``kill_after`` saves; return that many."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(HELPER), str(path), PASSPHRASE, doc, str(BURST)],
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    saved = 0
    try:
        for line in proc.stdout:
            assert line == f"saved {saved}\n"
            saved += 1
            if saved == kill_after:
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the writer finished before being killed"
    return saved


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
async def test_kill_minus_9_keeps_every_saved_update_in_order(store_path: Path) -> None:
    rng = random.Random(20240611)
    trials = [(f"trial-{i}", rng.randrange(5, BURST - 20)) for i in range(4)]
    reported = {doc: run_and_kill(store_path, doc, kill_after) for doc, kill_after in trials}

    async with await LocalStore.open(store_path, PASSPHRASE) as store:
        assert await store.list_documents() == sorted(reported)
        for doc, saved in reported.items():
            loaded = await store.load_document(doc)
            replayed = (loaded.snapshot.split(b"\n") if loaded.snapshot else []) + loaded.updates
            assert len(replayed) == loaded.last_seq >= saved
            assert replayed == [f"{doc}:{n}".encode() for n in range(len(replayed))]
            envelopes = [item.payload for item in await store.outbox_pending(doc)]
            assert envelopes == [b"env " + update for update in replayed]
        # The store keeps working after the crashes.
        assert await store.append_update("trial-0", b"after") == \
            (await store.load_document("trial-0")).last_seq
