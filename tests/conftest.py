"""Fixtures for the whole suite live in tests/harness/, one module per kind (see its
``__init__``); directory conftests hold only what their directory alone uses."""

pytest_plugins = ["tests.harness.relay", "tests.harness.devices", "tests.harness.postgres"]
