"""Identifiers shared by every layer: compartments, team and record ids."""

from __future__ import annotations

import enum
import uuid


class Compartment(enum.IntEnum):
    """A team's data is split in compartments, each with its own document and keys.

    GENERAL holds everything every member may read; MEDICAL holds medical files, consultations
    and treatments, whose keys only health professionals' devices receive."""

    GENERAL = 0
    MEDICAL = 1


def new_id() -> str:
    """A new random record id (UUID4, canonical text form)."""
    return str(uuid.uuid4())


def new_team_id() -> bytes:
    """A new random team id: 16 random bytes (a UUID4's bytes)."""
    return uuid.uuid4().bytes
