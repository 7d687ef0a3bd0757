"""How consent, shares and erasures read, for the person file, the settings and
`mano retention`: consent and Share lines, an erasure's preview counts, who may order one and
whom an erasure waits for. No Textual here: the command line imports it too."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from rich.text import Text

from mano_core import sharing
from mano_core.model.records import Person
from tui import format as fmt
from tui.i18n import Translator
from tui.text import plain, styled

if TYPE_CHECKING:
    from mano_core.erasure import ErasureStatus
    from tui.session import Session

# The order in which a preview lists what goes (the person first, history last).
COUNT_ORDER = ("persons", "actions", "comments", "consents", "shares", "personPlaces",
               "encounters", "passages", "groups", "medicalFiles", "consultations",
               "treatments", "history")


def collection_label(t: Translator, name: str, count: int = 2) -> str:
    return t.get(f"erase.collection.{name}", name, count=count)


def count_lines(t: Translator, counts: Mapping[str, int]) -> list[str]:
    """``  3  action(s)`` lines, in a stable order, zero counts left out."""
    order = [n for n in COUNT_ORDER if n in counts] + sorted(set(counts) - set(COUNT_ORDER))
    return [f"  {counts[n]:>5}  {collection_label(t, n, counts[n])}" for n in order if counts[n]]


def scope_text(t: Translator, scope: Iterable[str]) -> str:
    return ", ".join(t(f"consent.scope.{s}") for s in scope) or "—"


def consent_block(session: Session, t: Translator, person: Person) -> list[Text]:
    """Literal lines: the person's consents in this team and, in a joint team, the Share
    under which the person came here. Empty if there is neither."""
    team = session.team
    lines: list[Text] = []
    consents = sharing.consent_of(team, person.id)
    if consents:
        lines += [plain(""), styled((t("consent.title"), "bold"))]
        for c in consents:
            status = (t("consent.withdrawn", date=fmt.value(c.withdrawn_at))
                      if c.withdrawn_at is not None else t("consent.current"))
            line = t("consent.line", status=status, date=fmt.day(c.collected_at),
                     collector=session.member_name(c.collected_by, t),
                     partner=c.partner_organisation, scope=scope_text(t, c.scope))
            if c.shared_as and c.withdrawn_at is None:
                line += f" — {t('consent.shared')}"
            lines.append(plain(f"  {line}"))
    share = sharing.share_of(team, person.id)
    if share is not None:
        lines += [plain(""), styled((t("share.title"), "bold")),
                  plain("  " + t("share.line", organisation=share.organisation,
                                 date=fmt.day(share.consented_at),
                                 scope=scope_text(t, share.scope),
                                 collector=session.member_name(share.collected_by, t)))]
    return lines


def is_admin(session: Session) -> bool:
    """True if this device is an admin of the open team (a team without keys is local: its
    only device decides)."""
    keys = session.team.keys
    return keys is None or bool(keys.log.is_admin(keys.identity.device_id))


def waiting_names(session: Session, t: Translator, status: ErasureStatus) -> str:
    """Who an erasure waits for: the members of the devices that have not confirmed it."""
    keys = session.team.keys
    if status.problem is not None:
        return t("erasure.invalid", problem=status.problem)
    names = []
    for device in status.waiting_for:
        state = keys.log.device(bytes.fromhex(device)) if keys is not None else None
        member = state.member if state is not None else None
        names.append(session.member_name(member, t) if member else device[:12])
    return ", ".join(sorted(set(names))) or t("erasure.purging")
