"""A team's custom fields as form inputs, and the text typed back into the value the engine
stores (a number, a yes/no, an ISO date, a choice among the options). Used by the
observation form; a value that does not read is said under its field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from mano_core.model.records import CustomFieldDefinition
from tui import format as fmt
from tui.i18n import Translator
from tui.widgets.forms import Field, FieldError

PREFIX = "custom__"          # form field names: never mixed with the record's own fields


def custom_fields(t: Translator, definitions: Iterable[CustomFieldDefinition],
                  values: dict[str, Any] | None = None) -> list[Field]:
    """One input per definition: a choice list for a single choice and yes/no, a box for
    a checkbox field, a line (or an area) for the rest; multiple choices are typed
    separated by commas, among the options shown as the hint."""
    values = values or {}
    out = []
    for d in definitions:
        name = PREFIX + d.key.replace("-", "_").replace(".", "_")
        value = values.get(d.key)
        wire = (f"customFields.{d.key}",)
        label = d.label_text + (" *" if d.required else "")
        if d.type == "enum":
            out.append(Field(name, label, kind="select", value=value,
                             options=[(o, o) for o in d.options], wire=wire))
        elif d.type == "yes-no":
            out.append(Field(name, label, kind="select", value=value,
                             options=[(t("yes"), True), (t("no"), False)], wire=wire))
        elif d.type == "boolean":
            out.append(Field(name, label, kind="check", value=bool(value), wire=wire))
        elif d.type == "textarea":
            out.append(Field(name, label, kind="area", value=value or "", wire=wire))
        else:
            hint = {"number": "12", "date": t("field.date_hint"),
                    "date-with-time": t("field.date_hint") + " 14:30",
                    "multi-choice": ", ".join(d.options)}.get(d.type, "")
            shown = ", ".join(value) if isinstance(value, list) else (
                fmt.value(value) if value not in (None, "") else "")
            out.append(Field(name, label, value=shown, placeholder=hint, wire=wire))
    return out


def read_custom(t: Translator, definitions: Iterable[CustomFieldDefinition],
                form: dict[str, Any]) -> dict[str, Any]:
    """The values typed, as the engine stores them (empty ones left out). FieldError for
    a value that does not read."""
    out: dict[str, Any] = {}
    for d in definitions:
        name = PREFIX + d.key.replace("-", "_").replace(".", "_")
        raw = form.get(name)
        if raw is None or raw == "" or (d.type == "boolean" and raw is False):
            if d.required and d.type != "boolean":
                raise FieldError(name, t("error.required"))
            continue
        if d.type in ("enum", "yes-no", "boolean", "textarea", "text"):
            out[d.key] = raw.strip() if isinstance(raw, str) else raw
            continue
        text = str(raw).strip()
        try:
            if d.type == "number":
                number = float(text.replace(",", ".").replace(" ", ""))
                out[d.key] = int(number) if number.is_integer() else number
            elif d.type == "date":
                out[d.key] = fmt.parse_day(text).isoformat()
            elif d.type == "date-with-time":
                day_text, _, time_text = text.partition(" ")
                at = fmt.parse_time(time_text) or dt.time(0)
                out[d.key] = dt.datetime.combine(fmt.parse_day(day_text), at,
                                                 tzinfo=fmt.PARIS).isoformat()
            elif d.type == "multi-choice":
                chosen = [c.strip() for c in text.split(",") if c.strip()]
                unknown = [c for c in chosen if c not in d.options]
                if unknown:
                    raise FieldError(name, t("error.not_an_option", value=", ".join(unknown),
                                             options=", ".join(d.options)))
                out[d.key] = chosen
            else:
                out[d.key] = text
        except ValueError:
            key = "error.number" if d.type == "number" else "error.date"
            raise FieldError(name, t(key)) from None
    return out
