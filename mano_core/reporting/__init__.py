"""Reporting: daily reports, statistics, exports and imports, computed in the engine so that
every client shows the same figures (docs/reports.md).

One module per job: ``daily`` (the day's report and activity), ``stats`` (figures of a
period), ``evolution`` (a person field over time, from the history), ``tables`` and
``exports`` (CSV, XLSX, full JSON backup), ``cells`` and ``imports`` (CSV/XLSX imports, all or
nothing). ``view`` defines what they read: a ``Team`` or a bare ``GeneralDocument``.
"""

from __future__ import annotations

from .daily import DailyReport, DayActivity
from .evolution import EvolutionPoint, FieldEvolution, field_evolution
from .exports import export_team_json, write_csv, write_xlsx
from .imports import ImportResult, RowProblem, import_file
from .stats import (
    ActionStats,
    CommentStats,
    CustomFieldStats,
    ObservationStats,
    PersonStats,
    Statistics,
    VisitStats,
    compute,
)
from .tables import Table, actions_table, comments_table, persons_table, reports_table
from .view import Period, TeamView

__all__ = [
    "ActionStats",
    "CommentStats",
    "CustomFieldStats",
    "DailyReport",
    "DayActivity",
    "EvolutionPoint",
    "FieldEvolution",
    "ImportResult",
    "ObservationStats",
    "Period",
    "PersonStats",
    "RowProblem",
    "Statistics",
    "Table",
    "TeamView",
    "VisitStats",
    "actions_table",
    "comments_table",
    "compute",
    "export_team_json",
    "field_evolution",
    "import_file",
    "persons_table",
    "reports_table",
    "write_csv",
    "write_xlsx",
]
