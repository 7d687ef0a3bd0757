"""The sans-I/O state machine and codec, with bytes only (no sockets)."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mano_core import limits
from mano_core.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from mano_core.protocol import codec
from mano_core.protocol import messages as m
from mano_core.protocol.auth import AUTH_DOMAIN, auth_challenge, signed_bytes
from mano_core.protocol.codes import ErrorCode, close_code_for
from mano_core.protocol.machine import ALLOWED, TRANSITIONS, Connection, Role, State
from mano_core.protocol.ratelimit import TokenBucket
from tests.protocol.pair import ConnectionPair


def test_full_handshake_reaches_ready_on_both_ends() -> None:
    p = ConnectionPair()
    assert p.send(p.client, m.Hello(versions=[1, 7])) == [m.Hello(versions=[1, 7])]
    assert p.relay.version == 1 and p.client.state is State.HELLO
    p.send(p.relay, m.Welcome(version=1, nonce=b"n" * 32))
    assert p.client.state is p.relay.state is State.GUEST
    p.send(p.client, m.Auth(team=b"t" * 16, device=b"d" * 32, sig=b"s" * 64))
    assert p.relay.state is State.AUTHENTICATING
    p.send(p.relay, m.AuthOk(team=b"t" * 16, device=b"d" * 32, log_length=3, log_head=b""))
    assert p.client.state is p.relay.state is State.READY


def test_push_ack_deliver_round_trip() -> None:
    p = ConnectionPair()
    p.handshake()
    assert p.send(p.client, m.Push(id=5, env=b"E" * 200)) == [m.Push(id=5, env=b"E" * 200)]
    ev = p.send(p.relay, m.Ack(id=5, c=0, seq=42))
    assert ev == [m.Ack(id=5, c=0, seq=42, dup=False)]
    ev = p.send(p.relay, m.Deliver(c=1, items=[(1, b"a"), (2, b"b")]))
    assert ev == [m.Deliver(c=1, items=[(1, b"a"), (2, b"b")])]


def test_purge_round_trip_only_once_authenticated() -> None:
    p = ConnectionPair()
    p.send(p.client, m.Hello(versions=[1]))
    p.send(p.relay, m.Welcome(version=1, nonce=b"n" * 32))
    with pytest.raises(LocalProtocolError):  # a guest may not purge
        p.client.send(m.Purge(id=1, c=0, upto=5))
    p.send(p.client, m.Auth(team=b"t" * 16, device=b"d" * 32, sig=b"s" * 64))
    p.send(p.relay, m.AuthOk(team=b"t" * 16, device=b"d" * 32, log_length=3, log_head=b""))
    assert p.send(p.client, m.Purge(id=4, c=1, upto=2**63 - 1)) == [
        m.Purge(id=4, c=1, upto=2**63 - 1)
    ]
    done = m.Purged(id=4, c=1, upto=2**63 - 1, envelopes=12, snapshots=1)
    assert p.send(p.relay, done) == [done]
    with pytest.raises(LocalProtocolError):  # only the relay answers a purge
        p.client.send(done)
    with pytest.raises(RemoteProtocolError):  # upto is a seq: at most 2**63 - 1
        codec.decode(msgspec.msgpack.encode({"t": "purge", "id": 1, "c": 0, "upto": 2**63}))


def test_subscribe_before_auth_is_refused_and_closes() -> None:
    p = ConnectionPair()
    p.send(p.client, m.Hello(versions=[1]))
    p.send(p.relay, m.Welcome(version=1, nonce=b"n" * 32))
    # a hostile client skips auth: write the frame by hand, its machine would refuse
    p.relay.receive_frame(codec.encode(m.Subscribe(id=1, c=0, after=0)))
    assert p.relay.state is State.CLOSED
    assert isinstance(p.relay.error, RemoteProtocolError)
    assert p.relay.close_code == 4000 + ErrorCode.UNEXPECTED_MESSAGE
    (frame,) = p.relay.data_to_send()
    err = codec.decode(frame)
    assert isinstance(err, m.Error) and err.fatal and err.code == ErrorCode.UNEXPECTED_MESSAGE
    assert p.relay.events_received() == []


def test_illegal_local_moves_raise_local_protocol_error() -> None:
    c = Connection(Role.CLIENT)
    with pytest.raises(LocalProtocolError):
        c.send(m.Push(id=1, env=b"x"))  # before hello
    with pytest.raises(LocalProtocolError):
        c.send(m.Ack(id=1, c=0, seq=1))  # a relay message
    r = Connection(Role.RELAY)
    with pytest.raises(LocalProtocolError):
        r.send(m.AuthOk(team=b"t" * 16, device=b"d" * 32, log_length=0, log_head=b""))


def test_guest_may_request_invitations_but_nothing_else() -> None:
    p = ConnectionPair()
    p.send(p.client, m.Hello(versions=[1]))
    p.send(p.relay, m.Welcome(version=1, nonce=b"n" * 32))
    req = m.InviteRequest(id=1, team=b"t" * 16, invite=b"i" * 16, blob=b"x")
    assert p.send(p.client, req) == [req]
    assert p.send(p.relay, m.Ok(id=1)) == [m.Ok(id=1)]
    with pytest.raises(LocalProtocolError):
        p.client.send(m.Presence(blob=b"p"))


def test_no_common_version() -> None:
    p = ConnectionPair()
    p.send(p.client, m.Hello(versions=[9]))
    assert p.relay.state is State.CLOSED
    assert p.relay.close_code == 4000 + ErrorCode.UNSUPPORTED_VERSION
    ev = p.deliver(p.relay)
    assert isinstance(ev[0], m.Error) and ev[0].code == ErrorCode.UNSUPPORTED_VERSION
    assert p.client.state is State.CLOSED and p.client.close_code == p.relay.close_code


def test_oversized_frame_is_refused_before_decoding() -> None:
    r = Connection(Role.RELAY, max_frame=4096)
    r.receive_frame(b"\x00" * 4097)
    assert r.close_code == 4000 + ErrorCode.FRAME_TOO_LARGE
    err = codec.decode(r.data_to_send()[0])
    assert isinstance(err, m.Error) and err.code == ErrorCode.FRAME_TOO_LARGE


def test_field_limits_are_checked_on_decode() -> None:
    raw = msgspec.msgpack.encode({"t": "push", "id": 1,
                                  "env": b"x" * (limits.MAX_ENVELOPE_SIZE + 1)})
    with pytest.raises(RemoteProtocolError) as exc:
        codec.decode(raw, 2 * limits.MAX_FRAME_SIZE)
    assert exc.value.code == ErrorCode.BAD_FRAME
    bad_team = msgspec.msgpack.encode({"t": "invite_fetch", "id": 1, "team": b"short",
                                       "invite": b"i" * 16})
    with pytest.raises(RemoteProtocolError):
        codec.decode(bad_team)


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    raw = msgspec.msgpack.encode({"t": "ok", "id": 3, "future_field": [1, 2]})
    assert codec.decode(raw) == m.Ok(id=3)


def test_non_fatal_refusal_keeps_connection_open() -> None:
    p = ConnectionPair()
    p.handshake()
    p.relay.refuse(7, ErrorCode.FORBIDDEN, "no")
    ev = p.deliver(p.relay)
    assert ev == [m.Error(code=ErrorCode.FORBIDDEN, msg="no", id=7, fatal=False)]
    assert p.client.state is State.READY
    p.relay.refuse(0, ErrorCode.GOING_AWAY, "bye")
    p.deliver(p.relay)
    assert p.client.state is State.CLOSED and p.client.close_code == 1001


def test_receive_after_close_is_a_local_error() -> None:
    r = Connection(Role.RELAY)
    r.receive_frame(b"\xc1")  # never-used msgpack byte
    assert r.close_code == 4000 + ErrorCode.BAD_FRAME
    with pytest.raises(LocalProtocolError):
        r.receive_frame(codec.encode(m.Hello(versions=[1])))


def test_every_message_type_round_trips_and_has_a_legal_state() -> None:
    legal = {k for (_, _, k) in TRANSITIONS} | {k for ks in ALLOWED.values() for k in ks}
    assert set(m.ALL_MESSAGES) == legal


def test_close_codes() -> None:
    assert close_code_for(ErrorCode.GOING_AWAY) == 1001
    assert close_code_for(ErrorCode.REVOKED) == 4008


def test_auth_challenge_layout() -> None:
    ch = auth_challenge(b"t" * 16, b"d" * 32, b"n" * 32)
    assert ch == b"\x01" + b"t" * 16 + b"d" * 32 + b"n" * 32
    assert signed_bytes(ch) == AUTH_DOMAIN.encode() + b"\x00" + ch
    with pytest.raises(LocalProtocolError):
        auth_challenge(b"t", b"d" * 32, b"n" * 32)


def test_token_bucket() -> None:
    b = TokenBucket(rate=10, burst=2, now=0.0)
    assert b.take(0.0) and b.take(0.0) and not b.take(0.0)
    assert not b.take(0.05)
    assert b.take(0.1)
    assert b.take(100.0) and b.take(100.0) and not b.take(100.0)  # capped at burst


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_fuzz_arbitrary_bytes_only_documented_errors(data: bytes) -> None:
    try:
        codec.decode(data)
    except ProtocolError:
        pass
    r = Connection(Role.RELAY)
    r.receive_frame(data)  # never raises
    assert r.state in (State.CLOSED, State.HELLO)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["t", "id", "c", "after", "env", "versions", "items",
                                        "team", "blob", "seq", "entries"]),
                       st.one_of(st.integers(-2**63, 2**64 - 1), st.binary(max_size=40),
                                 st.text(max_size=10),
                                 st.lists(st.integers(0, 2**32), max_size=3),
                                 st.sampled_from([t.__struct_config__.tag
                                                  for t in m.ALL_MESSAGES]))))
def test_fuzz_structured_maps(fields: dict[str, object]) -> None:
    frame = msgspec.msgpack.encode(fields)
    p = ConnectionPair()
    p.handshake()
    try:
        p.relay.receive_frame(frame)
    except LocalProtocolError:
        pytest.fail("a peer frame must never raise")
    assert p.relay.state in (State.READY, State.CLOSED)
