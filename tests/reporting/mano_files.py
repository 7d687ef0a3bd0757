"""Files as MANO writes them, built from MANO's labels and layout (SocialGouv/mano,
dashboard/src/scenes/data-import-export/): the full export and the persons example file.

``mano_sheet`` follows MANO's ``createSheet``: the header is every key met, in order of first
appearance, the encryption keys last; a falsy value (false, 0, "", null) is an empty cell; a
string is written as is (dates are raw ``…Z`` instants); a list of strings is joined with
``", "``; anything else (true, numbers, objects, lists of objects) is written as JSON."""

from __future__ import annotations

import io
import json
from typing import Any

from openpyxl import Workbook

ENCRYPTION = ("encryptedEntityKey", "entityKey")
ORG = "00000000-0000-4000-8000-00000000a001"

USERS = [
    {"_id": "6b0f3f0e-0000-4000-8000-000000000001", "name": "Coordinatrice A",
     "email": "coordination@example.org", "role": "admin", "healthcareProfessional": True,
     "organisation": ORG},
    {"_id": "6b0f3f0e-0000-4000-8000-000000000002", "name": "Travailleur B",
     "email": "maraude@example.org", "role": "normal", "organisation": ORG},
]
U1, U2 = USERS[0]["_id"], USERS[1]["_id"]
TEAMS = [
    {"_id": "7c1e0000-0000-4000-8000-000000000001", "name": "Maraude jour",
     "organisation": ORG, "createdAt": "2022-01-03T09:00:00.000Z",
     "updatedAt": "2022-01-03T09:00:00.000Z"},
    {"_id": "7c1e0000-0000-4000-8000-000000000002", "name": "Maraude de nuit",
     "nightSession": True, "organisation": ORG, "createdAt": "2022-01-03T09:00:00.000Z",
     "updatedAt": "2022-01-03T09:00:00.000Z"},
]
T1, T2 = TEAMS[0]["_id"], TEAMS[1]["_id"]
P1 = "a1000000-0000-4000-8000-000000000001"
P2 = "a1000000-0000-4000-8000-000000000002"
A1 = "ac000000-0000-4000-8000-000000000001"
A2 = "ac000000-0000-4000-8000-000000000002"
TERR = "7e000000-0000-4000-8000-000000000001"
PLACE = "91ace000-0000-4000-8000-000000000001"

PERSONS = [
    {  # as ExportData labels them: custom fields by label, followedSince first
        "followedSince": "2022-02-01T00:00:00.000Z", "_id": P1, "organisation": ORG,
        "name": "Personne Un", "otherNames": "Pseudo un", "gender": "Femme",
        "birthdate": "1975-03-02T00:00:00.000Z", "description": "Suivie depuis longtemps",
        "alertness": True, "wanderingAt": "2019-05-31T22:00:00.000Z",
        "phone": "0600000001", "assignedTeams": [T1, T2], "outOfActiveList": True,
        "outOfActiveListDate": "2023-06-15T00:00:00.000Z",
        "outOfActiveListReasons": ["Relai vers autre structure", "Décès"],
        "Situation personnelle": "Femme isolée", "Avec animaux": "Oui",
        "Ressources": ["RSA", "Pension d'invalidité"],
        "Type d'hébergement": "Camion aménagé",  # an option the organisation created
        "Consommations": ["Alcool", "Tabac"],
        "Langue parlée": "Arabe",  # a custom field of the organisation only
        "Nombre d'enfants": "2",
        "user": U1, "createdAt": "2022-02-01T10:00:00.000Z",
        "updatedAt": "2023-06-15T08:00:00.000Z",
        "history": [{"date": "2023-06-15T08:00:00.000Z", "user": U2,
                     "data": {"outOfActiveList": {"oldValue": False, "newValue": True},
                              "gender": {"oldValue": "Aucun", "newValue": "Femme"}}}],
        "documents": [{"_id": "doc1", "name": "carte.pdf", "type": "document"}],
        "entityKey": "secret-a",
    },
    {
        "followedSince": "2023-09-10T10:00:00.000Z", "_id": P2, "organisation": ORG,
        "name": "Personne Deux", "gender": "Homme", "assignedTeams": [T1],
        "Nombre d'enfants": "", "user": U2, "createdAt": "2023-09-10T10:00:00.000Z",
        "updatedAt": "2023-09-10T10:00:00.000Z", "entityKey": "secret-b",
    },
]
ACTIONS = [
    {"_id": A1, "organisation": ORG, "createdAt": "2023-01-10T09:00:00.000Z",
     "updatedAt": "2023-01-12T15:00:00.000Z", "completedAt": "2023-01-12T15:00:00.000Z",
     "dueAt": "2023-01-12T00:00:00.000Z", "status": "FAIT",
     "categories": ["Accompagnement", "Démarches, papiers"], "person": P1,
     "name": "Rendez-vous CAF", "description": "Avec l'assistante sociale",
     "withTime": False, "teams": [T1], "user": U2, "urgent": True,
     "history": [{"date": "2023-01-12T15:00:00.000Z", "user": U2,
                  "data": {"status": {"oldValue": "A FAIRE", "newValue": "FAIT"}}}],
     "entityKey": "k"},
    {"_id": A2, "organisation": ORG, "createdAt": "2023-09-11T09:00:00.000Z",
     "updatedAt": "2023-09-11T09:00:00.000Z", "dueAt": "2023-09-20T14:30:00.000Z",
     "status": "A FAIRE", "categories": ["Soins"], "person": P2, "name": "Pansement",
     "withTime": True, "teams": [T2], "user": U1, "group": True, "entityKey": "k"},
]
COMMENTS = [
    {"_id": "c0000000-0000-4000-8000-000000000001", "organisation": ORG,
     "comment": "Vue au parc, va mieux", "person": P1, "team": T1, "user": U2,
     "date": "2023-03-01T17:45:00.000Z", "urgent": True, "createdAt": "2023-03-01T17:46:00.000Z",
     "updatedAt": "2023-03-01T17:46:00.000Z", "entityKey": "k"},
    {"_id": "c0000000-0000-4000-8000-000000000002", "organisation": ORG,
     "comment": "Rendez-vous confirmé", "action": A1, "team": T1, "user": U1,
     "date": "2023-01-11T08:00:00.000Z", "group": True,
     "createdAt": "2023-01-11T08:00:00.000Z", "updatedAt": "2023-01-11T08:00:00.000Z",
     "entityKey": "k"},
]
TERRITORIES = [
    {"_id": TERR, "organisation": ORG, "name": "Gare du Nord", "perimeter": "Parvis et quais",
     "types": ["Lieu de conso", "Carrefour de passage"], "user": U1,
     "createdAt": "2022-03-01T09:00:00.000Z", "updatedAt": "2022-03-01T09:00:00.000Z",
     "entityKey": "k"},
]
OBSERVATIONS = [
    {"_id": "0b000000-0000-4000-8000-000000000001", "organisation": ORG,
     "territory": TERR, "user": U2, "team": T2, "observedAt": "2023-02-02T21:30:00.000Z",
     "Nombre de personnes non connues hommes rencontrées": 4,
     "Nombre de personnes non connues femmes rencontrées": 1, "Présence policière": "Oui",
     "Nombre de matériel ramassé": 12, "Ambiance": "Tensions",
     "Nombre de médiations avec les riverains / les structures": 2,
     "Commentaire": "Tensions entre groupes", "createdAt": "2023-02-02T21:35:00.000Z",
     "updatedAt": "2023-02-02T21:35:00.000Z", "entityKey": "k"},
]
PLACES = [
    {"_id": PLACE, "organisation": ORG, "name": "Square Villemin", "user": U1,
     "createdAt": "2022-04-01T09:00:00.000Z", "updatedAt": "2022-04-01T09:00:00.000Z",
     "entityKey": "k"},
]
REPORTS = [
    {"_id": "4e000000-0000-4000-8000-000000000001", "organisation": ORG,
     "date": "2023-02-02", "team": T2, "description": "Nuit froide",
     "collaborations": ["Samu social", "Croix-Rouge"],
     "createdAt": "2023-02-03T01:00:00.000Z", "updatedAt": "2023-02-03T01:00:00.000Z",
     "entityKey": "k"},
]
SERVICES = [
    {"_id": "5e000000-0000-4000-8000-000000000001", "date": "2023-02-02", "team": T2,
     "service": "Repas", "count": 14, "organisation": ORG},
    {"_id": "5e000000-0000-4000-8000-000000000002", "date": "2023-02-02", "team": T2,
     "service": "Kit hygiène", "count": 3, "organisation": ORG},
    {"_id": "5e000000-0000-4000-8000-000000000003", "date": "2023-02-05", "team": T1,
     "service": "Repas", "count": 6, "organisation": ORG},
]
PASSAGES = [
    {"_id": "9a000000-0000-4000-8000-000000000001", "organisation": ORG, "person": P1,
     "team": T1, "user": U2, "date": "2023-03-04T10:00:00.000Z", "comment": "Douche",
     "createdAt": "2023-03-04T10:00:00.000Z", "updatedAt": "2023-03-04T10:00:00.000Z",
     "entityKey": "k"},
    {"_id": "9a000000-0000-4000-8000-000000000002", "organisation": ORG, "team": T1,
     "user": U2, "date": "2023-03-04T11:00:00.000Z",  # anonymous
     "createdAt": "2023-03-04T11:00:00.000Z", "updatedAt": "2023-03-04T11:00:00.000Z",
     "entityKey": "k"},
]
RENCONTRES = [
    {"_id": "9e000000-0000-4000-8000-000000000001", "organisation": ORG, "person": P2,
     "team": T2, "user": U1, "date": "2023-09-12T22:00:00.000Z", "comment": "Sous le pont",
     "createdAt": "2023-09-12T22:05:00.000Z", "updatedAt": "2023-09-12T22:05:00.000Z",
     "entityKey": "k"},
]
CONSULTATIONS = [
    {"_id": "c5000000-0000-4000-8000-000000000001", "organisation": ORG, "person": P1,
     "name": "Suivi plaie", "type": "Infirmier", "status": "FAIT",
     "dueAt": "2023-04-01T09:00:00.000Z", "completedAt": "2023-04-01T09:30:00.000Z",
     "onlyVisibleBy": [U1], "teams": [T1], "user": U1, "Motif": "Plaie au pied",
     "createdAt": "2023-03-30T09:00:00.000Z", "updatedAt": "2023-04-01T09:30:00.000Z",
     "comments": [{"comment": "Bien cicatrisé", "date": "2023-04-01T09:30:00.000Z"}],
     "entityKey": "k"},
]
TREATMENTS = [
    {"_id": "7a000000-0000-4000-8000-000000000001", "organisation": ORG, "person": P1,
     "user": U1, "startDate": "2023-04-01T00:00:00.000Z", "endDate": "2023-04-10T00:00:00.000Z",
     "name": "Amoxicilline", "dosage": "1 g", "frequency": "2 fois par jour",
     "indication": "Infection", "createdAt": "2023-04-01T09:35:00.000Z",
     "updatedAt": "2023-04-01T09:35:00.000Z", "entityKey": "k"},
]
MEDICAL_FILES = [
    {"_id": "3f000000-0000-4000-8000-000000000001", "organisation": ORG, "person": P1,
     "Numéro de sécurité sociale": "2750375000000", "createdAt": "2023-03-30T09:00:00.000Z",
     "updatedAt": "2023-03-30T09:00:00.000Z", "entityKey": "k"},
]


def cell(value: Any) -> Any:
    if not value:
        return None
    if isinstance(value, str):
        return value[:32766]
    if isinstance(value, list) and value and isinstance(value[0], str):
        return ", ".join(value)[:32766]
    return json.dumps(value, ensure_ascii=False)[:32766]


def mano_sheet(items: list[dict[str, Any]]) -> list[list[Any]]:
    header: list[str] = []
    for item in items:
        header += [k for k in item if k not in header and k not in ENCRYPTION]
    header += list(ENCRYPTION)
    return [header] + [[cell(item.get(k)) for k in header] for item in items]


def workbook(sheets: list[tuple[str, list[list[Any]]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def full_export(*, medical: bool = True) -> bytes:
    """MANO's "Exporter les données en .xlsx", sheets in MANO's order."""
    sheets = [
        ("actions", ACTIONS), ("personnes suivies", PERSONS), ("comments", COMMENTS),
        ("territoires", TERRITORIES), ("observations de territoires", OBSERVATIONS),
        ("lieux fréquentés", PLACES), ("équipes", TEAMS), ("utilisateurs", USERS),
        ("comptes rendus", REPORTS), ("passages", PASSAGES), ("services", SERVICES),
        ("rencontres", RENCONTRES),
    ]
    if medical:
        sheets += [("consultations", CONSULTATIONS), ("treatments", TREATMENTS),
                   ("medical-files", MEDICAL_FILES)]
    return workbook([(title, mano_sheet(items)) for title, items in sheets])


# MANO's "Télécharger un exemple" for a new organisation: importable labels, one row of
# placeholders (first option, '2021-01-01', 'Oui', the current team's name, else 'test').
EXAMPLE_HEADER = [
    "Nom prénom ou Pseudonyme", "Autres pseudos", "Genre", "Date de naissance", "Description",
    "Personne très vulnérable", "En rue depuis le", "Téléphone", "Email",
    "Équipes en charge", "Suivi(e) depuis le / Créé(e) le", "Sortie de file active",
    "Date de sortie de file active", "Motifs de sortie de file active",
    "Situation personnelle", "Nationalité", "Avec animaux", "Structure de suivi social",
    "Emploi", "Ressources", "Hébergement", "Type d'hébergement",
    "Motif de la situation en rue", "Couverture(s) médicale(s)", "Structure de suivi médical",
    "Consommations", "Vulnérabilités", "Catégorie d'antécédents",
    "Informations complémentaires (antécédents)",
]
EXAMPLE_ROW = [
    "test", "test", "Aucun", "2021-01-01", "test", "Oui", "2021-01-01", "test", "test",
    "Maraude jour", "2021-01-01", "Oui", "2021-01-01", "Relai vers autre structure",
    "Aucune", "Hors UE", "Oui", "test", "DPH", "SANS", "Oui", "Logement",
    "Sortie d'hébergement", "Aucune", "test", "Alcool", "Pathologie chronique", "Psychiatrie",
    "test",
]


def persons_example(rows: list[list[Any]] | None = None) -> bytes:
    return workbook([("personne", [EXAMPLE_HEADER, *(rows or [EXAMPLE_ROW])])])
