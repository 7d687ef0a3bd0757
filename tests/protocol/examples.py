"""The worked examples of docs/protocol.md, made with the real codec (a test keeps them true).

Run ``python -m tests.protocol.examples`` to print them."""

from __future__ import annotations

from mano_core.protocol import codec
from mano_core.protocol import messages as m
from mano_core.protocol.auth import auth_challenge, signed_bytes

TEAM = bytes(range(16))
DEVICE = bytes([0xD0]) * 32
NONCE = bytes([0xAA]) * 32
SIG = bytes([0x55]) * 64
ENV = bytes([0xEE]) * 8  # a (too short) stand-in for an envelope, to keep the hex readable

EXAMPLES: list[tuple[str, m.Message]] = [
    ("hello", m.Hello(versions=[1], client="js")),
    ("welcome", m.Welcome(version=1, nonce=NONCE, relay="r", max_frame=1048576,
                          caps=["head_get", "catchup_plan"])),
    ("auth", m.Auth(team=TEAM, device=DEVICE, sig=SIG)),
    ("subscribe", m.Subscribe(id=2, c=0, after=41)),
    ("push", m.Push(id=3, env=ENV)),
    ("ack", m.Ack(id=3, c=0, seq=42, dup=False)),
    ("deliver", m.Deliver(c=0, items=[(42, ENV)])),
    ("caught_up", m.CaughtUp(id=2, c=0, seq=42)),
    ("head_get", m.HeadGet(id=5, c=0)),
    ("head", m.Head(id=5, c=0, seq=43)),
    ("catchup_get", m.CatchupGet(id=10, c=0, after=0)),
    ("catchup_plan", m.CatchupPlan(id=10, c=0, head=43, upto=40, size=21000, behind=9000,
                                   tail=600)),
    ("purge", m.Purge(id=4, c=0, upto=40)),
    ("purged", m.Purged(id=4, c=0, upto=40, envelopes=40, snapshots=1)),
    ("file_put", m.FilePut(id=6, c=0, file=bytes([0xF1]) * 16, part=0, last=True, data=ENV)),
    ("file_status", m.FileStatus(id=7, c=0, file=bytes([0xF1]) * 16)),
    ("file_info", m.FileInfo(id=7, c=0, file=bytes([0xF1]) * 16, parts=1, size=8,
                             complete=True)),
    ("file_get", m.FileGet(id=8, c=0, file=bytes([0xF1]) * 16)),
    ("file_data", m.FileData(id=8, file=bytes([0xF1]) * 16, part=0, last=True, data=ENV)),
    ("file_delete", m.FileDelete(id=9, c=0, file=bytes([0xF1]) * 16)),
    ("error", m.Error(code=3, msg="no", id=0, fatal=True)),
]


def render() -> str:
    """Markdown for the examples section."""
    out = []
    for name, msg in EXAMPLES:
        out.append(f"`{name}`: `{msg!r}`\n\n```\n{codec.encode(msg).hex(' ')}\n```\n")
    ch = auth_challenge(TEAM, DEVICE, NONCE)
    out.append("Signed bytes for `auth` (team, device and nonce above):\n\n"
               f"```\n{signed_bytes(ch).hex(' ')}\n```\n")
    return "\n".join(out)


if __name__ == "__main__":
    print(render())
