"""A team opened from the store (split from mano_core/team.py): each compartment's document
built from its stored snapshot and the updates after it, in pieces the event loop runs
between, then what a crash left to do (a follow-up, an erasure, a compaction).
``Team._open`` and ``Team.create`` call these; ``Device.open_team`` is the way to open one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pycrdt import Doc

from mano_core.document.compartments import GeneralDocument, MedicalDocument
from mano_core.document.pieces import apply_leading, apply_stored
from mano_core.document.team_doc import DocumentCore
from mano_core.heap import bulk_decoding
from mano_core.ids import Compartment
from mano_core.slices import expect_keys, load_all, start_root_keys
from mano_core.team_collections import bind_collections
from mano_core.team_info import doc_name

if TYPE_CHECKING:
    from mano_core.team import Team


async def opened(team: Team) -> Team:
    """``team``, just made from its stored TeamInfo, loaded: its documents, erasure orders and
    attached files, then the follow-up or erasure a crash interrupted finished and the
    compactions it left due started."""
    marked = await team.follow_ups.pending()
    with bulk_decoding():  # no full collection of the heap mid-way (mano_core/heap.py)
        await load(team)
        await team.erasures.load()
        await team.documents.load()
        # A follow-up a crash interrupted, a merge's or a fold of medical files, is marked
        # (mano_core/team_followup.py; merges since this version: MERGES_MARKED).
        # Nothing else to follow: neither is read.
        merges = team.holds_merges()
        follow = marked or (merges and not await team.follow_ups.merges_marked())
        if follow and team.medical_doc is not None:  # follow() reads them all: in slices
            await load_all([team.medical_doc.collections["medicalFiles"]])
    if not team.info.synced:
        await team.erasures.enforce()  # finish an erasure a crash interrupted
    if follow:
        await team.merges.follow()
        await team.follow_ups.followed_at_open(merges)
    for holder in team.held():  # what a crash left unfolded (mano_core/team_upkeep.py)
        holder.compact_when_due()
    return team


async def load(team: Team) -> None:
    """The team's documents from the store (the medical one if this device holds it), their
    collections bound to the team."""
    general = await load_core(team, Compartment.GENERAL, None)
    assert isinstance(general, GeneralDocument)
    team.doc = general
    if team.info.medical:
        medical = await load_core(team, Compartment.MEDICAL, general)
        assert isinstance(medical, MedicalDocument)
        team.medical_doc = medical
    else:
        team.medical_doc = None
    bind_collections(team)


async def load_core(team: Team, compartment: Compartment,
                    general: GeneralDocument | None) -> DocumentCore:
    """One compartment's document from the store, held by the team (``general``: the general
    document, for the medical one; None: this is the general one)."""
    name = doc_name(team.id, compartment)
    loaded = await team.store.load_document(name)
    # The snapshot is stored in pieces (compaction cuts it): applied one at a time, the
    # event loop runs between them (issue 24: one apply_update of a MANO-scale state holds
    # it, and the GIL, for 0.3 s).
    doc: Doc[Any] = Doc()
    hints = start_root_keys(loaded.snapshot, loaded.updates)  # record ids, off the loop
    if loaded.snapshot:
        await apply_stored(doc, loaded.snapshot)
    # So are the updates after it that integrate at once (a first sync's snapshot is one);
    # the others are left to the document, which parks them.
    updates = await apply_leading(doc, list(loaded.updates))
    core: DocumentCore
    if general is None:
        core = GeneralDocument(author=team.info.member, clock=team.clock, doc=doc,
                               updates=updates)
        holder = team.hold(compartment, core)
        # The role screening's index is built later from these bytes, not from an
        # encoding of the whole state on the loop (mano_core.guarded_build).
        team.guarded.adopt(core, loaded.snapshot, loaded.updates)
    else:
        core = MedicalDocument(custom_fields=lambda: general.custom_fields.list(),  # noqa: PLW0108
                               settings=general.settings, author=team.info.member,
                               clock=team.clock, doc=doc, updates=updates)
        holder = team.hold(compartment, core)
    expect_keys(core, hints)   # its first read takes them (checked: Collection.loading)
    holder.last_seq = loaded.last_seq
    holder.stored_snapshot(len(loaded.snapshot or b""), loaded.updates)
    return core
