"""Document files through a relay (docs/protocol.md §7a): upload in parts and resume, ranges,
deletion, who may touch which compartment, the limits and the quota with their codes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mano_core.errors import RelayRefusedError
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.sync.transport import RelayClient
from sync_server.server import Relay
from tests.harness.relay import relay_config
from tests.relay.kit import TeamKit

pytestmark = pytest.mark.timeout(180)
F = b"\x07" * 16


async def put(c: RelayClient, part: int, data: bytes, *, last: bool = False, comp: int = 0,
              file: bytes = F) -> None:
    (ok,) = await c.request(m.FilePut(id=c.next_id(), c=comp, file=file, part=part, last=last,
                                      data=data))
    assert isinstance(ok, m.Ok)


async def refused(c: RelayClient, msg: m.Message) -> int:
    with pytest.raises(RelayRefusedError) as exc:
        await c.request(msg)
    assert not exc.value.fatal
    return exc.value.code


async def status(c: RelayClient, comp: int = 0, file: bytes = F) -> m.FileInfo:
    (info,) = await c.request(m.FileStatus(id=c.next_id(), c=comp, file=file))
    assert isinstance(info, m.FileInfo)
    return info


async def test_upload_resumes_in_another_session_and_ranges_download(
        tmp_path: Path, kit: TeamKit) -> None:
    parts = [os.urandom(900_000), os.urandom(900_000), os.urandom(1234)]
    async with Relay(relay_config(tmp_path)) as relay:
        url = f"ws://127.0.0.1:{relay.port}"
        a = await kit.client(url, "admin", create=True)
        await put(a, 0, parts[0])
        assert await refused(a, m.FileGet(id=a.next_id(), c=0, file=F)) == ErrorCode.NOT_FOUND
        await a.close()  # the connection drops mid-upload: what was stored stays
        a = await kit.client(url, "admin")
        info = await status(a)
        assert (info.parts, info.size, info.complete) == (1, 900_000, False)
        await put(a, 0, parts[0])  # a part re-sent after a lost answer: ok, stored once
        assert await refused(a, m.FilePut(id=a.next_id(), c=0, file=F, part=2, last=True,
                                          data=b"gap")) == ErrorCode.CONFLICT
        await put(a, 1, parts[1])
        await put(a, 2, parts[2], last=True)
        assert (await status(a)).complete
        assert await refused(a, m.FilePut(id=a.next_id(), c=0, file=F, part=3, last=True,
                                          data=b"more")) == ErrorCode.CONFLICT
        b = await kit.client(url, "bob")
        got = await b.request(m.FileGet(id=b.next_id(), c=0, file=F))
        assert [x.part for x in got] == [0, 1, 2]  # type: ignore[attr-defined]
        assert b"".join(x.data for x in got) == b"".join(parts)  # type: ignore[attr-defined]
        got = await b.request(m.FileGet(id=b.next_id(), c=0, file=F, first=1, count=1))
        assert [(x.part, x.last) for x in got] == [(1, True)]  # type: ignore[attr-defined]
        assert await refused(b, m.FileGet(id=b.next_id(), c=0, file=F, first=3)) == \
            ErrorCode.NOT_FOUND
        assert await refused(b, m.FileGet(id=b.next_id(), c=1, file=F)) == ErrorCode.FORBIDDEN
        usage = await relay.storage.team_usage(kit.team_id)
        (ok,) = await b.request(m.FileDelete(id=b.next_id(), c=0, file=F))
        assert isinstance(ok, m.Ok)
        assert await relay.storage.team_usage(kit.team_id) == usage - sum(map(len, parts))
        assert await refused(b, m.FileStatus(id=b.next_id(), c=0, file=F)) == ErrorCode.NOT_FOUND
        (ok,) = await b.request(m.FileDelete(id=b.next_id(), c=0, file=F))  # again: ok
        for c in (a, b):
            await c.close()


async def test_medical_files_are_for_health_devices_only(tmp_path: Path, kit: TeamKit) -> None:
    async with Relay(relay_config(tmp_path)) as relay:
        url = f"ws://127.0.0.1:{relay.port}"
        a = await kit.client(url, "admin", create=True)
        await put(a, 0, b"medical ciphertext", last=True, comp=1)
        b = await kit.client(url, "bob")  # not a health device
        for msg in (m.FileGet(id=b.next_id(), c=1, file=F),
                    m.FileStatus(id=b.next_id(), c=1, file=F),
                    m.FileDelete(id=b.next_id(), c=1, file=F),
                    m.FilePut(id=b.next_id(), c=1, file=b"\x08" * 16, part=0, last=True,
                              data=b"x")):
            assert await refused(b, msg) == ErrorCode.FORBIDDEN
        # naming the medical file under the general compartment does not reach it either
        assert await refused(b, m.FileGet(id=b.next_id(), c=0, file=F)) == ErrorCode.NOT_FOUND
        assert await refused(b, m.FileDelete(id=b.next_id(), c=0, file=F)) == \
            ErrorCode.FORBIDDEN
        assert await refused(b, m.FilePut(id=b.next_id(), c=0, file=F, part=0, last=True,
                                          data=b"x")) == ErrorCode.CONFLICT
        (info,) = await a.request(m.FileStatus(id=a.next_id(), c=1, file=F))
        assert isinstance(info, m.FileInfo) and info.complete
        for c in (a, b):
            await c.close()


async def test_size_limits_open_uploads_and_quota(tmp_path: Path, kit: TeamKit) -> None:
    log_bytes = sum(map(len, kit.log.entries))
    cfg = relay_config(tmp_path, max_file_size=1000, max_open_files=2,
                       max_team_storage=log_bytes + 2500)
    async with Relay(cfg) as relay:
        url = f"ws://127.0.0.1:{relay.port}"
        a = await kit.client(url, "admin", create=True)
        await put(a, 0, b"x" * 600)
        assert await refused(a, m.FilePut(id=a.next_id(), c=0, file=F, part=1, last=True,
                                          data=b"y" * 401)) == ErrorCode.TOO_LARGE
        await put(a, 1, b"y" * 400, last=True)  # exactly at the limit
        await put(a, 0, b"o" * 10, file=b"\x01" * 16)
        await put(a, 0, b"o" * 10, file=b"\x02" * 16)
        assert await refused(a, m.FilePut(id=a.next_id(), c=0, file=b"\x03" * 16, part=0,
                                          last=False, data=b"o")) == ErrorCode.TOO_LARGE
        await put(a, 1, b"p" * 900, file=b"\x01" * 16, last=True)  # finishing one frees a slot
        assert await refused(a, m.FilePut(id=a.next_id(), c=0, file=b"\x03" * 16, part=0,
                                          last=True, data=b"q" * 600)) == ErrorCode.STORAGE_FULL
        assert await relay.storage.file_info(kit.team_id, b"\x03" * 16) is None
        await a.close()
