"""ConnectionPair: a client and a relay state machine wired together in memory (as h11's)."""

from __future__ import annotations

from mano_core.protocol import messages as m
from mano_core.protocol.machine import Connection, Role


class ConnectionPair:
    """Send a message from one end; ``deliver`` moves bytes to the other and returns events."""

    def __init__(self) -> None:
        self.client = Connection(Role.CLIENT)
        self.relay = Connection(Role.RELAY)

    def _other(self, conn: Connection) -> Connection:
        return self.relay if conn is self.client else self.client

    def send(self, conn: Connection, msg: m.Message) -> list[m.AnyMessage]:
        conn.send(msg)
        return self.deliver(conn)

    def deliver(self, conn: Connection) -> list[m.AnyMessage]:
        other = self._other(conn)
        for frame in conn.data_to_send():
            other.receive_frame(frame)
        return other.events_received()

    def handshake(self, team: bytes = b"T" * 16, device: bytes = b"D" * 32) -> None:
        self.send(self.client, m.Hello(versions=[1], client="test"))
        self.send(self.relay, m.Welcome(version=1, nonce=b"N" * 32, relay="r"))
        self.send(self.client, m.Auth(team=team, device=device, sig=b"S" * 64))
        self.send(self.relay, m.AuthOk(team=team, device=device, log_length=1,
                                       log_head=b"H" * 32))
