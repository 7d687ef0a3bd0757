"""Helper for test_crash: writes a burst to a store, printing "saved <n>" after each commit.

Usage: python crash_writer.py <path> <passphrase> <doc> <count>. Step n commits, in one
transaction, the update b"<doc>:<n>" and the outbox payload b"env <doc>:<n>"; every 25 steps it
also compacts (the snapshot is the updates so far, joined by newlines)."""

from __future__ import annotations

import asyncio
import os
import sys

from mano_core.store import TEST_KDF, LocalStore


async def main(path: str, passphrase: str, doc: str, count: int) -> None:
    if os.path.exists(path):
        store = await LocalStore.open(path, passphrase)
    else:
        store = await LocalStore.create(path, passphrase, kdf=TEST_KDF)
    written: list[bytes] = []
    for n in range(count):
        update = f"{doc}:{n}".encode()
        async with store.transaction() as tx:
            seq = await tx.append_update(doc, update)
            await tx.outbox_add(doc, b"env " + update)
        written.append(update)
        if n % 25 == 24:
            await store.write_snapshot(doc, b"\n".join(written), seq)
        print(f"saved {n}", flush=True)
    await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
