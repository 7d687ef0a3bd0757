"""Reconnection backoff: exponential, capped, with full jitter (docs/protocol.md, "Client
behaviour"): devices cut off together by a relay restart spread their reconnections over the
whole window instead of returning in one wave at its upper half."""

from __future__ import annotations

import random

from mano_core.sync.client import Backoff


def test_each_delay_is_drawn_from_zero_to_the_doubling_capped_ceiling() -> None:
    backoff = Backoff(first=0.2, cap=30.0, rng=random.Random(7))
    for attempt in range(12):
        ceiling = min(30.0, 0.2 * 2 ** attempt)
        assert 0.0 <= backoff.next_delay() <= ceiling


def test_delays_cover_the_lower_half_of_the_window_too() -> None:
    """Equal jitter (a draw in [ceiling/2, ceiling]) would never go below half the ceiling."""
    delays = []
    for seed in range(200):
        backoff = Backoff(first=1.0, cap=1.0, rng=random.Random(seed))
        delays.append(backoff.next_delay())
    assert min(delays) < 0.1 and max(delays) > 0.9
    assert sum(d < 0.5 for d in delays) > 60  # about half of them


def test_reset_starts_again_from_the_first_delay() -> None:
    backoff = Backoff(first=0.5, cap=30.0, rng=random.Random(1))
    for _ in range(8):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 0.5
