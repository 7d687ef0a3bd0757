"""The report of an import of MANO's files, as a coordinator reads it (French, plain text).

It says, sheet by sheet, what would be (or was) created and what is already there; which
columns were not read; which custom fields were found, taken from MANO's defaults or created,
with their type and the options added; which values were added to the team's lists; what the
import cannot bring (files, medical data on a device without the medical file); and every
problem with its sheet, row and column. Text only: user data in it is never markup."""

from __future__ import annotations

from typing import Final

from .migrate import MigrationResult
from .vocabulary import LIST_LABELS

_COLLECTIONS: Final = {
    "persons": "personnes suivies", "actions": "actions", "comments": "commentaires",
    "territories": "territoires", "observations": "observations", "places": "lieux",
    "personPlaces": "lieux des personnes", "subteams": "équipes", "users": "utilisateurs",
    "reports": "comptes rendus", "passages": "passages", "services": "services (compteurs)",
    "encounters": "rencontres", "consultations": "consultations", "treatments": "traitements",
    "medicalFiles": "dossiers médicaux", "groups": "familles", "structures": "structures",
    "medicalComments": "commentaires médicaux", "customFields": "champs personnalisés",
    "settings": "listes de l'équipe",
}
_TYPES: Final = {
    "text": "texte", "textarea": "texte long", "number": "nombre", "date": "date",
    "date-with-time": "date et heure", "yes-no": "oui/non", "enum": "choix unique",
    "multi-choice": "choix multiple", "boolean": "case à cocher",
}
_SCOPES: Final = {"person": "personnes", "observation": "observations",
                  "medicalFile": "dossier médical", "consultation": "consultations"}
_LISTS: Final = LIST_LABELS
MAX_LISTED_PROBLEMS: Final = 200


def french_report(result: MigrationResult) -> str:
    """The whole report as text lines."""
    lines: list[str] = []
    if result.applied:
        lines.append(f"Import terminé : {result.created} élément(s) créé(s).")
    elif result.problems:
        lines.append(f"Import refusé : {len(result.problems)} problème(s). Rien n'a été "
                     "modifié ; corrigez le fichier et recommencez.")
    else:
        lines.append("Vérification sans problème (essai) : rien n'a été modifié. "
                     "Relancez sans --dry-run pour importer.")
    if result.sheets:
        lines += ["", "Feuilles lues :"]
        for s in result.sheets:
            what = _COLLECTIONS.get(s.collection, s.collection)
            line = f"  « {s.sheet} » ({what}) : {s.rows} ligne(s)"
            if s.collection not in ("users", "services"):
                verb = "créé(s)" if result.applied else "à créer"
                line += f", {s.new} {verb}"
                if s.present:
                    line += f", {s.present} déjà présent(s) (laissés tels quels)"
            lines.append(line)
            if s.ignored:
                lines.append(f"      colonnes non lues : {', '.join(s.ignored)}")
    created = [f for f in result.fields if f.origin != "existing"]
    extended = [f for f in result.fields if f.origin == "existing" and f.added_options]
    if created:
        lines += ["", "Champs personnalisés créés :"]
        for f in created:
            origin = "champ par défaut de MANO" if f.origin == "mano" else "type lu des valeurs"
            health = ", réservé aux professionnels de santé" if f.health_only else ""
            lines.append(f"  {f.label} ({_SCOPES.get(f.scope, f.scope)}, "
                         f"{_TYPES.get(f.type, f.type)}{health} ; {origin})")
            if f.added_options:
                lines.append(f"      options ajoutées : {', '.join(f.added_options)}")
    if extended:
        lines += ["", "Options ajoutées à des champs existants :"]
        for f in extended:
            lines.append(f"  {f.label} : {', '.join(f.added_options)}")
    if result.settings_added:
        lines += ["", "Valeurs ajoutées aux listes de l'équipe :"]
        for kind, values in result.settings_added.items():
            lines.append(f"  {_LISTS.get(kind, kind)} : {', '.join(values)}")
    if result.members:
        lines += ["", f"Utilisateurs de MANO repris comme auteurs : {len(result.members)}"]
    if result.notices:
        lines += ["", "À savoir :"]
        lines += [f"  - {n}" for n in result.notices]
    if result.problems:
        lines += ["", "Problèmes :"]
        for p in result.problems[:MAX_LISTED_PROBLEMS]:
            where = f"feuille « {p.sheet} »" if p.sheet else "fichier"
            if p.row:
                where += f", ligne {p.row}"
            if p.column:
                where += f", colonne « {p.column} »"
            lines.append(f"  {where} : {p.reason}")
        if len(result.problems) > MAX_LISTED_PROBLEMS:
            lines.append(f"  … et {len(result.problems) - MAX_LISTED_PROBLEMS} autre(s).")
    return "\n".join(lines)
