"""Document bodies (issue 22): attach, upload, download through a real relay subprocess.

    .venv/bin/python -m bench.documents_bench [--mib 5 20] [--repeat 3]

For each size: ``add`` on A (read, sniff, seal in 512 KiB parts, commit body and record),
the upload to the relay (first part to last ok), and on B a first ``read`` (download in ranges,
verify, keep) then a second one (from B's store, offline). Baseline in the same run: the same
bytes sealed with one AES-256-GCM call (what the encryption alone costs). Medians over
``--repeat`` runs; no figure is asserted anywhere."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mano_core.device import Device
from mano_core.store import TEST_KDF
from tests.harness.relay import PROCESS_ARGS, RelayProcess

PASS = "phrase de passe de bench"


async def until(predicate: object, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.01)


async def one_run(tmp: Path, size: int) -> dict[str, float]:
    relay = await RelayProcess(str(tmp / "relay.db"), *PROCESS_ARGS).start()
    try:
        a = await Device.create(tmp / "a.mano", PASS, kdf=TEST_KDF)
        b = await Device.create(tmp / "b.mano", PASS, kdf=TEST_KDF)
        team_a = await a.create_team("Bench")
        data = os.urandom(size)
        out: dict[str, float] = {}
        async with await a.sync(team_a, relay.url) as sa:
            person = await team_a.persons.create(name="P")
            code = await sa.create_invitation()
            team_b = await b.join_team(relay.url, code, timeout=60)
            started = time.perf_counter()
            doc = await team_a.documents.add(person.id, "scan.pdf", data)
            out["add"] = time.perf_counter() - started
            await until(lambda: not team_a.documents.uploading(doc.id))
            out["upload"] = time.perf_counter() - started - out["add"]
            async with await b.sync(team_b, relay.url):
                await until(lambda: len(team_b.documents.list()) == 1)
                started = time.perf_counter()
                got = await team_b.documents.read(doc.id)
                out["first read (download)"] = time.perf_counter() - started
                started = time.perf_counter()
                got = await team_b.documents.read(doc.id)
                out["second read (cached)"] = time.perf_counter() - started
                assert got == data
        key = AESGCM.generate_key(bit_length=256)
        started = time.perf_counter()
        AESGCM(key).encrypt(os.urandom(12), data, b"")
        out["baseline: one AES-GCM call"] = time.perf_counter() - started
        await a.close()
        await b.close()
        return out
    finally:
        await relay.stop()


async def main(sizes: list[int], repeat: int) -> None:
    for mib in sizes:
        runs = []
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(await one_run(Path(tmp), mib * 1024 * 1024))
        print(f"{mib} MiB, median of {repeat}:")
        for name in runs[0]:
            value = statistics.median(r[name] for r in runs)
            print(f"  {name:28s} {value * 1000:8.0f} ms  {mib / value:7.1f} MiB/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.mib, args.repeat))
    sys.exit(0)
