"""Messages of key packages, invitations and presence (docs/protocol.md §7, §8, §9)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from mano_core import limits
from mano_core.protocol.message_base import (
    Blob, DeviceId, InviteId, Message, Proof, Seq, TeamId, U32, Verifier,
)


# --- key packages ------------------------------------------------------------------------------


class KeyPut(Message, frozen=True, tag="key_put"):
    """Client → relay: store an opaque key package for device ``to`` of the same team."""

    id: U32
    to: DeviceId
    blob: Blob


class KeyFetch(Message, frozen=True, tag="key_fetch"):
    """Client → relay: send the key packages waiting for this device."""

    id: U32


class KeyItem(msgspec.Struct, frozen=True):
    """One stored key package: relay-assigned ``kid``, sending device, opaque blob."""

    kid: Seq
    sender: DeviceId
    blob: Blob


class Keys(Message, frozen=True, tag="keys"):
    """Relay → client: key packages for this device (``id`` 0: pushed live)."""

    id: U32
    items: Annotated[list[KeyItem], Meta(max_length=limits.MAX_LIST_ITEMS_PER_FRAME)]


class KeyAck(Message, frozen=True, tag="key_ack"):
    """Client → relay: these key packages were stored by the device: delete them."""

    id: U32
    kids: Annotated[list[Seq], Meta(max_length=limits.MAX_LIST_ITEMS_PER_FRAME)]


# --- invitations -------------------------------------------------------------------------------


class InviteOpen(Message, frozen=True, tag="invite_open"):
    """Admin → relay: invitation ``invite`` may take one join request, from a client showing
    the proof whose SHA-256 is ``verifier`` (docs/protocol.md, invitations)."""

    id: U32
    invite: InviteId
    verifier: Verifier


class InviteRequest(Message, frozen=True, tag="invite_request"):
    """Client (guest or member) → relay: an opaque join request for invitation ``invite``;
    ``proof`` is the code's relay proof (SHA-256(proof) = the verifier its admin opened)."""

    id: U32
    team: TeamId
    invite: InviteId
    blob: Blob
    proof: Proof = b""  # absent from older clients: refused (FORBIDDEN)


class InviteItem(msgspec.Struct, frozen=True):
    """One waiting invitation request."""

    invite: InviteId
    blob: Blob


class InviteList(Message, frozen=True, tag="invite_list"):
    """Admin → relay: send the team's unanswered invitation requests."""

    id: U32


class Invites(Message, frozen=True, tag="invites"):
    """Relay → admin: unanswered invitation requests (``id`` 0: pushed live)."""

    id: U32
    items: Annotated[list[InviteItem], Meta(max_length=limits.MAX_LIST_ITEMS_PER_FRAME)]


class InviteAnswer(Message, frozen=True, tag="invite_answer"):
    """Admin → relay: the answer to ``invite``; relay → guest: that answer (``id``: its fetch)."""

    id: U32
    invite: InviteId
    blob: Blob


class InviteFetch(Message, frozen=True, tag="invite_fetch"):
    """Guest → relay: send the answer to ``invite`` now, or as soon as an admin answers."""

    id: U32
    team: TeamId
    invite: InviteId


# --- presence ----------------------------------------------------------------------------------


class Presence(Message, frozen=True, tag="presence"):
    """Ephemeral encrypted blob for the team's live sessions; never stored.

    Client → relay: ``device`` is ignored; relay → clients: ``device`` is the sender."""

    blob: Blob
    device: bytes = b""
