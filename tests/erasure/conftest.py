"""Fixtures shared with the sync tests: a real relay subprocess and devices."""

from tests.sync.conftest import make_device, relay

__all__ = ["make_device", "relay"]
