"""Importing what MANO exports: its full export (``Exporter les données en .xlsx``, one sheet
per collection) or its persons file (``Télécharger un exemple``), all or nothing.

Sheets are found by name (vocabulary.EXPORT_SHEETS), columns by MANO's field names or the
French labels (columns.py), values read as MANO writes them (cells.py). Ids are kept, so the
links between sheets (an action's person, a comment's action, an observation's territory…)
stay true; MANO's users become member names (``memberName.<id>`` settings) and authors;
MANO's sub-teams (``équipes``) become sub-teams with the same ids (or the team's sub-team of
the same name). A column that is not a field of the record is a custom field (customs.py).
Values of the team's lists (categories, collaborations, territory types, services,
consultation types, out-of-active-list reasons) that the team lacks are added to its lists.

Nothing is written unless every row of every sheet converts and validates: then the general
compartment's records, history, custom fields and settings are inserted in one CRDT
transaction and committed, and the medical compartment's in a second. A record whose id the
team already holds is left as it is and counted as present, so an import interrupted between
the two commits (or run twice) completes when run again. On a device without the medical
compartment the medical sheets and the health-only person fields are not imported, and the
report says so. Every problem and notice has a stable code with its parameters
(mano_core.reporting.problems); an interface says them in its language.

The modules, one job each: discovery.py (sheets and columns), members.py, links.py (ids
between sheets), values.py (a cell as its column's value), readers.py (a sheet into records),
extras.py (history, documents, embedded comments), lists.py, services.py, customs.py
(custom-field columns), apply.py (the all-or-nothing write); result.py and plan.py hold what
is found."""

from __future__ import annotations

from typing import Final

from mano_core.codes import Code
from mano_core.errors import ValidationError
from mano_core.ids import Compartment
from mano_core.reporting.problems import ImportCode
from mano_core.team import Team

from .apply import apply_plan
from .discovery import identify
from .links import names_of
from .lists import read_lists
from .members import MEMBER_NAMES_KEY, read_users
from .plan import Plan, Progress
from .readers import read_sheet
from .result import (
    FieldReport,
    MigrationResult,
    Notice,
    Problem,
    SheetReport,
    invalid,
    problem,
)
from .services import read_services, reports_from_services
from .vocabulary import (
    MEDICAL_SHEETS,
)
from .workbook import Sheet, read_workbook

_ORDER: Final = ("subteams", "customFields", "persons", "places", "personPlaces", "territories",
                 "observations", "structures", "actions", "comments", "passages", "encounters",
                 "groups", "reports", "consultations", "treatments", "medicalFiles",
                 "medicalComments")


async def import_mano(team: Team, data: bytes, *, dry_run: bool = False,
                      progress: Progress | None = None) -> MigrationResult:
    """Import MANO's full export or persons file (XLSX bytes), all or nothing.

    ``progress(done, total)`` is called as rows are read and once the records are written.
    LimitExceededError past the workbook limits (nothing read). Never partly applied: with
    any problem, or a dry run, nothing is changed."""
    report = progress or (lambda done, total: None)
    try:
        sheets = read_workbook(data)
    except ValidationError as exc:
        refusal = (problem("", 0, "", ImportCode.NOT_A_WORKBOOK,
                           value=str(exc.params.get("detail", "")))
                   if exc.code is Code.NOT_A_WORKBOOK else invalid("", 0, "", exc.code,
                                                                   exc.params))
        return _result(None, [refusal], [], dry_run, False, 0)
    holder = team.compartment(Compartment.GENERAL)
    plan = Plan(team, team.medical is not None, holder.core.now(), team.info.member)
    found = identify(sheets, plan)
    if not found:
        names = ", ".join(s.title for s in sheets)
        plan.problems.append(problem("", 0, "", ImportCode.NO_MANO_SHEET, value=names))
    else:
        _build(plan, found, report)
    apply = not plan.problems and not dry_run
    created = 0
    if apply:
        created = await apply_plan(plan)
    total = sum(len(s.rows) for s in found.values()) if found else 0
    report(total, total)
    return _result(plan, plan.problems, plan.sheets, dry_run, apply, created)


def _result(plan: Plan | None, problems: list[Problem], sheets: list[SheetReport],
            dry_run: bool, applied: bool, created: int) -> MigrationResult:
    if plan is None:
        return MigrationResult(sheets=(), problems=tuple(problems), notices=(), fields=(),
                               settings_added={}, members={}, medical_skipped=False,
                               dry_run=dry_run, applied=False, created=0)
    fields = tuple(
        FieldReport(scope=c.definition.scope, label=c.definition.label_text,
                    key=c.definition.key, type=c.definition.type,
                    origin="existing" if not c.created else
                    "mano" if c.from_mano_defaults else "new",
                    added_options=c.added_options, health_only=c.definition.health_only)
        for c in plan.fields.values())
    notices = tuple(Notice(code=code, count=n, value=value, what=what)
                    for (code, value, what), n in plan.notices.items())
    return MigrationResult(
        sheets=tuple(sheets), problems=tuple(sorted(problems, key=lambda p: (p.sheet, p.row))),
        notices=notices, fields=fields, settings_added=plan.settings_added,
        members=plan.members, medical_skipped=(not plan.medical and any(
            s.collection in MEDICAL_SHEETS for s in sheets)) or plan.health_dropped > 0,
        dry_run=dry_run, applied=applied, created=created)


def _build(plan: Plan, found: dict[str, Sheet], report: Progress) -> None:
    """Read every sheet found into the plan, in link order."""
    team = plan.team
    for collection in ("persons", "actions", "territories", "places", "subteams", "structures",
                       "observations", "comments", "passages", "encounters", "reports",
                       "groups", "personPlaces", "customFields"):
        records = getattr(team, {"personPlaces": "person_places",
                                 "customFields": "custom_fields"}.get(collection, collection))
        plan.known[collection] = {x.id for x in records.list(include_deleted=True)}
    if team.medical is not None:
        for collection, attr in (("consultations", "consultations"),
                                 ("treatments", "treatments"),
                                 ("medicalFiles", "medical_files"),
                                 ("medicalComments", "comments")):
            plan.known[collection] = {
                x.id for x in getattr(team.medical, attr).list(include_deleted=True)}
    plan.by_name["subteams"] = names_of(team.subteams.list())
    plan.by_name["persons"] = names_of(team.persons.list())
    read_users(plan, found.get("users"))
    read_lists(plan, found.get("settings"))
    total = sum(len(s.rows) for s in found.values())
    done = 0
    services: dict[tuple[str, str], dict[str, int]] = {}
    for collection in _ORDER:
        if collection == "reports":  # service counters name sub-teams: read after them
            services = read_services(plan, found.get("services"))
        sheet = found.get(collection)
        if sheet is None:
            continue
        read_sheet(plan, collection, sheet, services if collection == "reports" else None)
        done += len(sheet.rows)
        report(done, total)
    if services:  # counters of days without a report row: a report each
        reports_from_services(plan, services)
    if "services" in found:
        s = found["services"]
        plan.sheets.append(SheetReport(sheet=s.title, collection="services", rows=len(s.rows),
                                       new=len(s.rows), present=0, columns=tuple(s.header),
                                       ignored=()))


__all__ = ["MEMBER_NAMES_KEY", "FieldReport", "MigrationResult", "Notice", "Problem",
           "SheetReport", "import_mano"]
