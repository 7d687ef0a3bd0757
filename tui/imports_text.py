"""An import's problems and MANO's import report in the interface's language.

The engine gives every problem a code and its parameters (mano_core.reporting.problems); they
are said here through the ``import`` catalog domain (``import.code.<code>``, or
``import.code.<code>.<what>`` when a kind of thing needs its own sentence), and a record's own
refusal through ``error.validation.<code>`` (tui.i18n.validation_message). Values are data,
never markup."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol

from mano_core.mano_compat import MigrationResult
from mano_core.reporting.problems import ImportCode

from .i18n import Translator, validation_message

MAX_LISTED_PROBLEMS: Final = 200  # in the report's text; the app's table lists them all
_FORMAT_CODES: Final = frozenset({ImportCode.NOT_A_DATE, ImportCode.NOT_A_MOMENT})


class Coded(Protocol):
    """A problem of either import (RowProblem, Problem)."""

    @property
    def code(self) -> ImportCode: ...
    @property
    def value(self) -> str: ...
    @property
    def expected(self) -> tuple[str, ...]: ...
    @property
    def what(self) -> str: ...
    @property
    def validation(self) -> str: ...
    @property
    def params(self) -> dict[str, Any]: ...


def problem_text(t: Translator, problem: Coded) -> str:
    """What is wrong, in the interface's language (never the engine's English reason)."""
    if problem.code is ImportCode.INVALID:
        return _validation(t, problem.validation, problem.params)
    joiner = t("import.join.or") if problem.code in _FORMAT_CODES else ", "
    values = {"value": problem.value, "what": problem.what,
              "expected": joiner.join(problem.expected) or t("import.none")}
    specific = f"import.code.{problem.code.value}.{problem.what}"
    if problem.what and t.has(specific):
        return t(specific, **values)
    return t(f"import.code.{problem.code.value}", **values)


def _validation(t: Translator, code: str, params: Mapping[str, Any]) -> str:
    return validation_message(t, code, params) or t("import.code.invalid")


def mano_report(t: Translator, result: MigrationResult, *, rerun_hint: bool = False) -> str:
    """The report of an import of MANO's files as a coordinator reads it, text lines: the
    sheets read (what would be or was created, what is already there, columns not read), the
    custom fields and list values it adds, what to know, every problem with where it is.
    ``rerun_hint``: a clean dry run says how to import (the command line's --dry-run)."""
    lines: list[str] = []
    if result.applied:
        lines.append(t("import.mano.applied", count=result.created))
    elif result.problems:
        lines.append(t("import.mano.refused", count=len(result.problems)))
    else:
        lines.append(t("import.mano.checked"))
        if rerun_hint:
            lines.append(t("import.mano.rerun"))
    if result.sheets:
        lines += ["", t("import.mano.sheets")]
        for s in result.sheets:
            parts = [t("import.mano.sheet", count=s.rows, sheet=s.sheet,
                       collection=t.get(f"import.collection.{s.collection}", s.collection))]
            if s.collection not in ("users", "services"):
                parts.append(t("import.mano.created" if result.applied else "import.mano.new",
                               count=s.new))
                if s.present:
                    parts.append(t("import.mano.present", count=s.present))
            lines.append("  " + ", ".join(parts))
            if s.ignored:
                lines.append("      " + t("import.mano.ignored", columns=", ".join(s.ignored)))
    lines += _fields(t, result)
    if result.settings_added:
        lines += ["", t("import.mano.lists_added")]
        for kind, values in result.settings_added.items():
            lines.append("  " + t("import.mano.list_values", values=", ".join(values),
                                  list=t.get(f"import.list.{kind}", kind)))
    if result.members:
        lines += ["", t("import.mano.members", count=len(result.members))]
    if result.notices:
        lines += ["", t("import.mano.notices")]
        for n in result.notices:
            lines.append("  - " + t(f"import.notice.{n.code.value}", count=n.count,
                                    value=n.value,
                                    what=t.get(f"import.what.{n.what}", n.what)))
    if result.problems:
        lines += ["", t("import.mano.problems")]
        lines += ["  " + t("import.mano.problem", where=_where(t, p.sheet, p.row, p.column),
                           reason=problem_text(t, p))
                  for p in result.problems[:MAX_LISTED_PROBLEMS]]
        if len(result.problems) > MAX_LISTED_PROBLEMS:
            lines.append("  " + t("import.mano.more",
                                  count=len(result.problems) - MAX_LISTED_PROBLEMS))
    return "\n".join(lines)


def _fields(t: Translator, result: MigrationResult) -> list[str]:
    created = [f for f in result.fields if f.origin != "existing"]
    extended = [f for f in result.fields if f.origin == "existing" and f.added_options]
    lines: list[str] = []
    if created:
        lines += ["", t("import.mano.fields_created")]
        for f in created:
            lines.append("  " + t("import.mano.field_health" if f.health_only
                                  else "import.mano.field",
                                  label=f.label, scope=t.get(f"import.scope.{f.scope}", f.scope),
                                  type=t.get(f"import.type.{f.type}", f.type),
                                  origin=t(f"import.mano.origin.{f.origin}")))
            if f.added_options:
                lines.append("      " + t("import.mano.options_added",
                                          options=", ".join(f.added_options)))
    if extended:
        lines += ["", t("import.mano.fields_extended")]
        lines += ["  " + t("import.mano.field_options", label=f.label,
                           options=", ".join(f.added_options)) for f in extended]
    return lines


def _where(t: Translator, sheet: str, row: int, column: str) -> str:
    parts: Sequence[str] = [t("import.mano.where.sheet", sheet=sheet) if sheet
                            else t("import.mano.where.file")]
    if row:
        parts = [*parts, t("import.mano.where.row", row=row)]
    if column:
        parts = [*parts, t("import.mano.where.column", column=column)]
    return ", ".join(parts)
