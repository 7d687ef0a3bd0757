"""docs/vectors/*.json, checked both ways.

1. The Python implementation regenerates every file and gets the same bytes (HPKE outputs,
   which draw their ephemeral key inside `cryptography`, excepted: see generate.py).
2. From the JSON alone, a reader that knows only docs/*.md rebuilds and checks each
   construction with the primitives (`cryptography` for Ed25519, X25519, HKDF, AES-GCM and
   HPKE; msgpack for the encodings), as a client in another language would; then mano_core's
   own openers accept the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives import hashes, hmac, hpke
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pycrdt import Doc, Map

from mano_core import audit
from mano_core.crypto import (
    ChainState,
    DeviceIdentity,
    Keyring,
    MembershipLog,
    join_team,
    open_envelope,
)
from mano_core.document import layout
from mano_core.ids import Compartment
from mano_core.model import records
from mano_core.model.records import HistoryEntry
from mano_core.sync.presence import open_presence
from mano_core.sync.snapshot import open_snapshot
from tests.vectors import generate

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "vectors"


def load(name: str) -> dict[str, Any]:
    vector: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text())
    return vector


def b(value: str) -> bytes:
    return bytes.fromhex(value)


def label(domain: str) -> bytes:
    return domain.encode() + b"\x00"


def verify(device_id: bytes, signature: bytes, message: bytes) -> None:
    Ed25519PublicKey.from_public_bytes(device_id).verify(signature, message)  # raises if bad


def check_device(d: dict[str, str]) -> None:
    key = Ed25519PrivateKey.from_private_bytes(b(d["ed25519_seed_hex"]))
    assert key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) == b(d["device_id_hex"])
    kx = X25519PrivateKey.from_private_bytes(b(d["x25519_private_hex"]))
    assert kx.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) == b(
        d["x25519_public_hex"])
    if "mlkem768_seed_hex" in d:
        kem = MLKEM768PrivateKey.from_seed_bytes(b(d["mlkem768_seed_hex"]))
        assert kem.public_key().public_bytes_raw() == b(d["mlkem768_public_hex"])


def identity(d: dict[str, str]) -> DeviceIdentity:
    keys = b(d["ed25519_seed_hex"]) + b(d["x25519_private_hex"])
    if "mlkem768_seed_hex" in d:
        return DeviceIdentity.from_bytes(b"\x02" + keys + b(d["mlkem768_seed_hex"]))
    return DeviceIdentity.from_bytes(b"\x01" + keys)


def keyring(team: bytes, *keys: tuple[int, int, str]) -> Keyring:
    ring = Keyring(team)
    for c, e, k in keys:
        ring._keys[(Compartment(c), e)] = b(k)
    return ring


def founding_log() -> MembershipLog:
    mem = load("membership")
    return MembershipLog.from_entries(b(mem["team_id_hex"]), [b(mem["entries"][0]["entry_hex"])])


# --- 1. the implementation regenerates them ---------------------------------------------------


@pytest.mark.parametrize("name", sorted(generate.GENERATORS))
def test_the_implementation_regenerates_the_same_vectors(name: str) -> None:
    fresh = generate.GENERATORS[name]()
    stored = load(name)
    assert generate.without_randomized(stored) == generate.without_randomized(fresh), (
        f"docs/vectors/{name}.json is out of date: ./dev python -m tests.vectors.generate")


def test_every_vector_file_has_a_generator() -> None:
    assert {p.stem for p in VECTORS.glob("*.json")} == set(generate.GENERATORS)


# --- 2. from the JSON alone --------------------------------------------------------------------


def test_relay_auth_from_the_json() -> None:
    v = load("relay_auth")
    check_device(v["device"])
    challenge = (bytes([v["protocol_version"]]) + b(v["team_id_hex"])
                 + b(v["device"]["device_id_hex"]) + b(v["welcome_nonce_hex"]))
    assert challenge == b(v["challenge_hex"])
    message = label(v["domain"]) + challenge
    assert message == b(v["signed_message_hex"])
    verify(b(v["device"]["device_id_hex"]), b(v["signature_hex"]), message)
    frame = msgspec.msgpack.decode(b(v["auth_frame_hex"]))
    assert frame == {"t": "auth", "team": b(v["team_id_hex"]),
                     "device": b(v["device"]["device_id_hex"]), "sig": b(v["signature_hex"]),
                     "genesis": None}


def test_envelopes_and_their_chain_from_the_json() -> None:
    v = load("envelope")
    team, author = b(v["team_id_hex"]), b(v["author"]["device_id_hex"])
    aead = AESGCM(b(v["content_key_hex"]))
    prev_hash, counter = bytes(32), 0
    for e in v["envelopes"]:
        header = struct.pack(">B16sBI32sQ32s12s", 1, team, v["compartment"], v["epoch"], author,
                             counter, prev_hash, b(e["nonce_hex"]))
        assert header == b(e["header_hex"]) == b(e["associated_data_hex"])
        assert len(header) == 106 and e["counter"] == counter
        ciphertext = b(e["ciphertext_hex"])
        assert aead.decrypt(b(e["nonce_hex"]), ciphertext, header) == b(e["plaintext_hex"])
        assert aead.encrypt(b(e["nonce_hex"]), b(e["plaintext_hex"]), header) == ciphertext
        message = label(v["domain"]) + header + ciphertext
        assert message == b(e["signed_message_hex"])
        verify(author, b(e["signature_hex"]), message)
        raw = header + ciphertext + b(e["signature_hex"])
        assert raw == b(e["envelope_hex"])
        assert hashlib.sha256(raw).digest() == b(e["envelope_hash_hex"])
        assert msgspec.msgpack.decode(b(e["plaintext_hex"])) == {"u": [b(e["yjs_update_hex"])]}
        prev_hash, counter = hashlib.sha256(raw).digest(), counter + 1


def test_mano_opens_the_envelopes_in_chain_order_and_refuses_a_replay() -> None:
    v = load("envelope")
    team = b(v["team_id_hex"])
    log, ring, chain = founding_log(), keyring(team, (0, 0, v["content_key_hex"])), ChainState()
    for e in v["envelopes"]:
        opened = open_envelope(b(e["envelope_hex"]), log=log, keyring=ring, team_id=team,
                               compartment=Compartment.GENERAL, chain_state=chain)
        assert opened.plaintext == b(e["plaintext_hex"])
    assert chain.take_reports() == []
    from mano_core.errors import ReplayError
    with pytest.raises(ReplayError):
        open_envelope(b(v["envelopes"][0]["envelope_hex"]), log=log, keyring=ring, team_id=team,
                      compartment=Compartment.GENERAL, chain_state=chain)


ENTRY_FIELDS = ("version", "team_id", "seq", "prev_hash", "signer", "op", "device_id",
                "kx_public", "member", "role", "health", "invitation_id", "kem_public")
BYTES_FIELDS = {"team_id", "prev_hash", "signer", "device_id", "kx_public", "invitation_id",
                "kem_public"}


def test_membership_entries_from_the_json() -> None:
    v = load("membership")
    for d in v["devices"].values():
        check_device(d)
    prev = bytes(32)
    for seq, e in enumerate(v["entries"]):
        f = e["fields"]
        assert tuple(f) == ENTRY_FIELDS
        # version 1: the first 12 fields; version 2 (carries an ML-KEM key): all 13
        assert f["version"] == (2 if f["kem_public"] else 1)
        names = ENTRY_FIELDS if f["version"] == 2 else ENTRY_FIELDS[:12]
        body = msgspec.msgpack.encode([b(f[k]) if k in BYTES_FIELDS else f[k] for k in names])
        assert body == b(e["body_hex"])
        assert f["seq"] == seq and b(f["prev_hash"]) == prev and f["op"] == e["op"]
        message = label(v["domain"]) + body
        assert message == b(e["signed_message_hex"])
        verify(b(f["signer"]), b(e["signature_hex"]), message)
        assert body + b(e["signature_hex"]) == b(e["entry_hex"])
        prev = hashlib.sha256(b(e["entry_hex"])).digest()
        assert prev == b(e["entry_hash_hex"])


def test_mano_replays_the_log_to_the_states_the_json_gives() -> None:
    v = load("membership")
    names = {b(d["device_id_hex"]): n for n, d in v["devices"].items()}
    log = MembershipLog(b(v["team_id_hex"]))
    for e in v["entries"]:
        log.append(b(e["entry_hex"]))
        want = e["state_after"]
        assert {c.name.lower(): log.epoch(c) for c in Compartment} == want["epochs"]
        assert {names[d.device_id] for d in log.active_devices()} == set(want["active"])
        for c in Compartment:
            gen = log.key_generator(c, log.epoch(c))
            assert (names[gen] if gen else None) == \
                want["key_generator_of_current_epoch"][c.name.lower()]


def _open_package(p: dict[str, Any], recipient: dict[str, str]) -> list[list[Any]]:
    x25519 = X25519PrivateKey.from_private_bytes(b(recipient["x25519_private_hex"]))
    key: X25519PrivateKey | hpke.MLKEM768X25519PrivateKey
    if p["version"] == 1:
        kem, key = hpke.KEM.X25519, x25519
    else:
        kem = hpke.KEM.MLKEM768_X25519
        key = hpke.MLKEM768X25519PrivateKey(
            MLKEM768PrivateKey.from_seed_bytes(b(recipient["mlkem768_seed_hex"])), x25519)
    assert len(b(p["sealed_hex"])) == p["enc_length"] + len(b(p["keys_plaintext_hex"])) + 16
    suite = hpke.Suite(kem, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    plain = suite.decrypt(b(p["sealed_hex"]), key, b(p["hpke_info_hex"]))
    assert plain == b(p["keys_plaintext_hex"])
    return [[c, e, k.hex()] for c, e, k in msgspec.msgpack.decode(plain)]


def test_key_packages_from_the_json() -> None:
    v = load("key_package")
    team, issuer = b(v["team_id_hex"]), b(v["issuer"]["device_id_hex"])
    head = hashlib.sha256(b(v["log_entries_hex"][-1])).digest()
    assert [p["version"] for p in v["packages"]] == [1, 2]
    for p in v["packages"]:
        recipient = b(p["recipient"]["device_id_hex"])
        assert p["log_head_hex"] == head.hex()
        assert b(p["hpke_info_hex"]) == label("mano/v1/key-package") + team + issuer + recipient
        body = msgspec.msgpack.encode([p["version"], team, issuer, recipient, head,
                                       b(p["sealed_hex"])])
        assert body == b(p["body_hex"])
        verify(issuer, b(p["signature_hex"]), label("mano/v1/key-package") + body)
        assert body + b(p["signature_hex"]) == b(p["package_hex"])
        assert _open_package(p, p["recipient"]) == p["keys"]
        log = MembershipLog.from_entries(team, [b(e) for e in v["log_entries_hex"]])
        ring = Keyring(team)
        ring.accept_package(identity(p["recipient"]), b(p["package_hex"]), log)
        assert [[int(c), e, ring.key(c, e).hex()] for c in Compartment
                for e in ring.epochs(c)] == p["keys"]


# --- HPKE base mode (RFC 9180) by hand, with the KEM's shared secret made from the primitives:
# what docs/security.md §4 says, checked against the library's own HPKE.


def _labeled_extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    mac = hmac.HMAC(salt or bytes(32), hashes.SHA256())
    mac.update(b"HPKE-v1" + suite + label + ikm)
    return mac.finalize()


def _labeled_expand(suite: bytes, prk: bytes, label: bytes, info: bytes, size: int) -> bytes:
    return HKDFExpand(hashes.SHA256(), size, size.to_bytes(2) + b"HPKE-v1" + suite + label
                      + info).derive(prk)


XWING_LABEL = b"\\.//^\\"  # the 6 bytes 5c 2e 2f 2f 5e 5c


def _shared_secret(version: int, enc: bytes, recipient: dict[str, str]) -> bytes:
    sk_x = X25519PrivateKey.from_private_bytes(b(recipient["x25519_private_hex"]))
    pk_x = b(recipient["x25519_public_hex"])
    if version == 1:  # DHKEM(X25519, HKDF-SHA256), RFC 9180 §4.1
        kem_suite = b"KEM" + (0x0020).to_bytes(2)
        dh = sk_x.exchange(X25519PublicKey.from_public_bytes(enc))
        prk = _labeled_extract(kem_suite, b"", b"eae_prk", dh)
        return _labeled_expand(kem_suite, prk, b"shared_secret", enc + pk_x, 32)
    # X-Wing (ML-KEM-768 + X25519): enc = ct_M (1088) || ct_X (32)
    assert XWING_LABEL.hex() == "5c2e2f2f5e5c" and len(enc) == 1120
    ct_m, ct_x = enc[:1088], enc[1088:]
    ss_m = MLKEM768PrivateKey.from_seed_bytes(b(recipient["mlkem768_seed_hex"])).decapsulate(ct_m)
    ss_x = sk_x.exchange(X25519PublicKey.from_public_bytes(ct_x))
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + XWING_LABEL).digest()


def _hpke_open_by_hand(version: int, sealed: bytes, recipient: dict[str, str],
                       info: bytes) -> bytes:
    kem_id, enc_size = {1: (0x0020, 32), 2: (0x647A, 1120)}[version]
    suite = b"HPKE" + kem_id.to_bytes(2) + (0x0001).to_bytes(2) + (0x0002).to_bytes(2)
    enc, ciphertext = sealed[:enc_size], sealed[enc_size:]
    secret = _labeled_extract(suite, _shared_secret(version, enc, recipient), b"secret", b"")
    context = (b"\x00" + _labeled_extract(suite, b"", b"psk_id_hash", b"")
               + _labeled_extract(suite, b"", b"info_hash", info))
    key = _labeled_expand(suite, secret, b"key", context, 32)
    nonce = _labeled_expand(suite, secret, b"base_nonce", context, 12)
    return AESGCM(key).decrypt(nonce, ciphertext, b"")  # sequence 0, empty AAD


def test_key_packages_open_with_hpke_written_out_from_the_primitives() -> None:
    for p in load("key_package")["packages"]:
        plain = _hpke_open_by_hand(p["version"], b(p["sealed_hex"]), p["recipient"],
                                   b(p["hpke_info_hex"]))
        assert plain == b(p["keys_plaintext_hex"])


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def test_invitation_from_the_json() -> None:
    v = load("invitation")
    team, secret = b(v["team_id_hex"]), b(v["secret_hex"])
    code_bytes = team + secret + hashlib.sha256(team + secret).digest()[:2]
    assert code_bytes == b(v["code_bytes_hex"])
    number = int.from_bytes(code_bytes)
    chars = "".join(CROCKFORD[(number >> (5 * i)) & 31] for i in reversed(range(48)))
    assert v["code"] == "-".join(chars[i:i + 4] for i in range(0, 48, 4))
    k = v["hkdf"]
    inv_id = HKDF(hashes.SHA256(), 16, salt=team, info=b(k["id_info_hex"])).derive(secret)
    inv_key = HKDF(hashes.SHA256(), 32, salt=team, info=b(k["key_info_hex"])).derive(secret)
    assert b(k["id_info_hex"]) == b"mano/v1/invitation\x00id"
    assert b(k["key_info_hex"]) == b"mano/v1/invitation\x00key"
    assert (inv_id, inv_key) == (b(v["invitation_id_hex"]), b(v["invitation_key_hex"]))
    aead = AESGCM(inv_key)

    r = v["request"]
    request = b(r["request_hex"])
    assert request[0] == 1 and request[1:17] == inv_id and request[17:29] == b(r["nonce_hex"])
    ad = b"mano/v1/invitation\x00request" + team + inv_id
    assert ad == b(r["associated_data_hex"])
    payload = aead.decrypt(request[17:29], request[29:], ad)
    assert payload == b(r["payload_hex"])
    device_id, kx_public, proof, kem_public = msgspec.msgpack.decode(payload)
    assert device_id == b(v["new_device"]["device_id_hex"])
    assert kx_public == b(v["new_device"]["x25519_public_hex"])
    assert kem_public == b(v["new_device"]["mlkem768_public_hex"])
    verify(device_id, proof, label(r["proof_domain"]) + team + inv_id + kx_public + kem_public)

    a = v["admission"]
    welcome = b(a["welcome_hex"])
    wad = b"mano/v1/invitation\x00welcome" + team + inv_id
    assert wad == b(a["welcome_associated_data_hex"]) and welcome[:12] == b(a["welcome_nonce_hex"])
    plain = aead.decrypt(welcome[:12], welcome[12:], wad)
    assert plain == hashlib.sha256(b(a["entry_hex"])).digest() + device_id
    entries = [b(e) for e in v["log_entries_before_hex"]] + [b(a["entry_hex"])]
    log, ring = join_team(v["code"], identity(v["new_device"]), welcome=welcome,
                          entries=entries, key_package=b(a["key_package_hex"]))
    state = log.device(device_id)
    assert state is not None and (state.member, state.role.value, state.health) == (
        a["member"], a["role"], a["health"])
    assert [[int(c), e, ring.key(c, e).hex()] for c in Compartment
            for e in ring.epochs(c)] == a["key_package_keys"]


def test_snapshot_from_the_json() -> None:
    v = load("snapshot")
    team, author = b(v["team_id_hex"]), b(v["author"]["device_id_hex"])
    blob = b(v["blob_hex"])
    header = struct.pack(">B16sBI32sQ12s", 1, team, v["compartment"], v["epoch"], author,
                         v["upto"], b(v["nonce_hex"]))
    assert header == blob[:74] == b(v["header_hex"])
    ciphertext, sig = blob[74:-64], blob[-64:]
    verify(author, sig, label(v["domain"]) + header + ciphertext)
    plain = AESGCM(b(v["content_key_hex"])).decrypt(b(v["nonce_hex"]), ciphertext, header)
    assert msgspec.msgpack.decode(plain) == {"state": b(v["state_hex"]),
                                             "chain": b(v["chain_hex"])}
    chain = msgspec.msgpack.decode(b(v["chain_hex"]))
    want = v["chain_json"]
    assert chain == [want[0], [[b(t), c, b(a), n, b(x)] for t, c, a, n, x in want[1]]]
    snap = open_snapshot(blob, log=founding_log(), keyring=keyring(team, (0, 0,
                         v["content_key_hex"])), team_id=team, compartment=Compartment.GENERAL)
    assert snap.state == b(v["state_hex"]) and snap.upto == v["upto"]
    ch = v["chunking"]
    frame = msgspec.msgpack.decode(b(ch["frames_for_this_blob_hex"][0]))
    assert frame == {"t": "snapshot_put", "id": 7, "c": 0, "upto": v["upto"], "part": 0,
                     "last": True, "data": blob, "spare": False}
    parts = ch["example_parts"]
    assert sum(p["length"] for p in parts) == ch["example_blob_length"]
    assert all(p["offset"] == i * ch["chunk_size"] for i, p in enumerate(parts))


def test_presence_from_the_json() -> None:
    v = load("presence")
    team, sender = b(v["team_id_hex"]), b(v["sender"]["device_id_hex"])
    blob = b(v["blob_hex"])
    assert struct.unpack(">I", blob[:4])[0] == v["epoch"] and blob[4:16] == b(v["nonce_hex"])
    ad = b"mano/v1/presence" + team + sender  # no 0x00 after this label (docs/protocol.md §15)
    assert ad == b(v["associated_data_hex"])
    plain = AESGCM(b(v["general_key_hex"])).decrypt(blob[4:16], blob[16:], ad)
    assert msgspec.msgpack.decode(plain) == v["message"]
    opened = open_presence(keyring(team, (0, 0, v["general_key_hex"])), team, sender, blob)
    assert (opened.m, opened.v, opened.t) == (v["message"]["m"], v["message"]["v"],
                                              v["message"]["t"])


def test_record_layout_from_the_json() -> None:
    kinds = {k.collection: k for k in records.GENERAL_RECORDS}
    for s in load("records")["steps"]:
        kind = kinds[s["collection"]]
        assert layout.to_wire(layout.decode(kind, layout.unflatten(kind, s["entries"]))) == \
            s["record"], s["step"]
        base = s["entries"]["_"]
        defaults = layout.plan_for(kind).defaults
        assert all(defaults.get(k, object()) != val for k, val in base.items()), s["step"]


def test_the_yjs_updates_of_each_step_give_the_entries_shown() -> None:
    doc: Doc[Any] = Doc()
    for s in load("records")["steps"]:
        for update in s["yjs_updates_hex"]:
            doc.apply_update(b(update))
        everything = msgspec.json.decode(str(doc.get(s["collection"], type=Map)))
        record_id = s["record"]["id"]
        assert everything[record_id] == s["entries"], s["step"]


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_canonical(x) for x in value]
    if isinstance(value, dict):
        return {k: _canonical(x) for k, x in sorted(value.items())}
    return value


def test_signed_history_entries_from_the_json() -> None:
    v = load("history")
    team, device = b(v["team_id_hex"]), b(v["device"]["device_id_hex"])
    log = founding_log()
    for e in v["entries"]:
        s = e["stored_value"]
        data = msgspec.msgpack.encode([1, team, v["compartment"], s["id"], s["recordCollection"],
                                       s["recordId"], s["field"], _canonical(s["old"]),
                                       _canonical(s["new"]), s["at"], s["author"],
                                       s["device"]])
        assert data == b(e["signed_bytes_hex"])
        verify(device, b(s["sig"]), label(v["domain"]) + data)
        entry = msgspec.convert(s, HistoryEntry)
        line = audit.verify_entry(entry, Compartment.GENERAL, team, log)
        assert line.status is audit.AuditStatus.VERIFIED


def test_erasure_signatures_from_the_json() -> None:
    v = load("erasure")
    team = b(v["team_id_hex"])
    o = v["order"]["stored_value"]
    data = msgspec.msgpack.encode([team, o["id"], sorted(o["persons"]), o["reason"],
                                   v["order"]["issued_at_as_signed"], b(o["device"])])
    assert data == b(v["order"]["signed_bytes_hex"])
    verify(b(o["device"]), b(o["signature"]), label(v["order"]["domain"]) + data)
    s = v["share"]["stored_value"]
    data = msgspec.msgpack.encode([team, s["id"], s["person"], s["organisation"],
                                   b(s["sharedBy"]), s["consent"]])
    assert data == b(v["share"]["signed_bytes_hex"])
    verify(b(s["sharedBy"]), b(s["signature"]), label(v["share"]["domain"]) + data)


def test_document_body_from_the_json() -> None:
    """A client of another language opens the parts with AES-256-GCM and the documented AD."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from mano_core.documents.body import open_body

    v = load("document")
    key, file = bytes.fromhex(v["key_hex"]), bytes.fromhex(v["file_hex"])
    parts = [bytes.fromhex(p["sealed_hex"]) for p in v["parts"]]
    pieces = []
    for p, sealed in zip(v["parts"], parts, strict=True):
        ad = b"mano/v1/document\x00" + file + p["index"].to_bytes(4, "big") + \
            len(parts).to_bytes(4, "big")
        assert ad.hex() == p["associated_data_hex"]
        assert sealed[:12].hex() == p["nonce_hex"]
        pieces.append(AESGCM(key).decrypt(sealed[:12], sealed[12:], ad))
    assert b"".join(pieces).hex() == v["plaintext_hex"]
    assert open_body(key, file, parts, size=v["size"],
                     digest=bytes.fromhex(v["digest_hex"])).hex() == v["plaintext_hex"]
