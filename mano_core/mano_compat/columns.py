"""The columns of each collection's sheet: MANO's field name, our French label, the kind of
value, and the field of our record it fills.

A header is matched to a column by MANO's field name (its full export writes raw field names),
by the French label (MANO's labels for persons, ours for the other sheets, which is what our
full export writes), ignoring case and accents. ``kind`` says how the cell is read:

========== ===================================================================================
id         the record's id (kept: links between sheets stay true)
text       text; ``long`` for long text
aliases    a list of other names (``;`` between names; MANO's one text is one name)
day        a calendar day; ``instant`` a moment
bool       true/false, Oui/Non, empty is false; ``number`` a number
ref        the id (or unique name) of a record of ``target``; ``refs`` several, comma-joined
member     a member (MANO user) id; ``members`` several
values     values of the team's settings list ``target`` (missing ones are added)
value      one such value
enum       one of the fixed values ``target`` names (``GENDERS``…)
json       a JSON value (histories, documents, relations)
display    a readable copy of another column (a name beside an id): ignored on import
========== ===================================================================================
"""

from __future__ import annotations

from typing import Final

import msgspec


class Column(msgspec.Struct, frozen=True):
    field: str  # our record's wire name, or a pseudo-field: "history", "documents", "comments"
    mano: tuple[str, ...]  # MANO's field names for it
    label: str  # the French label our export writes
    kind: str
    target: str = ""


def _common(author_label: str = "Créée par") -> tuple[Column, ...]:
    return (
        Column("id", ("_id",), "Identifiant", "id"),
        Column("createdAt", ("createdAt",), "Créée le", "instant"),
        Column("updatedAt", ("updatedAt",), "Mise à jour le", "instant"),
        Column("deletedAt", ("deletedAt",), "Supprimée le", "instant"),
        Column("createdBy", ("user",), f"{author_label} (identifiant)", "member"),
        Column("createdByName", (), author_label, "display"),
        Column("updatedBy", (), "Mise à jour par (identifiant)", "member"),
    )


COMMON: Final = _common()

PERSONS: Final[tuple[Column, ...]] = (
    *COMMON,
    Column("name", ("name",), "Nom prénom ou Pseudonyme", "text"),
    Column("otherNames", ("otherNames",), "Autres pseudos", "aliases"),
    Column("gender", ("gender",), "Genre", "enum", "GENDERS"),
    Column("birthdate", ("birthdate",), "Date de naissance", "day"),
    Column("description", ("description",), "Description", "long"),
    Column("alertness", ("alertness",), "Personne très vulnérable", "bool"),
    Column("wanderingAt", ("wanderingAt",), "En rue depuis le", "day"),
    Column("phone", ("phone",), "Téléphone", "text"),
    Column("email", ("email",), "Email", "text"),
    Column("assignedTeams", ("assignedTeams",), "Équipes en charge", "refs", "subteams"),
    Column("followedSince", ("followedSince",), "Suivi(e) depuis le / Créé(e) le", "day"),
    Column("outOfActiveList", ("outOfActiveList",), "Sortie de file active", "bool"),
    Column("outOfActiveListDate", ("outOfActiveListDate",), "Date de sortie de file active",
           "day"),
    Column("outOfActiveListReasons", ("outOfActiveListReasons",),
           "Motifs de sortie de file active", "values", "outOfActiveListReasons"),
    Column("history", ("history",), "Historique", "json"),
    Column("documents", ("documents",), "Documents", "json"),
)

ACTIONS: Final[tuple[Column, ...]] = (
    *COMMON,
    Column("name", ("name",), "Nom de l'action", "text"),
    Column("description", ("description",), "Description", "long"),
    Column("persons", ("person",), "Personnes suivies (identifiants)", "refs", "persons"),
    Column("personNames", (), "Personnes suivies", "display"),
    Column("teams", ("teams", "team"), "Équipe(s) en charge", "refs", "subteams"),
    Column("dueAt", ("dueAt",), "À faire le", "instant"),
    Column("withTime", ("withTime",), "Avec heure", "bool"),
    Column("status", ("status",), "Statut", "enum", "ACTION_STATUSES"),
    Column("completedAt", ("completedAt",), "Faite le", "instant"),
    Column("categories", ("categories", "category"), "Catégorie(s)", "values",
           "actionCategories"),
    Column("urgent", ("urgent",), "Action urgente", "bool"),
    Column("structure", ("structure",), "Structure (identifiant)", "text"),
    Column("group", ("group",), "Action familiale", "bool"),
    Column("history", ("history",), "Historique", "json"),
)

COMMENTS: Final[tuple[Column, ...]] = (
    *COMMON,
    Column("text", ("comment",), "Commentaire", "long"),
    Column("person", ("person",), "Personne suivie (identifiant)", "ref", "persons"),
    Column("personName", (), "Personne suivie", "display"),
    Column("action", ("action",), "Action (identifiant)", "ref", "actions"),
    Column("actionName", (), "Action", "display"),
    Column("team", ("team",), "Équipe", "ref", "subteams"),
    Column("date", ("date",), "Date", "instant"),
    Column("urgent", ("urgent",), "Urgent", "bool"),
    Column("group", ("group",), "Commentaire familial", "bool"),
)

TERRITORIES: Final[tuple[Column, ...]] = (
    *COMMON,
    Column("name", ("name",), "Nom", "text"),
    Column("perimeter", ("perimeter",), "Périmètre", "long"),
    Column("types", ("types",), "Types", "values", "territoryTypes"),
    Column("description", ("description",), "Description", "long"),
)

OBSERVATIONS: Final[tuple[Column, ...]] = (
    *COMMON,
    Column("territory", ("territory",), "Territoire (identifiant)", "ref", "territories"),
    Column("territoryName", (), "Territoire", "display"),
    Column("team", ("team",), "Équipe", "ref", "subteams"),
    Column("observedAt", ("observedAt",), "Observée le", "instant"),
    Column("men", ("personsMale",), "Nombre de personnes non connues hommes rencontrées",
           "number"),
    Column("women", ("personsFemale",), "Nombre de personnes non connues femmes rencontrées",
           "number"),
    Column("minors", ("minors",), "Nombre de mineurs rencontrés", "number"),
    Column("police", ("police",), "Présence policière", "bool"),
    Column("material", ("material",), "Nombre de matériel ramassé", "text"),
    Column("atmosphere", ("atmosphere",), "Ambiance", "enum", "ATMOSPHERES"),
    Column("comment", ("comment",), "Commentaire", "long"),
)

PLACES: Final[tuple[Column, ...]] = (*COMMON, Column("name", ("name",), "Nom", "text"))

PERSON_PLACES: Final[tuple[Column, ...]] = (
    *COMMON,
    Column("person", ("person",), "Personne suivie (identifiant)", "ref", "persons"),
    Column("personName", (), "Personne suivie", "display"),
    Column("place", ("place",), "Lieu (identifiant)", "ref", "places"),
    Column("placeName", (), "Lieu", "display"),
)

VISITS: Final[tuple[Column, ...]] = (  # passages and encounters ("rencontres")
    *COMMON,
    Column("person", ("person",), "Personne suivie (identifiant)", "ref", "persons"),
    Column("personName", (), "Personne suivie", "display"),
    Column("team", ("team",), "Équipe", "ref", "subteams"),
    Column("date", ("date",), "Date", "instant"),
    Column("comment", ("comment",), "Commentaire", "long"),
)

REPORTS: Final[tuple[Column, ...]] = (
    *COMMON,
    Column("team", ("team",), "Équipe (identifiant)", "ref", "subteams"),
    Column("teamName", (), "Équipe", "display"),
    Column("date", ("date",), "Jour", "day"),
    Column("description", ("description",), "Description", "long"),
    Column("collaborations", ("collaborations",), "Collaborations", "values",
           "collaborations"),
)

SERVICES: Final[tuple[Column, ...]] = (  # MANO's service counters, one row per day and service
    Column("id", ("_id",), "Identifiant", "id"),
    Column("team", ("team",), "Équipe (identifiant)", "ref", "subteams"),
    Column("teamName", (), "Équipe", "display"),
    Column("date", ("date",), "Jour", "day"),
    Column("service", ("service",), "Service", "value", "services"),
    Column("count", ("count",), "Nombre", "number"),
)

SUBTEAMS: Final[tuple[Column, ...]] = (
    *COMMON,
    Column("name", ("name",), "Nom", "text"),
    Column("nightSession", ("nightSession",), "Équipe de nuit", "bool"),
)

USERS: Final[tuple[Column, ...]] = (
    Column("id", ("_id",), "Identifiant", "id"),
    Column("name", ("name",), "Nom", "text"),
    Column("email", ("email",), "Email", "text"),
)

GROUPS: Final[tuple[Column, ...]] = (
    *COMMON,
    Column("persons", ("persons",), "Personnes (identifiants)", "refs", "persons"),
    Column("personNames", (), "Personnes", "display"),
    Column("relations", ("relations",), "Relations", "json"),
)

STRUCTURES: Final[tuple[Column, ...]] = (
    *COMMON,
    Column("name", ("name",), "Nom", "text"),
    Column("categories", ("categories",), "Catégories", "values", "structureCategories"),
    Column("address", ("adresse", "address"), "Adresse", "text"),
    Column("postcode", ("postcode",), "Code postal", "text"),
    Column("city", ("city",), "Ville", "text"),
    Column("phone", ("phone",), "Téléphone", "text"),
    Column("openingHours", ("openingHours",), "Horaires", "long"),
    Column("description", ("description",), "Description", "long"),
    Column("public", ("public",), "Public", "long"),
)

CONSULTATIONS: Final[tuple[Column, ...]] = (
    *COMMON,
    Column("person", ("person",), "Personne suivie (identifiant)", "ref", "persons"),
    Column("personName", (), "Personne suivie", "display"),
    Column("name", ("name",), "Nom", "text"),
    Column("type", ("type",), "Type", "value", "consultationTypes"),
    Column("status", ("status",), "Statut", "enum", "ACTION_STATUSES"),
    Column("dueAt", ("dueAt",), "À faire le", "instant"),
    Column("completedAt", ("completedAt",), "Faite le", "instant"),
    Column("onlyVisibleBy", ("onlyVisibleBy",), "Seulement visible par (identifiants)",
           "members"),
    Column("teams", ("teams",), "Équipe(s) en charge", "refs", "subteams"),
    Column("history", ("history",), "Historique", "json"),
    Column("documents", ("documents",), "Documents", "json"),
    Column("comments", ("comments",), "Commentaires", "json"),
)

TREATMENTS: Final[tuple[Column, ...]] = (
    *COMMON,
    Column("person", ("person",), "Personne suivie (identifiant)", "ref", "persons"),
    Column("personName", (), "Personne suivie", "display"),
    Column("name", ("name",), "Nom du traitement", "text"),
    Column("dosage", ("dosage",), "Dosage", "text"),
    Column("frequency", ("frequency",), "Fréquence", "text"),
    Column("indication", ("indication",), "Indication", "long"),
    Column("startDate", ("startDate",), "Date de début", "day"),
    Column("endDate", ("endDate",), "Date de fin", "day"),
    Column("history", ("history",), "Historique", "json"),
    Column("documents", ("documents",), "Documents", "json"),
    Column("comments", ("comments",), "Commentaires", "json"),
)

MEDICAL_FILES: Final[tuple[Column, ...]] = (
    *COMMON,
    Column("person", ("person",), "Personne suivie (identifiant)", "ref", "persons"),
    Column("personName", (), "Personne suivie", "display"),
    Column("history", ("history",), "Historique", "json"),
    Column("documents", ("documents",), "Documents", "json"),
    Column("comments", ("comments",), "Commentaires", "json"),
)

MEDICAL_COMMENTS: Final[tuple[Column, ...]] = (
    *COMMON,
    Column("person", ("person",), "Personne suivie (identifiant)", "ref", "persons"),
    Column("personName", (), "Personne suivie", "display"),
    Column("text", ("comment",), "Commentaire", "long"),
    Column("date", ("date",), "Date", "instant"),
    Column("consultation", ("consultation",), "Consultation (identifiant)", "text"),
    Column("treatment", ("treatment",), "Traitement (identifiant)", "text"),
    Column("team", ("team",), "Équipe", "ref", "subteams"),
    Column("urgent", ("urgent",), "Urgent", "bool"),
)

CUSTOM_FIELDS: Final[tuple[Column, ...]] = (  # not in MANO's export: ours, for a round trip
    *COMMON,
    Column("key", ("name",), "Clé", "text"),
    Column("labelText", ("label",), "Libellé", "text"),
    Column("type", ("type",), "Type", "text"),
    Column("scope", (), "Portée", "text"),
    Column("section", (), "Groupe", "text"),
    Column("options", ("options",), "Options", "json"),
    Column("enabledTeams", ("enabledTeams",), "Équipes où il est actif", "refs", "subteams"),
    Column("showInStats", ("showInStats",), "Dans les statistiques", "bool"),
    Column("healthOnly", ("onlyHealthcareProfessional",),
           "Réservé aux professionnels de santé", "bool"),
    Column("required", ("required",), "Obligatoire", "bool"),
    Column("allowCreateOption", ("allowCreateOption",), "Options ajoutables", "bool"),
    Column("enabled", ("enabled",), "Actif", "bool"),
)

SETTINGS: Final[tuple[Column, ...]] = (  # one row per value of one of the team's lists
    Column("list", (), "Liste", "text"),
    Column("value", (), "Valeur", "text"),
)

BY_COLLECTION: Final[dict[str, tuple[Column, ...]]] = {
    "persons": PERSONS, "actions": ACTIONS, "comments": COMMENTS,
    "territories": TERRITORIES, "observations": OBSERVATIONS, "places": PLACES,
    "personPlaces": PERSON_PLACES, "passages": VISITS, "encounters": VISITS,
    "reports": REPORTS, "services": SERVICES, "subteams": SUBTEAMS, "users": USERS,
    "groups": GROUPS, "structures": STRUCTURES, "consultations": CONSULTATIONS,
    "treatments": TREATMENTS, "medicalFiles": MEDICAL_FILES,
    "medicalComments": MEDICAL_COMMENTS, "customFields": CUSTOM_FIELDS, "settings": SETTINGS,
}
# Collections whose other columns are custom fields (of this scope).
CUSTOM_SCOPES: Final[dict[str, str]] = {
    "persons": "person", "observations": "observation", "medicalFiles": "medicalFile",
    "consultations": "consultation",
}
