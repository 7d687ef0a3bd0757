"""Group commit: one row the storage refuses fails only its own push, never the others batched
with it (fault injection: a real SQLite backend that refuses one chosen envelope)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from mano_core.crypto.envelope import seal
from mano_core.errors import RelayRefusedError, RelayStorageError
from mano_core.ids import Compartment
from mano_core.protocol.codes import ErrorCode
from sync_server.server import Relay
from sync_server.storage import SQLiteStorage
from sync_server.storage.base import Appended, NewEnvelope
from tests.harness.relay import relay_config
from tests.relay.kit import TeamKit

pytestmark = pytest.mark.timeout(180)
POISON = 777  # the author counter the storage refuses


class RefusesOneRow(SQLiteStorage):
    async def append_envelopes(self, items: Sequence[NewEnvelope], now: float) -> list[Appended]:
        if any(it.counter == POISON for it in items):
            raise RelayStorageError("injected: this row cannot be stored")
        return await super().append_envelopes(items, now)


async def test_one_bad_row_fails_only_its_push(tmp_path: Path) -> None:
    cfg = relay_config(tmp_path)
    mine, theirs = TeamKit(), TeamKit()
    async with Relay(cfg, storage=RefusesOneRow(cfg.db_path)) as relay:
        url = f"ws://127.0.0.1:{relay.port}"
        a = await mine.client(url, "admin", create=True)
        b = await theirs.client(url, "admin", create=True)
        d = mine["admin"]
        poison = seal(d.identity, d.keyring, team_id=mine.team_id,
                      compartment=Compartment.GENERAL, epoch=0, counter=POISON,
                      prev_hash=b"\x01" * 32, plaintext=b"x")
        # Queue them together so that they share group commits.
        futs = [b.push_nowait(theirs["admin"].seal(b"%d" % i)) for i in range(50)]
        bad = a.push_nowait(poison)
        futs += [b.push_nowait(theirs["admin"].seal(b"more %d" % i)) for i in range(50)]
        results = await asyncio.gather(*futs)
        assert len(results) == 100  # every push of the other team was acked
        with pytest.raises(RelayRefusedError) as err:
            await bad
        assert err.value.code == ErrorCode.INTERNAL and err.value.fatal
        assert relay.metrics.rejections["internal"] == 1
        await b.close()
