"""Embedding mano_core: open a store, join (or create) a team, add a person, print changes.

    python examples/embed.py --store me.mano --relay ws://127.0.0.1:8765 --create "Maraude"
    python examples/embed.py --store other.mano --relay ws://127.0.0.1:8765 --join CODE

The passphrase comes from MANO_PASSPHRASE (default "example passphrase" for this example).
Press Ctrl+C to stop; edits made while the relay is unreachable are sent when it is back."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from mano_core.device import Device
from mano_core.document.team_doc import ChangeEvent, Origin


async def main(args: argparse.Namespace) -> None:
    passphrase = os.environ.get("MANO_PASSPHRASE", "example passphrase")
    path = Path(args.store)
    device = await (Device.open(path, passphrase) if path.exists()
                    else Device.create(path, passphrase))
    async with device:
        if args.join:
            print("waiting for an admin device to accept the invitation…")
            team = await device.join_team(args.relay, args.join)
        elif args.create:
            team = await device.create_team(args.create, health=True)
        else:
            team = await device.open_team((await device.teams())[0].id)

        def show(event: ChangeEvent) -> None:
            if event.origin is Origin.REMOTE and event.collection == "persons":
                for person_id in event.ids:
                    person = team.persons.get(person_id, include_deleted=True)
                    print(f"teammate changed: {person.name} (phone {person.phone or '—'})")

        team.subscribe(show)
        async with await device.sync(team, args.relay) as sync:
            if args.create:
                print("invitation code for a colleague:", await sync.create_invitation())
            person = await team.persons.create(name=args.person)  # durable once this returns
            print(f"saved locally: {person.name}; sync: {sync.state.status.value}")
            while True:
                await asyncio.sleep(5)
                print(f"sync: {sync.state.status.value}, pending {sync.state.pending}, "
                      f"{len(sync.state.online_teammates())} teammate(s) online")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--relay", default="ws://127.0.0.1:8765")
    parser.add_argument("--create", metavar="TEAM NAME")
    parser.add_argument("--join", metavar="CODE")
    parser.add_argument("--person", default="Personne d'exemple")
    try:
        asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        pass
