"""The medical compartment comes and goes with the health flag: opened when it is granted
(``enable_medical``, which moves health-only values into it), closed and deleted from this
device when it is withdrawn (``drop_medical``), and this device's medical edits kept meanwhile
(``withheld_edits``, ``discard_withheld_edits``). ``Team`` (mano_core/team.py) offers each as
a method of the same name: call those."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec

from mano_core.document.change_types import ChangeEvent, Origin
from mano_core.document.compartments import MedicalDocument
from mano_core.ids import Compartment
from mano_core.slices import load_kept
from mano_core import team_load
from mano_core.team_collections import bind_medical
from mano_core.team_info import TEAMS_NAMESPACE, doc_name, local_outbox, sealed_outbox
from mano_core.team_sealing import commit_together

if TYPE_CHECKING:
    from mano_core.team import Team


async def enable_medical(team: Team) -> bool:
    """Open the medical compartment on this device (its health flag was granted: the sync
    client calls this when the log says so). True if it was not open."""
    if team.medical_doc is not None:
        return False
    team.info = msgspec.structs.replace(team.info, medical=True)
    await team.store.put(TEAMS_NAMESPACE, team.info.id, msgspec.msgpack.encode(team.info))
    medical = await team_load.load_core(team, Compartment.MEDICAL, team.doc)
    assert isinstance(medical, MedicalDocument)
    team.medical_doc = medical
    bind_medical(team)
    await team.move_health_values()
    await team.merges.follow()  # the medical part of merges made without medical keys
    return True


async def move_health_values(team: Team) -> int:
    """On a device holding the medical compartment: move health-only values still held by
    general person records into it (mano_core.document.health), so devices without
    medical keys stop receiving them. Returns how many persons were cleaned."""
    if team.medical_doc is None:
        return 0
    # Reads every person: decoded first in slices, so that opening a team (which calls
    # this) does not hold the event loop for the whole first read (mano_core.slices),
    # and with full collections postponed, the records then frozen as the first read's
    # are (mano_core/heap.py: a full collection mid-way held the loop for 90 ms at ×10).
    await load_kept([team.doc.persons])
    moved = team.doc.persons.move_health_values()
    await commit_together(team)
    return moved


async def drop_medical(
        team: Team, also: Callable[[Any], Awaitable[None]] | None = None) -> bool:
    """Close the medical compartment and delete everything of it from this device's store
    (its health flag was withdrawn, or its role made restricted), but for this device's own
    work not at the relay yet: its medical outboxes and the document bodies it owes
    (``withheld_edits``, ``documents.withheld``). True if it was open.
    ``also(tx)`` writes in the same transaction (the sync client forgets its position)."""
    if team.medical_doc is None:
        return False
    holder = team.compartment(Compartment.MEDICAL)
    # (a compaction started in the background waits, then finds it gone: it would write the
    # deleted document's snapshot back otherwise)
    async with holder.merging:
        if team.medical_doc is None:  # (dropped by another task meanwhile)
            return False
        async with team.store.transaction() as tx:
            if also is not None:
                await also(tx)
            # Documents attached here whose bodies the relay does not hold yet are kept
            # (withheld), not lost with the compartment: handed over if the flag comes back.
            kept = await team.documents.withhold(tx, Compartment.MEDICAL)
            # So are this device's medical edits not at the relay yet: its two medical
            # outboxes stay, inert (nothing is sealed or pushed for a compartment it does not
            # sync), until the flag comes back (sent then) or ``discard_withheld_edits``.
            await tx.delete_document(doc_name(team.id, Compartment.MEDICAL))
            team.info = msgspec.structs.replace(team.info, medical=False)
            await tx.put(TEAMS_NAMESPACE, team.info.id, msgspec.msgpack.encode(team.info))
        team.doc.persons.detach_health()
        team.medical_doc = None
        team._medical = None
    team.medical = None
    kept()
    await team.documents.drop_compartment(Compartment.MEDICAL)
    team._dispatch([ChangeEvent(Compartment.MEDICAL, name, frozenset(), Origin.REMOTE)
                    for name in ("persons", "medicalFiles", "consultations", "treatments")])
    return True


async def withheld_edits(team: Team) -> int:
    """This device's medical edits kept since it lost the compartment (its health flag
    withdrawn before they reached the relay): 0 while it holds it."""
    if team.medical_doc is not None:
        return 0
    return sum([await team.store.outbox_size(local_outbox(team.id, Compartment.MEDICAL)),
                await team.store.outbox_size(sealed_outbox(team.id, Compartment.MEDICAL))])


async def discard_withheld_edits(team: Team) -> int:
    """Delete the withheld medical edits for good (``withheld_edits``); returns how many.
    Nothing while this device holds the compartment (they are being sent)."""
    count = await team.withheld_edits()
    if count:
        async with team.store.transaction() as tx:
            await tx.delete_document(local_outbox(team.id, Compartment.MEDICAL))
            await tx.delete_document(sealed_outbox(team.id, Compartment.MEDICAL))
    return count
