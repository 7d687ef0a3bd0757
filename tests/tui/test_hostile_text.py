"""Text people type is data, never markup: names, aliases, comments, actions, structures,
observations, report text, custom fields, sub-teams, categories and member names holding
``[/]``, ``[b]x[/b]``, ``[red]``, ``[link=x]y[/link]``, ``[si besoin]``, escape sequences,
control characters, zero-width and right-to-left marks, emoji and 10,000 characters. Every
section, every tab of the file and every detail screen is opened; the app keeps running and
shows each text as typed (control characters as visible pictures: ``␛`` for ESC), read on
the rendered screen."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from mano_core.device import Device
from mano_core.reporting import daily
from mano_core.store import TEST_KDF
from tui.screens.actions_common import ActionDetailScreen
from tui.screens.agenda import AgendaScreen
from tui.screens.person_file import PersonFileScreen
from tui.session import MEMBER_NAMES_KEY
from tui.widgets.forms import FormScreen

from .conftest import NOW, PASS, REFERENCE, app_on, wait_for
from .rendered import invisible_removed, notices, screen_text

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]

BIG = (170, 60)

# (as stored, as it must be seen)
HOSTILE: list[tuple[str, str]] = [
    ("Orienté [CHRS Nord] ; code porte [/] à vérifier",
     "Orienté [CHRS Nord] ; code porte [/] à vérifier"),
    ("[b]X[/b] [red]Y", "[b]X[/b] [red]Y"),
    ("[link=x]y[/link]", "[link=x]y[/link]"),
    ("Appeler [si besoin] le 115", "Appeler [si besoin] le 115"),
    ("rouge \x1b[31mici\x1b[0m fin", "rouge ␛[31mici␛[0m fin"),
    ("bip\x07 nul\x00 suppr\x7f csi\x9b fin", "bip␇ nul␀ suppr␡ csi� fin"),
    ("zéro\u200blargeur\u200d \u200fdroite\u202egauche\u202c fin",
     "zéro\u200blargeur\u200d \u200fdroite\u202egauche\u202c fin"),
    ("soins 🧑‍⚕️ ok 🏳️‍🌈 fin", "soins 🧑‍⚕️ ok 🏳️‍🌈 fin"),
]
LONG = "début [/] " + "x" * 9_983 + " [b]fin"          # 10,000 characters
assert len(LONG) == 10_000
LONG_NAME = "Nom [/] " + "n" * 992                      # names: 1,000 characters at most
SUBTEAM = "Équipe [red]soir[/]"
MEMBER = "Awa [/] [b]K[/b]"
CATEGORY = "Santé [si besoin]"
SERVICE = "Repas [/] chauds"
FIELD_LABEL = "Note [b]libre[/b]"
FIELD_SECTION = "Infos [/] utiles"


async def build_hostile_store(path: Path) -> dict[str, list[str]]:
    """A team whose every text is hostile; the ids of what was made."""
    ids: dict[str, list[str]] = {"persons": [], "actions": [], "territories": []}
    async with await Device.create(path, PASS, kdf=TEST_KDF) as device:
        team = await device.create_team("Maraude [b]Nord[/b]", health=True)
        await team.settings.set(MEMBER_NAMES_KEY + team.info.member, MEMBER)
        sub = await team.subteams.create(name=SUBTEAM)
        await team.settings.add("actionCategories", CATEGORY)
        await team.settings.add("structureCategories", CATEGORY)
        await team.settings.add("consultationTypes", "Infirmier")
        await team.settings.add("services", SERVICE)
        await team.custom_fields.create(key="note", label_text=FIELD_LABEL, type="text",
                                        scope="person", section=FIELD_SECTION)
        await team.custom_fields.create(key="suivi", label_text="Suivi", type="textarea",
                                        scope="person", section=FIELD_SECTION)
        medical = team.medical
        assert medical is not None
        names = [*(f"P{i} {h}" for i, (h, _s) in enumerate(HOSTILE)), LONG_NAME]
        for i, name in enumerate(names):
            h = HOSTILE[i % len(HOSTILE)][0]
            person = await team.persons.create(
                name=name, other_names=[f"alias{i} {h}"], assigned_teams=[sub.id],
                alertness=i % 2 == 0, custom_fields={"note": h, "suivi": LONG})
            await team.persons.update(person.id, description=LONG if i == 0 else h)
            ids["persons"].append(person.id)
            await team.comments.create(text=h, person=person.id, date=NOW, urgent=True,
                                       team=sub.id)
            action = await team.actions.create(
                name=h, description=LONG, persons=[person.id], due_at=NOW, teams=[sub.id],
                categories=[CATEGORY], urgent=True)
            ids["actions"].append(action.id)
            place = await team.places.create(name=f"lieu {h}")
            await team.person_places.create(person=person.id, place=place.id)
            await team.encounters.create(person=person.id, team=sub.id, date=NOW,
                                         comment=f"rencontre {h}")
            await team.passages.create(person=person.id, team=sub.id, date=NOW,
                                       comment=f"passage {h}")
            await medical.treatments.create(person=person.id, name=f"traitement {h}",
                                            dosage=h)
            await medical.consultations.create(person=person.id, type="Infirmier",
                                               name=f"consultation {h}", due_at=NOW)
        first, second = ids["persons"][:2]
        await team.groups.create(persons=[first, second],
                                 relations=[f"{first}|{second}|frère [/] {HOSTILE[1][0]}"])
        await team.comments.create(text=LONG, person=first, date=NOW, urgent=True)
        for h, _s in HOSTILE:
            await team.structures.create(name=f"structure {h}", description=f"décrit {h}",
                                         city=f"ville {h}", categories=[CATEGORY])
            territory = await team.territories.create(name=f"territoire {h}")
            ids["territories"].append(territory.id)
            await team.observations.create(territory=territory.id, team=sub.id,
                                           observed_at=NOW, comment=f"observé {h}")
        await daily.set_description(team, sub.id, REFERENCE,
                                    "\n".join(f"cr {h}" for h, _s in HOSTILE) + "\n" + LONG)
        await daily.increment(team, sub.id, REFERENCE, SERVICE, 3)
    return ids


@pytest.fixture(scope="module")
def hostile_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("hostile") / "hostile.mano"
    ids = asyncio.run(build_hostile_store(path))
    return path, ids


@pytest.fixture
def hostile(hostile_template: tuple[Path, dict], tmp_path: Path) -> tuple[Path, dict]:
    source, ids = hostile_template
    target = tmp_path / "hostile.mano"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{target}{suffix}")
    return target, ids


def missing(app, texts) -> list[str]:
    """The texts not on the screen (drawn once for all of them: each drawing is an SVG
    export of the whole screen, the costly part of these tests)."""
    seen = invisible_removed(screen_text(app))
    return [t for t in texts if invisible_removed(t) not in seen]


async def show(pilot, texts, what: str) -> None:
    """Wait until every text is on the screen (the app redraws in its own time)."""
    app = pilot.app
    try:
        await wait_for(pilot, lambda: not missing(app, texts), what=what)
    except AssertionError:
        raise AssertionError(f"{what}: not shown {missing(app, texts)!r}\n"
                             f"{screen_text(app)}") from None
    assert app.is_running


async def test_every_section_shows_hostile_text_literally(hostile):
    path, _ids = hostile
    app = app_on(path)
    async with app.run_test(size=BIG) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="agenda")
        shown = [s for _h, s in HOSTILE]
        await show(pilot, shown, "agenda: the actions' names")

        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionDetailScreen))
        await show(pilot, ["début [/]"], "action detail: its description")
        await pilot.press("escape")

        await pilot.press("f3")
        await show(pilot, [f"P{i} {s}" for i, s in enumerate(shown)] + ["Nom [/] nnnn"],
                   "persons list: names")
        await show(pilot, [f"alias1 {HOSTILE[1][1]}"], "persons list: aliases")

        await pilot.press("f4")
        await show(pilot, [f"structure {s}" for s in shown], "structures")
        await show(pilot, [f"décrit {shown[1]}"], "structure detail")

        await pilot.press("f5")
        await show(pilot, [f"territoire {s}" for s in shown], "territories")
        await show(pilot, ["observé "], "observations of the highlighted territory")

        await pilot.press("f6")
        await show(pilot, [SERVICE], "report: service counters")
        await show(pilot, [f"cr {s}" for s in shown[:6]], "report: its text")

        await pilot.press("f7")
        await show(pilot, [CATEGORY], "stats: categories chart")

        await pilot.press("f8")
        await show(pilot, shown, "urgent items")

        await pilot.press("f9")
        for tab, texts in (("2", [SUBTEAM]), ("3", [MEMBER]), ("4", [CATEGORY]),
                           ("5", [FIELD_LABEL, FIELD_SECTION])):
            await pilot.press(tab)
            await show(pilot, texts, f"settings, tab {tab}")

        await pilot.press("f1")
        await pilot.press("escape")
        assert app.is_running and app.return_code is None


async def test_the_file_tabs_forms_and_notices_show_hostile_text_literally(hostile):
    path, ids = hostile
    app = app_on(path)
    async with app.run_test(size=BIG, notifications=True) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="agenda")
        for i, (_h, s) in enumerate(HOSTILE):
            app.push_screen(PersonFileScreen(ids["persons"][i]))
            await wait_for(pilot, lambda: isinstance(app.screen, PersonFileScreen))
            await show(pilot, [f"P{i} {s}", f"alias{i} {s}"], "file title")
            await show(pilot, ["Description :", "début [/]"] if i == 0 else
                       [FIELD_SECTION, f"{FIELD_LABEL} : {s}", s], "summary tab")
            expected = {"2": [s], "3": [s], "4": [f"lieu {s}"],
                        "5": [f"rencontre {s}", f"passage {s}"], "7": [s],
                        "8": [f"traitement {s}", f"consultation {s}"]}
            if i in (0, 1):
                expected["6"] = [f"frère [/] {HOSTILE[1][1]}"]
            for key, texts in expected.items():
                await pilot.press(key)
                await show(pilot, texts, f"file of P{i}, tab {key}")
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen))

        # the long name: cut in lists, whole in the file's title (wrapped)
        app.push_screen(PersonFileScreen(ids["persons"][-1]))
        await show(pilot, ["Nom [/] nnnnnnnn"], "the file of the 1,000-character name")

        # forms hold the text as typed (shown with visible control characters)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press("escape")
        app.pop_screen()
        app.push_screen(PersonFileScreen(ids["persons"][4]))
        await wait_for(pilot, lambda: isinstance(app.screen, PersonFileScreen))
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await show(pilot, [f"P4 {HOSTILE[4][1]}"], "edit form: the name in its field")
        await pilot.press("escape")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await show(pilot, [f"P4 {HOSTILE[4][1]}"], "comment form: its title")
        await pilot.press("escape")

        # notices: a person saved under a name the markup parser choked on
        name = "X [/] Y " + HOSTILE[1][0]
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen)
                       and app.screen.query("#field-name"))
        field = app.screen.query_one("#field-name")
        field.value = name
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonFileScreen))
        await show(pilot, [f"X [/] Y {HOSTILE[1][1]}"], "the file's title")
        await wait_for(pilot, lambda: f"« X [/] Y {HOSTILE[1][1]} » enregistré" in notices(app),
                       what="the notice, literal")
        assert app.session.team.persons.get(ids["persons"][4]).name == name
        assert app.is_running and app.return_code is None


async def test_hostile_text_from_a_teammate_through_the_relay(tmp_path):
    """The text arrives from a teammate's device, sealed through a real relay: the app shows
    the new person, their comment and action literally, in the list and in the open file."""
    from mano_core.sync.state import Status
    from tests.relay.kit import RelayProcess

    name = f"Équipier {HOSTILE[2][0]} {HOSTILE[4][0]}"
    shown_name = f"Équipier {HOSTILE[2][1]} {HOSTILE[4][1]}"
    relay = await RelayProcess(str(tmp_path / "relay.db"), "--synchronous", "NORMAL").start()
    try:
        async with await Device.create(tmp_path / "a.mano", PASS, kdf=TEST_KDF) as a:
            team = await a.create_team("Maraude Nord", health=True)
            async with await a.sync(team, relay.url) as sync:
                code = await sync.create_invitation(role="normal")
                async with await Device.create(tmp_path / "b.mano", PASS, kdf=TEST_KDF) as b:
                    joined = await b.join_team(relay.url, code, timeout=60)
                    await joined.settings.set(MEMBER_NAMES_KEY + joined.info.member, MEMBER)
                    async with await b.sync(joined, relay.url) as sync_b:
                        await sync_b.wait_synced(60)
                await sync.wait_synced(60)

        app = app_on(tmp_path / "a.mano", relay=relay.url)
        async with app.run_test(size=BIG) as pilot, \
                await Device.open(tmp_path / "b.mano", PASS) as b:
            await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="agenda")
            await wait_for(pilot, lambda: app.session.sync.state.status is Status.ONLINE,
                           what="online")
            mate = await b.open_team(app.session.team.id)
            async with await b.sync(mate, relay.url) as sync_b:
                person = await mate.persons.create(name=name, other_names=[HOSTILE[1][0]])
                await mate.comments.create(text=HOSTILE[3][0], person=person.id, date=NOW)
                await mate.actions.create(name=HOSTILE[5][0], persons=[person.id], due_at=NOW)
                await sync_b.wait_synced(60)
                await pilot.press("f3")
                await show(pilot, [shown_name, HOSTILE[1][1]], "the teammate's person listed")
                await pilot.press("f2")
                await show(pilot, [HOSTILE[5][1]], "the teammate's action in the agenda")
                app.push_screen(PersonFileScreen(person.id))
                await show(pilot, [shown_name], "the file's title")
                await pilot.press("3")
                await show(pilot, [HOSTILE[3][1], MEMBER], "the teammate's comment, by name")
                await mate.comments.create(text=LONG, person=person.id, date=NOW)
                await sync_b.wait_synced(60)
                await show(pilot, ["début [/]"], "a live 10,000-character comment")
            assert app.is_running and app.return_code is None
    finally:
        await relay.stop()


def test_the_command_line_prints_hostile_text_without_driving_the_terminal(
        hostile, capsys, monkeypatch):
    from tui.cli import main

    path, _ids = hostile
    monkeypatch.setenv("MANO_PASSPHRASE", PASS)
    assert main(["search", "P4", "--store", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"P4 {HOSTILE[4][1]}" in out and "\x1b" not in out
    assert main(["report", "--store", str(path), "--day", REFERENCE.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "cr bip␇ nul␀" in out and SERVICE in out and "\x1b" not in out and "\x07" not in out
