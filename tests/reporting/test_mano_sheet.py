"""The "Statistiques MANO" sheet of an export holds every tab of MANO's statistics with French
labels, its figures counted here another way; the medical tabs only on a health device."""

from __future__ import annotations

from collections import Counter

from mano_core.document.compartments import GeneralDocument, MedicalDocument
from mano_core.reporting.mano_sheet import mano_statistics_sheet

from .test_mano_stats import PERIOD, day_of
from .test_mano_tabs import NOVEMBER, medical, night_ids

__all__ = ["medical"]  # the medical compartment fixture, shared with test_mano_tabs


def rows_of(sheet_rows: list[tuple[object, ...]]) -> dict[tuple[str, str], object]:
    return {(str(s), str(i)): v for s, i, v in sheet_rows}


def test_every_tab_with_french_labels_on_a_health_device(doc: GeneralDocument,
                                                          medical: MedicalDocument) -> None:
    sheet = mano_statistics_sheet(doc, PERIOD, medical=medical)
    assert sheet.name == "Statistiques MANO"
    assert sheet.header == ("Rubrique", "Indicateur", "Valeur")
    got = rows_of(sheet.rows)
    sections = {s for s, _ in got}
    assert {"Général", "Services", "Observations", "Consultations",
            "Dossiers médicaux"} <= sections
    assert not any("_" in label or "by_" in label for _, label in got)  # no field paths

    services: Counter[str] = Counter()
    for report in doc.reports.list():
        if NOVEMBER.contains(report.date):  # the generated reports' month
            services.update(report.services)
    november = rows_of(mano_statistics_sheet(doc, NOVEMBER).rows)
    assert november[("Services", "Total des services")] == sum(services.values()) > 0
    for service, n in services.items():
        assert november[("Services", service)] == n

    night = night_ids(doc)
    observed = [o for o in doc.observations.list()
                if PERIOD.contains(day_of(o.observed_at, o.team in night))]
    assert got[("Observations", "Nombre d'observations")] == len(observed) > 0
    assert got[("Observations", "Hommes")] == sum(o.men for o in observed)
    assert got[("Observations", "Présence policière")] == sum(1 for o in observed if o.police)
    names = {t.id: t.name for t in doc.territories.list()}
    for territory, n in Counter(names[o.territory] for o in observed).items():
        assert got[("Observations", f"Par territoire : {territory}")] == n

    consulted = [c for c in medical.consultations.list()
                 if PERIOD.contains(day_of(c.completed_at or c.due_at, False))]
    assert got[("Consultations", "Nombre de consultations")] == len(consulted) > 0
    statuses = {"A FAIRE": "À faire", "FAIT": "Faite", "ANNULEE": "Annulée"}
    for status, n in Counter(c.status for c in consulted).items():
        assert got[("Consultations", f"Par statut : {statuses[status]}")] == n
    assert ("Dossiers médicaux", "Avec un dossier médical") in got


def test_no_medical_tab_without_the_medical_file(doc: GeneralDocument) -> None:
    sheet = mano_statistics_sheet(doc, PERIOD)
    sections = {str(s) for s, _, _ in sheet.rows}
    assert {"Général", "Services", "Observations"} <= sections
    assert not sections & {"Consultations", "Dossiers médicaux"}
