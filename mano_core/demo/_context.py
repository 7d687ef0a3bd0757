"""What every part of the generator shares: the seed, the clock and the staff."""

from __future__ import annotations

from dataclasses import dataclass

from mano_core.demo._dice import DAY, Dice
from mano_core.demo.team import Member

HISTORY_DAYS = 5 * 365  # persons are followed since at most five years before the reference


@dataclass(frozen=True)
class Context:
    """Fixed facts of one generation run. Instants are epoch seconds (UTC)."""

    seed: int
    now: int  # the reference day at 18:00 UTC: nothing is created after it
    members: tuple[Member, ...]
    member_ids: tuple[str, ...]
    health_members: tuple[str, ...]
    subteams: tuple[str, ...]
    street_teams: tuple[str, ...]
    night_team: str
    fixed_site: str

    @property
    def start(self) -> int:
        """The oldest instant of the team's history."""
        return self.now - HISTORY_DAYS * DAY

    def dice(self, stream: str) -> Dice:
        return Dice(self.seed, stream)

