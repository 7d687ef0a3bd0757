"""Changing custom-field definitions without locking the records that hold their values.

Removing an option or deleting a field leaves the values that held it readable: they are
*stale* (``validation.stale_custom_fields``), shown as such, never checked again unless that
field is edited, and can always be cleared. Renaming an option (``rename_option``) also rewrites
every value that holds it, in every collection of the field's scope, each rewrite an ordinary
edit with its history entry, so every device converges on the new name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mano_core.errors import PermissionDeniedError, ValidationError
from mano_core.codes import Code

if TYPE_CHECKING:
    from .collection import Collection
    from .compartments import GeneralDocument, MedicalDocument


def _renamed(value: Any, old: str, new: str) -> Any:
    if value == old:
        return new
    if isinstance(value, list) and old in value:
        out: list[Any] = []
        for item in value:
            kept = new if item == old else item
            if kept not in out:
                out.append(kept)
        return out
    return value


def rename_option(general: GeneralDocument, medical: MedicalDocument | None,
                  definition_id: str, old: str, new: str) -> int:
    """Rename option ``old`` of a choice field to ``new`` (merging them if ``new`` exists) and
    rewrite every value holding it. Returns how many records were rewritten. ValidationError
    if ``old`` is not an option; PermissionDeniedError if the values live in the medical
    compartment and this device does not hold it (nothing changed then)."""
    definition = general.custom_fields.get(definition_id)
    label = f"custom field {definition.key}"
    new = new.strip()
    if definition.type not in ("enum", "multi-choice"):
        raise ValidationError(label, "options", Code.NOT_A_CHOICE_FIELD)
    if old not in definition.options:
        raise ValidationError(label, "options", Code.NOT_AN_OPTION,
                              options=list(definition.options))
    if not new:
        raise ValidationError(label, "options", Code.REQUIRED)
    medical_scope = definition.scope in ("medicalFile", "consultation") or (
        definition.scope == "person" and definition.health_only)
    if medical_scope and medical is None:
        raise PermissionDeniedError("this field's values are medical data: rename it from a "
                                    "health professional's device")
    options: list[str] = []
    for option in definition.options:
        kept = new if option == old else option
        if kept not in options:
            options.append(kept)
    general.custom_fields.update(definition_id, options=options)
    targets: Iterable[Collection[Any]]
    if definition.scope == "person":
        targets = [general.persons]
    elif definition.scope == "observation":
        targets = [general.observations]
    else:
        assert medical is not None
        targets = [medical.medical_files if definition.scope == "medicalFile"
                   else medical.consultations]
    count = 0
    for collection in targets:
        for record in collection.list(include_deleted=True):
            value = record.custom_fields.get(definition.key)
            renamed = _renamed(value, old, new)
            if renamed is value or renamed == value:
                continue
            fields = dict(record.custom_fields, **{definition.key: renamed})
            if record.deleted:
                continue  # a deleted record keeps its old value; restoring shows it stale
            collection.update(record.id, custom_fields=fields)
            count += 1
    return count
