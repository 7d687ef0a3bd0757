"""Seeded random streams and epoch-second time helpers of the demo generator.

Each collection draws from its own stream (``Dice(seed, "persons")``), so changing how one
collection is generated leaves the others unchanged. Instants are handled as integer seconds
since the Unix epoch (fast), and turned into UTC datetimes only when a record is built.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

DAY = 86_400
_UTC = dt.timezone.utc
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_fromtimestamp = dt.datetime.fromtimestamp
# UUID4: version nibble 4 and RFC 4122 variant bits forced into 128 random bits.
_UUID_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_BITS = (0x4000 << 64) | (0x8000 << 48)


def to_datetime(ts: int) -> dt.datetime:
    """UTC datetime of epoch seconds ``ts``."""
    return _fromtimestamp(ts, _UTC)


def to_date(ts: int) -> dt.date:
    """UTC calendar day of epoch seconds ``ts``."""
    return dt.date.fromordinal(_EPOCH_ORDINAL + ts // DAY)


def day_start(day: dt.date) -> int:
    """Epoch seconds of ``day`` at 00:00 UTC."""
    return (day.toordinal() - _EPOCH_ORDINAL) * DAY


def iso_datetime(ts: int) -> str:
    """ISO 8601 text of epoch seconds ``ts`` in UTC (custom-field values are JSON-native)."""
    return to_datetime(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


class Dice:
    """One seeded random stream with the draws every generator needs."""

    __slots__ = ("_bits", "random", "rng")

    def __init__(self, seed: int, stream: str) -> None:
        self.rng = random.Random(f"mano-demo/{seed}/{stream}")
        self.random = self.rng.random
        self._bits = self.rng.getrandbits

    def id(self) -> str:
        """A record id: a UUID4 drawn from this stream (what ``uuid.UUID(int=…, version=4)``
        gives, formatted directly: this is the hottest call of the generator)."""
        h = ((self._bits(128) & _UUID_MASK) | _UUID_BITS).to_bytes(16).hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def choice(self, seq: Sequence[T]) -> T:
        """One item of non-empty ``seq``; faster than ``Random.choice``."""
        return seq[int(self.random() * len(seq))]

    def randrange(self, n: int) -> int:
        """An int in ``[0, n)`` (``n`` ≥ 1); faster than ``Random.randrange``."""
        return int(self.random() * n)

    def chance(self, p: float) -> bool:
        return self.random() < p

    def between(self, lo: int, hi: int) -> int:
        """Epoch seconds uniformly in ``[lo, hi]`` (``lo`` when the range is empty)."""
        return lo + int(self.random() * (hi - lo + 1)) if hi > lo else lo

    def moment(self, lo: int, hi: int) -> int:
        """An instant in ``[lo, hi]`` during working hours (7h–23h UTC) when it fits."""
        if hi <= lo:
            return lo
        rnd = self.random
        ts = lo + int(rnd() * (hi - lo + 1))
        ts += 25_200 + int(rnd() * 57_600) - ts % DAY
        return lo if ts < lo else hi if ts > hi else ts

    def sample(self, population: Sequence[T], k: int) -> list[T]:
        return self.rng.sample(population, min(k, len(population)))

    def weighted(self, population: Sequence[T], cum_weights: Sequence[float], k: int) -> list[T]:
        """``k`` draws with replacement, by cumulative weights."""
        return self.rng.choices(population, cum_weights=cum_weights, k=k)
