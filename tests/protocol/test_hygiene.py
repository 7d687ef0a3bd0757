"""mano_core.protocol is sans-I/O: importing it pulls in no asyncio, sockets or websockets."""

from __future__ import annotations

import subprocess
import sys


def test_protocol_imports_no_io() -> None:
    code = (
        "import sys; import mano_core.protocol; "
        "bad = [m for m in ('asyncio', 'socket', 'websockets', 'aiosqlite', 'sync_server') "
        "if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
