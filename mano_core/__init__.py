"""Mano core: a local-first, end-to-end encrypted sync engine for street outreach teams."""

from __future__ import annotations

__version__ = "0.1.0"
