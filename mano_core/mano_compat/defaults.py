"""What a new team starts with: MANO's defaults, which an admin keeps or changes.

``apply_defaults(team)`` adds what the team lacks, never changes what it has (a field of the
same key, or a value already listed, is left as it is), so it may run again:

- person custom fields: MANO's "Informations sociales" (9 fields) and "Informations de santé"
  (6 fields, health-only: their values live in the medical compartment);
- medical-file fields ("Numéro de sécurité sociale"), the observation field MANO has beyond our
  observation record ("Nombre de médiations…"), MANO's consultation type "Médicale" with its
  field "Description";
- the out-of-active-list reasons (MANO's list), territory types (MANO's 11);
- action categories, services and structure categories in groups. MANO starts these lists
  empty; a team starts with a short list of the usual ones, grouped as MANO shows them.

``Device.create_team(..., defaults=True)`` applies them (the terminal app's first run does).
Everything is written in one transaction and one commit."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Final

import msgspec

from mano_core.ids import Compartment
from mano_core.model.records import CustomFieldDefinition, CustomFieldScope
from mano_core.team import Team

from .groups import GROUP_KEY
from .vocabulary import (
    HEALTH_FIELDS,
    HEALTH_GROUP,
    MEDICAL_FILE_FIELDS,
    OBSERVATION_FIELDS,
    OBSERVATION_RECORD_FIELDS,
    OUT_OF_ACTIVE_LIST_REASONS,
    SOCIAL_FIELDS,
    SOCIAL_GROUP,
    TERRITORY_TYPES,
    FieldSpec,
)

CONSULTATION_TYPES: Final = ("Médicale",)
CONSULTATION_FIELDS: Final = (
    FieldSpec(key="description", label="Description", type="textarea", show_in_stats=False),
)
GROUPED_DEFAULTS: Final[dict[str, tuple[tuple[str, tuple[str, ...]], ...]]] = {
    "actionCategories": (
        ("Accompagnement", ("Accompagnement physique", "Accompagnement dans les démarches",
                            "Orientation")),
        ("Droits et démarches", ("Accès aux droits", "Domiciliation", "Papiers d'identité")),
        ("Santé", ("Soins", "Santé mentale", "Addictions / RdR")),
        ("Vie quotidienne", ("Hébergement", "Alimentation", "Hygiène", "Lien social")),
    ),
    "services": (
        ("Alimentation", ("Repas", "Café", "Colis alimentaire")),
        ("Hygiène", ("Douche", "Kit hygiène", "Lessive", "Protections périodiques")),
        ("Matériel", ("Vêtements", "Duvet / couverture", "Kit RdR", "Recharge téléphone")),
    ),
    "structureCategories": (
        ("Vie quotidienne", ("Accueil de jour", "Alimentation", "Hygiène",
                             "Vestiaire / bagagerie")),
        ("Hébergement", ("Hébergement d'urgence", "Hébergement d'insertion", "SIAO / 115")),
        ("Santé", ("Santé", "Santé mentale", "Addictologie / RdR")),
        ("Droits", ("Domiciliation", "Accès aux droits", "Emploi")),
    ),
}


class DefaultsApplied(msgspec.Struct, frozen=True, kw_only=True):
    """What ``apply_defaults`` added (nothing the team already had)."""

    fields: tuple[str, ...]  # "<scope>:<key>"
    values: dict[str, list[str]]


def _definitions(team: Team) -> list[CustomFieldDefinition]:
    held = {(d.scope, d.key) for d in team.custom_fields.list(include_deleted=True)}
    now = team.compartment(Compartment.GENERAL).core.now()
    author = team.info.member
    out: list[CustomFieldDefinition] = []
    observation = [s for s in OBSERVATION_FIELDS if s.key not in OBSERVATION_RECORD_FIELDS]
    plan: list[tuple[CustomFieldScope, str, bool, tuple[FieldSpec, ...]]] = [
        ("person", SOCIAL_GROUP, False, SOCIAL_FIELDS),
        ("person", HEALTH_GROUP, True, HEALTH_FIELDS),
        ("medicalFile", "Dossier médical", True, MEDICAL_FILE_FIELDS),
        ("observation", "Observation", False, tuple(observation)),
        ("consultation", "Médicale", True, CONSULTATION_FIELDS),
    ]
    for scope, section, health, specs in plan:
        for spec in specs:
            if (scope, spec.key) in held:
                continue
            # a microsecond apart: listed by creation, the fields keep MANO's order
            at = now + dt.timedelta(microseconds=len(out))
            out.append(CustomFieldDefinition(
                id=str(uuid.uuid4()), created_at=at, updated_at=at, created_by=author,
                updated_by=author, key=spec.key, label_text=spec.label, type=spec.type,
                scope=scope, section=section, options=list(spec.options),
                show_in_stats=spec.show_in_stats, health_only=health,
                required=False, allow_create_option=spec.allow_create_option,
                consultation_types=[section] if scope == "consultation" else []))
    return out


async def apply_defaults(team: Team) -> DefaultsApplied:
    """Add MANO's defaults the team lacks (see the module docstring); durable on return."""
    holder = team.compartment(Compartment.GENERAL)
    core = holder.core
    fields = _definitions(team)
    lists: dict[str, list[str]] = {
        "outOfActiveListReasons": list(OUT_OF_ACTIVE_LIST_REASONS),
        "territoryTypes": list(TERRITORY_TYPES),
        "consultationTypes": list(CONSULTATION_TYPES),
    }
    groups: dict[tuple[str, str], str] = {}
    for kind, grouped in GROUPED_DEFAULTS.items():
        for group_title, members in grouped:
            lists.setdefault(kind, []).extend(members)
            groups.update(((kind, v), group_title) for v in members)
    added: dict[str, list[str]] = {}
    with core.doc.transaction():
        core.collections["customFields"].insert_many(fields)
        for kind, values in lists.items():
            held = set(team.settings.values(kind))
            new = [v for v in values if v not in held]
            if new:
                core.settings.add(kind, *new)  # type: ignore[attr-defined]
                added[kind] = new
                for value in new:
                    title = groups.get((kind, value))
                    if title:
                        core.settings.set(f"{GROUP_KEY}{kind}.{value}", title)  # type: ignore[attr-defined]
    await holder.commit()
    return DefaultsApplied(fields=tuple(f"{d.scope}:{d.key}" for d in fields), values=added)
