"""Medical records and the team's lists: consultation types with their own fields, medical-file
fields checked, list values refused even while the list is empty, and a code on every refusal."""

from __future__ import annotations

import datetime as dt

import pytest

from mano_core.document.compartments import GeneralDocument, MedicalDocument
from mano_core.errors import ValidationError
from mano_core.codes import TEMPLATES, Code

WHEN = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)


def docs() -> tuple[GeneralDocument, MedicalDocument]:
    general = GeneralDocument(author="m")
    medical = MedicalDocument(custom_fields=general.custom_fields.list,
                              settings=general.settings, author="m")
    return general, medical


def refused(code: Code, field: str | None = None):
    class _Check:
        def __enter__(self):
            self.raises = pytest.raises(ValidationError)
            self.info = self.raises.__enter__()
            return self

        def __exit__(self, *exc):
            handled = self.raises.__exit__(*exc)
            assert self.info.value.code is code, self.info.value
            if field is not None:
                assert self.info.value.field == field
            return handled

    return _Check()


def test_a_consultation_takes_the_fields_of_its_type_only():
    general, medical = docs()
    general.settings.add("consultationTypes", "Médicale", "Psychologique")
    general.custom_fields.create(scope="consultation", key="tension", label_text="Tension",
                                 type="text", consultation_types=["Médicale"], required=True)
    general.custom_fields.create(scope="consultation", key="humeur", label_text="Humeur",
                                 type="enum", options=["Bonne", "Mauvaise"],
                                 consultation_types=["Psychologique"])
    general.custom_fields.create(scope="consultation", key="lieu", label_text="Lieu",
                                 type="text")  # every type
    person = general.persons.create(name="P")
    ok = medical.consultations.create(person=person.id, type="Médicale", due_at=WHEN,
                                      custom_fields={"tension": "12/8", "lieu": "rue"})
    assert ok.custom_fields == {"tension": "12/8", "lieu": "rue"}
    with refused(Code.REQUIRED, "customFields.tension"):  # required for its own type
        medical.consultations.create(person=person.id, type="Médicale", due_at=WHEN)
    with refused(Code.OTHER_CONSULTATION_TYPE, "customFields.humeur"):
        medical.consultations.create(person=person.id, type="Médicale", due_at=WHEN,
                                     custom_fields={"tension": "1", "humeur": "Bonne"})
    psy = medical.consultations.create(person=person.id, type="Psychologique", due_at=WHEN,
                                       custom_fields={"humeur": "Bonne"})  # no tension asked
    with refused(Code.NOT_AN_OPTION):
        medical.consultations.update(psy.id, custom_fields={"humeur": "Excellente"})
    with refused(Code.NOT_IN_LIST, "type"):
        medical.consultations.create(person=person.id, type="Dentaire", due_at=WHEN)
    assert len(medical.consultations.list()) == 2


def test_medical_file_fields_are_checked_and_treatments_keep_their_indication():
    general, medical = docs()
    general.custom_fields.create(scope="medicalFile", key="secu", label_text="N° sécu",
                                 type="text")
    general.custom_fields.create(scope="medicalFile", key="poids", label_text="Poids",
                                 type="number")
    person = general.persons.create(name="P")
    with refused(Code.UNKNOWN_CUSTOM_FIELD, "customFields.inconnu"):
        medical.medical_files.create(person=person.id, custom_fields={"inconnu": "x"})
    with refused(Code.WRONG_TYPE, "customFields.poids"):
        medical.medical_files.create(person=person.id, custom_fields={"poids": "lourd"})
    file = medical.medical_files.create(person=person.id, custom_fields={"poids": 61})
    with refused(Code.MEDICAL_FILE_EXISTS):
        medical.medical_files.create(person=person.id)
    assert medical.medical_files.of_person(person.id) == file
    treatment = medical.treatments.create(person=person.id, name="Amoxicilline",
                                          indication="Infection dentaire")
    assert medical.treatments.get(treatment.id).indication == "Infection dentaire"


@pytest.mark.parametrize(("collection", "fields", "field", "kind"), [
    ("actions", {"name": "RDV", "due_at": WHEN, "categories": ["Soins"]}, "categories",
     "actionCategories"),
    ("territories", {"name": "Gare", "types": ["Campement"]}, "types", "territoryTypes"),
    ("structures", {"name": "Accueil", "categories": ["Hygiène"]}, "categories",
     "structureCategories"),
    ("reports", {"team": "t", "date": WHEN.date(), "collaborations": ["SIAO"]},
     "collaborations", "collaborations"),
])
def test_list_values_are_refused_while_the_list_is_empty_and_taken_once_listed(
        collection, fields, field, kind):
    general, _medical = docs()
    records = general.collections[collection]
    with refused(Code.NOT_IN_LIST, field) as check:
        records.create(**fields)
    assert check.info.value.params == {"list": kind, "values": list(fields[
        {"categories": "categories", "types": "types",
         "collaborations": "collaborations"}[field]])}
    assert records.list() == []
    general.settings.add(kind, *fields[field])
    record = records.create(**fields)
    # a value later removed from the list stays, and the record stays editable
    general.settings.remove(kind, fields[field][0])
    assert records.update(record.id, **({"name": "Autre"} if "name" in fields else
                                        {"description": "x"}))


def test_every_refusal_carries_a_code_with_an_english_text():
    general, _medical = docs()
    cases = [
        lambda: general.persons.create(name=" "),
        lambda: general.persons.create(name="A", out_of_active_list=True),
        lambda: general.actions.create(name="A", due_at=WHEN, status="FAIT"),
        lambda: general.comments.create(text="x", date=WHEN),
        lambda: general.persons.create(name="A", shoe_size=42),
        lambda: general.persons.create(name="A", phone="0" * 10_000),
        lambda: general.observations.create(territory="t", observed_at=WHEN, men=-1),
        lambda: general.custom_fields.create(key="k", label_text="K", type="enum"),
    ]
    for case in cases:
        with pytest.raises(ValidationError) as info:
            case()
        error = info.value
        assert isinstance(error.code, Code) and error.code in TEMPLATES
        assert error.reason and str(error).endswith(error.reason)
    assert set(TEMPLATES) == set(Code)  # every code has its English text
