"""`mano summary` (also the end of `mano demo --no-tui`) says what a store holds in the
interface's language, and `mano search` whom it found: counted texts as plurals, never "(s)";
dates, statuses and numbers as the app writes them. Before, the sample file's line was French
in English too ("6 action(s), 3 commentaire(s)"), the statuses raw ("[ANNULEE]"), the day ISO,
French colons missing; the search marked a very vulnerable person with a bare "⚠" and left
out, unsaid, whoever came after the first 50."""

from __future__ import annotations

import argparse
import datetime as dt
import re
from pathlib import Path

import pytest

from mano_core.device import Device
from tui.commands.search import search
from tui.commands.summary import print_summary
from tui.i18n import Translator

from .conftest import PASS


async def _summary(store: Path, lang: str, capsys: pytest.CaptureFixture[str]) -> str:
    async with await Device.open(store, PASS) as device:
        team = await device.open_team((await device.teams())[0].id)
        capsys.readouterr()
        print_summary(team, Translator(lang))
    return capsys.readouterr().out


async def test_the_summary_is_written_in_french(demo_store: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = await _summary(demo_store, "fr", capsys)
    assert "(s)" not in out
    assert "Effectifs :" in out and "Informations urgentes récentes :" in out
    assert "Agenda du 20/11/2026 :" in out
    assert "[FAIT]" not in out and "[ANNULEE]" not in out and "[A FAIRE]" not in out
    sample = next(line for line in out.splitlines() if "action" in line and "comment" in line)
    assert "commentaire" in sample


async def test_the_summary_is_written_in_english(demo_store: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = await _summary(demo_store, "en", capsys)
    assert "(s)" not in out and "commentaire" not in out and "Effectifs" not in out
    assert "Counts:" in out and "Agenda for 20/11/2026:" in out
    sample = next(line for line in out.splitlines() if "action" in line and "comment" in line)
    assert sample.strip().split(", ")[1].split()[1] in ("comment", "comments")


async def test_an_urgent_comment_is_one_line_cut_after_a_word(
        demo_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A long urgent comment of several lines: its line in the summary is one line, cut after a
    whole word with '…'. Before, its own lines were printed as the summary's (the second at
    the left margin, read as another entry) and its 90th character cut a word in two."""
    text = ("Audience au tribunal jeudi à 9 h, salle 4 : prévenir l'avocate commise d'office "
            "avant mercredi soir\nApporter le récépissé de domiciliation")
    async with await Device.open(demo_store, PASS) as device:
        team = await device.open_team((await device.teams())[0].id)
        person = team.persons.list()[0]
        await team.comments.create(text=text, person=person.id, urgent=True,
                                   date=dt.datetime(2026, 11, 20, 18, tzinfo=dt.UTC))
        await team.comments.create(text="Rendez-vous CAF annulé\nRappeler lundi",
                                   person=person.id, urgent=True,
                                   date=dt.datetime(2026, 11, 20, 19, tzinfo=dt.UTC))
    out = await _summary(demo_store, "fr", capsys)
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if "Audience au tribunal" in line)
    assert lines[first].endswith("l'avocate commise d'office avant…"), lines[first]
    assert "Apporter" not in out
    assert any(line.endswith("  Rendez-vous CAF annulé↵Rappeler lundi") for line in lines)
    assert not any(line.startswith("Rappeler") for line in lines)


async def test_the_search_says_who_is_vulnerable_and_how_many_it_left_out(
        demo_store: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with await Device.open(demo_store, PASS) as device:
        team = await device.open_team((await device.teams())[0].id)
        for i in range(54):
            await team.persons.create(name=f"Karim Homonyme {i:02d}", alertness=i == 0)
    monkeypatch.setenv("MANO_PASSPHRASE", PASS)
    capsys.readouterr()
    args = argparse.Namespace(store=str(demo_store), text="karim homonyme")
    assert await search(args, Translator("fr")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Karim Homonyme 00  ⚠ VULNÉRABLE"
    assert len(lines) == 51
    assert lines[-1].startswith("… et 4 autres : 54 personnes trouvées, les 50 premières")


async def test_the_printed_demo_writes_its_numbers_in_french(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`mano demo --no-tui` (the README's 'Then:') says its scale and the reopening's time
    as French writes them ('échelle 0,01', '0,29 s'), not '0.01' and '0.29'."""
    from tui.commands.demo import demo

    monkeypatch.delenv("MANO_PASSPHRASE", raising=False)
    args = argparse.Namespace(store=str(tmp_path / "demo.mano"), scale=0.01, seed=0)
    await demo(args, Translator("fr"))
    out = capsys.readouterr().out
    assert "(échelle 0,01, graine 0)" in out
    reopened = next(line for line in out.splitlines() if line.startswith("Réouverture"))
    assert re.search(r"\d s\.$", reopened) and not re.search(r"\d\.\d", reopened), reopened
