"""Helpers for sync tests: wait for a condition, build a team of several devices."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import msgspec

from pycrdt import Map

from mano_core.device import Device
from mano_core.ids import Compartment
from mano_core.sync import payload
from mano_core.team import Team, sealed_outbox


async def eventually(predicate: Callable[[], bool], timeout: float = 60.0,
                     what: str = "condition") -> None:
    """Poll ``predicate`` until true; AssertionError naming ``what`` after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def content(team: Team) -> dict[str, Any]:
    """Every record of the general document (tombstones too), compared across devices."""
    return {name: {r.id: json.loads(msgspec.json.encode(r)) for r in
                   coll.list(include_deleted=True)}
            for name, coll in team.doc.collections.items()}


async def join(admin_sync: Any, device: Device, url: str, *, role: str = "normal",
               health: bool = False) -> Team:
    """Invite ``device`` from the admin's running sync and join it."""
    code = await admin_sync.create_invitation(role=role, health=health)
    return await device.join_team(url, code, timeout=60)


async def seal_bulk_persons(team: Team, keys: Any, count: int, prefix: str) -> None:
    """Seal ``count`` envelopes of one new person each (``<prefix>-i``) straight into the
    team's sealed outbox, as weeks of a team's work would; pushed at the next sync.

    Each envelope holds its own transaction's update only, the last one the document
    recorded: any recorded before it is an edit of the team's own still waiting for its
    commit (a ×10 build of bench.ui_loop's catch-up store met some, 2026-12-03), put back
    for it, neither sealed here nor dropped."""
    core = team.compartment(Compartment.GENERAL).core
    persons = core.doc.get("persons", type=Map)
    outbox = sealed_outbox(team.id, Compartment.GENERAL)
    for i in range(count):
        with core.doc.transaction():
            persons[f"{prefix}-{i}"] = Map({"_": {"id": f"{prefix}-{i}", "name": f"N-{i}",
                                                  "createdAt": "2026-11-20T09:00:00Z",
                                                  "updatedAt": "2026-11-20T09:00:00Z"}})
        *others, update = core.drain_updates()
        core._pending[:0] = others   # (the team's own: left to its commit)
        await keys.seal(next(payload.encode_batches([update])),
                        compartment=Compartment.GENERAL, doc=outbox)
