"""Devices and a real relay, shared with the sync tests."""

from tests.sync.conftest import make_device, relay  # noqa: F401
