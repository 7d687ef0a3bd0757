"""Would a snapshot in separately applied pieces pay (issue 24, eighth round)? A probe, not a
figure of the suite: it measures the two things the design rests on, on a MANO-scale state.

1. The producer: the state cut into Yjs v1 updates in dependency order, each integrable at
   once by a document holding the pieces before it: ``mano_core.document.pieces.cut``, the
   cut the store's compaction and the open already use (compiled reader), at the relay's part
   size; what it costs, and that the pieces rebuild the same document.
2. The new device: download + apply in series (the whole state received, then one
   ``apply_update``: what the first sync does now) against the pieces applied each as it is
   complete while the rest streams in (the overlap), through a websocket server in its own
   process sending 983,040-byte frames as the relay does; A and B interleaved.

No signature, no decryption, no store: only the download and pycrdt's apply, the part of the
first sync the pieces would overlap.

    .venv/bin/python -m bench.snapshot_pieces [--piece-bytes 983040] [--rounds 3] [--scale 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pycrdt
from websockets.asyncio.client import connect

from mano_core.document import pieces as cutter

FRAME = 983_040  # limits.MAX_SNAPSHOT_CHUNK: the relay's parts

SERVER = """
import asyncio, sys
from pathlib import Path
from websockets.asyncio.server import serve
FRAME = 983040
def pieces(raw):
    out, pos = [], 0
    while pos < len(raw):
        n = int.from_bytes(raw[pos:pos + 8], "big")
        out.append(raw[pos + 8:pos + 8 + n])
        pos += 8 + n
    return out
blobs = [pieces(Path(p).read_bytes()) for p in sys.argv[1:]]
async def handler(ws):
    async for msg in ws:
        for piece in blobs[int(msg)]:
            for i in range(0, len(piece), FRAME):
                await ws.send(piece[i:i + FRAME])
            await ws.send(b"end of piece")
        await ws.send(b"end")
async def main():
    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening on ws://127.0.0.1:{port}", file=sys.stderr, flush=True)
        await asyncio.Future()
asyncio.run(main())
"""


async def _team_state(scale: float) -> bytes:
    from mano_core.demo import generate_team
    from mano_core.demo.load import load_demo
    from mano_core.device import Device
    from mano_core.ids import Compartment
    from mano_core.store import TEST_KDF

    tmp = Path(tempfile.mkdtemp(prefix="snapshot-pieces"))
    device = await Device.create(tmp / "a.mano", "benchmark passphrase", kdf=TEST_KDF)
    team = await device.create_team("Bench")
    await load_demo(team, generate_team(seed=0, scale=scale))
    state: bytes = team.compartment(Compartment.GENERAL).core.doc.get_update()
    await device.close()
    return state


async def _download(url: str, which: int, pipelined: bool) -> tuple[float, float, float]:
    """(wall, CPU of this process, longest apply) of one download and apply."""
    async with connect(url, compression=None, max_size=None) as ws:
        t, cpu, longest = time.perf_counter(), time.process_time(), 0.0
        doc, parts, pending = pycrdt.Doc(), bytearray(), []
        await ws.send(str(which))
        async for msg in ws:
            if msg == b"end":
                break
            if msg == b"end of piece":
                pending.append(bytes(parts))
                parts.clear()
                if pipelined:  # applied now, while the next piece streams in
                    a = time.perf_counter()
                    doc.apply_update(pending.pop())
                    longest = max(longest, time.perf_counter() - a)
                continue
            assert isinstance(msg, bytes)
            parts += msg
        for update in pending:
            a = time.perf_counter()
            doc.apply_update(update)
            longest = max(longest, time.perf_counter() - a)
        return time.perf_counter() - t, time.process_time() - cpu, longest


def _framed(pieces: list[bytes]) -> bytes:
    """Pieces each after its length (8 bytes, big-endian), for the server's file."""
    return b"".join(len(p).to_bytes(8, "big") + p for p in pieces)


async def serve_files(prefix: str, first: list[bytes],
                      second: list[bytes]) -> tuple[subprocess.Popen[bytes], str]:
    """The SERVER child (it dies with this process) serving ``first`` as download 0 and
    ``second`` as download 1, each written framed to a file; (the process, its URL)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    (tmp / "0").write_bytes(_framed(first))
    (tmp / "1").write_bytes(_framed(second))
    p = subprocess.Popen([sys.executable, "-m", "tui.demo.child", str(os.getpid()), "--",
                          "-c", SERVER, str(tmp / "0"), str(tmp / "1")],
                         stderr=subprocess.PIPE, cwd=Path(__file__).parents[1])
    assert p.stderr is not None
    line = await asyncio.get_running_loop().run_in_executor(None, p.stderr.readline)
    port = re.search(rb":(\d+)", line)
    assert port
    return p, f"ws://127.0.0.1:{int(port.group(1))}"


async def main(piece_bytes: int, rounds: int, scale: float) -> None:
    state = await _team_state(scale)
    doc = pycrdt.Doc()
    doc.apply_update(state)
    splits = []
    for _ in range(3):
        t = time.perf_counter()
        split = cutter.cut(state, piece_bytes)
        assert split is not None
        splits.append(time.perf_counter() - t)
    check = pycrdt.Doc()
    for piece in split:
        check.apply_update(piece)
    same = check.get_state() == doc.get_state() and all(
        check.get(name, type=pycrdt.Map).to_py() == doc.get(name, type=pycrdt.Map).to_py()
        for name in doc)
    print(f"state {len(state):,} bytes in {len(split)} pieces of ≤ {max(map(len, split)):,}; cut "
          f"{statistics.median(splits) * 1000:.0f} ms (median of 3); same document: {same}")
    p, url = await serve_files("snapshot-pieces", [state], split)
    results: dict[str, list[tuple[float, float, float]]] = {"serial": [], "pipelined": []}
    try:
        for r in range(rounds):
            for name in ("serial", "pipelined"):
                got = await _download(url, 0 if name == "serial" else 1, name == "pipelined")
                results[name].append(got)
                print(f"  round {r + 1} {name:9}: wall {got[0] * 1000:6.0f} ms, CPU "
                      f"{got[1] * 1000:6.0f} ms, longest apply {got[2] * 1000:5.0f} ms, load "
                      f"{os.getloadavg()[0]:.1f}", flush=True)
    finally:
        p.kill()
        p.wait()
    for name, runs in results.items():
        print(f"{name:9}: wall {statistics.median(r[0] for r in runs) * 1000:.0f} ms, CPU "
              f"{statistics.median(r[1] for r in runs) * 1000:.0f} ms, longest apply "
              f"{statistics.median(r[2] for r in runs) * 1000:.0f} ms (medians of {rounds})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--piece-bytes", type=int, default=FRAME)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(main(args.piece_bytes, args.rounds, args.scale))
