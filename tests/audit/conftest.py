"""Devices with real store files (cheap KDF) and a real relay subprocess: the sync tests'
fixtures."""

from tests.sync.conftest import PASS, make_device, relay

__all__ = ["PASS", "make_device", "relay"]
