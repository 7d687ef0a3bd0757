"""What the app holds once unlocked: the device, the open team, its sync, who is who.

Only mano_core's public API is used here; every screen reaches the engine through a Session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mano_core.device import Device
from mano_core.model.records import SubTeam
from mano_core.store import DEFAULT_KDF, KdfParams
from mano_core.sync.client import SyncClient
from mano_core.team import Team

from .i18n import Translator

MEMBER_NAMES_KEY = "memberName."   # team setting: memberName.<member id> → display name
PREFS = "tui"                      # device-local preferences (namespace of the local store)
IDLE_LOCK_KEY = "idle_lock_minutes"  # device preference: minutes before the app locks itself
IDLE_LOCK_CHOICES = (2, 5, 10, 15, 30, 60, 0)   # minutes offered (0: never)
DEFAULT_IDLE_MINUTES = 15


@dataclass
class Config:
    """What ``make_app`` is given: by the command line, the demo or a test."""

    store: Path
    relay: str | None = None
    lang: str | None = None
    kdf: KdfParams = DEFAULT_KDF
    passphrase: str | None = None        # unlock at once (demo, tests); asked for otherwise
    clock: Callable[[], dt.datetime] | None = None
    demo_steps: object | None = None     # a DemoRun while the demo prepares (tui.demo.runner)
    page_size: int = 100
    idle_clock: Callable[[], float] | None = None   # monotonic seconds (tests: a fake one)


@dataclass
class Session:
    """An unlocked device with one open team and, when a relay is known, its sync client."""

    device: Device
    team: Team
    relay: str | None
    sync: SyncClient | None = None
    subteam: str | None = None           # the current sub-team (reports, new records)
    unsubscribe: list[Callable[[], None]] = field(default_factory=list)

    @property
    def member(self) -> str:
        return self.team.info.member

    def member_name(self, member: str | None, t: Translator) -> str:
        """A member's display name, or a short id if they never gave one."""
        if not member:
            return "—"
        name = self.team.settings.get(MEMBER_NAMES_KEY + member)
        return str(name) if name else t("member.unknown", short=member[:6])

    def subteams(self) -> list[SubTeam]:
        return sorted(self.team.subteams.list(), key=lambda s: s.name)

    def subteam_name(self, subteam_id: str | None) -> str:
        for s in self.team.subteams.list():
            if s.id == subteam_id:
                return s.name
        return ""

    def members(self) -> list[tuple[str, str, bool]]:
        """(member id, role, health) of the team's active devices, from the membership log."""
        if self.sync is None:
            return [(self.member, "admin?", self.team.medical is not None)]
        seen: dict[str, tuple[str, str, bool]] = {}
        for d in self.sync.keys.log.active_devices():
            seen.setdefault(d.member, (d.member, str(getattr(d.role, "value", d.role)),
                                       d.health))
        return list(seen.values())

    async def close(self) -> None:
        for undo in self.unsubscribe:
            undo()
        if self.sync is not None:
            await self.sync.close()
        await self.device.close()


async def start_sync(session: Session) -> None:
    """Start syncing with the session's relay (if any); edits are kept offline meanwhile."""
    if session.relay and session.sync is None:
        sync = await session.device.sync(session.team, session.relay)
        await sync.__aenter__()
        session.sync = sync


async def save_pref(device: Device, key: str, value: str) -> None:
    await device.store.put(PREFS, key, value.encode())


async def load_pref(device: Device, key: str) -> str | None:
    raw = await device.store.get(PREFS, key)
    return raw.decode() if raw is not None else None
