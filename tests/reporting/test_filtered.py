"""Statistics of the persons some filters keep: every figure about persons counts only them
and the records about them, as if the others were not in the team."""

from __future__ import annotations

import datetime as dt

import msgspec

from mano_core.document.compartments import GeneralDocument
from mano_core.reporting import Period, compute
from mano_core.reporting.filtered import filtered
from mano_core.reporting.mano_stats import PersonFilter

from .conftest import NOW

PERIOD = Period(dt.date(2026, 1, 1), dt.date(2026, 11, 20))
KEY = "custom-couverture-maladie"


def _without_time(value: object) -> dict[str, object]:
    out = msgspec.to_builtins(value)
    out.pop("computed_at")
    return out


def test_no_filter_is_the_team_itself(doc: GeneralDocument) -> None:
    assert filtered(doc, []) is doc
    assert _without_time(compute(filtered(doc, []), PERIOD, now=NOW)) == _without_time(
        compute(doc, PERIOD, now=NOW))


def test_a_gender_filter_counts_only_those_persons_and_their_records(
        doc: GeneralDocument) -> None:
    women = {p.id for p in doc.persons.list() if p.gender == "Femme"}
    assert women and len(women) < len(doc.persons.list())
    whole = compute(doc, PERIOD, now=NOW)
    got = compute(filtered(doc, [PersonFilter("gender", "Femme")]), PERIOD, now=NOW)
    assert set(got.persons.by_gender) == {"Femme"}
    assert got.persons.by_gender["Femme"] == whole.persons.by_gender["Femme"]
    assert got.persons.followed == whole.persons.by_gender["Femme"]
    start, end = PERIOD.window()
    on_women_actions = {a.id for a in doc.actions.list() if set(a.persons) & women}
    comments = [c for c in doc.comments.list() if start <= c.date < end
                and ((c.person in women) if c.person else c.action in on_women_actions)]
    assert got.comments.total == len(comments) < whole.comments.total
    passages = [p for p in doc.passages.list() if start <= p.date < end and p.person in women]
    assert got.passages.total == len(passages) and got.passages.anonymous == 0
    assert got.observations == whole.observations   # about places, not persons


def test_a_custom_field_filter(doc: GeneralDocument) -> None:
    keep = {p.id for p in doc.persons.list() if p.custom_fields.get(KEY) == "AME"}
    assert keep
    view = filtered(doc, [PersonFilter(f"customFields.{KEY}", "AME")])
    assert {p.id for p in view.persons.list()} == keep
    assert all(set(a.persons) & keep for a in view.actions.list())
    got = compute(view, PERIOD, now=NOW)
    assert got.persons.followed <= len(keep)
