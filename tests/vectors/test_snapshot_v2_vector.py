"""docs/vectors/snapshot_v2.json rebuilt from the JSON alone, as docs/protocol.md §15
("Snapshot blob, version 2") describes it, with the primitives only (Ed25519, AES-GCM,
SHA-256, msgpack); then mano_core's reader accepts the same bytes and refuses them altered.
(test_vectors.py checks that the implementation regenerates the file; check.mjs reads it
in JavaScript.)"""

from __future__ import annotations

import hashlib
import struct

import msgspec
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pycrdt import Doc, Map

from mano_core.errors import SnapshotPieceError
from mano_core.ids import Compartment
from mano_core.sync.snapshot_v2 import open_snapshot_v2
from tests.vectors.test_vectors import b, founding_log, keyring, label, load, verify


def test_snapshot_v2_from_the_json() -> None:
    v = load("snapshot_v2")
    team, author, nonce = b(v["team_id_hex"]), b(v["author"]["device_id_hex"]), b(v["nonce_hex"])
    blob, pieces = b(v["blob_hex"]), v["pieces"]
    header = struct.pack(">B16sBI32sQ12sI", 2, team, v["compartment"], v["epoch"], author,
                         v["upto"], nonce, v["piece_count"])
    assert header == b(v["header_hex"]) == blob[:78] and len(pieces) == v["piece_count"]
    table = b"".join(struct.pack(">I", len(b(p["ciphertext_hex"])))
                     + hashlib.sha256(b(p["ciphertext_hex"])).digest() for p in pieces)
    assert table == b(v["table_hex"])
    message = label(v["domain"]) + header + table
    assert message == b(v["signed_message_hex"])
    verify(author, b(v["signature_hex"]), message)
    size = 78 + 36 * len(pieces) + 64
    assert size == v["manifest_size"]
    assert blob == header + table + b(v["signature_hex"]) + b"".join(
        b(p["ciphertext_hex"]) for p in pieces)
    aead = AESGCM(b(v["content_key_hex"]))
    plaintexts = []
    for i, p in enumerate(pieces):
        piece_nonce = nonce[:8] + struct.pack(">I", struct.unpack(">I", nonce[8:])[0] ^ i)
        assert (p["index"], b(p["nonce_hex"])) == (i, piece_nonce)
        ad = header + struct.pack(">I", i)
        assert ad == b(p["associated_data_hex"])
        assert hashlib.sha256(b(p["ciphertext_hex"])).digest() == b(p["sha256_hex"])
        plaintexts.append(aead.decrypt(piece_nonce, b(p["ciphertext_hex"]), ad))
        assert plaintexts[-1] == b(p["plaintext_hex"])
    assert plaintexts[0] == b(v["chain_hex"])
    assert msgspec.msgpack.decode(plaintexts[0])[0] == 1  # [version, chains], as version 1's
    doc, whole = Doc(), Doc()
    for update in plaintexts[1:]:
        doc.apply_update(update)
    whole.apply_update(b(v["state_hex"]))
    assert doc.get("persons", type=Map).to_py() == whole.get("persons", type=Map).to_py()
    assert doc.get_state() == whole.get_state()

    opened = open_snapshot_v2(blob, log=founding_log(), keyring=keyring(team, (
        0, 0, v["content_key_hex"])), team_id=team, compartment=Compartment.GENERAL)
    assert list(opened.updates) == plaintexts[1:] and opened.upto == v["upto"]
    assert opened.chain.to_bytes() == plaintexts[0]
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(SnapshotPieceError):
        open_snapshot_v2(bytes(tampered), log=founding_log(), keyring=keyring(team, (
            0, 0, v["content_key_hex"])), team_id=team, compartment=Compartment.GENERAL)
