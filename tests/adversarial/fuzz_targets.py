"""Fuzz targets shared by the hypothesis tests (test_fuzz.py) and the atheris driver
(atheris_fuzz.py): each takes arbitrary bytes and may raise only a ManoError subclass."""

from __future__ import annotations

from functools import cache

from mano_core.crypto.chain import ChainState
from mano_core.crypto.envelope import Envelope, open_envelope
from mano_core.document.ydeps import read_deps
from mano_core.ids import Compartment
from mano_core.protocol import codec
from mano_core.sync import payload
from tests.relay.kit import TeamKit


@cache
def kit() -> tuple[TeamKit, bytes, bytes]:
    """A team with two members and two valid envelopes of bob's (counters 0 and 1)."""
    k = TeamKit("bob")
    first = k["bob"].seal(payload.encode_batches([b"\x00\x00"]).__next__())
    second = k["bob"].seal(b"\x81\xa1u\x90")
    return k, first, second


def parse(data: bytes) -> None:
    Envelope.parse(data)


def open_(data: bytes) -> None:
    k, first, _ = kit()
    admin = k["admin"]
    chain = ChainState()
    open_envelope(first, log=admin.log, keyring=admin.keyring, team_id=k.team_id,
                  compartment=Compartment.GENERAL, chain_state=chain)
    open_envelope(data, log=admin.log, keyring=admin.keyring, team_id=k.team_id,
                  compartment=Compartment.GENERAL, chain_state=chain)


def decode_payload(data: bytes) -> None:
    content = payload.decode(data)
    if isinstance(content, payload.Fragment):
        payload.join_fragments([content])


def deps(data: bytes) -> None:
    read_deps(data)


def frame(data: bytes) -> None:
    codec.decode(data)


TARGETS = {"parse": parse, "open": open_, "payload": decode_payload, "ydeps": deps,
           "frame": frame}
