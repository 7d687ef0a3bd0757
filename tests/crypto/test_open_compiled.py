"""The compiled opening of a delivery's envelopes (mano_core/document/_open_c.pxi) decides as the
Python reference: ``chain_links`` builds the runs ``batch._links`` builds, and ``KnownOpener``
opens an authenticated envelope as ``open_envelope`` does, with the same chain state after it,
or hands it back (None) with nothing changed, for the reference to raise or report."""

from __future__ import annotations

import pytest

from mano_core.crypto import ChainState, DeviceIdentity, _wire, batch, envelope_hash, seal
from mano_core.crypto.batch import authenticated_by_chain
from mano_core.crypto.envelope import Authenticated, Envelope, Opened, open_envelope
from mano_core.document import ynative
from mano_core.errors import ManoError
from mano_core.ids import Compartment
from tests.harness.keys import KeyDevice, KeyTeam

GENERAL, MEDICAL = Compartment.GENERAL, Compartment.MEDICAL
compiled = ynative.compiled
pytestmark = pytest.mark.skipif(compiled is None, reason="the compiled module is not built")


def _outcome(device: KeyDevice, chain: ChainState, raw: bytes,
             known: dict[bytes, Authenticated], opener: object | None) -> object:
    """What opening ``raw`` gives (the plaintext, or the error's type and message), as the
    sync driver opens it: the compiled opener first when given, else (or when it hands the
    envelope back) ``open_envelope``."""
    if opener is not None:
        opened = opener(raw, GENERAL, chain)  # type: ignore[operator]
        if opened is not None:
            assert isinstance(opened, Opened)
            return opened.plaintext
    try:
        return open_envelope(raw, log=device.log, keyring=device.keyring,
                             team_id=device.log.team_id, compartment=GENERAL,
                             chain_state=chain, authenticated=known).plaintext
    except ManoError as exc:
        return type(exc).__name__, str(exc)


def _delivery(team: KeyTeam) -> list[bytes]:
    """Envelopes of several authors with every case the opener hands back: a replay, a gap,
    a fork, a stranger's (valid signature, not in the log), another team's, a tampered one,
    bytes that do not parse."""
    alice, stranger = team.add(), DeviceIdentity.generate()
    raws = [team.founder.seal(b"f%d" % i) for i in range(4)]
    raws.insert(2, alice.seal(b"a0"))
    counter, _prev = team.founder.sealer.state.next_link(team.team_id, GENERAL,
                                                         team.founder.id)
    raws.append(seal(team.founder.identity, team.founder.keyring, team_id=team.team_id,
                     compartment=GENERAL, epoch=0, counter=counter, prev_hash=bytes(31) + b"x",
                     plaintext=b"fork"))  # the next counter, linked to another envelope
    raws.append(raws[1])  # a replay
    raws.append(alice.seal(b"a1"))
    alice.seal(b"a2")  # never delivered: the next is a gap
    raws.append(alice.seal(b"a3"))
    raws.append(seal(stranger, team.founder.keyring, team_id=team.team_id,
                     compartment=GENERAL, epoch=0, counter=0, prev_hash=_wire.ZERO_HASH,
                     plaintext=b"stranger"))
    raws.append(team.founder.seal(b"f-last"))
    tampered = bytearray(team.founder.seal(b"tampered"))
    tampered[120] ^= 1
    raws.append(bytes(tampered))
    raws += [b"\x01" * 200, b"", raws[0][:150]]
    other = KeyTeam()
    raws.append(other.founder.seal(b"another team"))
    return raws


def test_chain_links_builds_the_runs_the_reference_builds(team: KeyTeam) -> None:
    raws = _delivery(team)
    for own in ((), {raws[0]: 1, raws[3]: 2}):
        got = compiled.chain_links(raws, team.team_id, GENERAL, own, 1 << 20, Envelope.parse,
                                   ManoError)
        assert got == batch._links(raws, team.team_id, GENERAL, own)
        assert got[0]  # (not vacuous: runs were made)
    for team_id, c in ((bytes(16), GENERAL), (team.team_id, MEDICAL)):
        assert compiled.chain_links(raws, team_id, c, (), 1 << 20, Envelope.parse,
                                    ManoError) == ({}, {})
    # the size bound is the one given (limits.MAX_SEALED_SIZE, read at each call)
    assert compiled.chain_links(raws, team.team_id, GENERAL, (), 100, Envelope.parse,
                                ManoError) == ({}, {})
    # bytes-like items that are not bytes are parsed by the reference parse
    runs, _done = compiled.chain_links([bytearray(raws[0])], team.team_id, GENERAL, (),
                                       1 << 20, Envelope.parse, ManoError)
    assert [link.envelope.raw for link in runs[team.founder.id][0]] == [raws[0]]


def test_batch_authentication_is_the_same_with_either_loop(team: KeyTeam,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    raws = _delivery(team)
    with_compiled = authenticated_by_chain(raws, team_id=team.team_id, compartment=GENERAL)
    monkeypatch.setattr(batch._LINKS, "compiled", None)
    assert authenticated_by_chain(raws, team_id=team.team_id,
                                  compartment=GENERAL) == with_compiled
    assert len(with_compiled) >= 8


def test_the_known_opener_opens_as_open_envelope(team: KeyTeam) -> None:
    """Each envelope of the delivery, in order, opened through the compiled opener (falling
    back to the reference) and through the reference alone: same plaintexts, same errors,
    same chain state and reports at every step."""
    raws = _delivery(team)
    reader = team.add()
    known = authenticated_by_chain(raws, team_id=team.team_id, compartment=GENERAL)
    fast, slow = ChainState(), ChainState()
    opener = compiled.KnownOpener(known, team.team_id, reader.log, reader.keyring)
    taken = 0
    for raw in raws:
        taken += opener(raw, GENERAL, fast.copy()) is not None  # (on a copy: a probe)
        got = _outcome(reader, fast, raw, known, opener)
        assert got == _outcome(reader, slow, raw, known, None), raw[:8]
        assert fast._last == slow._last and fast.reports == slow.reports
    assert taken >= 5 and slow.reports  # (not vacuous: both paths ran, gaps were reported)


def test_the_known_opener_hands_back_what_it_may_not_decide(team: KeyTeam) -> None:
    """Another compartment, a log or keyring of another team, an epoch without its key: None,
    and the chain state is untouched."""
    raws = [team.founder.seal(b"edit %d" % i) for i in range(2)]
    reader = team.add()
    known = authenticated_by_chain(raws, team_id=team.team_id, compartment=GENERAL)
    chain = ChainState()
    opener = compiled.KnownOpener(known, team.team_id, reader.log, reader.keyring)
    assert opener(raws[0], MEDICAL, chain) is None
    assert opener(bytearray(raws[0]), GENERAL, chain) is None
    other = KeyTeam().add()
    assert compiled.KnownOpener(known, team.team_id, other.log, reader.keyring)(
        raws[0], GENERAL, chain) is None
    assert compiled.KnownOpener(known, team.team_id, reader.log, other.keyring)(
        raws[0], GENERAL, chain) is None
    assert chain._last == {}
    opened = opener(raws[0], GENERAL, chain)
    assert opened is not None and opened.plaintext == b"edit 0"
    assert chain.last(team.team_id, GENERAL, team.founder.id) == (0, envelope_hash(raws[0]))
