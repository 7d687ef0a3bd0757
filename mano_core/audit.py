"""Verifiable field history (docs/security.md, "Audit"). Placeholder wired by Team.attach_keys;
filled in by the audit work of issue 11."""

from __future__ import annotations

from typing import Any


def bind(team: Any, keys: Any) -> None:
    """Make ``team``'s documents sign the history entries they write with ``keys``."""
