"""Who may take what before authenticating, counted per client address (sans-I/O: the caller
passes the monotonic clock): open unauthenticated connections, guests waiting for an
invitation answer, the pre-authentication message rate, team creations.

A member's authenticated session is limited per device (sync_server/teams.py); everything a
stranger can do is limited here, per address and relay-wide, so that no stranger fills the
connection table, the guest slots or the team table for everyone else."""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from typing import Final

from mano_core.protocol.ratelimit import TokenBucket
from sync_server.config import RelayConfig

# Addresses whose pre-authentication bucket and team-creation times are remembered after their
# last connection closed (oldest forgotten first): reconnecting does not refill a bucket.
REMEMBERED_ADDRESSES: Final = 10_000


class Admission:
    """Per-address and relay-wide counters of unauthenticated use."""

    def __init__(self, config: RelayConfig) -> None:
        self.cfg = config
        self.unauthenticated: Counter[str] = Counter()
        self.guests: Counter[str] = Counter()
        self.guest_total = 0
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._created: OrderedDict[str, deque[float]] = OrderedDict()
        self._created_all: deque[float] = deque()

    # --- connections ---------------------------------------------------------------------------

    def connect(self, address: str) -> bool:
        """A new connection from ``address``; False if that address holds too many
        unauthenticated connections already (it is not counted then)."""
        if self.unauthenticated[address] >= self.cfg.max_unauthenticated_per_address:
            return False
        self.unauthenticated[address] += 1
        return True

    def release(self, address: str, *, stranger: bool, guest: bool) -> None:
        """The connection from ``address`` authenticated or closed: stop counting it as a
        stranger (if ``stranger``) and as a guest (if ``guest``)."""
        if guest:
            self._drop_guest(address)
        if stranger:
            self._decrement(self.unauthenticated, address)

    def become_guest(self, address: str) -> bool:
        """The connection from ``address`` waits for an invitation answer; False if the
        relay's or the address's guest slots are full (it is not counted then)."""
        if (self.guest_total >= self.cfg.max_guests
                or self.guests[address] >= self.cfg.max_guests_per_address):
            return False
        self.guests[address] += 1
        self.guest_total += 1
        return True

    # --- rates ---------------------------------------------------------------------------------

    def take(self, address: str, now: float) -> bool:
        """One message before authentication from ``address``; False if over its rate."""
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = TokenBucket(self.cfg.guest_rate, self.cfg.guest_burst, now)
            self._buckets[address] = bucket
            if len(self._buckets) > REMEMBERED_ADDRESSES:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(address)
        return bucket.take(now)

    def may_create_team(self, address: str, now: float) -> str | None:
        """Record a team creation from ``address`` at ``now``, or say why it is refused
        (the address's or the relay's creations in the last hour)."""
        hour = now - 3600.0
        mine = self._created.setdefault(address, deque())
        self._created.move_to_end(address)
        for times in (mine, self._created_all):
            while times and times[0] < hour:
                times.popleft()
        if len(mine) >= self.cfg.max_teams_per_address_hour:
            return "too many teams created from this address in the last hour"
        if len(self._created_all) >= self.cfg.max_teams_per_hour:
            return "too many teams created at this relay in the last hour"
        mine.append(now)
        self._created_all.append(now)
        if len(self._created) > REMEMBERED_ADDRESSES:
            self._created.popitem(last=False)
        return None

    # --- internals -----------------------------------------------------------------------------

    def _drop_guest(self, address: str) -> None:
        if self.guests[address] > 0:
            self.guest_total -= 1
        self._decrement(self.guests, address)

    @staticmethod
    def _decrement(counter: Counter[str], address: str) -> None:
        counter[address] -= 1
        if counter[address] <= 0:
            del counter[address]
