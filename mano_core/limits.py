"""Named limits. Every input Mano accepts has one; breaking it raises LimitExceededError (or the
protocol error code documented in docs/protocol.md). Each section belongs to one subsystem."""

from __future__ import annotations

from typing import Final

# --- domain records ---------------------------------------------------------------------------
MAX_TEXT_FIELD: Final = 100_000          # characters in one text field (comments, descriptions)
MAX_SHORT_FIELD: Final = 1_000           # characters in a name, phone, email, category…
MAX_LIST_ITEMS: Final = 1_000            # items in a list-valued field (aliases, categories…)

# --- local store ------------------------------------------------------------------------------
COMPACT_AFTER_UPDATES: Final = 500       # fold local updates into a snapshot after this many
MIN_PASSPHRASE_LENGTH: Final = 8

# --- crypto -----------------------------------------------------------------------------------

# --- protocol / relay -------------------------------------------------------------------------
