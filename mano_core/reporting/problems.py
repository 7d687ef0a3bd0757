"""Why an import refuses a file, a header, a cell or a row: stable codes and their parameters.

Every problem an import reports (``import_file``'s ``RowProblem``, ``import_mano``'s
``Problem``) carries a ``code`` (``ImportCode``) and the parameters an interface needs to say
it in its own language:

- ``row`` and ``column``: where (row 1 is the header, row 0 the whole file or sheet);
- ``value``: the cell as typed, or the name the problem is about (a field, an id, a sheet);
- ``expected``: what the column accepts: its known values, or example formats;
- ``what``: for the codes about an unknown or ambiguous thing, which kind of thing (``WHATS``);
- ``validation`` and ``params``: for ``INVALID``, the record's own refusal
  (``mano_core.codes.Code`` and its parameters, as a ValidationError carries them).

``reason`` is the English text, for logs and developers; an interface never shows it as it
is. Codes and ``what`` tokens are stable: a client may rely on them (docs/reports.md,
"Problem codes")."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any, Final

from mano_core.codes import Code, render


class ImportCode(enum.StrEnum):
    """A reason an import refuses a file, a header, a cell or a row."""

    # the file or the workbook (row 0)
    EMPTY_FILE = "empty_file"
    NOT_A_WORKBOOK = "not_a_workbook"  # value: the reader's error
    BAD_ENCODING = "bad_encoding"  # row: the line; value: the byte; expected: the encoding
    NO_MANO_SHEET = "no_mano_sheet"  # value: the workbook's sheet names
    # the header (row 1)
    UNKNOWN_FIELD = "unknown_field"  # value: the field a mapping names
    SECOND_COLUMN = "second_column"  # value: the field two columns give
    NO_SUCH_COLUMN = "no_such_column"  # a mapping names a column the file lacks
    NO_NAME_COLUMN = "no_name_column"
    NO_DUE_COLUMN = "no_due_column"
    # a cell
    NOT_YES_NO = "not_yes_no"  # value
    NOT_A_NUMBER = "not_a_number"  # value
    NOT_A_DATE = "not_a_date"  # value; expected: example formats
    NOT_A_MOMENT = "not_a_moment"  # value; expected: example formats
    UNKNOWN_VALUE = "unknown_value"  # what, value; expected: the known values
    UNKNOWN_REFERENCE = "unknown_reference"  # what, value: a name the team and file lack
    AMBIGUOUS_NAME = "ambiguous_name"  # what, value: a name several records share
    NOT_AN_ID_LIST = "not_an_id_list"
    BAD_JSON = "bad_json"
    JSON_TOO_LONG = "json_too_long"  # expected: the limit (characters)
    BAD_HISTORY = "bad_history"  # a MANO history that is not MANO's layout
    HISTORY_TOO_LONG = "history_too_long"  # expected: the limit (changes)
    BAD_COMMENT = "bad_comment"  # a comment MANO keeps inside a record is unreadable
    # a row
    DUPLICATE_ID = "duplicate_id"  # value: the id met twice in the sheet
    UNKNOWN_LIST = "unknown_list"  # value: a list name of the "listes" sheet
    INCOMPLETE_SERVICE = "incomplete_service"  # a services row lacks a team, day or service
    INVALID = "invalid"  # validation, params: the record's own refusal


# Which kind of thing an UNKNOWN_VALUE, UNKNOWN_REFERENCE or AMBIGUOUS_NAME is about.
WHATS: Final = frozenset({
    "action", "atmosphere", "category", "gender", "option", "person", "place", "reason",
    "status", "structure", "subteam", "territory", "value"})

TEMPLATES: Final[dict[ImportCode, str]] = {
    ImportCode.EMPTY_FILE: "the file is empty",
    ImportCode.NOT_A_WORKBOOK: "not an XLSX workbook ({value})",
    ImportCode.BAD_ENCODING: "not valid {expected} text (byte {value}); save the file as "
                             "UTF-8 or give its encoding",
    ImportCode.NO_MANO_SHEET: "no sheet of MANO's ({value})",
    ImportCode.UNKNOWN_FIELD: "unknown field {value!r}",
    ImportCode.SECOND_COLUMN: "a second column for the field {value}",
    ImportCode.NO_SUCH_COLUMN: "no such column in the file",
    ImportCode.NO_NAME_COLUMN: "no column gives the name (required)",
    ImportCode.NO_DUE_COLUMN: "no column gives the due date (required)",
    ImportCode.NOT_YES_NO: "must be yes or no, got {value!r}",
    ImportCode.NOT_A_NUMBER: "must be a number, got {value!r}",
    ImportCode.NOT_A_DATE: "must be a date ({expected}), got {value!r}",
    ImportCode.NOT_A_MOMENT: "must be a date or a date and time ({expected}), got {value!r}",
    ImportCode.UNKNOWN_VALUE: "unknown {what} {value!r} (known: {expected})",
    ImportCode.UNKNOWN_REFERENCE: "unknown {what} {value!r}",
    ImportCode.AMBIGUOUS_NAME: "several {what} records are named {value!r}: give the id",
    ImportCode.NOT_AN_ID_LIST: "must be a list of ids",
    ImportCode.BAD_JSON: "unreadable JSON",
    ImportCode.JSON_TOO_LONG: "JSON longer than {expected} characters",
    ImportCode.BAD_HISTORY: "not MANO's history layout",
    ImportCode.HISTORY_TOO_LONG: "more than {expected} changes",
    ImportCode.BAD_COMMENT: "a comment is unreadable",
    ImportCode.DUPLICATE_ID: "the id {value} is twice in the sheet",
    ImportCode.UNKNOWN_LIST: "unknown list {value!r}",
    ImportCode.INCOMPLETE_SERVICE: "a team, a day and a service are needed",
    ImportCode.INVALID: "{detail}",
}
DATE_FORMATS: Final = ("2026-11-20", "20/11/2026")
MOMENT_FORMATS: Final = ("2026-11-20 14:30", "20/11/2026 14:30")
MANO_MOMENT_FORMATS: Final = ("2026-11-20T14:30:00.000Z", "20/11/2026 14:30")
MANO_DATE_FORMATS: Final = ("1975-03-02", "02/03/1975")


def english(code: ImportCode, *, value: str = "", expected: Iterable[str] = (),
            what: str = "", validation: str = "",
            params: Mapping[str, Any] | None = None) -> str:
    """The English text of a problem (for logs, never shown by an interface)."""
    detail = render(Code(validation), params or {}) if validation else ""
    return TEMPLATES[code].format(value=value, expected=", ".join(expected) or "none",
                                  what=what or "value", detail=detail)


class CellError(ValueError):
    """A cell does not hold what its column expects: a code and its parameters
    (``str()`` is the English text)."""

    def __init__(self, code: ImportCode, *, value: str = "", expected: Iterable[str] = (),
                 what: str = "") -> None:
        self.code = code
        self.value = value
        self.expected = tuple(expected)
        self.what = what
        super().__init__(english(code, value=value, expected=self.expected, what=what))

    def fields(self) -> dict[str, Any]:
        """The problem's parameters, as ``RowProblem``/``Problem`` take them."""
        return problem_fields(self.code, value=self.value, expected=self.expected,
                              what=self.what)


def problem_fields(code: ImportCode, *, value: str = "", expected: Iterable[str] = (),
                   what: str = "", validation: str = "",
                   params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments of a problem struct: the code, its parameters and the English
    reason."""
    listed = tuple(str(e) for e in expected)
    plain = {k: _plain(v) for k, v in (params or {}).items()}
    return {"code": code, "value": value, "expected": listed, "what": what,
            "validation": validation, "params": plain,
            "reason": english(code, value=value, expected=listed, what=what,
                              validation=validation, params=plain)}


def invalid_fields(code: Code, params: Mapping[str, Any]) -> dict[str, Any]:
    """The problem's parameters for a record's own refusal (a ValidationError's code and
    parameters, or a custom value's ``mano_core.codes.Problem``)."""
    return problem_fields(ImportCode.INVALID, validation=code.value, params=params)


def _plain(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(str(v) for v in value)
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class NoticeCode(enum.StrEnum):
    """What a coordinator should know about an import of MANO's files (nothing blocks it):
    ``MigrationResult.notices``, each with a ``count`` and, for some, ``value`` or ``what``."""

    MEDICAL_SHEET_SKIPPED = "medical_sheet_skipped"  # value: the sheet; count: its rows
    MISSING_LINK = "missing_link"  # what: the kind of record linked to; count: the links
    EXIT_DATE_FROM_UPDATE = "exit_date_from_update"  # count: persons
    COMPLETION_FROM_UPDATE = "completion_from_update"  # count: actions or consultations
    OLD_COMPLETION_DROPPED = "old_completion_dropped"  # count: actions or consultations
    DOCUMENTS_NOT_IMPORTED = "documents_not_imported"  # count: documents
