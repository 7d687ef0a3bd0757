"""The French text of a refusal, for the migration's report (a coordinator reads it): the
codes an import can meet (mano_core.codes); any other falls back to the English text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from mano_core.errors import ValidationError
from mano_core.codes import Code, Problem

_EXPECTED: Final = {"a number": "un nombre", "yes or no (true/false)": "oui ou non",
                    "true or false": "coché ou non", "an ISO 8601 date": "une date",
                    "an ISO 8601 date and time": "une date et une heure", "text": "du texte",
                    "a date": "une date"}

FRENCH: Final[dict[Code, str]] = {
    Code.REQUIRED: "est obligatoire",
    Code.COMMENT_TARGET_REQUIRED: "un commentaire porte sur une personne ou une action",
    Code.TOO_LONG: "dépasse {max} caractères",
    Code.TOO_MANY_ITEMS: "plus de {max} valeurs",
    Code.ITEM_TOO_LONG: "une valeur dépasse {max} caractères",
    Code.DUPLICATE_ITEMS: "une valeur est répétée",
    Code.NEGATIVE: "ne peut pas être négatif",
    Code.WRONG_TYPE: "doit être {expected}",
    Code.NOT_AN_OPTION: "doit être parmi : {options}",
    Code.COMPLETION_REQUIRED: "une date de réalisation est obligatoire au statut {status}",
    Code.COMPLETION_FORBIDDEN: "pas de date de réalisation au statut A FAIRE",
    Code.EXIT_DATE_REQUIRED: "la date de sortie de file active est obligatoire",
    Code.UNKNOWN_CUSTOM_FIELD: "champ personnalisé inconnu",
    Code.OTHER_CONSULTATION_TYPE: "champ du type de consultation {type}, pas {actual}",
    Code.NOT_IN_LIST: "absent de la liste de l'équipe ({list}) : {values}",
    Code.NOT_A_WORKBOOK: "pas un classeur XLSX ({detail})",
    Code.UNREADABLE: "illisible : {detail}",
}


def _text(value: Any) -> str:
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(v) for v in value) or "aucune"
    return _EXPECTED.get(str(value), str(value))


def french(why: ValidationError | Problem) -> str:
    """The French text of a ValidationError or of a custom value's Problem."""
    template = FRENCH.get(why.code)
    if template is None:
        return why.reason if isinstance(why, ValidationError) else str(why)
    return template.format(**{k: _text(v) for k, v in _params(why.params).items()})


def _params(params: Mapping[str, Any]) -> dict[str, Any]:
    return dict(params)
