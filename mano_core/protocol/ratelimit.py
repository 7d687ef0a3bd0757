"""A token bucket with an explicit clock (sans-I/O): the per-device message rate limit."""

from __future__ import annotations


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; each message takes one.

    The caller passes the current monotonic time, so tests need no real clock."""

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._last = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens at time ``now``; False (and take nothing) if too few are left."""
        elapsed = now - self._last
        if elapsed > 0:
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            self._last = now
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False

    @property
    def tokens(self) -> float:
        """Tokens left after the last ``take``."""
        return self._tokens
