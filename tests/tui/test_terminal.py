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
        assert "Maraude" in screen or "F2" in screen
        term.send(CTRL_Q)
        assert term.wait_exit() == 0, term.screen_text()
        assert wait_gone(term) == []
    finally:
        term.close()


def test_mano_first_run_creates_a_team(tmp_path):
    store = tmp_path / "new" / "device.mano"
    term = Terminal([MANO, "--store", str(store)], cwd=tmp_path)
    try:
        term.wait_for("Bienvenue dans Mano", timeout=60, what="the first-run screen")
        for text in ("Maraude test", "\t", "\t", "Moi", "\t", "une phrase assez longue",
                     "\t", "une phrase assez longue"):
            term.type(text)   # Tab included: each key handled before the next
        term.send(b"\r")
        term.wait_for(AGENDA, timeout=90, what="the agenda of the new team")
        term.send(CTRL_Q)
        assert term.wait_exit() == 0, term.screen_text()
    finally:
        term.close()
    assert store.exists()
