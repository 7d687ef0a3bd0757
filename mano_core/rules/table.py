"""Who may do what: the rule table of roles (docs/security.md, "Who may do what").

One table for the engine's API (``require``: PermissionDeniedError before anything changes)
and for what every device accepts from a teammate (``mano_core.rules.remote``). Roles come
from the signed membership log (``crypto.log_entry.Role``); medical data needs the health flag
on a non-restricted role, as the log's ``has_access`` says.
"""

from __future__ import annotations

import enum
from typing import Final

from mano_core.crypto.log_entry import Role
from mano_core.errors import PermissionDeniedError


class Power(enum.StrEnum):
    """Something only some roles may do."""

    SETTINGS = "settings"            # value lists (categories, services…) and free values
    FEATURES = "features"            # feature switches (territories, passages…)
    CUSTOM_FIELDS = "customFields"   # custom-field definitions
    SUBTEAMS = "subteams"            # sub-teams and shifts
    MEMBERS = "members"              # invite, remove, change role or health flag
    REPAIR = "repair"                # repair or delete records shown as damaged
    STATISTICS = "statistics"        # compute statistics
    EXPORTS = "exports"              # export decrypted data (JSON, CSV, XLSX)


_ADMIN: Final = frozenset({Role.ADMIN})
_STAFF: Final = frozenset({Role.ADMIN, Role.NORMAL})

RULES: Final[dict[Power, frozenset[Role]]] = {
    Power.SETTINGS: _ADMIN,
    Power.FEATURES: _ADMIN,
    Power.CUSTOM_FIELDS: _ADMIN,
    Power.SUBTEAMS: _ADMIN,
    Power.MEMBERS: _ADMIN,
    Power.REPAIR: _ADMIN,
    Power.STATISTICS: _STAFF,
    Power.EXPORTS: _ADMIN,
}
"""Which roles hold each power. Everything not listed (persons, actions, comments, structures,
territories, observations, reports, passages, encounters…) any member may write; medical data
needs medical access (health flag, not restricted)."""

LABELS_FR: Final[dict[Power, str]] = {
    Power.SETTINGS: "modifier les réglages",
    Power.FEATURES: "activer ou désactiver des fonctions",
    Power.CUSTOM_FIELDS: "modifier les champs personnalisés",
    Power.SUBTEAMS: "modifier les équipes",
    Power.MEMBERS: "gérer les membres",
    Power.REPAIR: "réparer des fiches endommagées",
    Power.STATISTICS: "calculer des statistiques",
    Power.EXPORTS: "exporter des données",
}


OWN_VALUE_PREFIX: Final = "memberName."
"""Free settings a member may write for itself: ``memberName.<its member id>``, the name its
teammates see (every other free setting is a SETTINGS power)."""


def setting_power(key: str, member: str) -> Power | None:
    """The power writing free setting ``key`` needs from ``member`` (None: any member)."""
    return None if key == OWN_VALUE_PREFIX + member else Power.SETTINGS


def may(role: Role, power: Power) -> bool:
    """True if ``role`` holds ``power``."""
    return role in RULES[power]


def require(role: Role, power: Power) -> None:
    """PermissionDeniedError unless ``role`` holds ``power``."""
    if not may(role, power):
        allowed = ", ".join(sorted(r.value for r in RULES[power]))
        raise PermissionDeniedError(f"{power.value}: not allowed to a {role.value} member "
                                    f"(allowed: {allowed})")
