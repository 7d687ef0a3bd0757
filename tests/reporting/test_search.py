"""Search across collections: accents, case and word order ignored; phones by their digits."""

from __future__ import annotations

import datetime as dt

from mano_core.document.compartments import GeneralDocument
from mano_core.reporting.search import search
from mano_core.team import Team


def test_words_in_any_order_without_accents_across_collections() -> None:
    doc = GeneralDocument(author="m")
    person = doc.persons.create(name="Éloignée Très-Loin", phone="06 12 34 56 78")
    doc.actions.create(name="Rendez-vous à la préfecture", due_at=dt.datetime(
        2026, 11, 20, 10, tzinfo=dt.UTC), persons=[person.id])
    doc.comments.create(text="Vue près de la gare de l'Est, va mieux", person=person.id,
                        date=dt.datetime(2026, 11, 20, 18, tzinfo=dt.UTC))
    doc.territories.create(name="Gare de l'Est", perimeter="Parvis")
    doc.structures.create(name="Accueil de jour Saint-Éloi", phone="01.40.00.00.00")
    doc.places.create(name="Square de la préfecture")

    def found(text: str) -> set[tuple[str, str]]:
        return {(h.collection, h.label) for h in search(doc, text)}

    assert found("eloignee loin") == {("persons", "Éloignée Très-Loin")}
    assert found("PREFECTURE rendez") == {("actions", "Rendez-vous à la préfecture")}
    assert found("est gare") == {("comments", "Vue près de la gare de l'Est, va mieux"),
                                 ("territories", "Gare de l'Est")}
    assert found("préfecture") == {("actions", "Rendez-vous à la préfecture"),
                                   ("places", "Square de la préfecture")}
    assert found("0612345678") == {("persons", "Éloignée Très-Loin")}
    assert found("01 40 00") == {("structures", "Accueil de jour Saint-Éloi")}
    assert found("   ") == set() and found("introuvable") == set()


async def test_medical_records_only_with_the_medical_collections(team: Team) -> None:
    assert team.medical is not None
    person = team.persons.list()[0]
    await team.medical.treatments.create(person=person.id, name="Amoxicilline",
                                         indication="Infection dentaire")
    assert search(team, "dentaire infection") == []  # not without the medical collections
    (hit,) = search(team, "dentaire infection", medical=team.medical)
    assert (hit.collection, hit.label) == ("treatments", "Amoxicilline")
