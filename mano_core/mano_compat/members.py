"""MANO's users (the ``utilisateurs`` sheet) as authors: a user becomes a member name
(``memberName.<id>`` team setting), or the member of this team with the same name."""

from __future__ import annotations

from typing import Final

from mano_core.document.queries import fold
from mano_core.team import Team

from . import cells
from .discovery import map_header
from .plan import Plan
from .result import SheetReport
from .workbook import Sheet

MEMBER_NAMES_KEY: Final = "memberName."  # team setting: memberName.<member id> → display name


def read_users(plan: Plan, sheet: Sheet | None) -> None:
    """MANO's users as names and, when a name is a member's, that member."""
    if sheet is None:
        return
    cols = map_header(sheet, "users", plan)[0]
    ours = {}
    for member in _our_members(plan.team):
        name = plan.team.settings.get(MEMBER_NAMES_KEY + member)
        if name:
            ours[fold(str(name))] = member
    for _number, row in sheet.rows:
        values = {c.field: row[i] for i, c in cols.items() if i < len(row)}
        user_id = cells.text(values.get("id"))
        name = cells.text(values.get("name")) or cells.text(values.get("email"))
        if not user_id:
            continue
        plan.members[user_id] = name
        plan.member_ids[user_id] = ours.get(fold(name), user_id) if name else user_id
    plan.sheets.append(SheetReport(sheet=sheet.title, collection="users", rows=len(sheet.rows),
                                   new=len(plan.members), present=0,
                                   columns=tuple(sheet.header[i] for i in cols), ignored=()))


def _our_members(team: Team) -> set[str]:
    """This device's member and, on a team with keys, every member of the membership log."""
    members = {team.info.member}
    log = getattr(team.keys, "log", None)
    if log is not None:
        members |= {d.member for d in log.active_devices()}
    return members


def member(plan: Plan, mano_id: str | None) -> str | None:
    """Our member id for a MANO user id (the id itself when unknown)."""
    if not mano_id:
        return None
    return plan.member_ids.get(mano_id, mano_id)
