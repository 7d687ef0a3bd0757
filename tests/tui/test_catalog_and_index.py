"""The message catalog is complete in both languages; the persons index searches as the
engine does (accents, case, aliases) and filters."""

from __future__ import annotations

import re
from pathlib import Path

from mano_core.model.records import Person
from tui import format as fmt
from tui.i18n import LANGUAGES, Translator, catalog
from tui.people_index import ALL, OUT, PersonIndex, PersonQuery
from tui.widgets.charts import bar, bar_chart

TUI = Path(__file__).parents[2] / "tui"


def test_every_key_used_exists_in_french_and_english():
    fr, en = catalog("fr").messages, catalog("en").messages
    assert set(fr) == set(en)
    assert all(text for lang in LANGUAGES for text in catalog(lang).messages.values())
    used = set()
    for path in TUI.rglob("*.py"):
        text = path.read_text()
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""", text))
        used |= set(re.findall(r"""["'](key\.[a-z_]+)["']""", text))
    missing = {k for k in used if k not in fr}
    assert not missing


def test_plural_messages_follow_each_language_rule():
    """French says "0 action, 1 action, 2 actions"; English "0 actions, 1 action"."""
    fr, en = Translator("fr"), Translator("en")
    assert fr("sync.pending", count=0) == "0 modification en attente d'envoi"
    assert fr("sync.pending", count=1) == "1 modification en attente d'envoi"
    assert fr("sync.pending", count=2) == "2 modifications en attente d'envoi"
    assert en("sync.pending", count=0) == "0 edits waiting to be sent"
    assert en("sync.pending", count=1) == "1 edit waiting to be sent"
    # the form follows the first value the text places when no count is named
    assert fr("export.done", rows=1, path="x") == "1 ligne exportée dans x."
    assert fr("export.done", rows=3, path="x") == "3 lignes exportées dans x."
    for lang in LANGUAGES:
        for key, text in catalog(lang).messages.items():
            if isinstance(text, tuple):
                assert len(text) == 2 and all(text), (lang, key)
                assert "(s)" not in "".join(text).replace("ligne(s)", "").replace(
                    "enregistrement(s)", "").replace("row(s)", "").replace("record(s)", ""), key


def test_numbers_and_sizes_are_written_as_each_language_writes_them():
    """French groups thousands with a (non-breaking) space and writes "2,1 Mo"; English
    "10,000" and "2.1 MB"; the catalog's texts place every whole number that way."""
    fr, en = Translator("fr"), Translator("en")
    assert fmt.number(10_000, "fr") == "10\u00a0000" and fmt.number(10_000, "en") == "10,000"
    assert fmt.number(311.64, "fr", decimals=1) == "311,6"
    assert fmt.number(1234.0, "en", decimals=1) == "1,234" and fmt.number(None, "fr") == "—"
    assert fmt.size(fr, 2_200_000) == "2,1 Mo" and fmt.size(en, 2_200_000) == "2.1 MB"
    assert fmt.size(fr, 40_009) == "39 Ko" and fmt.size(en, 1) == "1 byte"
    assert fmt.size(fr, 12) == "12 octets"
    assert fr("sync.pending", count=12_345) == "12\u00a0345 modifications en attente d'envoi"
    assert en("export.done", rows=1500, path="x").startswith("1,500 rows")
    assert fr("demo.generating", scale=1, seed="2026").endswith("graine 2026)…")
    chart = bar_chart({"Repas": 12_000}, width=8, label_width=8, lang="fr")
    assert "12\u00a0000" in chart.splitlines()[0]


def _person(pid: str, name: str, **kw) -> Person:
    import datetime as dt
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    return Person(id=pid, name=name, created_at=now, updated_at=now, **kw)


def test_index_search_and_filters():
    index = PersonIndex([
        _person("1", "Éloignée Une", other_names=["La Frisée"], alertness=True,
                assigned_teams=["nord"]),
        _person("2", "Eloigné Deux", out_of_active_list=True),
        _person("3", "Dédé", assigned_teams=["sud"]),
    ])
    names = lambda q: [p.name for p in index.query(q)]  # noqa: E731
    assert names(PersonQuery("ELOI", status=ALL)) == ["Eloigné Deux", "Éloignée Une"]
    assert names(PersonQuery("eloi")) == ["Éloignée Une"]             # active list only
    assert names(PersonQuery("frisee")) == ["Éloignée Une"]           # an alias
    assert names(PersonQuery(status=OUT)) == ["Eloigné Deux"]
    assert names(PersonQuery(subteam="sud")) == ["Dédé"]
    assert names(PersonQuery(vulnerable=True)) == ["Éloignée Une"]
    index.update([_person("3", "Dédé", deleted_at=_person("x", "x").created_at)])
    assert names(PersonQuery("dede", status=ALL)) == []


def test_index_keeps_the_name_order_through_changes(monkeypatch) -> None:
    """The index keeps its persons sorted as they change (a query sorts nothing): after
    renames, removals, tombstones and new persons, every query lists them as a sort of the
    persons left would, homonyms by id; the first order, sorted in slices and merged,
    too."""
    import random

    from tui import people_index

    monkeypatch.setattr(people_index, "SORT_SLICE", 3)   # many slices merged
    rnd = random.Random(7)
    first = ["Zoé", "adèle", "Éric", "Bruno", "éric", "Céline", "Aurélie", "Zoe"]
    persons = {str(i): _person(str(i), rnd.choice(first) + f" {rnd.randrange(3)}")
               for i in range(40)}
    index = PersonIndex(persons.values())
    gone = _person("x", "x").created_at

    def expected() -> list[str]:
        return [p.id for p in sorted(persons.values(),
                                     key=lambda p: (people_index.fold(p.name), p.id))]

    assert [p.id for p in index.query(PersonQuery(status=ALL))] == expected()
    for step in range(200):
        pid = str(rnd.randrange(50))
        action = rnd.randrange(4)
        if action == 0 and pid in persons:
            index.remove(pid)
            del persons[pid]
        elif action == 1 and pid in persons:
            index.update([_person(pid, persons[pid].name, deleted_at=gone)])
            del persons[pid]
        else:   # a new person, or a rename
            persons[pid] = _person(pid, rnd.choice(first) + f" {rnd.randrange(3)}")
            index.update([persons[pid]])
        assert [p.id for p in index.query(PersonQuery(status=ALL))] == expected(), step
    assert len(index) == len(persons)


def test_bar_chart_reads_without_colour():
    assert bar(4, 8, 4) == "██"
    text = bar_chart({"Repas": 12, "Douches": 3}, width=8, label_width=8)
    assert text.splitlines()[0].startswith("Repas") and text.splitlines()[0].endswith("12")
