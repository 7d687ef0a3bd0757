"""How a typed record is laid out in the CRDT document, chosen by measurement
(docs/architecture.md; the layout a client of another language follows: docs/data-model.md).

Each collection is one top-level pycrdt ``Map`` keyed by record id. A record is either

* **base + overlay** (the default): one ``Map`` per record holding

  - ``"_"``: the record as it was created, one plain JSON value (fields at their default value
    are left out). A record that is never edited costs two CRDT items, close to storing it as
    one opaque value, which is what makes documents load fast;
  - one entry per field changed since, which overrides the base: plain fields merge field by
    field (last writer wins per field, concurrent edits to different fields both win);
  - list fields are sets: ``field[item]`` is the time the item was added, or ``None`` once it
    is removed, so concurrent additions are all kept;
  - dict fields (custom fields): ``field.key`` is the value, ``None`` once removed;
  - counter fields (a report's service counters): ``field.name#client`` is the total that one
    device added; only that device writes it, so concurrent increments add up.

* **opaque**: one plain value per record, for immutable records (history entries).
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from mano_core.errors import ValidationError
from mano_core.codes import Code
from mano_core.model.records import Record

COUNTER_FIELDS: Final = frozenset({("reports", "services")})
OPAQUE_COLLECTIONS: Final = frozenset({"history"})


class FieldPlan(msgspec.Struct, frozen=True):
    """How each field of one record type is stored."""

    plain: frozenset[str]
    sets: frozenset[str]
    dicts: frozenset[str]
    counters: frozenset[str]
    defaults: dict[str, Any]


_PLANS: dict[type[Record], FieldPlan] = {}


def plan_for(kind: type[Record]) -> FieldPlan:
    """The storage plan of a record type (cached)."""
    plan = _PLANS.get(kind)
    if plan is not None:
        return plan
    plain, sets, dicts, counters = set(), set(), set(), set()
    defaults: dict[str, Any] = {}
    for f in msgspec.structs.fields(kind):
        name = f.encode_name
        origin = getattr(f.type, "__origin__", None)
        if (kind.collection, name) in COUNTER_FIELDS:
            counters.add(name)
        elif origin is list:
            sets.add(name)
        elif origin is dict:
            dicts.add(name)
        else:
            plain.add(name)
        if f.default is not msgspec.NODEFAULT:
            defaults[name] = msgspec.to_builtins(f.default)
        elif f.default_factory is not msgspec.NODEFAULT:
            defaults[name] = msgspec.to_builtins(f.default_factory())
    plan = FieldPlan(frozenset(plain), frozenset(sets), frozenset(dicts), frozenset(counters),
                     defaults)
    _PLANS[kind] = plan
    return plan


def to_wire(record: Record) -> dict[str, Any]:
    """The record as builtins with camelCase names and ISO 8601 dates."""
    out: dict[str, Any] = msgspec.to_builtins(record)
    return out


def set_key(field: str, item: str) -> str:
    """Entry of one item of a set field."""
    return f"{field}[{item}]"


def dict_key(field: str, key: str) -> str:
    return f"{field}.{key}"


def counter_key(field: str, name: str, client: int) -> str:
    return f"{field}.{name}#{client}"


BASE = "_"


def base_value(kind: type[Record], wire: dict[str, Any]) -> dict[str, Any]:
    """The ``"_"`` entry of a new record: its wire dict without fields at their default."""
    defaults = plan_for(kind).defaults
    return {k: v for k, v in wire.items() if k not in defaults or defaults[k] != v}


def unflatten(kind: type[Record], entries: dict[str, Any]) -> dict[str, Any]:
    """Wire dict of a record from its CRDT entries: the base, then the overlay entries."""
    plan = plan_for(kind)
    out: dict[str, Any] = dict(entries.get(BASE) or {})
    added: dict[str, list[tuple[float, str]]] = {}
    removed: dict[str, set[str]] = {}
    for key, value in entries.items():
        if key == BASE:
            continue
        if key in plan.plain:
            out[key] = _int_if_integral(value)
            continue
        bracket = key.find("[")
        if bracket > 0 and key.endswith("]") and key[:bracket] in plan.sets:
            field, item = key[:bracket], key[bracket + 1:-1]
            if value is None:
                removed.setdefault(field, set()).add(item)
            else:
                added.setdefault(field, []).append((value, item))
            continue
        dot = key.find(".")
        if dot > 0:
            field, rest = key[:dot], key[dot + 1:]
            if field in plan.counters:
                name = rest.rpartition("#")[0]
                bucket = out.setdefault(field, {})
                bucket[name] = int(bucket.get(name, 0)) + int(value or 0)
            elif field in plan.dicts:
                bucket = dict(out.get(field) or {})
                if value is None:
                    bucket.pop(rest, None)
                else:
                    bucket[rest] = _int_if_integral(value)
                out[field] = bucket
    for field in plan.dicts & out.keys():
        out[field] = {k: _int_if_integral(v) for k, v in (out[field] or {}).items()}
    for field in set(added) | set(removed):
        items = list(out.get(field) or [])
        for _stamp, item in sorted(added.get(field, [])):
            if item not in items:
                items.append(item)
        gone = removed.get(field, set()) - {i for _s, i in added.get(field, [])}
        out[field] = [i for i in items if i not in gone]
    return out


def decode(kind: type[Record], wire: dict[str, Any]) -> Record:
    """A typed record from its wire dict; raises ValidationError naming the field."""
    try:
        return msgspec.convert(wire, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise validation_error(kind, exc, wire.get("id")) from None


def validation_error(kind: type[Record], exc: msgspec.ValidationError,
                     record_id: object = None) -> ValidationError:
    """Map msgspec's message ("Expected `str`, got `int` - at `$.name`") to our error."""
    message = str(exc)
    field = "?"
    detail = message
    label = kind.label if record_id is None else f"{kind.label} {record_id}"
    if " - at `$." in message:
        detail, _, path = message.partition(" - at `$.")
        field = path.rstrip("`").split("[")[0].split(".")[0]
    elif "missing required field" in message:
        field = message.rsplit("`", 2)[-2] if message.count("`") >= 2 else "?"
        return ValidationError(label, field, Code.REQUIRED)
    return ValidationError(label, field, Code.UNREADABLE, detail=detail)


def _int_if_integral(value: Any) -> Any:
    # pycrdt returns every number as a float; give back ints where the value is integral.
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value

