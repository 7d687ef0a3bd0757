"""History written by every update, and the queries the field needs."""

from __future__ import annotations

import datetime as dt

from mano_core.document.queries import fold

from .helpers import replica

PARIS_MORNING = dt.datetime(2026, 11, 20, 8, tzinfo=dt.timezone.utc)


def test_history_records_who_changed_what_when_old_to_new():
    doc = replica("member-a", 1)
    person = doc.persons.create(name="Personne U", phone="0600000000")
    doc.author = "member-b"
    doc.persons.update(person.id, phone="0611223344", alertness=True)
    entries = doc.history.of_record(person.id)
    assert entries[0].field == "created" and entries[0].author == "member-a"
    changes = {h.field: (h.old, h.new, h.author) for h in entries[1:]}
    assert changes["phone"] == ("0600000000", "0611223344", "member-b")
    assert changes["alertness"] == (False, True, "member-b")
    assert all(entries[i].at <= entries[i + 1].at for i in range(len(entries) - 1))


def test_search_is_accent_and_case_insensitive_and_covers_aliases():
    doc = replica("member-a", 1)
    eloise = doc.persons.create(name="Éloignée Une", other_names=["Lolo"])
    doc.persons.create(name="Personne N")
    assert [p.id for p in doc.persons.search("ELOIGNEE")] == [eloise.id]
    assert [p.id for p in doc.persons.search("lolo")] == [eloise.id]
    assert fold("Ça GÉNÉRAL") == "ca general"


def test_active_list_and_alertness_filters():
    doc = replica("member-a", 1)
    a = doc.persons.create(name="Active", alertness=True)
    out = doc.persons.create(name="Partie", out_of_active_list=True,
                             out_of_active_list_date=dt.date(2026, 10, 1),
                             out_of_active_list_reasons=["Relogée"])
    assert [p.id for p in doc.persons.active()] == [a.id]
    assert [p.id for p in doc.persons.out_of_active_list()] == [out.id]
    assert [p.id for p in doc.persons.vulnerable()] == [a.id]


def test_agenda_queries():
    doc = replica("member-a", 1)
    doc.settings.add("actionCategories", "Santé")
    team = doc.subteams.create(name="Maraude de jour")
    person = doc.persons.create(name="Personne E")
    day = dt.date(2026, 11, 20)
    late = doc.actions.create(name="Renouvellement titre", due_at=PARIS_MORNING
                              - dt.timedelta(days=3), persons=[person.id])
    today = doc.actions.create(name="RDV dentiste", due_at=PARIS_MORNING, teams=[team.id],
                               categories=["Santé"], urgent=True)
    soon = doc.actions.create(name="Audience tribunal",
                              due_at=PARIS_MORNING + dt.timedelta(days=2))
    done = doc.actions.create(name="Vieille action", due_at=PARIS_MORNING
                              - dt.timedelta(days=9))
    doc.actions.mark_done(done.id)
    now = PARIS_MORNING + dt.timedelta(hours=1)
    assert [a.id for a in doc.actions.due_on(day)] == [today.id]
    assert [a.id for a in doc.actions.overdue(now)] == [late.id]
    assert [a.id for a in doc.actions.upcoming(now)] == [soon.id]
    assert [a.id for a in doc.actions.by_status("FAIT")] == [done.id]
    assert [a.id for a in doc.actions.by_category("Santé")] == [today.id]
    assert [a.id for a in doc.actions.of_team(team.id)] == [today.id]
    assert [a.id for a in doc.actions.of_person(person.id)] == [late.id]
    assert [a.id for a in doc.actions.urgent()] == [today.id]


def test_agenda_days_are_paris_days_across_a_change_of_time():
    """A day's bounds are Paris midnights (the bounds are compared in UTC: issue 24), so the
    day of the change to winter time is 25 hours and the day of the change to summer time 23."""
    doc = replica("member-a", 1)
    utc = dt.timezone.utc
    # 2026-10-25: Paris goes from UTC+2 to UTC+1 at 01:00 UTC; the day is 22:00 → 23:00 UTC.
    first = doc.actions.create(name="Juste après minuit", due_at=dt.datetime(2026, 10, 24, 22,
                                                                              tzinfo=utc))
    last = doc.actions.create(name="Juste avant minuit", due_at=dt.datetime(2026, 10, 25, 22,
                                                                             59, tzinfo=utc))
    after = doc.actions.create(name="Le lendemain", due_at=dt.datetime(2026, 10, 25, 23,
                                                                        tzinfo=utc))
    before = doc.actions.create(name="La veille", due_at=dt.datetime(2026, 10, 24, 21, 59,
                                                                      tzinfo=utc))
    assert {a.id for a in doc.actions.due_on(dt.date(2026, 10, 25))} == {first.id, last.id}
    assert [a.id for a in doc.actions.due_on(dt.date(2026, 10, 26))] == [after.id]
    assert [a.id for a in doc.actions.due_on(dt.date(2026, 10, 24))] == [before.id]
    # 2026-03-29: UTC+1 to UTC+2; the day is 23:00 (28th) → 22:00 UTC.
    spring = doc.actions.create(name="Printemps", due_at=dt.datetime(2026, 3, 29, 21, 59,
                                                                     tzinfo=utc))
    doc.actions.create(name="Trop tard", due_at=dt.datetime(2026, 3, 29, 22, tzinfo=utc))
    assert [a.id for a in doc.actions.due_on(dt.date(2026, 3, 29))] == [spring.id]
    # upcoming: after today and within 7 Paris days (the 26th to 1 November, a 168-hour week
    # from 23:00 UTC on the 25th)
    now = dt.datetime(2026, 10, 25, 12, tzinfo=utc)
    inside = doc.actions.create(name="Dans la semaine", due_at=dt.datetime(2026, 11, 1, 22, 59,
                                                                           tzinfo=utc))
    doc.actions.create(name="Hors semaine", due_at=dt.datetime(2026, 11, 1, 23, tzinfo=utc))
    assert {a.id for a in doc.actions.upcoming(now)} == {after.id, inside.id}


def test_comments_of_a_person_and_of_an_action_newest_first():
    doc = replica("member-a", 1)
    person = doc.persons.create(name="Personne L")
    action = doc.actions.create(name="CAF", due_at=PARIS_MORNING)
    old = doc.comments.create(text="Premier contact", person=person.id, date=PARIS_MORNING)
    new = doc.comments.create(text="Revu", person=person.id,
                              date=PARIS_MORNING + dt.timedelta(hours=2))
    on_action = doc.comments.create(text="Dossier déposé", action=action.id, date=PARIS_MORNING)
    assert [c.id for c in doc.comments.of_person(person.id)] == [new.id, old.id]
    assert [c.id for c in doc.comments.of_action(action.id)] == [on_action.id]
