"""One signature per author and delivery: the author chains authenticate the rest.

Each envelope's signed header carries ``prev_hash``, the SHA-256 of the author's previous
envelope *whole* (header, ciphertext and signature: ``envelope_hash(raw)`` hashes the bytes
as sent). So when envelope n+1 of an author verifies, its author signed the exact bytes of
envelope n (finding other bytes with the same SHA-256 is infeasible), and, link by link, of
every earlier envelope of an unbroken run. A device catching up on thousands of envelopes
therefore checks each run's links (one SHA-256 per envelope, ~1 µs) and the signature of the
run's newest envelope (~150 µs), instead of one signature per envelope. The argument, and what
it does not change (authorisation, replay and gap checks, decryption: still per envelope), is
written out in docs/security.md ("Batch authentication of a delivery").

Nothing here decides what to accept: the result only tells ``open_envelope`` which signatures
are established already. An envelope left out (a broken link, a run whose newest signature
fails, bytes that do not parse) is verified on its own as before, so a forged envelope is
refused alone and costs only itself.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from mano_core import limits
from mano_core.crypto import _wire
from mano_core.crypto.envelope import Authenticated, Envelope
from mano_core.errors import ManoError
from mano_core.ids import Compartment


class _Links:
    # The compiled loop (``use_compiled``; mano_core/document/_open_c.pxi ``chain_links``), or
    # None: the Python one below, the reference. This module does not import the document
    # layer (the relay loads no Yjs code): ynative hands the compiled module in.
    compiled: Any = None


_LINKS = _Links()


def use_compiled(module: Any) -> None:
    """Build a delivery's runs with ``module.chain_links`` from now on (``ynative``, once it
    has checked that the compiled module was built from the source next to it)."""
    _LINKS.compiled = module


def authenticated_by_chain(raws: Sequence[bytes], *, team_id: bytes,
                           compartment: Compartment,
                           own: Collection[bytes] = ()) -> dict[bytes, Authenticated]:
    """The envelopes of ``raws`` (one delivery of ``compartment``, in relay order) whose
    author's signature is established, by their bytes, with their parse and SHA-256 (so that
    ``open_envelope`` does neither again): per author, each maximal run of envelopes with
    consecutive counters, each carrying the hash of the one before it, is authenticated by
    the valid signature of its newest envelope. When that signature fails, the run is tried
    again without it (a forged newest envelope does not cost its genuine predecessors).
    Envelopes of another team or compartment, or that do not parse, are left out. Never
    raises for what the relay sent.

    ``own``: the exact bytes of envelopes this device sealed, signed and committed itself
    (its pushes coming back from the relay): such an envelope is established by its bytes
    alone, with no signature check (docs/security.md, "This device's own envelopes coming
    back"). Only byte-identical copies count: any other envelope claiming this device as
    its author is checked as every other one."""
    compiled = _LINKS.compiled
    runs: dict[bytes, list[list[Authenticated]]]
    done: dict[bytes, Authenticated]
    if compiled is not None:
        runs, done = compiled.chain_links(list(raws), team_id, compartment, own,
                                          limits.MAX_SEALED_SIZE, Envelope.parse, ManoError)
    else:
        runs, done = _links(raws, team_id, compartment, own)
    for author_runs in runs.values():
        for run in author_runs:
            while run:
                newest = run[-1].envelope
                if _wire.verify(newest.header.author, newest.signature, _wire.DOMAIN_ENVELOPE,
                                newest.signed_part):
                    done.update((link.envelope.raw, link) for link in run)
                    break
                run.pop()  # forged or damaged: verified (and refused) on its own later
    return done


def _links(raws: Sequence[bytes], team_id: bytes, compartment: Compartment,
           own: Collection[bytes]) -> tuple[dict[bytes, list[list[Authenticated]]],
                                            dict[bytes, Authenticated]]:
    """The runs of consecutive links of each author in ``raws``, and the envelopes of ``own``
    (established by their bytes): the reference of the compiled ``chain_links``."""
    runs: dict[bytes, list[list[Authenticated]]] = {}
    done: dict[bytes, Authenticated] = {}
    parse, sha256 = Envelope.parse, _wire.sha256
    for raw in raws:
        try:
            env = parse(raw)
        except ManoError:
            continue
        h = env.header
        if h.team_id != team_id or h.compartment is not compartment:
            continue
        # (made once, kept whether or not its run's signature holds: only ``done`` counts)
        link = Authenticated(env, sha256(env.raw))
        if raw in own:
            done[env.raw] = link
            continue
        author_runs = runs.get(h.author)
        if author_runs is None:
            runs[h.author] = [[link]]
            continue
        last = author_runs[-1][-1]
        if h.counter == last.envelope.header.counter + 1 and h.prev_hash == last.digest:
            author_runs[-1].append(link)
        else:
            author_runs.append([link])
    return runs, done
