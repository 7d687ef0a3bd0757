"""Helper for the crash test: seals GENERAL batches of one team until killed, printing
"sealed <counter>" after each ``TeamKeys.seal`` has returned (i.e. committed).

Usage: python seal_writer.py <store path> <passphrase> <team id hex>"""

from __future__ import annotations

import asyncio
import sys

from mano_core.crypto import Envelope
from mano_core.ids import Compartment
from mano_core.keys_at_rest import DeviceVault
from mano_core.store import LocalStore


async def main(path: str, passphrase: str, team_hex: str) -> None:
    store = await LocalStore.open(path, passphrase)
    team = await DeviceVault(store).team(bytes.fromhex(team_hex))
    n = 0
    while True:
        sealed = await team.seal(f"batch {n}".encode(), compartment=Compartment.GENERAL)
        print(f"sealed {Envelope.parse(sealed.envelope).header.counter}", flush=True)
        n += 1


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
