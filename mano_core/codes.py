"""Why a value was refused: the codes a ValidationError carries, with their parameters and
their English text.

An interface translates ``(code, params)`` into its own language; ``str(error)`` and
``error.reason`` give the English text. A code's parameters are named in its template (and
nothing else is passed). Codes are stable: a client may rely on them."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final


class Code(enum.StrEnum):
    """A reason a value is refused (``ValidationError.code``)."""

    # values
    REQUIRED = "required"
    TOO_LONG = "too_long"
    TOO_MANY_ITEMS = "too_many_items"
    ITEM_TOO_LONG = "item_too_long"
    DUPLICATE_ITEMS = "duplicate_items"
    NEGATIVE = "negative"
    WRONG_TYPE = "wrong_type"
    NOT_AN_OPTION = "not_an_option"
    OUT_OF_RANGE = "out_of_range"
    NO_TIME_ZONE = "no_time_zone"
    # tied fields
    COMPLETION_REQUIRED = "completion_required"
    COMPLETION_FORBIDDEN = "completion_forbidden"
    EXIT_DATE_REQUIRED = "exit_date_required"
    COMMENT_TARGET_REQUIRED = "comment_target_required"
    # custom fields
    UNKNOWN_CUSTOM_FIELD = "unknown_custom_field"
    OTHER_CONSULTATION_TYPE = "other_consultation_type"
    OPTIONS_REQUIRED = "options_required"
    NOT_A_CHOICE_FIELD = "not_a_choice_field"
    UNKNOWN_FIELD_TYPE = "unknown_field_type"
    # the team's lists and settings
    NOT_IN_LIST = "not_in_list"
    UNKNOWN_LIST = "unknown_list"
    UNKNOWN_FEATURE = "unknown_feature"
    INVALID_LIST_VALUE = "invalid_list_value"
    NOT_GROUPED = "not_grouped"
    UNKNOWN_SERVICE = "unknown_service"
    BELOW_ZERO = "below_zero"
    # records
    UNKNOWN_FIELD = "unknown_field"
    PROTECTED_FIELD = "protected_field"
    RECORD_EXISTS = "record_exists"
    NOT_A_RECORD = "not_a_record"
    UNREADABLE = "unreadable"
    ID_MISMATCH = "id_mismatch"
    NOT_A_COUNTER = "not_a_counter"
    BAD_COUNTER_NAME = "bad_counter_name"
    MEDICAL_FILE_EXISTS = "medical_file_exists"
    # documents
    OWNER_COMPARTMENT = "owner_compartment"
    BAD_DOCUMENT_NAME = "bad_document_name"
    BAD_FOLDER = "bad_folder"
    HEX_DIGITS = "hex_digits"
    # merging persons
    SELF_MERGE = "self_merge"
    BAD_PICK = "bad_pick"
    NOT_JOINABLE = "not_joinable"
    # consent and sharing
    UNKNOWN_SCOPE = "unknown_scope"
    NOTHING_SHARED = "nothing_shared"
    SAME_TEAM = "same_team"
    OTHER_JOINT_TEAM = "other_joint_team"
    # files, periods, the store
    NOT_A_WORKBOOK = "not_a_workbook"
    UNKNOWN_ENCODING = "unknown_encoding"
    END_BEFORE_START = "end_before_start"
    STEP_TOO_SMALL = "step_too_small"
    NO_HISTORY = "no_history"
    PASSPHRASE_TOO_SHORT = "passphrase_too_short"


TEMPLATES: Final[dict[Code, str]] = {
    Code.REQUIRED: "is required",
    Code.TOO_LONG: "longer than {max} characters",
    Code.TOO_MANY_ITEMS: "more than {max} items",
    Code.ITEM_TOO_LONG: "an item is longer than {max} characters",
    Code.DUPLICATE_ITEMS: "items must be unique",
    Code.NEGATIVE: "must not be negative",
    Code.WRONG_TYPE: "must be {expected}",
    Code.NOT_AN_OPTION: "must be among {options}",
    Code.OUT_OF_RANGE: "must be between {min} and {max}",
    Code.NO_TIME_ZONE: "an instant needs its time zone",
    Code.COMPLETION_REQUIRED: "is required when the status is {status}",
    Code.COMPLETION_FORBIDDEN: "must be empty while the status is A FAIRE",
    Code.EXIT_DATE_REQUIRED: "is required when the person is out of the active list",
    Code.COMMENT_TARGET_REQUIRED: "a comment is on a person or on an action",
    Code.UNKNOWN_CUSTOM_FIELD: "no such custom field",
    Code.OTHER_CONSULTATION_TYPE: "a field of the consultation type {type}, not {actual}",
    Code.OPTIONS_REQUIRED: "a choice field needs options",
    Code.NOT_A_CHOICE_FIELD: "only a choice field has options",
    Code.UNKNOWN_FIELD_TYPE: "unknown custom field type {type}",
    Code.NOT_IN_LIST: "not in the team's list {list}: {values}",
    Code.UNKNOWN_LIST: "unknown list (known: {known})",
    Code.UNKNOWN_FEATURE: "unknown feature",
    Code.INVALID_LIST_VALUE: "invalid value {value}",
    Code.NOT_GROUPED: "not a grouped list (grouped: {grouped})",
    Code.UNKNOWN_SERVICE: "unknown service (known: {known})",
    Code.BELOW_ZERO: "would go below zero",
    Code.UNKNOWN_FIELD: "unknown field",
    Code.PROTECTED_FIELD: "cannot be set directly",
    Code.RECORD_EXISTS: "a record with this id already exists",
    Code.NOT_A_RECORD: "not a record",
    Code.UNREADABLE: "unreadable: {detail}",
    Code.ID_MISMATCH: "differs from the record's key",
    Code.NOT_A_COUNTER: "not a counter",
    Code.BAD_COUNTER_NAME: "counter names are non-empty and contain no '#'",
    Code.MEDICAL_FILE_EXISTS: "this person already has a medical file",
    Code.OWNER_COMPARTMENT: "a medical owner belongs to the medical compartment, a person to "
                            "the general one",
    Code.BAD_DOCUMENT_NAME: "at most {max} characters, without '/'",
    Code.BAD_FOLDER: "folder names joined by '/', none empty",
    Code.HEX_DIGITS: "empty or {length} lower-case hex digits",
    Code.SELF_MERGE: "a person cannot be merged into itself",
    Code.BAD_PICK: "pick one of {picks}",
    Code.NOT_JOINABLE: "only aliases and sub-teams join",
    Code.UNKNOWN_SCOPE: "unknown {unknown} (known: {known})",
    Code.NOTHING_SHARED: "names nothing to share",
    Code.SAME_TEAM: "must be another team than this one",
    Code.OTHER_JOINT_TEAM: "names joint team {expected}, not {actual}",
    Code.NOT_A_WORKBOOK: "not an XLSX workbook ({detail})",
    Code.UNKNOWN_ENCODING: "unknown encoding {encoding}",
    Code.END_BEFORE_START: "is before the start",
    Code.STEP_TOO_SMALL: "must be at least one day",
    Code.NO_HISTORY: "not a person field with a history",
    Code.PASSPHRASE_TOO_SHORT: "must have at least {min} characters",
}


def _text(value: Any) -> str:
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def render(code: Code, params: Mapping[str, Any]) -> str:
    """The English text of a code with its parameters."""
    return TEMPLATES[code].format(**{k: _text(v) for k, v in params.items()})


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one value does not fit (``validation.custom_value_problem``): a code and its
    parameters; ``str()`` is the English text."""

    code: Code
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return render(self.code, self.params)
