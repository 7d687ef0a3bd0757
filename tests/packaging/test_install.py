"""The engine installs alone: a fresh virtual environment with only ``pip install .`` (no extra)
imports mano_core, lacks every extra's package, and runs examples/embed.py against a relay
started from that same environment. The install builds the compiled Yjs reader (setup.py); with
MANO_YREADER=compiled (CI) its absence fails these tests."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "mano_core", "sync_server", "tui")

pytestmark = pytest.mark.slow  # building and installing takes 30-60 s


@pytest.fixture(scope="module")
def engine_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a new venv holding ``pip install .`` of a copy of the sources."""
    base = tmp_path_factory.mktemp("install")
    src = base / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.so",
                                                          "_yreader_c.c"))
        else:
            shutil.copy2(ROOT / name, src / name)
    venv.create(base / "venv", with_pip=True)
    python = base / "venv" / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", str(src)], check=True,
                   timeout=600)
    return python


def test_only_the_engine_is_installed(engine_python: Path) -> None:
    code = ("import importlib.util as u, mano_core, sync_server.server; "
            "print([m for m in ('textual', 'asyncpg', 'openpyxl', 'segno', 'pytest') "
            "if u.find_spec(m)])")
    out = subprocess.run([engine_python, "-c", code], capture_output=True, text=True,
                         check=True, cwd="/")
    assert out.stdout.strip() == "[]"


def test_an_export_to_xlsx_without_the_extra_names_it(engine_python: Path,
                                                      tmp_path: Path) -> None:
    code = ("from mano_core.reporting.exports import write_xlsx\n"
            "from mano_core.errors import MissingDependencyError\n"
            "try:\n    write_xlsx([], 'x.xlsx')\n"
            "except MissingDependencyError as exc:\n    print(exc)\n")
    out = subprocess.run([engine_python, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    assert "pip install 'mano[xlsx]'" in out.stdout


def _lines(stream: object) -> queue.Queue[str]:
    q: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:  # type: ignore[attr-defined]
            q.put(line)
        q.put("")

    threading.Thread(target=pump, daemon=True).start()
    return q


def _wait_for(q: queue.Queue[str], pattern: str, deadline: float) -> re.Match[str]:
    seen = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = q.get(timeout=left)
        except queue.Empty:
            break
        if line == "":
            break
        seen.append(line)
        if found := re.search(pattern, line):
            return found
    raise AssertionError(f"never saw {pattern!r}; output was:\n{''.join(seen)}")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def test_the_embedding_example_runs_with_the_engine_alone(
    engine_python: Path, tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1", MANO_PASSPHRASE="fresh venv passphrase")
    relay = subprocess.Popen(
        [engine_python, "-m", "sync_server", "serve", "--port", "0",
         "--db", str(tmp_path / "relay.db")],
        stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    processes.append(relay)
    port = _wait_for(_lines(relay.stderr), r"listening on ws://[\d.]+:(\d+)",
                     time.monotonic() + 30).group(1)
    example = subprocess.Popen(
        [engine_python, str(ROOT / "examples" / "embed.py"), "--store",
         str(tmp_path / "me.mano"), "--relay", f"ws://127.0.0.1:{port}", "--create", "Maraude"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path)
    processes.append(example)
    out = _lines(example.stdout)
    deadline = time.monotonic() + 90
    code = _wait_for(out, r"invitation code for a colleague: ([0-9A-Z-]{59})", deadline)
    assert code.group(1).count("-") == 11
    _wait_for(out, r"saved locally: Personne d'exemple", deadline)
    # the person reached the relay: nothing pending any more
    _wait_for(out, r"sync: online, pending 0", deadline)
    example.send_signal(signal.SIGINT)
    assert example.wait(30) == 0


def test_the_installed_engine_says_which_yjs_reader_runs(engine_python: Path) -> None:
    code = "from mano_core.document import ynative; print(ynative.READER)"
    out = subprocess.run([engine_python, "-c", code], capture_output=True, text=True,
                         check=True, cwd="/")
    # compiled wherever a C compiler is (CI: required, MANO_YREADER=compiled), else the reason
    assert out.stdout.startswith(("compiled (_yreader_c.", "python (")), out.stdout
    if os.environ.get("MANO_YREADER") == "compiled":
        assert out.stdout.startswith("compiled"), out.stdout
