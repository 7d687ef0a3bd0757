"""Consent and co-follow-up: a person followed by two organisations in a joint team.

    consent = await record_consent(home, person.id, collected_at=day, collected_by=member,
                                   partner_organisation="CAARUD Sud", scope=["identity"],
                                   joint_team=joint)
    shared = await share_person(home, joint, person.id, organisation="Maraude Nord")
    await withdraw_consent(home, joint, consent.id)   # erases ``shared`` from the joint team

A joint team is an ordinary team both organisations' devices belong to. Nothing reaches it
without a current consent recorded in the home team; what is copied is set by the consent's
scope (docs/data-model.md, "Consent and co-follow-up"):

* ``identity`` (required to share at all): ``IDENTITY_FIELDS`` of the person;
* ``actions``: the person's actions that concern only that person;
* ``comments``: the comments on the person (and, with ``actions``, on the copied actions).

Copies get ids derived from the joint team, the consent and the source record (UUID v5):
sharing again, or two devices of the home team sharing the same consent at once, writes the
same records instead of duplicates. Sharing is a copy made once: later edits in either team
stay there. Withdrawing the consent erases the copy from the joint team (a signed erasure
order, reason ``consent_withdrawn``) and never touches the home team's person.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from mano_core import limits
from mano_core.erasure.order import sign_share
from mano_core.errors import (
    ConsentRequiredError,
    ErasureError,
    ErasureForbiddenError,
    NotFoundError,
    ValidationError,
)
from mano_core.codes import Code
from mano_core.rules.table import Power
from mano_core.model.records import (
    CONSENT_SCOPES,
    Action,
    Comment,
    Consent,
    Erasure,
    Person,
    Share,
)

if TYPE_CHECKING:
    from mano_core.team import Team

__all__ = ["IDENTITY_FIELDS", "consent_of", "current_consent", "record_consent", "share_of",
           "share_person", "withdraw_consent"]

# What the "identity" scope copies: who the person is and how to recognise and reach them.
# Not copied: the home team's assessments and organisation (vulnerability flag, on the street
# since, followed since, sub-teams, out-of-active-list status), its custom fields (defined by
# and for that organisation, they may hold anything) and, never, medical data.
IDENTITY_FIELDS: Final = ("name", "other_names", "gender", "birthdate", "description", "phone",
                          "email")
_ACTION_FIELDS: Final = ("name", "description", "due_at", "with_time", "status", "completed_at",
                         "categories", "urgent")
_COMMENT_FIELDS: Final = ("text", "date", "urgent")
_IDS: Final = uuid.UUID("5d0f4f3e-8c53-4a8e-9a57-6f1f3b0e6a11")  # namespace of copied ids


async def record_consent(home: Team, person_id: str, *, collected_at: dt.date,
                         collected_by: str, partner_organisation: str,
                         scope: Sequence[str], joint_team: Team | str) -> Consent:
    """Record in ``home`` that the person agreed to be followed with ``partner_organisation``
    in ``joint_team``. ``collected_by`` is the member id of the professional who collected it.

    Raises NotFoundError (unknown person), ValidationError (empty partner or collector, unknown
    or empty scope, a date in the future is allowed: forms are filled after the fact)."""
    home.persons.get(person_id)
    partner = partner_organisation.strip()
    if not partner:
        raise ValidationError("consent", "partnerOrganisation", Code.REQUIRED)
    if not collected_by.strip():
        raise ValidationError("consent", "collectedBy", Code.REQUIRED)
    scopes = list(dict.fromkeys(scope))
    unknown = [s for s in scopes if s not in CONSENT_SCOPES]
    if unknown:
        raise ValidationError("consent", "scope", Code.UNKNOWN_SCOPE, unknown=unknown,
                              known=list(CONSENT_SCOPES))
    if not scopes:
        raise ValidationError("consent", "scope", Code.NOTHING_SHARED)
    if not isinstance(collected_at, dt.date) or isinstance(collected_at, dt.datetime):
        raise ValidationError("consent", "collectedAt", Code.WRONG_TYPE, expected="a date")
    joint_id = joint_team if isinstance(joint_team, str) else joint_team.id
    if not joint_id:
        raise ValidationError("consent", "jointTeam", Code.REQUIRED)
    if joint_id == home.id:
        raise ValidationError("consent", "jointTeam", Code.SAME_TEAM)
    if len(partner) > limits.MAX_SHORT_FIELD:
        raise ValidationError("consent", "partnerOrganisation", Code.TOO_LONG,
                              max=limits.MAX_SHORT_FIELD)
    return await home.consents.create(person=person_id, collected_at=collected_at,
                                      collected_by=collected_by.strip(),
                                      partner_organisation=partner, scope=scopes,
                                      joint_team=joint_id)


def consent_of(team: Team, person_id: str) -> list[Consent]:
    """Every consent recorded for that person in ``team``, withdrawn ones too, newest first."""
    found = team.consents.filter(lambda c: c.person == person_id)
    return sorted(found, key=lambda c: (c.collected_at, c.created_at), reverse=True)


def current_consent(home: Team, person_id: str, joint_id: str) -> Consent | None:
    """The newest consent of the person, not withdrawn, naming that joint team and covering
    ``identity`` (the least sharing needs); None if there is none."""
    for consent in consent_of(home, person_id):
        if (consent.withdrawn_at is None and consent.joint_team == joint_id
                and "identity" in consent.scope):
            return consent
    return None


def share_of(joint: Team, person_id: str) -> Share | None:
    """The Share under which ``person_id`` (an id in ``joint``) was shared, or None."""
    found = joint.shares.filter(lambda s: s.person == person_id)
    return max(found, key=lambda s: s.created_at) if found else None


async def share_person(home: Team, joint: Team, person_id: str, *,
                       organisation: str) -> Person:
    """Copy the person into ``joint`` as the consent's scope allows (module docstring), write
    the ``Share`` (``organisation``: the sharing organisation's name) and record ``shared_as``
    on the consent. Returns the person in the joint team; sharing again returns it unchanged.

    Raises ConsentRequiredError (no current consent naming this joint team with ``identity``
    in its scope: nothing is written anywhere), NotFoundError (unknown person),
    ValidationError (empty organisation, or ``joint`` is ``home``)."""
    person = home.persons.get(person_id)
    if joint.id == home.id:
        raise ValidationError("share", "jointTeam", Code.SAME_TEAM)
    consent = current_consent(home, person_id, joint.id)
    if consent is None:
        raise ConsentRequiredError(
            f"person {person_id}: no current consent to share with joint team {joint.id}")
    organisation = organisation.strip()
    if not organisation:
        raise ValidationError("share", "organisation", Code.REQUIRED)
    done = _share_for(joint, consent.id)
    if done is not None:
        if consent.shared_as != done.person:
            await home.consents.update(consent.id, shared_as=done.person)
        return joint.persons.get(done.person, include_deleted=True)

    copy_id = _copy_id(joint, consent, person.id)
    shared: Person | None = _find(joint.persons, copy_id)
    if shared is None:
        shared = await joint.persons.create(
            id=copy_id, **{f: getattr(person, f) for f in IDENTITY_FIELDS})
    copied_actions: dict[str, str] = {}
    if "actions" in consent.scope:
        for action in _own_actions(home, person.id):
            copied_actions[action.id] = await _copy_action(joint, consent, action, copy_id)
    if "comments" in consent.scope:
        for comment in home.comments.list():
            target = _comment_target(comment, person.id, copied_actions, copy_id)
            if target is not None:
                await _copy_comment(joint, consent, comment, target)
    share_fields: dict[str, Any] = {
        "id": _copy_id(joint, consent, "share"), "person": copy_id, "organisation": organisation,
        "shared_by": _device_hex(joint), "consent": consent.id, "scope": list(consent.scope),
        "consented_at": consent.collected_at, "collected_by": consent.collected_by}
    if joint.keys is not None:  # signed: the proof that lets this device withdraw it
        now = joint.doc.now()
        unsigned = Share(created_at=now, updated_at=now, **share_fields)
        share_fields["signature"] = sign_share(joint.keys.identity, joint.keys.team_id,
                                               unsigned)
    await joint.shares.create(**share_fields)
    await home.consents.update(consent.id, shared_as=copy_id)
    return shared


async def withdraw_consent(home: Team, joint: Team, consent_id: str) -> Erasure | None:
    """Withdraw a consent: set its ``withdrawn_at`` in ``home`` and erase the shared person
    (with its copied actions, comments and Share) from ``joint``. The home team's person is
    never touched. Returns the erasure order, or None if the person was never shared.
    Calling it again returns the order already given.

    Raises NotFoundError (unknown consent), ValidationError (the consent names another joint
    team), ErasureForbiddenError (this device may not order the erasure in ``joint``: only
    an admin of the joint team or the device that shared the person may; nothing changed)."""
    consent = home.consents.get(consent_id)
    if consent.joint_team != joint.id:
        raise ValidationError(f"consent {consent.id}", "jointTeam", Code.OTHER_JOINT_TEAM,
                              expected=consent.joint_team, actual=joint.id)
    target = consent.shared_as
    share = _share_for(joint, consent.id)
    if target is None and share is not None:
        target = share.person  # shared, but a crash came before ``shared_as`` was written
    in_joint = target is not None and _find(joint.persons, target) is not None
    if in_joint and target is not None and not joint.erasures.can_order(
            [target], "consent_withdrawn"):
        raise ErasureForbiddenError(
            "only an admin device of the joint team or the device that shared this person may "
            "erase it there")
    if consent.withdrawn_at is None:
        await home.consents.update(consent.id, withdrawn_at=home.doc.now())
    if target is None:
        return None
    if in_joint:
        return await joint.erasures.erase([target], reason="consent_withdrawn")
    return _order_naming(joint, target)


def shared_consents(home: Team, person_id: str) -> list[Consent]:
    """The person's consents under which a copy was shared and not withdrawn yet: the joint
    teams an erasure at home must reach too."""
    return [c for c in consent_of(home, person_id)
            if c.shared_as is not None and c.withdrawn_at is None]


async def erase_person(home: Team, person_id: str, *,
                       joints: Mapping[str, Team]) -> list[Erasure]:
    """Erase a person from ``home`` and, first, every copy shared into a joint team (the
    recipients of the data must erase it too): each current consent is withdrawn there, which
    erases the copy (``withdraw_consent``), then the home erasure removes the person, their
    consents included. ``joints`` maps joint team ids to the open teams of this device.

    Raises ErasureError naming the joint teams this device does not hold (withdraw there
    first, or from a device that holds them), ErasureForbiddenError; nothing is changed then.
    Returns the orders given, the home team's last."""
    consents = shared_consents(home, person_id)
    missing = sorted({c.joint_team for c in consents if c.joint_team not in joints})
    if missing:
        raise ErasureError("the person is shared into joint team(s) this device does not "
                           f"hold: {', '.join(missing)}; withdraw the consent there first")
    if not home.erasures.can_order([person_id], "request"):
        raise ErasureForbiddenError("only an admin device may order an erasure")
    for consent in consents:
        joint = joints[consent.joint_team]
        if consent.shared_as is not None and not joint.erasures.can_order(
                [consent.shared_as], "consent_withdrawn"):
            raise ErasureForbiddenError(
                f"this device may not erase the shared copy in joint team {joint.id}")
    orders = []
    for consent in consents:
        order = await withdraw_consent(home, joints[consent.joint_team], consent.id)
        if order is not None:
            orders.append(order)
    orders.append(await home.erasures.erase([person_id], reason="request"))
    return orders


# --- internals ----------------------------------------------------------------------------------


def _copy_id(joint: Team, consent: Consent, source: str) -> str:
    return str(uuid.uuid5(_IDS, f"{joint.id}/{consent.id}/{source}"))


def _find(collection: Any, record_id: str) -> Any:
    try:
        return collection.get(record_id, include_deleted=True)
    except NotFoundError:
        return None


def _share_for(joint: Team, consent_id: str) -> Share | None:
    found: Sequence[Share] = joint.shares.filter(lambda s: s.consent == consent_id)
    return found[0] if found else None


def _order_naming(joint: Team, person_id: str) -> Erasure | None:
    orders = [o for o in joint.erasures.orders() if person_id in o.persons]
    return orders[-1] if orders else None


def _device_hex(team: Team) -> str:
    keys = team.keys
    return keys.identity.device_id.hex() if keys is not None else ""


def _own_actions(home: Team, person_id: str) -> list[Action]:
    """Actions that concern this person and nobody else (a shared action would tell the
    partner about other persons)."""
    return [a for a in home.actions.of_person(person_id) if list(a.persons) == [person_id]]


def _comment_target(comment: Comment, person_id: str, actions: dict[str, str],
                    copy_id: str) -> dict[str, str] | None:
    if comment.person == person_id and comment.action in (None, *actions):
        target = {"person": copy_id}
        if comment.action is not None:
            target["action"] = actions[comment.action]
        return target
    if comment.person is None and comment.action in actions:
        return {"action": actions[comment.action]}
    return None


async def _copy_action(joint: Team, consent: Consent, action: Action, person: str) -> str:
    copy_id = _copy_id(joint, consent, action.id)
    if _find(joint.actions, copy_id) is None:
        # the joint team takes in the home team's categories its own list lacks (a listed
        # field refuses values its team does not list: mano_core/document/listed.py)
        # or, when this device may not change the joint team's lists, the copy goes without
        # the categories it lacks
        known = joint.settings.values("actionCategories")
        missing = [c for c in action.categories if c not in known]
        fields = {f: getattr(action, f) for f in _ACTION_FIELDS}
        if missing and joint.may(Power.SETTINGS):
            await joint.settings.add("actionCategories", *missing)
        elif missing:
            fields["categories"] = [c for c in action.categories if c in known]
        await joint.actions.create(id=copy_id, persons=[person], **fields)
    return copy_id


async def _copy_comment(joint: Team, consent: Consent, comment: Comment,
                        target: dict[str, str]) -> None:
    copy_id = _copy_id(joint, consent, comment.id)
    if _find(joint.comments, copy_id) is None:
        await joint.comments.create(id=copy_id, **target,
                                    **{f: getattr(comment, f) for f in _COMMENT_FIELDS})
