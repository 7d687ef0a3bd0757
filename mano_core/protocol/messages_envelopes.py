"""Messages of envelopes, heads and catch-up plans (docs/protocol.md §4, §4a)."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from mano_core import limits
from mano_core.protocol.message_base import CompartmentNo, EnvelopeBytes, Message, Seq, U32


# --- envelopes ---------------------------------------------------------------------------------


class Subscribe(Message, frozen=True, tag="subscribe"):
    """Client → relay: deliver compartment ``c`` from sequence ``after + 1`` on, then live."""

    id: U32
    c: CompartmentNo
    after: Seq


class Unsubscribe(Message, frozen=True, tag="unsubscribe"):
    """Client → relay: stop live delivery of compartment ``c``; answered by ``ok``."""

    id: U32
    c: CompartmentNo


class Push(Message, frozen=True, tag="push"):
    """Client → relay: store and fan out one envelope; answered by ``ack`` once durable."""

    id: U32
    env: EnvelopeBytes


class Ack(Message, frozen=True, tag="ack"):
    """Relay → client: envelope of push ``id`` is durably stored as ``seq`` of compartment ``c``.

    ``dup`` is true when it had been stored before (same author and counter)."""

    id: U32
    c: CompartmentNo
    seq: Seq
    dup: bool = False


class Deliver(Message, frozen=True, tag="deliver"):
    """Relay → client: envelopes of compartment ``c`` as ``[seq, envelope]`` pairs, in order."""

    c: CompartmentNo
    items: Annotated[
        list[tuple[Seq, EnvelopeBytes]], Meta(max_length=limits.MAX_LIST_ITEMS_PER_FRAME)
    ]


class CaughtUp(Message, frozen=True, tag="caught_up"):
    """Relay → client: every stored envelope of ``c`` up to ``seq`` was delivered; live follows."""

    id: U32
    c: CompartmentNo
    seq: Seq


class HeadGet(Message, frozen=True, tag="head_get"):
    """Client → relay: the last sequence stored in compartment ``c`` now."""

    id: U32
    c: CompartmentNo


class Head(Message, frozen=True, tag="head"):
    """Relay → client: ``seq`` is the last sequence of ``c`` stored (committed) when the
    relay read it; a subscriber receives every envelope up to it."""

    id: U32
    c: CompartmentNo
    seq: Seq


class CatchupGet(Message, frozen=True, tag="catchup_get"):
    """Client → relay (capability ``catchup_plan``): what catching up on ``c`` from ``after``
    (the last sequence applied) would take, to choose between the envelopes and the newest
    snapshot first."""

    id: U32
    c: CompartmentNo
    after: Seq


class CatchupPlan(Message, frozen=True, tag="catchup_plan"):
    """Relay → client: ``head`` the last sequence stored; ``upto``/``size`` the newest
    snapshot's coverage and bytes (0/0: none); ``behind`` the bytes of the stored envelopes
    after ``after``; ``tail`` those after ``max(after, upto)`` (what follows the snapshot)."""

    id: U32
    c: CompartmentNo
    head: Seq
    upto: Seq
    size: Seq
    behind: Seq
    tail: Seq
