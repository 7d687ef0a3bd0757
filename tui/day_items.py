"""The items of a sub-team's day, as the report lists them: actions created or done, comments,
passages, encounters, territory observations, new persons and, on a health professional's
device, the consultations of the day. One row per item, in the order they happened."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mano_core.errors import NotFoundError
from mano_core.model.records import Comment
from mano_core.reporting import daily
from mano_core.reporting.view import aware
from mano_core.team import Team
from tui import format as fmt
from tui.i18n import Translator


@dataclass(frozen=True)
class CommentOn:
    """Whom a comment is about, as the lists show it: a comment on an action is about the
    action's person (when it names none itself) and its text is led by the action's name."""

    person: str | None   # the comment's person, or its action's first person
    lead: str            # "<the action's name> — ", or "" (no action, or one since deleted)
    action: str | None   # the action's id, when it is still there


def comment_on(team: Team, comment: Comment) -> CommentOn:
    """The person, lead and action of ``comment`` (see CommentOn)."""
    if comment.action:
        try:
            action = team.actions.get(comment.action)
        except NotFoundError:
            pass
        else:
            return CommentOn(comment.person or (action.persons[0] if action.persons else None),
                             f"{action.name} — ", action.id)
    return CommentOn(comment.person, "", None)


@dataclass(frozen=True)
class DayItem:
    """One line of the day: when, what kind, about whom, and what."""

    at: dt.datetime
    kind: str          # a catalog key: report.item.<kind>
    person: str        # a name, or "" (an anonymous passage, an observation)
    text: str
    key: str           # unique row key (kind:record id)


def day_items(team: Team, subteam_id: str, day: dt.date, t: Translator,
              member: str) -> list[DayItem]:
    """The day's items of ``subteam_id``, oldest first. NotFoundError for an unknown
    sub-team. Consultations only visible to listed members are left out for the others."""
    act = daily.activity(team, subteam_id, day)

    def name(person_id: str | None) -> str:
        if not person_id:
            return ""
        try:
            return team.persons.get(person_id).name
        except NotFoundError:
            return ""

    out: list[DayItem] = []
    done = {a.id for a in act.actions_done}
    for a in act.actions_created:
        if a.id not in done:
            out.append(DayItem(a.created_at, "action_created", name(a.persons[0] if a.persons
                                                                    else None),
                               f"{fmt.status(t, a.status)} {a.name}", f"action:{a.id}"))
    for a in act.actions_done:
        assert a.completed_at is not None
        out.append(DayItem(a.completed_at, "action_done",
                           name(a.persons[0] if a.persons else None), a.name, f"action:{a.id}"))
    for c in act.comments:
        on = comment_on(team, c)
        out.append(DayItem(c.date, "comment", name(on.person),
                           (t("flag.urgent") + " " if c.urgent else "") + on.lead + c.text,
                           f"comment:{c.id}"))
    for p in act.passages:
        out.append(DayItem(p.date, "passage", name(p.person) or t("report.anonymous"),
                           p.comment, f"passage:{p.id}"))
    for e in act.encounters:
        out.append(DayItem(e.date, "encounter", name(e.person), e.comment, f"encounter:{e.id}"))
    for o in act.observations:
        try:
            place = team.territories.get(o.territory).name
        except NotFoundError:
            place = ""
        people = t("obs.people", men=o.men, women=o.women, minors=o.minors)
        text = " — ".join(x for x in (place, people, o.atmosphere or "", o.comment) if x)
        out.append(DayItem(o.observed_at, "observation", "", text, f"observation:{o.id}"))
    for new in act.new_persons:
        out.append(DayItem(new.created_at, "new_person", new.name, "", f"person:{new.id}"))
    medical = team.medical
    if medical is not None:
        for k in medical.consultations.filter(
                lambda k: subteam_id in k.teams
                and (not k.only_visible_by or member in k.only_visible_by)):
            when = k.completed_at if k.completed_at is not None else k.due_at
            if act.start <= aware(when) < act.end:
                out.append(DayItem(when, "consultation", name(k.person),
                                   f"{fmt.status(t, k.status)} {k.type} {k.name}".strip(),
                                   f"consultation:{k.id}"))
    out.sort(key=lambda i: (aware(i.at), i.key))
    return out
