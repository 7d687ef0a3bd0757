"""Interface texts: French by default, English on request (--lang en or MANO_LANG=en)."""

from __future__ import annotations

import os
from typing import Final

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "fr": {
        "demo.generating": "Génération d'une équipe de démonstration (échelle {scale}, graine {seed})…",
        "demo.saved": "Équipe « {name} » enregistrée, chiffrée, dans {path} ({size:.1f} Mo).",
        "demo.passphrase": "Phrase de passe de la démo : {passphrase}",
        "demo.reopened": "Réouverture avec la phrase de passe : {seconds:.2f} s.",
        "demo.plaintext": "Recherche de « {needle} » dans les octets du fichier : {result}.",
        "demo.absent": "absent (tout est chiffré au repos)",
        "demo.present": "PRÉSENT — le fichier n'est pas chiffré",
        "summary.title": "Équipe « {name} » — contenu",
        "summary.counts": "Effectifs",
        "summary.today": "Agenda du {day} : {count} action(s)",
        "summary.overdue": "Actions en retard : {count}",
        "summary.urgent": "Informations urgentes récentes",
        "summary.person": "Dossier exemple : {name}",
        "summary.history": "Historique : {count} modification(s)",
        "summary.medical": "Compartiment médical : {count} dossier(s) médicaux (personnel soignant seulement)",
        "search.none": "Aucune personne ne correspond à « {text} ».",
        "error.passphrase": "Phrase de passe incorrecte : rien n'a été modifié.",
        "error.missing": "Aucun stockage à {path}. Lancez d'abord « mano demo ».",
        "prompt.passphrase": "Phrase de passe : ",
        "collection.persons": "personnes suivies",
        "collection.actions": "actions",
        "collection.comments": "informations transmises",
        "collection.structures": "structures",
        "collection.territories": "territoires",
        "collection.observations": "observations",
        "collection.encounters": "rencontres",
        "collection.passages": "passages",
        "collection.reports": "comptes rendus",
        "collection.groups": "familles",
    },
    "en": {
        "demo.generating": "Generating a demo team (scale {scale}, seed {seed})…",
        "demo.saved": "Team \"{name}\" saved, encrypted, in {path} ({size:.1f} MB).",
        "demo.passphrase": "Demo passphrase: {passphrase}",
        "demo.reopened": "Reopened with the passphrase: {seconds:.2f} s.",
        "demo.plaintext": "Searching \"{needle}\" in the file's bytes: {result}.",
        "demo.absent": "absent (everything is encrypted at rest)",
        "demo.present": "PRESENT — the file is not encrypted",
        "summary.title": "Team \"{name}\" — contents",
        "summary.counts": "Counts",
        "summary.today": "Agenda for {day}: {count} action(s)",
        "summary.overdue": "Overdue actions: {count}",
        "summary.urgent": "Recent urgent comments",
        "summary.person": "Sample person file: {name}",
        "summary.history": "History: {count} change(s)",
        "summary.medical": "Medical compartment: {count} medical file(s) (health staff only)",
        "search.none": "No person matches \"{text}\".",
        "error.passphrase": "Wrong passphrase: nothing was changed.",
        "error.missing": "No store at {path}. Run \"mano demo\" first.",
        "prompt.passphrase": "Passphrase: ",
        "collection.persons": "persons followed",
        "collection.actions": "actions",
        "collection.comments": "comments",
        "collection.structures": "structures",
        "collection.territories": "territories",
        "collection.observations": "observations",
        "collection.encounters": "encounters",
        "collection.passages": "passages",
        "collection.reports": "reports",
        "collection.groups": "families",
    },
}


class Translator:
    """Looks messages up in one language, falling back to French."""

    def __init__(self, lang: str | None = None) -> None:
        lang = (lang or os.environ.get("MANO_LANG") or "fr").lower()[:2]
        self.lang = lang if lang in MESSAGES else "fr"

    def __call__(self, key: str, **values: object) -> str:
        text = MESSAGES[self.lang].get(key) or MESSAGES["fr"][key]
        return text.format(**values)
