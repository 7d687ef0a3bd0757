"""The commands a person types, in a real pseudo-terminal: ``mano demo`` and ``mano`` on an
existing store draw the agenda, Ctrl+Q quits with status 0 and leaves no process behind."""

from __future__ import annotations

import sys

import pytest

from .conftest import PASS
from .terminal import CTRL_Q, MANO, Terminal, wait_gone

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")]

AGENDA = "Agenda du"          # the agenda's title, French by default


def test_mano_demo_draws_the_agenda_and_quits_clean(tmp_path):
    term = Terminal([MANO, "demo", "--scale", "0.05", "--every", "1"], cwd=tmp_path)
    try:
        screen = term.wait_for(AGENDA, timeout=180, what="the demo's agenda")
        assert "Traceback" not in screen
        # the relay and the simulated teammate run while the app is open
        term.wait_for("1 en ligne", timeout=60, what="the teammate online in the sync bar")
        assert len(term.alive_children()) >= 2
        term.send(CTRL_Q)
        assert term.wait_exit() == 0, term.screen_text()
        assert wait_gone(term) == [], "processes the demo started are still running"
        assert b"Traceback" not in term.raw
    finally:
        term.close()


def test_mano_unlocks_an_existing_store(demo_store, tmp_path):
    term = Terminal([MANO, "--store", str(demo_store)], cwd=tmp_path)
    try:
        term.wait_for("Déverrouiller Mano", timeout=60, what="the unlock screen")
        term.type(PASS)
        term.send(b"\r")
        screen = term.wait_for(AGENDA, timeout=60, what="the agenda after unlocking")
        assert "^p Commandes" in screen
        term.send(b"\x10")   # Ctrl+P: the command palette and its section commands
        term.wait_for("Ouvrir cette section", what="the command palette")
        term.send(b"\x1b")
        term.wait_for(AGENDA, what="the agenda again")
        term.send(CTRL_Q)
        assert term.wait_exit() == 0, term.screen_text()
        assert wait_gone(term) == []
    finally:
        term.close()


def test_mano_first_run_creates_a_team(tmp_path):
    store = tmp_path / "new" / "device.mano"
    term = Terminal([MANO, "--store", str(store)], cwd=tmp_path)
    try:
        term.wait_for("Créer une équipe", timeout=60, what="the first-run screen")
        # its widgets may be drawn over two frames (tui/handback.py): until the last shows
        screen = term.wait_for(lambda s: "Rejoindre" in s and "Commencer avec" in s,
                               what="the first-run choices")
        assert "(●) Créer une équipe" in screen and "( ) Rejoindre" in screen  # not colour
        assert "[✓] Commencer avec les réglages par défaut de MANO" in screen  # proposed
        for text in ("Maraude test", "\t", "\t", "\t", "Moi", "\t",
                     "une phrase assez longue", "\t", "une phrase assez longue"):
            term.type(text)   # Tab included: each key handled before the next
        term.send(b"\r")
        term.wait_for("Votre équipe est créée", timeout=90, what="the setup guide")
        term.send(b"\x1b")
        term.wait_for(AGENDA, what="the agenda of the new team")
        term.send(CTRL_Q)
        assert term.wait_exit() == 0, term.screen_text()
    finally:
        term.close()
    assert store.exists()


# A fault injected in the real command: building a row of the persons list raises, with a
# person's name in a local variable and in the message (as a real bug would).
CRASHING_MANO = """
import sys
from tui.screens import persons

def broken_row(self, person):
    name_in_a_local = person.name
    raise RuntimeError("cannot draw " + name_in_a_local)

persons.PersonsScreen._row = broken_row
from tui.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _names_in(store) -> list[str]:
    import asyncio

    from mano_core.device import Device

    async def read() -> list[str]:
        async with await Device.open(store, PASS) as device:
            team = await device.open_team((await device.teams())[0].id)
            return [p.name for p in team.persons.list()] + [
                c.text[:30] for c in team.comments.list()[:50]]
    return asyncio.run(read())


def test_a_crash_shows_and_stores_no_data(demo_store, tmp_path):
    state = tmp_path / "state"
    term = Terminal([sys.executable, "-c", CRASHING_MANO, "--store", str(demo_store)],
                    cwd=tmp_path, env={"MANO_STATE_DIR": str(state)})
    try:
        term.wait_for("Déverrouiller Mano", timeout=60, what="the unlock screen")
        term.type(PASS)
        term.send(b"\r")
        term.wait_for(AGENDA, timeout=60, what="the agenda")
        term.send(b"\x1bOR")   # F3: the persons list, whose rows fail to draw
        status = term.wait_exit()
    finally:
        term.close()
    assert status == 70
    after_app = bytes(term.raw).rsplit(b"\x1b[?1049l", 1)[-1].decode(errors="replace")
    reports = list((state / "crash").glob("mano-*.log"))
    assert len(reports) == 1
    report = reports[0]
    assert report.stat().st_mode & 0o777 == 0o600
    assert (state / "crash").stat().st_mode & 0o777 == 0o700
    flat = "".join(after_app.split())
    assert "Mano s'est arrêté" in after_app and "".join(str(report).split()) in flat
    logged = report.read_text()
    assert "RuntimeError" in logged and "broken_row" in logged
    names = _names_in(demo_store)
    assert len(names) > 20
    leaked = [n for n in names if n in after_app or n in logged]
    assert leaked == [], f"the crash output shows {leaked[:3]}"


def test_a_killed_demo_leaves_no_process_and_its_folder_goes_at_the_next_start(tmp_path):
    import os

    from tui.demo.runner import DIR_PREFIX, OWNER_FILE, _process_id, sweep_leftovers

    temp = tmp_path / "tmp"
    temp.mkdir()
    term = Terminal([MANO, "demo", "--scale", "0.05", "--every", "1"], cwd=tmp_path,
                    env={"TMPDIR": str(temp)})
    try:
        term.wait_for(AGENDA, timeout=180, what="the demo's agenda")
        term.wait_for("1 en ligne", timeout=60, what="the teammate online")
        assert len(term.alive_children()) >= 2
        term.kill()                      # SIGKILL: the demo cannot clean up after itself
        assert wait_gone(term) == [], "the relay or the teammate outlived the demo"
    finally:
        term.close()
    leftovers = list(temp.glob(DIR_PREFIX + "*"))
    assert len(leftovers) == 1           # the killed demo's folder (its store, the relay's db)
    live = temp / f"{DIR_PREFIX}live"     # the folder of a demo still running stays
    live.mkdir()
    (live / OWNER_FILE).write_text(_process_id(os.getpid()))
    assert sweep_leftovers(temp) == leftovers
    assert not leftovers[0].exists() and live.exists()
