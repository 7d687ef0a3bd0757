"""What every device accepts from a teammate: the write rules of the role table, applied to
each update it receives, from the author's role in the signed membership log.

An update whose author may not write what it touches (a restricted member adding an action
category, a normal member adding a custom field) is refused: the device integrates a neutral
update in its place (the same clock ranges as garbage, ``ydeps.neutralised``), so the author's
later updates still integrate, and what the refused one wrote, and later edits of it, never
exist on this device; the refused bytes go to the team's quarantine with an alert naming the
author. Every device decides alike from the same log, so they converge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mano_core.crypto.log_entry import Role
from mano_core.document.ydeps import neutralised
from mano_core.ids import Compartment
from mano_core.rules.table import Power, may, setting_power
from mano_core.rules.touch import GuardedIndex, Touch

if TYPE_CHECKING:
    from mano_core.crypto.membership import MembershipLog

_ROOT_POWERS = {"customFields": Power.CUSTOM_FIELDS, "subteams": Power.SUBTEAMS}


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an update was refused: the power it needed and the author's role."""

    power: Power
    role: Role
    detail: str

    def __str__(self) -> str:
        return f"a {self.role.value} member may not write {self.power.value} ({self.detail})"


def settings_key_power(key: str, member: str) -> Power | None:
    """The power writing one key of the settings map needs from ``member`` (None: any)."""
    if key.startswith("features."):
        return Power.FEATURES
    if key.startswith("value."):
        return setting_power(key[len("value."):], member)
    return Power.SETTINGS


def check_remote_update(author_role: Role | None, author_member: str,
                        compartment: Compartment, touch: Touch) -> Refusal | None:
    """None if an author with this role (and member id) may write what ``touch`` says;
    otherwise the Refusal. Pure: the caller finds the role in the membership log. Medical
    access is checked when the envelope is opened (``MembershipLog.can_write``)."""
    role = author_role if author_role is not None else Role.RESTRICTED
    if compartment is Compartment.MEDICAL:
        return None
    for root in sorted(touch.roots & _ROOT_POWERS.keys()):
        if not may(role, _ROOT_POWERS[root]):
            return Refusal(_ROOT_POWERS[root], role, root)
    for key in sorted(touch.settings_keys):
        power = settings_key_power(key, author_member)
        if power is not None and not may(role, power):
            return Refusal(power, role, f"settings {key}")
    return None


class RemoteScreen:
    """The role table on a delivery of the general compartment, one update after the other
    in the delivery's order: the document's guarded index and the membership log are looked
    up once for the delivery, not once an update (issue 24), and an author's role only for
    an update that touches something guarded (most touch nothing)."""

    __slots__ = ("_index", "_log")

    def __init__(self, index: GuardedIndex, log: MembershipLog) -> None:
        self._index = index
        self._log = log

    def screen(self, update: bytes, author: bytes) -> tuple[bytes, Refusal | None]:
        """(the update, None) if its author may write what it touches; else (a neutral
        update to integrate instead, the Refusal). An allowed update touching guarded items
        is indexed at once: later updates of the same delivery may build on it.
        MalformedUpdateError if it is not an update."""
        index = self._index
        touch = index.touches(update)
        if not touch.roots:
            return update, None
        state = self._log.device(author)
        refusal = check_remote_update(state.role if state is not None else None,
                                      state.member if state is not None else "",
                                      Compartment.GENERAL, touch)
        if refusal is None:
            index.observe(update)
            return update, None
        return neutralised(update), refusal
