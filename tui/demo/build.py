"""Build the demo device: an encrypted store holding a generated team, uploaded to the relay.

    python -m tui.demo.build --store PATH --relay URL [--scale 1.0] [--seed 0]

Prints progress lines ``step <name>`` and finally one JSON line ``{"team": …, "code": …}``
(the invitation code the simulated teammate joins with). Run in a subprocess by the demo so
that the interface keeps drawing while the data is generated, encrypted and sent."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import time
from pathlib import Path

from mano_core.demo import generate_team
from mano_core.demo.load import load_demo
from mano_core.device import Device
from mano_core.store import INTERACTIVE_KDF, TEST_KDF, KdfParams
from tui.session import MEMBER_NAMES_KEY



def _step(name: str, started: float) -> None:
    print(f"step {name} {time.perf_counter() - started:.2f}", flush=True)


async def build(store: Path, relay: str, *, scale: float, seed: int, passphrase: str,
                reference: dt.date, kdf: KdfParams = INTERACTIVE_KDF) -> dict[str, str]:
    """Create the store, the team and its data; upload them; return team id and a code."""
    started = time.perf_counter()
    generated = generate_team(seed=seed, scale=scale, reference=reference)
    _step("generated", started)
    me = generated.members[0]
    async with await Device.create(store, passphrase, kdf=kdf) as device:
        team = await device.create_team("Maraude Nord (démo)", member=me.id, health=True)
        async with await device.sync(team, relay) as sync:
            await load_demo(team, generated)
            for member in generated.members:
                await team.settings.set(MEMBER_NAMES_KEY + member.id, member.name)
            _step("loaded", started)
            await sync.flush()
            await sync.wait_synced(timeout=600)
            _step("uploaded", started)
            code = await sync.create_invitation(role="normal", health=False)
    return {"team": team.id, "code": code, "member": me.id,
            "peer_member": generated.members[1].id}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tui.demo.build")
    p.add_argument("--store", required=True)
    p.add_argument("--relay", required=True)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--passphrase", default="demo maraude nord")
    p.add_argument("--reference", type=dt.date.fromisoformat, default=dt.date.today())
    p.add_argument("--fast-kdf", action="store_true", help="tests only: a weak KDF")
    args = p.parse_args(argv)
    result = asyncio.run(build(Path(args.store), args.relay, scale=args.scale, seed=args.seed,
                               passphrase=args.passphrase, reference=args.reference,
                               kdf=TEST_KDF if args.fast_kdf else INTERACTIVE_KDF))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
