"""Fixtures for the whole suite live in tests/harness/, one module per kind (see its
``__init__``); directory conftests hold only what their directory alone uses.

Hypothesis runs deterministically here (profile ``ci``: the same examples every run, no time
limit per example), so that a run's result never depends on a draw or on the machine's load;
``./dev test --hypothesis-profile=explore`` draws new examples (docs/reliability.md).

``./dev test`` runs the tests in two processes (pytest-xdist, ``--dist loadgroup``: see
pyproject.toml). Each test has its own ``tmp_path``, relays, ports (ephemeral) and stores;
the one shared resource is the PostgreSQL cluster, which a test restarts (an outage): every
test that reaches it runs in one worker, in the group ``postgres``. The tests of a module with
a module-scoped fixture (a fresh venv, a generated team) run in one worker too, so that the
fixture is built once."""

from __future__ import annotations

import gc

import pytest
from hypothesis import settings

pytest_plugins = ["tests.harness.relay", "tests.harness.devices", "tests.harness.postgres"]

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile("ci")

POSTGRES_FIXTURES = {"postgres_server", "pg_dsn"}


def uses_postgres(item: pytest.Item) -> bool:
    """Whether a test reaches the PostgreSQL cluster: by a fixture it names, by its id (the
    storage contracts reach ``pg_dsn`` with request.getfixturevalue), or as the benchmark
    smoke run (its relay_nodes benchmark uses MANO_TEST_POSTGRES_DSN)."""
    names = set(getattr(item, "fixturenames", ()))
    return (bool(names & POSTGRES_FIXTURES) or "postgres" in item.nodeid.lower()
            or item.nodeid.startswith("tests/bench/"))  # the benchmarks' relay_nodes


def shares_a_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    return info is not None and any(
        defs and defs[-1].scope == "module" for defs in info.name2fixturedefs.values())


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the long tests first, so
        # that no worker is left with one at the end while the other is idle (every worker
        # sorts the same collection the same way, as xdist requires)
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    for item in items:
        if uses_postgres(item):
            item.add_marker(pytest.mark.xdist_group("postgres"))
        elif shares_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The session's garbage collected now, and what is left frozen (gc.freeze), so that
    pytest's cleanup, which runs five full collections to report unraisable exceptions, has
    nothing left to walk. In a pytest-xdist worker this runs before the worker reports that it
    finished: its cleanup then runs within the 5 s execnet grants before it sends the worker a
    SIGINT, a KeyboardInterrupt that landed wherever the worker was (often in hypothesis's gc
    callback: the PytestUnraisableExceptionWarning printed at the end of ``./dev test``). A
    full collection of a worker's heap took 6.8 and 7.8 s at the end of a whole run (load
    15). What the collection finds unraisable still reaches pytest's report."""
    gc.collect()
    gc.freeze()
