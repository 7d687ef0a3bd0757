"""How a typed record is laid out in the CRDT document, chosen by measurement (docs/architecture.md).

Each collection is one top-level pycrdt ``Map`` keyed by record id. A record is either

* **nested** (the default): one ``Map`` per record whose entries are *plain values only* (no nested
  Arrays or Maps, which is what made the fully nested layout slow). Plain fields merge field by
  field. List fields are sets: each item is its own entry ``field[item]`` so that concurrent
  additions are all kept. Dict fields (custom fields) are one entry per key ``field.key``.
  Counter fields (a report's service counters) are one entry per service *and device*
  ``field.service#client`` that only that device writes, so concurrent increments add up.
  Fields still at their default value are not written at creation (fewer CRDT items, faster
  loads); once a field has been written it stays written.
* **opaque**: one plain value per record, for immutable records (history entries).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import msgspec

from mano_core.errors import ValidationError
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
    return f"{field}[{item}]"


def dict_key(field: str, key: str) -> str:
    return f"{field}.{key}"


def counter_key(field: str, name: str, client: int) -> str:
    return f"{field}.{name}#{client}"


def flatten(kind: type[Record], wire: dict[str, Any], *, now_ms: float,
            client: int, skip_defaults: bool = True) -> dict[str, Any]:
    """Flat CRDT entries for a whole record (used at creation)."""
    plan = plan_for(kind)
    out: dict[str, Any] = {}
    for name, value in wire.items():
        if name in plan.plain:
            if skip_defaults and name in plan.defaults and plan.defaults[name] == value:
                continue
            out[name] = value
        elif name in plan.sets:
            for i, item in enumerate(value):
                out[set_key(name, _item_text(kind, name, item))] = now_ms + i / 1000
        elif name in plan.counters:
            for key, count in value.items():
                out[counter_key(name, key, client)] = count
        elif name in plan.dicts:
            for key, item in value.items():
                out[dict_key(name, key)] = item
    return out


def unflatten(kind: type[Record], entries: dict[str, Any]) -> dict[str, Any]:
    """Wire dict of a record from its flat CRDT entries (inverse of ``flatten``)."""
    plan = plan_for(kind)
    out: dict[str, Any] = {}
    sets: dict[str, list[tuple[float, str]]] = {}
    for key, value in entries.items():
        if key in plan.plain:
            out[key] = _int_if_integral(value)
            continue
        bracket = key.find("[")
        if bracket > 0 and key.endswith("]") and key[:bracket] in plan.sets:
            sets.setdefault(key[:bracket], []).append((value, key[bracket + 1:-1]))
            continue
        dot = key.find(".")
        if dot > 0:
            field = key[:dot]
            rest = key[dot + 1:]
            if field in plan.counters:
                name, _, _client = rest.rpartition("#")
                bucket = out.setdefault(field, {})
                bucket[name] = bucket.get(name, 0) + int(value or 0)
            elif field in plan.dicts and value is not None:
                out.setdefault(field, {})[rest] = _int_if_integral(value)
    for field, items in sets.items():
        out[field] = [item for stamp, item in sorted(items) if stamp is not None]
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
    reason = message
    if " - at `$." in message:
        reason, _, path = message.partition(" - at `$.")
        field = path.rstrip("`").split("[")[0].split(".")[0]
    elif "missing required field" in message:
        field = message.rsplit("`", 2)[-2] if message.count("`") >= 2 else "?"
        reason = "is required"
    label = kind.label if record_id is None else f"{kind.label} {record_id}"
    return ValidationError(label, field, reason)


def _item_text(kind: type[Record], field: str, item: Any) -> str:
    if not isinstance(item, str):
        raise ValidationError(kind.label, field, f"list items must be text, got {item!r}")
    return item


def _int_if_integral(value: Any) -> Any:
    # pycrdt returns every number as a float; give back ints where the value is integral.
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def iso_now(now: dt.datetime | None = None) -> str:
    """An ISO 8601 UTC timestamp."""
    return (now or dt.datetime.now(dt.timezone.utc)).isoformat()
