"""Fixtures for the whole suite live in tests/harness/, one module per kind (see its
``__init__``); directory conftests hold only what their directory alone uses.

Hypothesis runs deterministically here (profile ``ci``: the same examples every run, no time
limit per example), so that a run's result never depends on a draw or on the machine's load;
``./dev test --hypothesis-profile=explore`` draws new examples (docs/reliability.md)."""

from hypothesis import settings

pytest_plugins = ["tests.harness.relay", "tests.harness.devices", "tests.harness.postgres"]

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile("ci")
