"""Sharing a person into a joint team needs a current consent; the scope decides what is
copied; withdrawing the consent erases the copy from the joint team and only from there."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from mano_core import sharing
from mano_core.errors import (
    ConsentRequiredError,
    ErasureError,
    ErasureForbiddenError,
    ValidationError,
)
from mano_core.model.records import Consent, Person
from mano_core.team import Team
from tests.sync.helpers import eventually, join

from .conftest import NOW, Org

pytestmark = pytest.mark.timeout(180)

DAY = dt.date(2026, 10, 2)


def content(team: Team) -> dict[str, int]:
    """How many records (tombstones too) each collection of the general document holds."""
    return {name: len(coll.list(include_deleted=True))
            for name, coll in team.doc.collections.items()
            if coll.list(include_deleted=True)}


async def followed_person(home: Team) -> tuple[Person, dict[str, Any]]:
    """A person with everything a file can hold: identity, assessments, actions and comments
    of her own, an action and comments shared with someone else."""
    if "Accès aux droits" not in home.settings.values("actionCategories"):
        await home.settings.add("actionCategories", "Accès aux droits")  # the team's list
    other = await home.persons.create(name="Personne O")
    person = await home.persons.create(
        name="Personne C", other_names=["La Frisée"], gender="Femme",
        birthdate=dt.date(1984, 3, 9), phone="06 39 98 00 11", email="personne.c@example.org",
        description="Blouson bleu", alertness=True, wandering_at=dt.date(2019, 5, 1),
        followed_since=dt.date(2021, 1, 4), custom_fields={})
    own = await home.actions.create(name="Accompagnement CAF", persons=[person.id], due_at=NOW,
                                    categories=["Accès aux droits"])
    both = await home.actions.create(name="Hébergement couple", persons=[person.id, other.id],
                                     due_at=NOW)
    notes = {
        "on_person": await home.comments.create(text="Pansement refait", person=person.id,
                                                date=NOW, urgent=True),
        "on_own_action": await home.comments.create(text="Dossier déposé", action=own.id,
                                                    date=NOW),
        "on_shared_action": await home.comments.create(text="Le couple attend",
                                                       action=both.id, date=NOW),
        "on_other": await home.comments.create(text="Vu Personne O", person=other.id, date=NOW),
    }
    return person, {"own": own, "both": both, "other": other, **notes}


async def consent(org: Org, person: Person, *scope: str, joint: Any = None) -> Consent:
    return await sharing.record_consent(
        org.home, person.id, collected_at=DAY, collected_by=org.home.info.member,
        partner_organisation="CAARUD Sud", scope=list(scope or ("identity",)),
        joint_team=joint if joint is not None else org.joint)


# --- recording consent ----------------------------------------------------------------------------


@pytest.mark.parametrize("change, field", [
    ({"partner_organisation": "  "}, "partnerOrganisation"),
    ({"scope": ["identity", "medical"]}, "scope"),
    ({"scope": []}, "scope"),
    ({"collected_by": ""}, "collectedBy"),
])
async def test_invalid_consent_is_refused_and_nothing_is_written(org: Org, change, field):
    person = await org.home.persons.create(name="Personne K")
    fields: dict[str, Any] = {"collected_at": DAY, "collected_by": org.home.info.member,
                              "partner_organisation": "CAARUD Sud", "scope": ["identity"],
                              "joint_team": org.joint}
    fields.update(change)
    with pytest.raises(ValidationError) as caught:
        await sharing.record_consent(org.home, person.id, **fields)
    assert caught.value.field == field
    assert org.home.consents.list(include_deleted=True) == []


# --- sharing is refused without a current consent for this joint team -------------------------


async def test_share_without_consent_is_refused_and_writes_nothing(org: Org):
    person, _ = await followed_person(org.home)
    before = content(org.joint)
    with pytest.raises(ConsentRequiredError):
        await sharing.share_person(org.home, org.joint, person.id, organisation="Maraude Nord")
    assert content(org.joint) == before
    assert org.joint.persons.list(include_deleted=True) == []


async def test_share_with_a_withdrawn_consent_is_refused(org: Org):
    person, _ = await followed_person(org.home)
    given = await consent(org, person, "identity", "actions")
    assert await sharing.withdraw_consent(org.home, org.joint, given.id) is None  # never shared
    assert org.home.consents.get(given.id).withdrawn_at is not None
    with pytest.raises(ConsentRequiredError):
        await sharing.share_person(org.home, org.joint, person.id, organisation="Maraude Nord")
    assert org.joint.persons.list(include_deleted=True) == []
    assert org.joint.shares.list(include_deleted=True) == []


async def test_share_with_a_consent_for_another_joint_team_is_refused(org: Org):
    person, _ = await followed_person(org.home)
    elsewhere = await org.device.create_team("Suivi commun Nord × Accueil de jour")
    await consent(org, person, "identity", "actions", "comments", joint=elsewhere)
    with pytest.raises(ConsentRequiredError):
        await sharing.share_person(org.home, org.joint, person.id, organisation="Maraude Nord")
    assert org.joint.persons.list(include_deleted=True) == []
    # ...while sharing into the team the consent names works
    shared = await sharing.share_person(org.home, elsewhere, person.id, organisation="Nord")
    assert elsewhere.persons.get(shared.id).name == "Personne C"


async def test_a_consent_without_identity_does_not_allow_sharing(org: Org):
    person, _ = await followed_person(org.home)
    await consent(org, person, "comments")
    with pytest.raises(ConsentRequiredError):
        await sharing.share_person(org.home, org.joint, person.id, organisation="Maraude Nord")
    assert content(org.joint) == {}


# --- what is copied -----------------------------------------------------------------------------


async def test_identity_scope_copies_identity_fields_only(org: Org):
    person, _ = await followed_person(org.home)
    given = await consent(org, person, "identity")
    shared = await sharing.share_person(org.home, org.joint, person.id,
                                        organisation="Maraude Nord")
    assert shared.id != person.id
    copy = org.joint.persons.get(shared.id)
    assert (copy.name, copy.other_names, copy.gender, copy.birthdate, copy.phone, copy.email,
            copy.description) == ("Personne C", ["La Frisée"], "Femme",
                                  dt.date(1984, 3, 9), "06 39 98 00 11",
                                  "personne.c@example.org", "Blouson bleu")
    # the home team's assessments stay there
    assert (copy.alertness, copy.wandering_at, copy.followed_since) == (False, None, None)
    assert org.joint.actions.list() == [] and org.joint.comments.list() == []
    share = sharing.share_of(org.joint, shared.id)
    assert share is not None
    assert (share.organisation, share.consent, share.scope, share.consented_at,
            share.collected_by) == ("Maraude Nord", given.id, ["identity"], DAY,
                                    org.home.info.member)
    assert share.shared_by == (await org.device.device_id).hex()
    assert org.home.consents.get(given.id).shared_as == shared.id


async def test_actions_and_comments_scope_copy_only_what_concerns_that_person_only(org: Org):
    person, _rec = await followed_person(org.home)
    await consent(org, person, "identity", "actions", "comments")
    shared = await sharing.share_person(org.home, org.joint, person.id,
                                        organisation="Maraude Nord")
    (action,) = org.joint.actions.list()
    assert (action.name, action.persons, action.categories) == (
        "Accompagnement CAF", [shared.id], ["Accès aux droits"])
    texts = {c.text: (c.person, c.action) for c in org.joint.comments.list()}
    assert texts == {"Pansement refait": (shared.id, None),
                     "Dossier déposé": (None, action.id)}
    assert [p.name for p in org.joint.persons.list()] == ["Personne C"]  # not Personne O


async def test_actions_scope_without_comments_copies_no_comment(org: Org):
    person, _ = await followed_person(org.home)
    await consent(org, person, "identity", "actions")
    await sharing.share_person(org.home, org.joint, person.id, organisation="Maraude Nord")
    assert [a.name for a in org.joint.actions.list()] == ["Accompagnement CAF"]
    assert org.joint.comments.list() == []


async def test_sharing_twice_returns_the_same_person_and_copies_nothing_more(org: Org):
    person, _ = await followed_person(org.home)
    await consent(org, person, "identity", "actions", "comments")
    first = await sharing.share_person(org.home, org.joint, person.id, organisation="Nord")
    after_first = content(org.joint)
    again = await sharing.share_person(org.home, org.joint, person.id, organisation="Nord")
    assert again.id == first.id
    assert content(org.joint) == after_first
    assert len(org.joint.shares.list()) == 1


# --- withdrawal ---------------------------------------------------------------------------------


async def test_withdrawal_erases_the_copy_from_the_joint_team_only(org: Org):
    person, rec = await followed_person(org.home)
    given = await consent(org, person, "identity", "actions", "comments")
    shared = await sharing.share_person(org.home, org.joint, person.id, organisation="Nord")
    home_before = content(org.home)
    order = await sharing.withdraw_consent(org.home, org.joint, given.id)
    assert order is not None
    assert (order.persons, order.reason) == ([shared.id], "consent_withdrawn")
    # the joint team holds nothing about her any more (tombstones neither), only the Share:
    # ids and dates, the record of the consent and the sharer's proof
    for name in ("persons", "actions", "comments"):
        assert org.joint.doc.collections[name].list(include_deleted=True) == [], name
    (share,) = org.joint.shares.list()
    assert (share.person, share.consent) == (shared.id, given.id)
    assert not [h for h in org.joint.history.list(include_deleted=True)
                if h.record_id not in (order.id, share.id)]
    # the home team's person and records are untouched; only the consent changed
    assert org.home.persons.get(person.id).phone == "06 39 98 00 11"
    assert len(org.home.actions.of_person(person.id)) == 2
    assert org.home.comments.get(rec["on_person"].id).text == "Pansement refait"
    assert content(org.home) == {**home_before, "history": content(org.home)["history"]}
    withdrawn = org.home.consents.get(given.id)
    assert withdrawn.withdrawn_at is not None and withdrawn.shared_as == shared.id
    assert sharing.consent_of(org.home, person.id) == [withdrawn]
    # withdrawing again gives the same order back, and sharing is refused now
    assert (await sharing.withdraw_consent(org.home, org.joint, given.id)).id == order.id
    with pytest.raises(ConsentRequiredError):
        await sharing.share_person(org.home, org.joint, person.id, organisation="Nord")


async def test_withdrawal_names_the_consents_joint_team(org: Org):
    person, _ = await followed_person(org.home)
    given = await consent(org, person)
    await sharing.share_person(org.home, org.joint, person.id, organisation="Nord")
    other = await org.device.create_team("Autre équipe commune")
    with pytest.raises(ValidationError):
        await sharing.withdraw_consent(org.home, other, given.id)
    assert org.home.consents.get(given.id).withdrawn_at is None
    assert len(org.joint.persons.list()) == 1


async def test_a_device_that_shared_the_person_can_withdraw_without_being_admin(
        make_device, relay):
    caarud, nord = await make_device("caarud"), await make_device("nord")
    joint_admin = await caarud.create_team("Suivi commun")
    home = await nord.create_team("Maraude Nord", health=True)
    async with await caarud.sync(joint_admin, relay.url) as sa:
        joint = await join(sa, nord, relay.url, role="normal")
        nord_id = await nord.device_id
        assert joint.keys is not None and not joint.keys.log.is_admin(nord_id)

        person, _ = await followed_person(home)
        given = await consent(Org(nord, home, joint), person, "identity", "actions")
        shared = await sharing.share_person(home, joint, person.id, organisation="Nord")
        assert joint.erasures.can_order([shared.id], "consent_withdrawn")
        assert not joint.erasures.can_order([shared.id], "request")  # not an admin here

        async with await nord.sync(joint, relay.url) as sn:
            await sn.wait_synced()
            await eventually(lambda: len(joint_admin.persons.list()) == 1, 30,
                             "the shared person at the partner's")
            order = await sharing.withdraw_consent(home, joint, given.id)
            assert order is not None and order.device == nord_id.hex()
            assert joint.persons.list(include_deleted=True) == []
            assert joint.actions.list(include_deleted=True) == []
            assert home.persons.get(person.id).name == "Personne C"
            await eventually(lambda: joint_admin.persons.list(include_deleted=True) == [], 30,
                             "the erasure at the partner's")
            assert joint_admin.actions.list(include_deleted=True) == []


async def test_another_device_of_the_joint_team_cannot_withdraw_for_the_sharer(
        make_device, relay):
    # a colleague's phone shared her; this device (same organisation, not admin of the joint
    # team, not the sharer) may not order the erasure: an admin of the joint team must
    caarud, phone, laptop = [await make_device(n) for n in ("caarud", "phone", "laptop")]
    joint_admin = await caarud.create_team("Suivi commun")
    async with await caarud.sync(joint_admin, relay.url) as sa:
        joint = await join(sa, laptop, relay.url, role="normal")
    home = await laptop.create_team("Maraude Nord")
    person, _ = await followed_person(home)
    given = await consent(Org(laptop, home, joint), person, "identity")
    copy = await joint.persons.create(name="Personne C")
    await joint.shares.create(person=copy.id, organisation="Nord",
                              shared_by=(await phone.device_id).hex(), consent=given.id,
                              scope=["identity"], consented_at=DAY,
                              collected_by=home.info.member)
    await home.consents.update(given.id, shared_as=copy.id)
    with pytest.raises(ErasureForbiddenError):
        await sharing.withdraw_consent(home, joint, given.id)
    assert home.consents.get(given.id).withdrawn_at is None  # nothing changed
    assert [p.id for p in joint.persons.list()] == [copy.id]


async def test_a_share_a_member_writes_naming_itself_grants_no_right_to_erase(
        make_device, relay):
    # a member writes a Share naming its own device, without the sharer's signature: it may
    # not erase that person from the joint team
    caarud, laptop = await make_device("caarud"), await make_device("laptop")
    joint_admin = await caarud.create_team("Suivi commun")
    async with await caarud.sync(joint_admin, relay.url) as sa:
        joint = await join(sa, laptop, relay.url, role="normal")
        victim = await joint_admin.persons.create(name="Personne C")
        await sa.wait_synced()
    async with await laptop.sync(joint, relay.url):
        await eventually(lambda: len(joint.persons.list()) == 1, what="the person")
    me = (await laptop.device_id).hex()
    await joint.shares.create(person=victim.id, organisation="Nord", shared_by=me,
                              consent="made-up", scope=["identity"], consented_at=DAY,
                              collected_by=joint.info.member, signature="00" * 64)
    assert not joint.erasures.can_order([victim.id], "consent_withdrawn")
    with pytest.raises(ErasureForbiddenError):
        await joint.erasures.erase([victim.id], reason="consent_withdrawn")
    assert [p.name for p in joint.persons.list()] == ["Personne C"]


async def test_a_withdrawal_order_stays_valid_after_the_erasure(make_device, relay):
    caarud, nord = await make_device("caarud"), await make_device("nord")
    joint_admin = await caarud.create_team("Suivi commun")
    home = await nord.create_team("Maraude Nord")
    async with await caarud.sync(joint_admin, relay.url) as sa:
        joint = await join(sa, nord, relay.url, role="normal")
    person, _ = await followed_person(home)
    given = await consent(Org(nord, home, joint), person, "identity")
    await sharing.share_person(home, joint, person.id, organisation="Nord")
    order = await sharing.withdraw_consent(home, joint, given.id)
    assert order is not None
    assert joint.erasures.status(order.id).problem is None


# --- erasure at home reaches the shared copies ------------------------------------------------


async def test_erasing_at_home_first_erases_the_shared_copy(org: Org):
    person, _ = await followed_person(org.home)
    given = await consent(org, person, "identity", "actions", "comments")
    shared = await sharing.share_person(org.home, org.joint, person.id, organisation="Nord")
    with pytest.raises(ErasureError):  # the joint team is not at hand: nothing changes
        await sharing.erase_person(org.home, person.id, joints={})
    assert org.joint.persons.get(shared.id) and org.home.persons.get(person.id)
    assert org.home.consents.get(given.id).withdrawn_at is None

    orders = await sharing.erase_person(org.home, person.id, joints={org.joint.id: org.joint})
    assert [o.reason for o in orders] == ["consent_withdrawn", "request"]
    assert org.joint.persons.list(include_deleted=True) == []
    assert org.joint.actions.list(include_deleted=True) == []
    assert [p.name for p in org.home.persons.list()] == ["Personne O"]
    assert org.home.consents.list(include_deleted=True) == []  # erased with her
    assert [s.person for s in org.joint.shares.list()] == [shared.id]  # ids and dates only
