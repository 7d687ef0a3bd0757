"""A device as a separate process, for crash tests: opens its store, syncs (if a relay URL is
given) and creates persons "<prefix>-<i>", printing "saved <i>" once each is committed."""

from __future__ import annotations

import asyncio
import contextlib
import sys

from mano_core.device import Device


async def main(path: str, passphrase: str, team_id: str, url: str, prefix: str,
               count: int) -> None:
    async with await Device.open(path, passphrase) as device:
        team = await device.open_team(team_id)
        sync = await device.sync(team, url) if url != "-" else None
        async with (sync if sync is not None else contextlib.nullcontext()):
            for i in range(count):
                await team.persons.create(name=f"{prefix}-{i}")
                print(f"saved {i}", flush=True)
                await asyncio.sleep(0.01)
            print("done", flush=True)
            await asyncio.sleep(3600)  # wait to be killed


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5],
                     int(sys.argv[6])))
