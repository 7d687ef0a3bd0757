"""MANO's vocabulary, as its users and its files spell it (SocialGouv/mano, read to learn).

Labels, option lists and sheet names must match MANO's to the character: a coordinator
migrating an organisation brings files MANO wrote, and a team keeping MANO's defaults expects
the same words on screen. Field names (``personalSituation``…) are MANO's keys; we reuse them as
our custom-field keys so that a value keeps its meaning across the move."""

from __future__ import annotations

from typing import Final

import msgspec

from mano_core.model.records import CustomFieldType


class FieldSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One of MANO's default custom fields."""

    key: str
    label: str
    type: CustomFieldType
    options: tuple[str, ...] = ()
    show_in_stats: bool = True
    required: bool = False
    allow_create_option: bool = False


# --- persons ----------------------------------------------------------------------------------

# MANO field name → (our field, label). The labels are those of MANO's person form, its persons
# example file and its import; our exports use them too.
PERSON_FIELDS: Final[tuple[tuple[str, str, str], ...]] = (
    ("name", "name", "Nom prénom ou Pseudonyme"),
    ("otherNames", "other_names", "Autres pseudos"),
    ("gender", "gender", "Genre"),
    ("birthdate", "birthdate", "Date de naissance"),
    ("description", "description", "Description"),
    ("alertness", "alertness", "Personne très vulnérable"),
    ("wanderingAt", "wandering_at", "En rue depuis le"),
    ("phone", "phone", "Téléphone"),
    ("email", "email", "Email"),
    ("assignedTeams", "assigned_teams", "Équipes en charge"),
    ("followedSince", "followed_since", "Suivi(e) depuis le / Créé(e) le"),
    ("outOfActiveList", "out_of_active_list", "Sortie de file active"),
    ("outOfActiveListDate", "out_of_active_list_date", "Date de sortie de file active"),
    ("outOfActiveListReasons", "out_of_active_list_reasons", "Motifs de sortie de file active"),
)

OUT_OF_ACTIVE_LIST_REASONS: Final[tuple[str, ...]] = (
    "Relai vers autre structure", "Hébergée", "Décès", "Incarcération",
    "Départ vers autre région", "Perdu de vue", "Hospitalisation",
    "Reconduite à la frontière", "Autre",
)

SOCIAL_GROUP: Final = "Informations sociales"
HEALTH_GROUP: Final = "Informations de santé"

SOCIAL_FIELDS: Final[tuple[FieldSpec, ...]] = (
    FieldSpec(key="personalSituation", label="Situation personnelle", type="enum", options=(
        "Aucune", "Homme isolé", "Femme isolée", "En couple", "Famille",
        "Famille monoparentale", "Mineur", "Autre")),
    FieldSpec(key="nationalitySituation", label="Nationalité", type="enum",
              options=("Hors UE", "UE", "Française", "Apatride")),
    FieldSpec(key="hasAnimal", label="Avec animaux", type="yes-no"),
    FieldSpec(key="structureSocial", label="Structure de suivi social", type="text"),
    FieldSpec(key="employment", label="Emploi", type="enum", options=(
        "DPH", "CDD", "CDDI", "CDI", "Interim", "Bénévolat", "Sans activité", "Étudiant",
        "Non déclaré", "Autre")),
    FieldSpec(key="resources", label="Ressources", type="multi-choice", options=(
        "SANS", "ARE", "RSA", "AAH", "ADA", "ATA", "Retraite", "Salaire",
        "Allocation Chômage", "Indemnités journalières", "Mendicité", "Aide financière CCAS",
        "Revenus de Formations", "Pension d'invalidité", "Contrat d'engagement jeune",
        "Contrat jeune majeur", "Autre")),
    FieldSpec(key="address", label="Hébergement", type="yes-no"),
    FieldSpec(key="addressDetail", label="Type d'hébergement", type="enum", options=(
        "Logement", "Hébergement association", "Chez un tiers", "Mise à l'abri",
        "Logement accompagné", "Urgence", "Insertion", "Hôtel", "Autre"),
        allow_create_option=True),
    FieldSpec(key="reasons", label="Motif de la situation en rue", type="multi-choice",
              options=(
                  "Sortie d'hébergement", "Expulsion de logement/hébergement",
                  "Départ du pays d'origine", "Départ de région", "Rupture familiale",
                  "Perte d'emploi", "Sortie d'hospitalisation", "Problème de santé",
                  "Sortie d'ASE", "Sortie de détention", "Rupture de soins", "Autre")),
)

HEALTH_FIELDS: Final[tuple[FieldSpec, ...]] = (
    FieldSpec(key="healthInsurances", label="Couverture(s) médicale(s)", type="multi-choice",
              options=("Aucune", "Régime Général", "PUMa", "AME", "CSS", "Autre")),
    FieldSpec(key="structureMedical", label="Structure de suivi médical", type="text"),
    FieldSpec(key="consumptions", label="Consommations", type="multi-choice", options=(
        "Alcool", "Amphétamine/MDMA/Ecstasy", "Benzodiazépines", "Buprénorphine/Subutex",
        "Cocaïne", "Crack", "Cannabis", "Héroïne", "Lyrica", "Méthadone", "Moscantin/Skénan",
        "Tabac", "Tramadol")),
    FieldSpec(key="vulnerabilities", label="Vulnérabilités", type="multi-choice",
              options=("Pathologie chronique", "Psychologique", "Injecteur", "Handicap")),
    FieldSpec(key="caseHistoryTypes", label="Catégorie d'antécédents", type="multi-choice",
              options=(
                  "Psychiatrie", "Neurologie", "Dermatologie", "Pulmonaire",
                  "Gastro-enterologie", "Rhumatologie", "Cardio-vasculaire", "Ophtalmologie",
                  "ORL", "Dentaire", "Traumatologie", "Endocrinologie", "Uro-gynéco", "Cancer",
                  "Addiction alcool", "Addiction autres", "Hospitalisation")),
    FieldSpec(key="caseHistoryDescription", label="Informations complémentaires (antécédents)",
              type="textarea"),
)

# --- other scopes -----------------------------------------------------------------------------

MEDICAL_FILE_FIELDS: Final[tuple[FieldSpec, ...]] = (
    FieldSpec(key="numeroSecuriteSociale", label="Numéro de sécurité sociale", type="text",
              show_in_stats=False),
)

# MANO's territory observation fields. Five of them are fields of our observation record
# (``OBSERVATION_RECORD_FIELDS``); the others are custom fields.
OBSERVATION_FIELDS: Final[tuple[FieldSpec, ...]] = (
    FieldSpec(key="personsMale", label="Nombre de personnes non connues hommes rencontrées",
              type="number", required=True),
    FieldSpec(key="personsFemale", label="Nombre de personnes non connues femmes rencontrées",
              type="number", required=True),
    FieldSpec(key="police", label="Présence policière", type="yes-no", required=True),
    FieldSpec(key="material", label="Nombre de matériel ramassé", type="number",
              required=True),
    FieldSpec(key="atmosphere", label="Ambiance", type="enum",
              options=("Violences", "Tensions", "RAS"), required=True),
    FieldSpec(key="mediation", label="Nombre de médiations avec les riverains / les structures",
              type="number", required=True),
    FieldSpec(key="comment", label="Commentaire", type="textarea", required=True),
)
OBSERVATION_RECORD_FIELDS: Final[dict[str, str]] = {
    "personsMale": "men", "personsFemale": "women", "police": "police",
    "material": "material", "atmosphere": "atmosphere", "comment": "comment",
}

TERRITORY_TYPES: Final[tuple[str, ...]] = (
    "Lieu de conso", "Lieu de deal", "Carrefour de passage", "Campement", "Lieu de vie",
    "Prostitution", "Errance", "Mendicité", "Loisir", "Rassemblement communautaire",
    "Historique",
)

# MANO ships no default action categories, services or structure categories (an organisation
# starts with empty lists); when it has ungrouped ones, it shows them in one group so titled.
ALL_CATEGORIES_GROUP: Final = "Toutes mes catégories"
ALL_SERVICES_GROUP: Final = "Tous mes services"

# --- the full export ("Exporter les données en .xlsx") ----------------------------------------

# Sheet name → our collection, in MANO's order. Sheet names are matched ignoring case and
# accents; "person" anywhere in a name is the persons sheet, as MANO's own import does.
EXPORT_SHEETS: Final[tuple[tuple[str, str], ...]] = (
    ("actions", "actions"),
    ("personnes suivies", "persons"),
    ("comments", "comments"),
    ("territoires", "territories"),
    ("observations de territoires", "observations"),
    ("lieux fréquentés", "places"),
    ("équipes", "subteams"),
    ("utilisateurs", "users"),
    ("comptes rendus", "reports"),
    ("passages", "passages"),
    ("services", "services"),
    ("rencontres", "encounters"),
    ("consultations", "consultations"),
    ("treatments", "treatments"),
    ("medical-files", "medicalFiles"),
)
# Sheets MANO's export does not write but ours does (and MANO's API holds): accepted too.
EXTRA_SHEETS: Final[tuple[tuple[str, str], ...]] = (
    ("champs personnalisés", "customFields"),
    ("listes", "settings"),
    ("commentaires médicaux", "medicalComments"),
    ("relations personne-lieu", "personPlaces"),
    ("relsPersonPlace", "personPlaces"),
    ("familles", "groups"),
    ("structures", "structures"),
)
MEDICAL_SHEETS: Final = frozenset({"consultations", "treatments", "medicalFiles",
                                   "medicalComments"})

# Columns MANO's export writes that carry no data of the team (encryption, tenancy).
TECHNICAL_COLUMNS: Final = frozenset({
    "organisation", "encryptedEntityKey", "entityKey", "encrypted", "debug", "migrations",
})

# The team's lists, as the "listes" sheet and the reports name them.
LIST_LABELS: Final[dict[str, str]] = {
    "actionCategories": "catégories d'actions", "collaborations": "collaborations",
    "territoryTypes": "types de territoires", "services": "services",
    "consultationTypes": "types de consultations",
    "structureCategories": "catégories de structures",
    "outOfActiveListReasons": "motifs de sortie de file active",
}
