"""The version-2 snapshot's vector (docs/vectors/snapshot_v2.json; docs/protocol.md §15,
"Snapshot blob, version 2"): the state of snapshot.json cut into two v1 updates, sealed with
the chain state as three pieces under a signed manifest. Written by generate.py."""

from __future__ import annotations

from typing import Any

from mano_core.crypto import ChainState
from mano_core.document import pieces
from mano_core.ids import Compartment
from mano_core.sync import snapshot_v2 as s2

# The vector's state cut this small so that it has more than one update (a real writer cuts
# at least limits.MIN_SNAPSHOT_PIECE bytes a piece).
PIECE_BYTES = 32


def gen_snapshot_v2() -> dict[str, Any]:
    from tests.vectors import generate as g  # (generate imports this module)

    last = g.gen_envelope()["envelopes"][-1]
    chain = ChainState()
    chain.record(g.TEAM_ID, Compartment.GENERAL, g.A.device_id, last["counter"],
                 bytes.fromhex(last["envelope_hash_hex"]))
    updates = pieces.cut(g.Y_STATE, PIECE_BYTES)
    assert updates is not None and len(updates) == 2
    nonce = g.fixed("snapshot-v2-nonce", 12)
    upto = 2
    blob = s2.seal_pieces(g.A, g.keyring_with((Compartment.GENERAL, 0)), team_id=g.TEAM_ID,
                          compartment=Compartment.GENERAL, epoch=0, upto=upto, updates=updates,
                          chain=chain, nonce=nonce)
    manifest = s2.read_manifest(blob)
    assert manifest is not None
    signed = manifest.signed()
    plaintexts = [chain.to_bytes(), *updates]
    at, out = manifest.size, []
    for i, (plaintext, length) in enumerate(zip(plaintexts, manifest.lengths, strict=True)):
        out.append({"index": i, "plaintext_hex": g.h(plaintext),
                    "nonce_hex": g.h(s2.piece_nonce(nonce, i)),
                    "associated_data_hex": g.h(s2.piece_ad(manifest.header, i)),
                    "ciphertext_hex": g.h(blob[at:at + length]),
                    "sha256_hex": g.h(manifest.digests[i])})
        at += length
    return {
        "construction": "snapshot blob, version 2: a signed manifest and its pieces "
                        "(docs/protocol.md §15, 'Snapshot blob, version 2')",
        "team_id_hex": g.h(g.TEAM_ID), "compartment": 0, "epoch": 0, "upto": upto,
        "author": g.device_json(g.A),
        "content_key_hex": g.h(g.content_key(Compartment.GENERAL, 0)),
        "domain": s2.DOMAIN, "nonce_hex": g.h(nonce), "piece_count": len(plaintexts),
        "state_hex": g.h(g.Y_STATE), "chain_hex": g.h(chain.to_bytes()),
        "header_hex": g.h(manifest.header), "table_hex": g.h(signed[s2.HEADER_SIZE:]),
        "signed_message_hex": g.h(g._wire.signed_message(s2.DOMAIN, signed)),
        "signature_hex": g.h(manifest.signature), "manifest_size": manifest.size,
        "pieces": out, "blob_hex": g.h(blob),
    }


def gen_snapshot_reader() -> dict[str, Any]:
    """A device's reader statement (docs/protocol.md §15, "Which snapshot version a device
    writes"): the value it writes at its id in the general document's ``snapshotReaders``."""
    from tests.vectors import generate as g
    from mano_core.sync import snapshot_readers as readers

    value = readers.statement(g.A, g.TEAM_ID)
    body = value[:2]
    return {
        "construction": "reader statement: which snapshot versions a device reads "
                        "(docs/protocol.md §15, 'Which snapshot version a device writes')",
        "team_id_hex": g.h(g.TEAM_ID), "device": g.device_json(g.A), "root": readers.ROOT,
        "key": g.A.device_id.hex(), "domain": readers.DOMAIN, "reads": readers.READS,
        "body_hex": g.h(body),
        "signed_message_hex": g.h(g._wire.signed_message(
            readers.DOMAIN, g.TEAM_ID + g.A.device_id + body)),
        "value_hex": g.h(value),
    }
