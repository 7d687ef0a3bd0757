"""welcome.caps: what a relay serves beyond version 1's base (docs/protocol.md §3)."""

from __future__ import annotations

import msgspec
import pytest

from mano_core.errors import ManoError
from mano_core.protocol import codec
from mano_core.protocol import messages as m


def test_a_welcome_without_caps_from_an_older_relay_means_none() -> None:
    old = msgspec.msgpack.encode({"t": "welcome", "version": 1, "nonce": b"\xaa" * 32,
                                  "relay": "r", "max_frame": 1 << 20})
    welcome = codec.decode(old)
    assert isinstance(welcome, m.Welcome) and welcome.caps == []


def test_capabilities_round_trip_and_are_bounded() -> None:
    welcome = m.Welcome(version=1, nonce=b"\xaa" * 32, caps=["x", "future_feature"])
    assert codec.decode(codec.encode(welcome)) == welcome
    too_many = msgspec.msgpack.encode({"t": "welcome", "version": 1, "nonce": b"\xaa" * 32,
                                       "caps": ["c"] * 65})
    with pytest.raises(ManoError):
        codec.decode(too_many)
    too_long = msgspec.msgpack.encode({"t": "welcome", "version": 1, "nonce": b"\xaa" * 32,
                                       "caps": ["c" * 65]})
    with pytest.raises(ManoError):
        codec.decode(too_long)
