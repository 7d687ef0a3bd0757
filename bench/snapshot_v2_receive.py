"""What a version-2 snapshot buys the first sync's snapshot stage (issue 24, eleventh round): a
probe, not a figure of the suite. The same MANO-scale state sealed both ways by a member, sent
by a websocket server in its own process in the relay's parts (983,040 bytes), and received:

- v1, serial (what the first sync does now): the parts framed as they arrive
  (``snapshot.SnapshotFrame``), then ``open_snapshot_parts`` (Ed25519 over the whole blob
  beside AES-GCM, in worker threads), then one ``apply_update`` of the state into a document;
- v2, pipelined: each part handed to ``snapshot_receive.SnapshotReceiver`` as it arrives (each
  piece's SHA-256 and AES-GCM in a worker thread, then its bounded read and its apply into a
  private document, the loop handed back between pieces), then ``finish``.

Wall and CPU of this process from the request to a document holding the state, and the
longest gap of a 1 ms ticker on the loop meanwhile (what a UI would feel). No store: the
commit after it is the same work in both (the stored bytes differ only in framing). A and B
interleaved, medians.

    .venv/bin/python -m bench.snapshot_v2_receive [--rounds 5] [--scale 1]

``--first-sync v1|v2 [--repeat 2]``: the suite's figure instead (``sync_bench.
first_sync_vs_open``), the team's device uploading its snapshot as version 1 (as it does) or
version 2 (its writer patched: no device writes v2 yet), read through today's path (joined,
not pipelined). One side per process: run them interleaved.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import pycrdt
from websockets.asyncio.client import connect

from bench.snapshot_pieces import _team_state, serve_files
from mano_core.crypto import ChainState
from mano_core.ids import Compartment
from mano_core.sync import snapshot_v2
from mano_core.sync.snapshot import SnapshotFrame, open_snapshot_parts, seal_snapshot
from mano_core.sync.snapshot_receive import SnapshotReceiver
from tests.relay.kit import TeamKit

GENERAL = Compartment.GENERAL


class Ticker:
    """The longest gap between the loop's turns of a task that sleeps 1 ms."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last)
            last = now

    def stop(self) -> float:
        self._task.cancel()
        return self.longest


async def _receive(url: str, kit: TeamKit, v2: bool) -> tuple[float, float, float, int]:
    """(wall, CPU, longest loop gap, bytes) of one download into a document."""
    admin = kit["admin"]
    async with connect(url, compression=None, max_size=None) as ws:
        ticker = Ticker()
        t, cpu = time.perf_counter(), time.process_time()
        await ws.send("1" if v2 else "0")
        frame = SnapshotFrame()
        receiver = SnapshotReceiver(log=admin.log, keyring=admin.keyring, team_id=kit.team_id,
                                    compartment=GENERAL)
        async for msg in ws:
            if msg == b"end":
                break
            if msg == b"end of piece":
                continue
            assert isinstance(msg, bytes)
            if v2:
                receiver.put(msg)
            else:
                frame.add(msg)
        if v2:
            got = await receiver.finish()
            doc, size = got.doc, got.size
        else:
            snap = await open_snapshot_parts(frame, log=admin.log, keyring=admin.keyring,
                                             team_id=kit.team_id, compartment=GENERAL)
            doc = pycrdt.Doc()
            doc.apply_update(snap.state)
            size = frame.size
        wall, used = time.perf_counter() - t, time.process_time() - cpu
        await asyncio.sleep(0.005)  # the ticker's turn after the last apply: its gap counts
        longest = ticker.stop()
        assert len(doc.get("persons", type=pycrdt.Map)) > 0
        return wall, used, longest, size


async def main(rounds: int, scale: float) -> None:
    state = await _team_state(scale)
    kit = TeamKit("bob")
    bob = kit["bob"]
    chain = ChainState()
    v1 = seal_snapshot(bob.identity, bob.keyring, team_id=kit.team_id, compartment=GENERAL,
                       epoch=0, upto=1, state=state, chain=chain)
    t = time.perf_counter()
    v2 = snapshot_v2.seal_snapshot_v2(bob.identity, bob.keyring, team_id=kit.team_id,
                                      compartment=GENERAL, epoch=0, upto=1, state=state,
                                      chain=chain)
    sealed = time.perf_counter() - t
    manifest = snapshot_v2.read_manifest(v2)
    assert manifest is not None
    print(f"state {len(state):,} B; v1 blob {len(v1):,} B; v2 blob {len(v2):,} B in "
          f"{len(manifest.lengths)} pieces (manifest {manifest.size:,} B), sealed in "
          f"{sealed * 1000:.0f} ms", flush=True)
    p, url = await serve_files("snapshot-v2", [v1], [v2])
    results: dict[str, list[tuple[float, float, float, int]]] = {"v1 serial": [],
                                                                 "v2 pipelined": []}
    try:
        await _receive(url, kit, False)  # warm-up: imports, the server's first read
        await _receive(url, kit, True)
        for r in range(rounds):
            for name in results:
                got = await _receive(url, kit, name.startswith("v2"))
                results[name].append(got)
                print(f"  round {r + 1} {name:12}: wall {got[0] * 1000:5.0f} ms, CPU "
                      f"{got[1] * 1000:5.0f} ms, longest loop gap {got[2] * 1000:4.0f} ms, "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        p.kill()
        p.wait()
    med = statistics.median
    for name, runs in results.items():
        print(f"{name:12}: wall {med(r[0] for r in runs) * 1000:.0f} ms, CPU "
              f"{med(r[1] for r in runs) * 1000:.0f} ms, longest loop gap "
              f"{med(r[2] for r in runs) * 1000:.0f} ms (medians of {rounds})")


async def first_sync(version: str, repeat: int, scale: float) -> None:
    from bench import sync_bench
    from mano_core.sync import snapshot_policy

    if version == "v2":
        snapshot_policy.seal_snapshot = snapshot_v2.seal_snapshot_v2  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        r = await sync_bench.first_sync_vs_open(Path(tmp), scale, repeat)
    print(f"{version}: first sync {r['first_sync']:.3f} s (CPU {r['first_sync_cpu']:.3f} s), "
          f"open {r['open']:.3f} s, ratio {r['first_sync'] / r['open']:.2f} (medians of "
          f"{repeat}), load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--first-sync", choices=["v1", "v2"])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if args.first_sync:
        asyncio.run(first_sync(args.first_sync, args.repeat, args.scale))
    else:
        asyncio.run(main(args.rounds, args.scale))
