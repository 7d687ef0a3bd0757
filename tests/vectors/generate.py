"""Test vectors for every construction a client in another language must reproduce
(docs/vectors/README.md). Regenerate them with

    ./dev python -m tests.vectors.generate          # rewrites docs/vectors/*.json

Everything is made by the real Python implementation from fixed keys and fixed randomness
(nonces, secrets and clocks are injected). HPKE draws its ephemeral key inside `cryptography`
and cannot be injected: those outputs are listed under "randomized" in their file; a rerun keeps
the stored ones when the rest of the file is unchanged, and tests/vectors/test_vectors.py checks
that they open. Conventions: a key ending in ``_hex`` holds bytes as lowercase hex.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
from pycrdt import Map

from mano_core import audit, limits
from mano_core.crypto import (
    ChainState,
    DeviceIdentity,
    Invitation,
    Keyring,
    MembershipLog,
    Role,
    _wire,
    accept_request,
    entry_hash,
    envelope_hash,
    make_key_packages,
    redeem_request,
    relay_proof,
    relay_verifier,
    seal,
)
from mano_core.crypto.log_entry import decode_entry
from mano_core.document import layout
from mano_core.document.compartments import GeneralDocument
from mano_core.erasure import order as erasure_order
from mano_core.ids import Compartment
from mano_core.model import records
from mano_core.model.records import Erasure, HistoryEntry, Share
from mano_core.documents.body import part_ad, seal_body
from mano_core.protocol import codec
from mano_core.protocol import messages as m
from mano_core.protocol.auth import AUTH_DOMAIN, auth_challenge, signed_bytes
from mano_core.sync import payload
from mano_core.sync.presence import seal_presence
from mano_core.sync.snapshot import DOMAIN as SNAPSHOT_DOMAIN
from mano_core.sync.snapshot import seal_snapshot
from tests.vectors.gen_snapshot_v2 import gen_snapshot_reader, gen_snapshot_v2

OUT = Path(__file__).resolve().parents[2] / "docs" / "vectors"

TEAM_ID = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
MEMBER_A = "00000000-0000-4000-8000-00000000000a"
MEMBER_B = "00000000-0000-4000-8000-00000000000b"
MEMBER_C = "00000000-0000-4000-8000-00000000000c"
MEMBER_D = "00000000-0000-4000-8000-00000000000d"
CLOCK = dt.datetime(2026, 12, 1, 9, 30, 15, 250000, tzinfo=dt.UTC)


def h(data: bytes) -> str:
    return data.hex()


def fixed(label: str, size: int = 32) -> bytes:
    """Deterministic bytes: SHA-256 of the label (repeated/truncated to ``size``)."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
        counter += 1
    return out[:size]


def device(name: str, *, kem: bool = True) -> DeviceIdentity:
    """A device whose private keys are fixed: Ed25519 seed, X25519 key and ML-KEM-768 seed
    from its name (``kem=False``: an identity from before ML-KEM)."""
    keys = fixed(f"{name}/ed25519") + fixed(f"{name}/x25519")
    if not kem:
        return DeviceIdentity.from_bytes(b"\x01" + keys)
    return DeviceIdentity.from_bytes(b"\x02" + keys + fixed(f"{name}/ml-kem-768", 64))


def device_json(d: DeviceIdentity) -> dict[str, str]:
    raw = d.to_bytes()
    out = {"ed25519_seed_hex": h(raw[1:33]), "x25519_private_hex": h(raw[33:65]),
           "device_id_hex": h(d.device_id), "x25519_public_hex": h(d.kx_public)}
    if d.kem_public:
        out |= {"mlkem768_seed_hex": h(raw[65:129]), "mlkem768_public_hex": h(d.kem_public)}
    return out


# A, C, D: devices with ML-KEM keys; B: added before ML-KEM, it publishes its key later.
A, C, D = device("device-a"), device("device-c"), device("device-d")
B_OLD, B = device("device-b", kem=False), device("device-b")
DEVICES = {"A": A, "B": B, "C": C, "D": D}


def content_key(c: Compartment, epoch: int) -> bytes:
    return fixed(f"content-key/{c.name}/{epoch}")


def keyring_with(*keys: tuple[Compartment, int]) -> Keyring:
    ring = Keyring(TEAM_ID)
    for c, e in keys:
        ring._keys[(c, e)] = content_key(c, e)
    return ring


def _log_state(log: MembershipLog) -> dict[str, Any]:
    names = {d.device_id: n for n, d in DEVICES.items()}
    gens = {}
    for c in Compartment:
        gen = log.key_generator(c, log.epoch(c))
        gens[c.name.lower()] = names.get(gen) if gen else None
    return {
        "epochs": {c.name.lower(): log.epoch(c) for c in Compartment},
        "key_generator_of_current_epoch": gens,
        "active": {names[d.device_id]: {"role": d.role.value, "health": d.health,
                                        "medical_access": d.has_access(Compartment.MEDICAL)}
                   for d in log.active_devices()},
        "head_hash_hex": h(log.head_hash),
    }


def _entry_json(op: str, entry: bytes) -> dict[str, Any]:
    body, signature = decode_entry(entry)
    fields = {k: (h(v) if isinstance(v, bytes) else v)
              for k, v in msgspec.structs.asdict(body).items()}
    return {
        "op": op, "fields": fields, "body_hex": h(entry[:-64]),
        "signed_message_hex": h(_wire.signed_message(_wire.DOMAIN_MEMBERSHIP, entry[:-64])),
        "signature_hex": h(signature), "entry_hex": h(entry),
        "entry_hash_hex": h(entry_hash(entry)),
    }


def membership_log() -> tuple[MembershipLog, list[tuple[str, bytes]]]:
    """The example log: A founds (admin, health), adds B (normal, a device from before ML-KEM:
    a version-1 entry) and C (normal, health), takes C's health flag, B publishes its ML-KEM
    key (the migration), A removes B's device, then member C."""
    log = MembershipLog.create(TEAM_ID, A, member=MEMBER_A, health=True)
    steps = [("genesis", log.entries[0])]
    builders: tuple[tuple[str, Callable[[], bytes]], ...] = (
        ("add", lambda: log.add_device(A, B_OLD.public, member=MEMBER_B, role=Role.NORMAL,
                                       health=False)),
        ("add", lambda: log.add_device(A, C.public, member=MEMBER_C, role=Role.NORMAL,
                                       health=True)),
        ("change_role", lambda: log.change_role(A, C.device_id, Role.NORMAL, False)),
        ("set_kem_key", lambda: log.set_kem_key(B)),
        ("remove_device", lambda: log.remove_device(A, B.device_id)),
        ("remove_member", lambda: log.remove_member(A, MEMBER_C)),
    )
    for op, make in builders:
        entry = make()
        log.append(entry)
        steps.append((op, entry))
    return log, steps


def gen_membership() -> dict[str, Any]:
    _log, steps = membership_log()
    replay = MembershipLog(TEAM_ID)
    entries = []
    for op, entry in steps:
        replay.append(entry)
        entries.append(dict(_entry_json(op, entry), state_after=_log_state(replay)))
    return {
        "construction": "membership log (docs/security.md §3)",
        "team_id_hex": h(TEAM_ID),
        "devices": {n: device_json(d) for n, d in DEVICES.items() if n != "D"},
        "members": {"A": MEMBER_A, "B": MEMBER_B, "C": MEMBER_C},
        "domain": _wire.DOMAIN_MEMBERSHIP,
        "entries": entries,
    }


def gen_relay_auth() -> dict[str, Any]:
    nonce = fixed("relay-nonce")
    challenge = auth_challenge(TEAM_ID, A.device_id, nonce)
    sig = A.sign(challenge, domain=AUTH_DOMAIN)
    frame = codec.encode(m.Auth(team=TEAM_ID, device=A.device_id, sig=sig))
    return {
        "construction": "relay authentication (docs/protocol.md §3)",
        "device": device_json(A), "team_id_hex": h(TEAM_ID), "protocol_version": 1,
        "welcome_nonce_hex": h(nonce), "domain": AUTH_DOMAIN,
        "challenge_hex": h(challenge), "signed_message_hex": h(signed_bytes(challenge)),
        "signature_hex": h(sig), "auth_frame_hex": h(frame),
    }


# Two real Yjs v1 updates by client 1 (pycrdt): persons["p-1"] = Y.Map {"_": {"id": "p-1",
# "name": "Personne A"}}, then persons["p-1"]["phone"] = "0600000000"; and the state after both
# (Y.encodeStateAsUpdate). Kept as bytes: Yjs encodes the keys of a JSON object value in an
# unspecified order (pycrdt's varies from run to run), so re-encoding is not reproducible.
Y_UPDATES = [bytes.fromhex(
    "01020100270107706572736f6e7303702d310128000100015f0176020269647703702d31046e616d65770a50"
    "6572736f6e6e65204100"), bytes.fromhex(
    "01010102280001000570686f6e6501770a3036303030303030303000")]
Y_STATE = bytes.fromhex(
    "01030100270107706572736f6e7303702d310128000100015f017602046e616d65770a506572736f6e6e6520"
    "410269647703702d31280001000570686f6e6501770a3036303030303030303000")


def _y_updates() -> list[bytes]:
    return list(Y_UPDATES)


def gen_envelope() -> dict[str, Any]:
    updates = _y_updates()
    ring = keyring_with((Compartment.GENERAL, 0))
    envelopes = []
    counter, prev = 0, _wire.ZERO_HASH
    for i, update in enumerate(updates):
        plaintext = next(payload.encode_batches([update]))
        nonce = fixed(f"envelope-nonce/{i}", 12)
        raw = seal(A, ring, team_id=TEAM_ID, compartment=Compartment.GENERAL, epoch=0,
                   counter=counter, prev_hash=prev, plaintext=plaintext, nonce=nonce)
        header = raw[:106]
        envelopes.append({
            "counter": counter, "prev_hash_hex": h(prev), "nonce_hex": h(nonce),
            "yjs_update_hex": h(update), "plaintext_hex": h(plaintext),
            "plaintext_json": {"u": [h(update)]},
            "header_hex": h(header), "associated_data_hex": h(header),
            "ciphertext_hex": h(raw[106:-64]),
            "signed_message_hex": h(_wire.signed_message(_wire.DOMAIN_ENVELOPE, raw[:-64])),
            "signature_hex": h(raw[-64:]), "envelope_hex": h(raw),
            "envelope_hash_hex": h(envelope_hash(raw)),
        })
        counter, prev = counter + 1, envelope_hash(raw)
    return {
        "construction": "envelope seal/open and the author chain (docs/security.md §2)",
        "team_id_hex": h(TEAM_ID), "compartment": 0, "epoch": 0, "author": device_json(A),
        "content_key_hex": h(content_key(Compartment.GENERAL, 0)),
        "domain": _wire.DOMAIN_ENVELOPE,
        "envelopes": envelopes,
    }


def _open_package_keys(ring: Keyring) -> list[list[Any]]:
    return [[int(c), e, h(ring.key(c, e))] for c in Compartment for e in ring.epochs(c)]


def _package_json(log: MembershipLog, ring: Keyring, recipient: DeviceIdentity,
                  package: bytes) -> dict[str, Any]:
    body = package[:-64]
    fields = msgspec.msgpack.decode(body)
    received = Keyring(TEAM_ID)
    received.accept_package(recipient, package, log)
    suite = {1: "HPKE base mode: KEM 0x0020 DHKEM(X25519, HKDF-SHA256), KDF 0x0001 "
                "HKDF-SHA256, AEAD 0x0002 AES-256-GCM",
             2: "HPKE base mode: KEM 0x647A ML-KEM-768 + X25519 (X-Wing), KDF 0x0001 "
                "HKDF-SHA256, AEAD 0x0002 AES-256-GCM"}[fields[0]]
    return {
        "version": fields[0], "suite": suite, "recipient": device_json(recipient),
        "recipient_public_key_hex": h(recipient.kem_public + recipient.kx_public
                                      if fields[0] == 2 else recipient.kx_public),
        "log_head_hex": h(fields[4]),
        "hpke_info_hex": h(_wire.signed_message(
            _wire.DOMAIN_KEY_PACKAGE, TEAM_ID + A.device_id + recipient.device_id)),
        "hpke_aad_hex": "",
        "keys": _open_package_keys(received),
        "keys_plaintext_hex": h(_wire.encode(
            [(int(c), e, received.key(c, e)) for c in Compartment
             for e in received.epochs(c)])),
        "enc_length": 1120 if fields[0] == 2 else 32,
        "sealed_hex": h(fields[5]), "body_hex": h(body),
        "signed_message_hex": h(_wire.signed_message(_wire.DOMAIN_KEY_PACKAGE, body)),
        "signature_hex": h(package[-64:]), "package_hex": h(package),
    }


def gen_key_packages() -> dict[str, Any]:
    log = MembershipLog.create(TEAM_ID, A, member=MEMBER_A, health=True)
    log.append(log.add_device(A, B_OLD.public, member=MEMBER_B, role=Role.NORMAL,
                              health=False))
    log.append(log.add_device(A, C.public, member=MEMBER_C, role=Role.NORMAL, health=True))
    ring = keyring_with((Compartment.GENERAL, 0), (Compartment.MEDICAL, 0))
    made = make_key_packages(A, log, ring)
    return {
        "construction": "key packages, version 1 (X25519) and 2 (hybrid) (docs/security.md §4)",
        "team_id_hex": h(TEAM_ID), "issuer": device_json(A),
        "log_entries_hex": [h(e) for e in log.entries],
        "packages": [_package_json(log, ring, B_OLD, made[B_OLD.device_id]),
                     _package_json(log, ring, C, made[C.device_id])],
        "randomized": ["packages/*/sealed_hex", "packages/*/body_hex",
                       "packages/*/signed_message_hex", "packages/*/signature_hex",
                       "packages/*/package_hex"],
    }


def gen_invitation() -> dict[str, Any]:
    log = MembershipLog.create(TEAM_ID, A, member=MEMBER_A, health=True)
    ring = keyring_with((Compartment.GENERAL, 0), (Compartment.MEDICAL, 0))
    secret = fixed("invitation-secret", 12)
    now = 1_796_117_415
    code, inv = Invitation.create(A, log, role=Role.NORMAL, health=False,
                                  expires_at=now + 86_400, now=now, member=MEMBER_D,
                                  secret=secret)
    request_nonce = fixed("invitation-request-nonce", 12)
    request = redeem_request(code, D, nonce=request_nonce)
    welcome_nonce = fixed("invitation-welcome-nonce", 12)
    admission = accept_request(A, log, ring, inv, request, now=now + 60, nonce=welcome_nonce)
    proof_data = TEAM_ID + inv.invitation_id + D.kx_public + D.kem_public
    label = _wire.DOMAIN_INVITATION
    return {
        "construction": "invitation (docs/security.md §5)",
        "team_id_hex": h(TEAM_ID), "admin": device_json(A), "new_device": device_json(D),
        "log_entries_before_hex": [h(e) for e in log.entries],
        "secret_hex": h(secret),
        "code_bytes_hex": h(TEAM_ID + secret + _wire.sha256(TEAM_ID + secret)[:2]),
        "code": code,
        "hkdf": {"hash": "SHA-256", "salt_hex": h(TEAM_ID), "ikm": "secret",
                 "id_info_hex": h(_wire.signed_message(label, b"id")), "id_length": 16,
                 "key_info_hex": h(_wire.signed_message(label, b"key")), "key_length": 32},
        "invitation_id_hex": h(inv.invitation_id), "invitation_key_hex": h(inv.key),
        "relay_proof": {
            "hkdf_info_hex": h(_wire.signed_message(label, b"relay-proof")), "length": 32,
            "proof_hex": h(relay_proof(code)),
            "verifier": "SHA-256(proof): what the admin sends in invite_open",
            "verifier_hex": h(relay_verifier(relay_proof(code))),
        },
        "request": {
            "proof_domain": label + "/proof", "proof_data_hex": h(proof_data),
            "proof_hex": h(D.sign(proof_data, domain=label + "/proof")),
            "payload_hex": h(_wire.encode([D.device_id, D.kx_public,
                                           D.sign(proof_data, domain=label + "/proof"),
                                           D.kem_public])),
            "nonce_hex": h(request_nonce),
            "associated_data_hex": h(_wire.signed_message(label, b"request") + TEAM_ID
                                     + inv.invitation_id),
            "request_hex": h(request),
        },
        "admission": {
            "member": MEMBER_D, "role": "normal", "health": False,
            "entry_hex": h(admission.entry), "entry_hash_hex": h(entry_hash(admission.entry)),
            "welcome_plaintext_hex": h(entry_hash(admission.entry) + D.device_id),
            "welcome_nonce_hex": h(welcome_nonce),
            "welcome_associated_data_hex": h(_wire.signed_message(label, b"welcome") + TEAM_ID
                                             + inv.invitation_id),
            "welcome_hex": h(admission.welcome),
            "key_package_hex": h(admission.key_package or b""),
            "key_package_keys": [[0, 0, h(content_key(Compartment.GENERAL, 0))]],
        },
        "randomized": ["admission/key_package_hex"],
    }


def gen_snapshot() -> dict[str, Any]:
    state = Y_STATE
    env = gen_envelope()
    chain = ChainState()
    last = env["envelopes"][-1]
    chain.record(TEAM_ID, Compartment.GENERAL, A.device_id, last["counter"],
                 bytes.fromhex(last["envelope_hash_hex"]))
    ring = keyring_with((Compartment.GENERAL, 0))
    nonce = fixed("snapshot-nonce", 12)
    blob = seal_snapshot(A, ring, team_id=TEAM_ID, compartment=Compartment.GENERAL, epoch=0,
                         upto=2, state=state, chain=chain, nonce=nonce)
    header, body = blob[:74], blob[74:-64]
    plaintext = msgspec.msgpack.encode({"state": state, "chain": chain.to_bytes()})
    step = limits.MAX_SNAPSHOT_CHUNK
    frames = [codec.encode(m.SnapshotPut(id=7, c=0, upto=2, part=0, last=True, data=blob))]
    big = 2 * step + 5
    return {
        "construction": "snapshot blob and its chunking (docs/protocol.md §6, §15)",
        "team_id_hex": h(TEAM_ID), "compartment": 0, "epoch": 0, "upto": 2,
        "author": device_json(A), "content_key_hex": h(content_key(Compartment.GENERAL, 0)),
        "domain": SNAPSHOT_DOMAIN, "nonce_hex": h(nonce),
        "state_hex": h(state), "chain_hex": h(chain.to_bytes()),
        "chain_json": [1, [[h(TEAM_ID), 0, h(A.device_id), last["counter"],
                            last["envelope_hash_hex"]]]],
        "plaintext_hex": h(plaintext), "header_hex": h(header), "ciphertext_hex": h(body),
        "signed_message_hex": h(_wire.signed_message(SNAPSHOT_DOMAIN, blob[:-64])),
        "signature_hex": h(blob[-64:]), "blob_hex": h(blob),
        "chunking": {
            "chunk_size": step,
            "frames_for_this_blob_hex": [h(f) for f in frames],
            "example_blob_length": big,
            "example_parts": [{"part": i, "offset": i * step,
                               "length": min(step, big - i * step), "last": i == 2}
                              for i in range(3)],
        },
    }


def gen_presence() -> dict[str, Any]:
    ring = keyring_with((Compartment.GENERAL, 0))
    nonce = fixed("presence-nonce", 12)
    now = 1_796_117_415.5
    blob = seal_presence(ring, TEAM_ID, B.device_id, 0, MEMBER_B, "p-1", nonce=nonce, now=now)
    return {
        "construction": "presence blob (docs/protocol.md §15)",
        "team_id_hex": h(TEAM_ID), "sender": device_json(B), "epoch": 0,
        "general_key_hex": h(content_key(Compartment.GENERAL, 0)), "nonce_hex": h(nonce),
        "message": {"m": MEMBER_B, "v": "p-1", "t": now},
        "plaintext_hex": h(msgspec.msgpack.encode({"m": MEMBER_B, "v": "p-1", "t": now})),
        "associated_data_hex": h(b"mano/v1/presence" + TEAM_ID + B.device_id),
        "blob_hex": h(blob),
    }


def _record_entries(doc: GeneralDocument, collection: str, record_id: str) -> dict[str, Any]:
    raw: dict[str, Any] = msgspec.json.decode(str(doc.doc.get(collection, type=Map)))
    entries = dict(sorted(raw[record_id].items()))
    entries["_"] = dict(sorted(entries["_"].items()))  # JSON objects in Yjs have no key order
    return entries


def gen_records() -> dict[str, Any]:
    clock = [CLOCK]
    doc = GeneralDocument(author=MEMBER_A, clock=lambda: clock[0], client_id=1)
    for collection in doc.collections.values():
        collection._history = False  # history entries are in history.json
    steps: list[dict[str, Any]] = []

    def step(what: str, collection: str, record_id: str, action: Callable[[], Any]) -> None:
        clock[0] += dt.timedelta(seconds=1)
        action()
        steps.append({"step": what, "at": msgspec.to_builtins(clock[0]),
                      "at_ms": clock[0].timestamp() * 1000, "collection": collection,
                      "yjs_updates_hex": [h(u) for u in doc.drain_updates()],
                      "entries": _record_entries(doc, collection, record_id),
                      "record": layout.to_wire(doc.collections[collection].get(record_id))})

    pid, rid = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
    step("create a person (defaults omitted from the base)", "persons", pid,
         lambda: doc.persons.create(id=pid, name="Personne A", other_names=["Alias"]))
    step("edit a plain field", "persons", pid,
         lambda: doc.persons.update(pid, phone="0600000000"))
    step("add a set item", "persons", pid,
         lambda: doc.persons.update(pid, other_names=["Alias", "Surnom"]))
    step("remove a set item that is in the base", "persons", pid,
         lambda: doc.persons.update(pid, other_names=["Surnom"]))
    step("create a report", "reports", rid,
         lambda: doc.collections["reports"].create(id=rid, team="t-1",
                                                   date=dt.date(2026, 12, 1)))
    step("increment a service counter", "reports", rid,
         lambda: doc.collections["reports"].increment(rid, "services", "repas", 3))
    return {
        "construction": "record layout in the CRDT (docs/data-model.md, \"Record layout\")",
        "yjs_client_id": 1, "author": MEMBER_A,
        "note": "the history entries every create and edit also writes are left out here "
                "(history.json); applying each step's Yjs updates in order to an empty "
                "document gives the entries shown",
        "steps": steps,
        # a create writes "_", a JSON object whose keys Yjs encodes in no fixed order
        "randomized": ["steps/0/yjs_updates_hex", "steps/4/yjs_updates_hex"],
    }


def gen_history() -> dict[str, Any]:
    at = CLOCK
    entries: list[dict[str, Any]] = []
    for field, old, new in (("created", None, None), ("phone", None, "0600000000"),
                            ("otherNames", ["Alias"], ["Alias", "Surnom"]),
                            ("customFields", {"b": 2.0, "a": "x"}, {"a": "x"})):
        entry = HistoryEntry(id=f"33333333-3333-4333-8333-33333333333{len(entries)}",
                             created_at=at, updated_at=at, created_by=MEMBER_A,
                             updated_by=MEMBER_A, record_collection="persons",
                             record_id="11111111-1111-4111-8111-111111111111", field=field,
                             old=old, new=new, at=at, author=MEMBER_A,
                             device=A.device_id.hex())
        data = audit.signed_bytes(TEAM_ID, Compartment.GENERAL, entry)
        sig = A.sign(data, domain=audit.DOMAIN_HISTORY)
        stored = layout.to_wire(msgspec.structs.replace(entry, sig=sig.hex()))
        entries.append({"stored_value": stored, "signed_bytes_hex": h(data),
                        "signed_message_hex": h(_wire.signed_message(audit.DOMAIN_HISTORY,
                                                                     data)),
                        "signature_hex": h(sig)})
    return {
        "construction": "signed history entries (docs/security.md, \"Audit\")",
        "team_id_hex": h(TEAM_ID), "compartment": 0, "device": device_json(A),
        "domain": audit.DOMAIN_HISTORY, "entries": entries,
    }


def gen_erasure() -> dict[str, Any]:
    at = CLOCK
    order = Erasure(id="44444444-4444-4444-8444-444444444444", created_at=at, updated_at=at,
                    persons=["11111111-1111-4111-8111-111111111111",
                             "00000000-1111-4111-8111-111111111111"],
                    reason="request", issued_at=at, device=A.device_id.hex())
    data = erasure_order.signed_bytes(TEAM_ID, order)
    sig = A.sign(data, domain=erasure_order.DOMAIN)
    share = Share(id="55555555-5555-4555-8555-555555555555", created_at=at, updated_at=at,
                  person="11111111-1111-4111-8111-111111111111", organisation="Org A",
                  shared_by=B.device_id.hex(), consent="66666666-6666-4666-8666-666666666666",
                  scope=["identity"], consented_at=dt.date(2026, 11, 30), collected_by=MEMBER_B)
    share_data = erasure_order.share_bytes(TEAM_ID, share)
    share_sig = B.sign(share_data, domain=erasure_order.SHARE_DOMAIN)
    return {
        "construction": "erasure order and share signatures (docs/protocol.md §15, Erasure)",
        "team_id_hex": h(TEAM_ID), "issuer": device_json(A), "sharer": device_json(B),
        "order": {"stored_value": layout.to_wire(msgspec.structs.replace(order,
                                                                         signature=sig.hex())),
                  "issued_at_as_signed": order.issued_at.isoformat(),
                  "domain": erasure_order.DOMAIN, "signed_bytes_hex": h(data),
                  "signature_hex": h(sig)},
        "share": {"stored_value": layout.to_wire(msgspec.structs.replace(
                      share, signature=share_sig.hex())),
                  "domain": erasure_order.SHARE_DOMAIN, "signed_bytes_hex": h(share_data),
                  "signature_hex": h(share_sig)},
    }


def _type_name(t: mi.Type) -> str:
    simple = {mi.StrType: "str", mi.BoolType: "bool", mi.IntType: "int", mi.FloatType: "float",
              mi.DateTimeType: "datetime", mi.DateType: "date", mi.NoneType: "null",
              mi.AnyType: "any"}
    for cls, name in simple.items():
        if isinstance(t, cls):
            return name
    if isinstance(t, mi.LiteralType):
        return "one of " + json.dumps(sorted(t.values), ensure_ascii=False)
    if isinstance(t, mi.UnionType):
        return " | ".join(_type_name(x) for x in t.types)
    if isinstance(t, mi.ListType):
        return "set of " + _type_name(t.item_type)
    if isinstance(t, mi.DictType):
        return "map of " + _type_name(t.value_type)
    raise TypeError(f"no name for {t!r}")


def gen_schema() -> dict[str, Any]:
    """Every collection's fields: type, default (omitted from the base value) and storage."""
    out: dict[str, Any] = {}
    for compartment, kinds in (("general", records.GENERAL_RECORDS),
                               ("medical", records.MEDICAL_RECORDS)):
        for kind in kinds:
            plan = layout.plan_for(kind)
            fields = {}
            for f in mi.type_info(kind).fields:  # type: ignore[attr-defined]
                name = f.encode_name
                storage = ("counter" if name in plan.counters else "set" if name in plan.sets
                           else "map" if name in plan.dicts else "plain")
                spec: dict[str, Any] = {"type": _type_name(f.type), "storage": storage}
                if name in plan.defaults:
                    spec["default"] = plan.defaults[name]
                else:
                    spec["required"] = True
                fields[name] = spec
            opaque = kind.collection in layout.OPAQUE_COLLECTIONS
            layout_name = "opaque" if opaque else "base+overlay"
            where = compartment
            if kind.collection in out:  # history: one in each compartment's document
                where = out[kind.collection]["compartment"] + " and " + compartment
            out[kind.collection] = {"compartment": where, "layout": layout_name,
                                    "fields": fields}
    return {"construction": "collections and field types (docs/data-model.md, \"Field types\")",
            "collections": out}


def gen_document() -> dict[str, Any]:
    data = b"%PDF-1.7 carte AME recto " * 3  # 75 bytes, cut into parts of 32
    key, file = fixed("document-key"), fixed("document-file", 16)
    nonces = [fixed(f"document-nonce-{i}", 12) for i in range(3)]
    sealed = seal_body(data, chunk=32, key=key, file=file, nonces=nonces)
    return {
        "construction": "document body (docs/protocol.md §15, 'Document bodies'); real bodies "
                        "use chunk 524288",
        "plaintext_hex": h(data), "key_hex": h(key), "file_hex": h(file), "chunk": 32,
        "size": sealed.size, "digest_hex": h(sealed.digest),
        "parts": [{"index": i, "nonce_hex": h(nonces[i]),
                   "associated_data_hex": h(part_ad(file, i, len(sealed.parts))),
                   "sealed_hex": h(p)} for i, p in enumerate(sealed.parts)],
        "frames": [{"message": repr(msg), "hex": h(codec.encode(msg))} for msg in (
            m.FilePut(id=7, c=0, file=file, part=2, last=True, data=sealed.parts[2]),
            m.FileGet(id=8, c=0, file=file, first=1, count=2))],
    }


GENERATORS: dict[str, Callable[[], dict[str, Any]]] = {
    "schema": gen_schema,
    "relay_auth": gen_relay_auth,
    "envelope": gen_envelope,
    "membership": gen_membership,
    "key_package": gen_key_packages,
    "invitation": gen_invitation,
    "snapshot": gen_snapshot,
    "snapshot_v2": gen_snapshot_v2,
    "snapshot_reader": gen_snapshot_reader,
    "presence": gen_presence,
    "records": gen_records,
    "history": gen_history,
    "erasure": gen_erasure,
    "document": gen_document,
}


def _paths(pattern: str, obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    head, _, rest = pattern.partition("/")
    keys: Any = (range(len(obj)) if isinstance(obj, list) else obj.keys()) if head == "*" else [
        int(head) if isinstance(obj, list) and head.isdigit() else head]
    found = []
    for key in keys:
        try:
            child = obj[key]
        except (KeyError, IndexError, TypeError):
            continue
        found += _paths(rest, child, (*prefix, key)) if rest else [(*prefix, key)]
    return found


def without_randomized(vector: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``vector`` with its randomized fields blanked (for comparisons)."""
    copy: dict[str, Any] = json.loads(json.dumps(vector))
    for pattern in vector.get("randomized", []):
        for path in _paths(pattern, copy):
            target = copy
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = None
    return copy


def generate() -> dict[str, dict[str, Any]]:
    """Every vector file's content, freshly made (randomized fields freshly drawn)."""
    return {name: make() for name, make in GENERATORS.items()}


def dumps(vector: dict[str, Any]) -> str:
    return json.dumps(vector, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, vector in generate().items():
        path = OUT / f"{name}.json"
        if path.exists():
            old = json.loads(path.read_text())
            if without_randomized(old) == without_randomized(vector):
                continue  # keep the stored HPKE outputs: nothing else changed
        path.write_text(dumps(vector))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
