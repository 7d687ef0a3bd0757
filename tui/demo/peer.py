"""The simulated teammate of the demo: a second device, joined through an invitation code,
that makes an edit now and then so that the newcomer sees live sync.

    python -m tui.demo.peer --store PATH --relay URL --code CODE [--every 8] [--seed 1]

Prints ``joined`` once the team's data has arrived, then one line per edit. Stops on SIGTERM
(or when its standard input closes, so that it never outlives the demo)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import random
import signal
import sys
from pathlib import Path

from mano_core.device import Device
from mano_core.errors import ManoError
from mano_core.model.records import TO_DO
from mano_core.store import INTERACTIVE_KDF, TEST_KDF, KdfParams
from mano_core.team import Team
from tui.session import MEMBER_NAMES_KEY

COMMENTS = (
    "Vu près de la gare, va mieux. Souhaite revoir l'assistante sociale.",
    "Passé à l'accueil de jour, douche et repas.",
    "A perdu ses papiers : prévoir une attestation de domiciliation.",
    "Rendez-vous CMP confirmé pour mardi.",
    "Ne souhaite pas d'hébergement ce soir, kit hygiène remis.",
)
PHONES = ("06 12 34 56 78", "07 88 12 45 90", "06 45 09 33 21")


async def one_edit(team: Team, rng: random.Random, now: dt.datetime) -> str:
    """One edit a teammate in the street would make; returns a line describing it."""
    persons = team.persons.active()
    if not persons:
        return "nothing to edit"
    person = rng.choice(persons)
    kind = rng.choice(("comment", "comment", "phone", "done", "action"))
    if kind == "comment":
        await team.comments.create(text=rng.choice(COMMENTS), person=person.id, date=now,
                                   urgent=rng.random() < 0.2)
    elif kind == "phone":
        await team.persons.update(person.id, phone=rng.choice(PHONES))
    elif kind == "done":
        todo = [a for a in team.actions.due_on(now.date()) if a.status == TO_DO]
        if todo:
            await team.actions.mark_done(rng.choice(todo).id, at=now)
        else:
            kind = "nothing due"
    else:
        subteams = team.subteams.list()
        await team.actions.create(name="Accompagnement CAF", persons=[person.id],
                                  teams=[subteams[0].id] if subteams else [],
                                  due_at=now + dt.timedelta(hours=rng.randint(1, 30)),
                                  with_time=True)
    return f"{kind} {person.name}"


async def run(store: Path, relay: str, code: str, *, every: float, seed: int,
              passphrase: str, kdf: KdfParams) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.read(1) else None)
    rng = random.Random(seed)
    async with await Device.create(store, passphrase, kdf=kdf) as device:
        team = await device.join_team(relay, code, timeout=120)
        await team.settings.set(MEMBER_NAMES_KEY + team.info.member, "Camille (démo)")
        async with await device.sync(team, relay) as sync:
            while not team.persons.list() and not stop.is_set():  # noqa: ASYNC110 - polls data
                await asyncio.sleep(0.2)
            print(f"joined {len(team.persons)}", flush=True)
            while not stop.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), every * (0.5 + rng.random()))
                if stop.is_set():
                    break
                viewed = rng.choice(team.persons.active() or [None])
                sync.set_viewing(viewed.id if viewed else None)
                try:
                    line = await one_edit(team, rng, dt.datetime.now(dt.timezone.utc))
                except ManoError as exc:
                    line = f"error {exc}"
                print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tui.demo.peer")
    p.add_argument("--store", required=True)
    p.add_argument("--relay", required=True)
    p.add_argument("--code", required=True)
    p.add_argument("--every", type=float, default=8.0, help="seconds between edits (about)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--passphrase", default="demo coequipier")
    p.add_argument("--fast-kdf", action="store_true", help="tests only: a weak KDF")
    args = p.parse_args(argv)
    asyncio.run(run(Path(args.store), args.relay, args.code, every=args.every, seed=args.seed,
                    passphrase=args.passphrase,
                    kdf=TEST_KDF if args.fast_kdf else INTERACTIVE_KDF))
    return 0


if __name__ == "__main__":
    sys.exit(main())
