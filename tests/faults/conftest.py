"""Fixtures of the sync tests (devices, a relay subprocess), reused by the fault suites."""

from tests.sync.conftest import PASS, make_device, relay  # noqa: F401
