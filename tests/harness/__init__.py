"""Test harness: one module per kind of fixture, registered for the whole suite by
tests/conftest.py (``pytest_plugins``), so no conftest imports another.

- ``relay``: a relay in this process (``relay_in_process``) or as a real subprocess
  (``relay_process``), ``RelayProcess``, ``relay_config``.
- ``devices``: real devices with real store files (``make_device``: mano_core.device.Device)
  and bare stores with their key vault (``make_vault_device``: ``VaultDevice``).
- ``postgres``: a PostgreSQL DSN with a fresh schema per test (``pg_dsn``), skipped with a
  reason when none is at hand.

A directory's conftest may say which relay its tests call ``relay`` (one line each)."""
