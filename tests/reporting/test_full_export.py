"""The full export (MANO's sheets, French labels) and its lossless re-import."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import msgspec
import pytest
from openpyxl import load_workbook

from mano_core.demo import DemoTeam, generate_team
from mano_core.demo.load import load_demo
from mano_core.mano_compat import import_mano
from mano_core.mano_compat.migrate import MEMBER_NAMES_KEY
from mano_core.reporting.exports import write_xlsx
from mano_core.reporting.full_export import full_export_tables
from mano_core.reporting.view import Period, local_day
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team

from .conftest import PASS

SKIPPED = {"consents", "shares", "erasures", "history"}  # not a MANO collection / compared apart


def _general(team: Team) -> dict[str, dict[str, Any]]:
    out = {}
    for name, collection in team.doc.collections.items():
        if name not in SKIPPED:
            out[name] = {r.id: msgspec.to_builtins(r) for r in collection.list()}
    return out


def _medical(team: Team) -> dict[str, dict[str, Any]]:
    assert team.medical_doc is not None
    out = {}
    for name, collection in team.medical_doc.collections.items():
        if name == "history":
            continue
        out[name] = {r.id: _comparable(name, msgspec.to_builtins(r))
                     for r in collection.list()}
    return out


def _comparable(collection: str, wire: dict[str, Any]) -> dict[str, Any]:
    if collection == "personHealthValues":  # one record per value: what matters is the value
        return {k: wire[k] for k in ("person", "field", "value")}
    return wire


def _history(team: Team) -> set[tuple[Any, ...]]:
    entries = list(team.history.list())
    if team.medical is not None:
        entries += team.medical.history.list()
    return {(h.record_collection, h.record_id, h.field, repr(h.old), repr(h.new), h.at,
             h.author) for h in entries if h.field != "created"}


def _same(got: dict[str, dict[str, Any]], want: dict[str, dict[str, Any]]) -> None:
    """Equal, or the first differing fields of each collection (a readable failure)."""
    diffs = []
    for name in sorted(set(got) | set(want)):
        g, w = got.get(name, {}), want.get(name, {})
        if set(g) != set(w):
            diffs.append(f"{name}: ids {len(set(g) - set(w))} extra, {len(set(w) - set(g))} lost")
            continue
        for rid, record in w.items():
            if g[rid] != record:
                fields = sorted(k for k in set(record) | set(g[rid])
                                if record.get(k) != g[rid].get(k))
                diffs.append(f"{name} {rid}: " + "; ".join(
                    f"{k}: {g[rid].get(k)!r} != {record.get(k)!r}" for k in fields))
                break
    assert not diffs, "\n".join(diffs)


async def _round_trip(tmp_path: Path, demo: DemoTeam) -> None:
    async with await LocalStore.create(tmp_path / "a.mano", PASS, kdf=TEST_KDF) as a_store, \
            await LocalStore.create(tmp_path / "b.mano", PASS, kdf=TEST_KDF) as b_store:
        source = await Team.create(a_store, name="Source", member=demo.members[0].id)
        await load_demo(source, demo)
        for member in demo.members:
            await source.settings.set(MEMBER_NAMES_KEY + member.id, member.name)
        person = source.persons.list()[0]  # some history, with a health-only field
        await source.custom_fields.create(key="consumptions", label_text="Consommations",
                                          type="multi-choice", options=["Alcool", "Tabac"],
                                          health_only=True)
        await source.persons.update(person.id, gender="Autre",
                                    custom_fields={**person.custom_fields,
                                                   "consumptions": ["Tabac"]})
        assert source.medical is not None
        await source.medical.comments.create(person=person.id, text="Pansement refait",
                                             date=dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC))
        path = tmp_path / "export.xlsx"
        write_xlsx(full_export_tables(source, medical=source.medical), path)

        target = await Team.create(b_store, name="Cible", member="member-b")
        result = await import_mano(target, path.read_bytes())
        assert result.problems == (), result.problems
        assert [f for f in result.fields if f.origin != "existing"] == []

        _same(_general(target), _general(source))
        _same(_medical(target), _medical(source))
        assert _history(target) == _history(source)
        for kind in ("actionCategories", "services", "collaborations", "territoryTypes",
                     "structureCategories"):
            assert set(target.settings.values(kind)) == set(source.settings.values(kind))
        for member in demo.members:
            assert target.settings.get(MEMBER_NAMES_KEY + member.id) == member.name


async def test_full_export_imports_back_losslessly(tmp_path: Path, demo: DemoTeam) -> None:
    await _round_trip(tmp_path, demo)


@pytest.mark.slow
@pytest.mark.timeout(900)  # CPU-bound: 300 s were not enough beside a parallel worker under load
async def test_full_export_round_trip_at_mano_scale(tmp_path: Path) -> None:
    await _round_trip(tmp_path, generate_team(seed=3, scale=1.0))


async def test_sheets_are_mano_s_with_names_and_french_labels(team: Team, demo: DemoTeam,
                                                               tmp_path: Path) -> None:
    for member in demo.members:
        await team.settings.set(MEMBER_NAMES_KEY + member.id, member.name)
    tables = {t.name: t for t in full_export_tables(team, medical=team.medical)}
    assert list(tables)[:12] == [
        "actions", "personnes suivies", "comments", "territoires",
        "observations de territoires", "lieux fréquentés", "équipes", "utilisateurs",
        "comptes rendus", "passages", "services", "rencontres"]
    assert {"consultations", "treatments", "medical-files"} <= set(tables)
    persons = tables["personnes suivies"]
    for label in ("Nom prénom ou Pseudonyme", "Créée par", "Créée le", "Mise à jour le",
                  "Suivi(e) depuis le / Créé(e) le"):
        assert label in persons.header
    row = dict(zip(persons.header, persons.rows[0], strict=True))
    record = team.persons.get(str(row["Identifiant"]))
    names = {m.id: m.name for m in demo.members}
    assert row["Créée par"] == names[record.created_by]  # a member's name, not an id
    assert row["Créée par (identifiant)"] == record.created_by
    actions = tables["actions"]
    first = dict(zip(actions.header, actions.rows[0], strict=True))
    action = team.actions.get(str(first["Identifiant"]))
    assert first["Personnes suivies"] == ", ".join(team.persons.get(p).name
                                                   for p in action.persons)


async def test_medical_sheets_only_on_a_health_device(tmp_path: Path, demo: DemoTeam) -> None:
    async with await LocalStore.create(tmp_path / "n.mano", PASS, kdf=TEST_KDF) as store:
        team = await Team.create(store, name="Sans santé", member="m", medical=False)
        await load_demo(team, demo)
        names = [t.name for t in full_export_tables(team, medical=team.medical)]
        assert not {"consultations", "treatments", "medical-files",
                    "commentaires médicaux"} & set(names)
        path = tmp_path / "x.xlsx"
        write_xlsx(full_export_tables(team, medical=None), path)
        assert "consultations" not in load_workbook(path, read_only=True).sheetnames


async def test_period_filters_persons_actions_and_comments(team: Team) -> None:
    period = Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    tables = {t.name: t for t in full_export_tables(team, medical=team.medical, period=period)}

    def ids(name: str) -> set[str]:
        header = tables[name].header
        return {str(row[header.index("Identifiant")]) for row in tables[name].rows}

    expected_actions = {a.id for a in team.actions.list()
                        if period.contains(local_day(a.due_at)) or (
                            a.completed_at and period.contains(local_day(a.completed_at)))}
    assert ids("actions") == expected_actions and expected_actions
    assert ids("comments") == {c.id for c in team.comments.list()
                               if period.contains(local_day(c.date))}
    followed = set()
    for p in team.persons.list():
        began = p.followed_since or local_day(p.created_at)
        left = p.out_of_active_list_date if p.out_of_active_list else None
        if began <= period.end and (left is None or left >= period.start):
            followed.add(p.id)
    assert ids("personnes suivies") == followed
    assert len(followed) < len(team.persons.list())
