// An independent reader of docs/vectors/*.json in JavaScript (Node 20, node:crypto only, no
// package): it rebuilds every byte string the docs describe — canonical msgpack, binary
// headers, labelled inputs, HKDF, HPKE (DHKEM X25519) — and checks signatures and decryptions,
// as a client in another language would. Run: node tests/vectors/check.mjs docs/vectors
// (tests/vectors/test_node.py runs it). ML-KEM is not in Node 20: the hybrid package's KEM is
// checked on the Python side only; its body and signature are checked here.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const dir = process.argv[2] ?? "docs/vectors";
const load = (name) => JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), "utf8"));
const b = (hex) => Buffer.from(hex, "hex");
const cat = (...parts) => Buffer.concat(parts.map((p) => Buffer.from(p)));
const label = (domain) => cat(Buffer.from(domain, "utf8"), [0]);
const sha256 = (data) => crypto.createHash("sha256").update(data).digest();
const b64u = (buf) => Buffer.from(buf).toString("base64url");

let passed = 0;
let failed = 0;
function check(what, ok) {
  if (ok) passed += 1;
  else {
    failed += 1;
    console.log(`FAILED: ${what}`);
  }
}
const same = (what, a, c) => check(what, Buffer.compare(Buffer.from(a), Buffer.from(c)) === 0);

// --- canonical msgpack (docs/security.md, "Canonical encoding") ---------------------------
class Bin { constructor(buf) { this.buf = Buffer.from(buf); } }
const bin = (hexOrBuf) => new Bin(typeof hexOrBuf === "string" ? b(hexOrBuf) : hexOrBuf);

function head(small, fix, codes, n) {
  if (fix !== null && n <= small) return Buffer.from([fix | n]);
  for (const [code, bytes] of codes) {
    if (n < 2 ** (8 * bytes)) {
      const out = Buffer.alloc(1 + bytes);
      out[0] = code;
      out.writeUIntBE(n, 1, bytes);
      return out;
    }
  }
  throw new Error("too long");
}

function enc(v, sortKeys = true) {
  if (v === null || v === undefined) return Buffer.from([0xc0]);
  if (v === true) return Buffer.from([0xc3]);
  if (v === false) return Buffer.from([0xc2]);
  if (v instanceof Bin) return cat(head(-1, null, [[0xc4, 1], [0xc5, 2], [0xc6, 4]], v.buf.length), v.buf);
  if (typeof v === "number") {
    if (Number.isInteger(v) && Math.abs(v) < 2 ** 53) {
      if (v >= 0) {
        if (v < 128) return Buffer.from([v]);
        for (const [code, bytes] of [[0xcc, 1], [0xcd, 2], [0xce, 4], [0xcf, 8]]) {
          if (v < 2 ** (8 * bytes)) {
            const out = Buffer.alloc(1 + bytes);
            out[0] = code;
            if (bytes === 8) out.writeBigUInt64BE(BigInt(v), 1);
            else out.writeUIntBE(v, 1, bytes);
            return out;
          }
        }
      }
      if (v >= -32) return Buffer.from([v & 0xff]);
      for (const [code, bytes] of [[0xd0, 1], [0xd1, 2], [0xd2, 4], [0xd3, 8]]) {
        if (v >= -(2 ** (8 * bytes - 1))) {
          const out = Buffer.alloc(1 + bytes);
          out[0] = code;
          if (bytes === 8) out.writeBigInt64BE(BigInt(v), 1);
          else out.writeIntBE(v, 1, bytes);
          return out;
        }
      }
    }
    const out = Buffer.alloc(9);
    out[0] = 0xcb;
    out.writeDoubleBE(v, 1);
    return out;
  }
  if (typeof v === "string") {
    const s = Buffer.from(v, "utf8");
    return cat(head(31, 0xa0, [[0xd9, 1], [0xda, 2], [0xdb, 4]], s.length), s);
  }
  if (Array.isArray(v)) {
    return cat(head(15, 0x90, [[0xdc, 2], [0xdd, 4]], v.length), ...v.map((x) => enc(x, sortKeys)));
  }
  const keys = Object.keys(v);
  if (sortKeys) keys.sort();
  return cat(head(15, 0x80, [[0xde, 2], [0xdf, 4]], keys.length),
    ...keys.flatMap((k) => [enc(k), enc(v[k], sortKeys)]));
}

// --- primitives -------------------------------------------------------------------------------
const edPublic = (raw) => crypto.createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: b64u(raw) }, format: "jwk" });
const verify = (device, sig, message) => crypto.verify(null, message, edPublic(device), sig);
const edSign = (seed, pub, message) => crypto.sign(null, message,
  crypto.createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d: b64u(seed), x: b64u(pub) }, format: "jwk" }));
function x25519(priv, pub, peer) {
  const privateKey = crypto.createPrivateKey({ key: { kty: "OKP", crv: "X25519", d: b64u(priv), x: b64u(pub) }, format: "jwk" });
  const publicKey = crypto.createPublicKey({ key: { kty: "OKP", crv: "X25519", x: b64u(peer) }, format: "jwk" });
  return crypto.diffieHellman({ privateKey, publicKey });
}
function aesGcmOpen(key, nonce, sealed, ad) {
  const d = crypto.createDecipheriv("aes-256-gcm", key, nonce);
  d.setAAD(ad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
}
const hkdf = (ikm, salt, info, size) => Buffer.from(crypto.hkdfSync("sha256", ikm, salt, info, size));
const hmac = (key, data) => crypto.createHmac("sha256", key.length ? key : Buffer.alloc(32)).update(data).digest();
const u32 = (n) => { const o = Buffer.alloc(4); o.writeUInt32BE(n); return o; };
const u64 = (n) => { const o = Buffer.alloc(8); o.writeBigUInt64BE(BigInt(n)); return o; };
const u16 = (n) => { const o = Buffer.alloc(2); o.writeUInt16BE(n); return o; };

function checkDevice(what, d) {
  const pub = crypto.createPublicKey(crypto.createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d: b64u(b(d.ed25519_seed_hex)), x: b64u(b(d.device_id_hex)) }, format: "jwk" }));
  same(`${what}: device id`, Buffer.from(pub.export({ format: "jwk" }).x, "base64url"), b(d.device_id_hex));
}

// --- relay auth -------------------------------------------------------------------------------
{
  const v = load("relay_auth");
  const challenge = cat([v.protocol_version], b(v.team_id_hex), b(v.device.device_id_hex), b(v.welcome_nonce_hex));
  same("relay auth: challenge", challenge, b(v.challenge_hex));
  const message = cat(label(v.domain), challenge);
  same("relay auth: signed message", message, b(v.signed_message_hex));
  check("relay auth: signature", verify(b(v.device.device_id_hex), b(v.signature_hex), message));
  same("relay auth: deterministic Ed25519", edSign(b(v.device.ed25519_seed_hex), b(v.device.device_id_hex), message), b(v.signature_hex));
  const frame = enc({ t: "auth", team: bin(v.team_id_hex), device: bin(v.device.device_id_hex), sig: bin(v.signature_hex), genesis: null }, false);
  same("relay auth: auth frame", frame, b(v.auth_frame_hex));
}

// --- envelopes and the author chain -----------------------------------------------------------
{
  const v = load("envelope");
  let prev = Buffer.alloc(32);
  v.envelopes.forEach((e, counter) => {
    const header = cat([1], b(v.team_id_hex), [v.compartment], u32(v.epoch), b(v.author.device_id_hex), u64(counter), prev, b(e.nonce_hex));
    same(`envelope ${counter}: header`, header, b(e.header_hex));
    const ct = b(e.ciphertext_hex);
    same(`envelope ${counter}: decrypts`, aesGcmOpen(b(v.content_key_hex), b(e.nonce_hex), ct, header), b(e.plaintext_hex));
    same(`envelope ${counter}: plaintext is {"u": [update]}`, enc({ u: [bin(e.yjs_update_hex)] }), b(e.plaintext_hex));
    check(`envelope ${counter}: signature`, verify(b(v.author.device_id_hex), b(e.signature_hex), cat(label(v.domain), header, ct)));
    const raw = cat(header, ct, b(e.signature_hex));
    same(`envelope ${counter}: bytes`, raw, b(e.envelope_hex));
    prev = sha256(raw);
    same(`envelope ${counter}: hash`, prev, b(e.envelope_hash_hex));
  });
}

// --- membership log ---------------------------------------------------------------------------
const FIELDS = ["version", "team_id", "seq", "prev_hash", "signer", "op", "device_id", "kx_public", "member", "role", "health", "invitation_id", "kem_public"];
const BYTES = new Set(["team_id", "prev_hash", "signer", "device_id", "kx_public", "invitation_id", "kem_public"]);
{
  const v = load("membership");
  let prev = Buffer.alloc(32);
  v.entries.forEach((e, seq) => {
    const f = e.fields;
    const names = f.version === 2 ? FIELDS : FIELDS.slice(0, 12);
    const body = enc(names.map((k) => (BYTES.has(k) ? bin(f[k]) : f[k])));
    same(`entry ${seq} (${e.op}): body`, body, b(e.body_hex));
    check(`entry ${seq}: seq and prev_hash`, f.seq === seq && Buffer.compare(b(f.prev_hash), prev) === 0);
    check(`entry ${seq}: signature`, verify(b(f.signer), b(e.signature_hex), cat(label(v.domain), body)));
    prev = sha256(cat(body, b(e.signature_hex)));
    same(`entry ${seq}: hash`, prev, b(e.entry_hash_hex));
  });
}

// --- key packages (HPKE base mode, RFC 9180, written out) ------------------------------------
const labeledExtract = (suite, salt, lbl, ikm) => hmac(salt, cat(Buffer.from("HPKE-v1"), suite, Buffer.from(lbl), ikm));
const labeledExpand = (suite, prk, lbl, info, size) => hkdfExpand(prk, cat(u16(size), Buffer.from("HPKE-v1"), suite, Buffer.from(lbl), info), size);
function hkdfExpand(prk, info, size) { // RFC 5869 Expand (node:crypto's hkdf always extracts first)
  let t = Buffer.alloc(0);
  let out = Buffer.alloc(0);
  for (let i = 1; out.length < size; i += 1) {
    t = crypto.createHmac("sha256", prk).update(cat(t, info, [i])).digest();
    out = cat(out, t);
  }
  return out.subarray(0, size);
}
function hpkeOpenX25519(sealed, recipient, info) {
  const enc_ = sealed.subarray(0, 32);
  const kemSuite = cat(Buffer.from("KEM"), u16(0x0020));
  const dh = x25519(b(recipient.x25519_private_hex), b(recipient.x25519_public_hex), enc_);
  const prk = labeledExtract(kemSuite, Buffer.alloc(0), "eae_prk", dh);
  const shared = labeledExpand(kemSuite, prk, "shared_secret", cat(enc_, b(recipient.x25519_public_hex)), 32);
  const suite = cat(Buffer.from("HPKE"), u16(0x0020), u16(0x0001), u16(0x0002));
  const secret = labeledExtract(suite, shared, "secret", Buffer.alloc(0));
  const context = cat([0], labeledExtract(suite, Buffer.alloc(0), "psk_id_hash", Buffer.alloc(0)), labeledExtract(suite, Buffer.alloc(0), "info_hash", info));
  const key = labeledExpand(suite, secret, "key", context, 32);
  const nonce = labeledExpand(suite, secret, "base_nonce", context, 12);
  return aesGcmOpen(key, nonce, sealed.subarray(32), Buffer.alloc(0));
}
{
  const v = load("key_package");
  const team = b(v.team_id_hex);
  const issuer = b(v.issuer.device_id_hex);
  const head_ = sha256(b(v.log_entries_hex.at(-1)));
  for (const p of v.packages) {
    const recipient = b(p.recipient.device_id_hex);
    same(`package v${p.version}: info`, b(p.hpke_info_hex), cat(label("mano/v1/key-package"), team, issuer, recipient));
    const body = enc([p.version, bin(team), bin(issuer), bin(recipient), bin(head_), bin(p.sealed_hex)]);
    same(`package v${p.version}: body`, body, b(p.body_hex));
    check(`package v${p.version}: signature`, verify(issuer, b(p.signature_hex), cat(label("mano/v1/key-package"), body)));
    same(`package v${p.version}: keys plaintext`, enc(p.keys.map(([c, e, k]) => [c, e, bin(k)])), b(p.keys_plaintext_hex));
    if (p.version === 1) {
      same("package v1: HPKE open", hpkeOpenX25519(b(p.sealed_hex), p.recipient, b(p.hpke_info_hex)), b(p.keys_plaintext_hex));
    } else {
      check("package v2: enc is 1,120 bytes (X-Wing)", b(p.sealed_hex).length === 1120 + b(p.keys_plaintext_hex).length + 16);
    }
  }
}

// --- invitation --------------------------------------------------------------------------------
{
  const v = load("invitation");
  const team = b(v.team_id_hex);
  const secret = b(v.secret_hex);
  const raw = cat(team, secret, sha256(cat(team, secret)).subarray(0, 2));
  let number = BigInt(`0x${raw.toString("hex")}`);
  let chars = "";
  for (let i = 0; i < 48; i += 1) {
    chars = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[Number(number & 31n)] + chars;
    number >>= 5n;
  }
  check("invitation: code", v.code === chars.match(/.{4}/g).join("-"));
  const id = hkdf(secret, team, cat(label("mano/v1/invitation"), Buffer.from("id")), 16);
  const key = hkdf(secret, team, cat(label("mano/v1/invitation"), Buffer.from("key")), 32);
  same("invitation: id", id, b(v.invitation_id_hex));
  same("invitation: key", key, b(v.invitation_key_hex));
  const proof = hkdf(secret, team, cat(label("mano/v1/invitation"), Buffer.from("relay-proof")), 32);
  same("invitation: relay proof", proof, b(v.relay_proof.proof_hex));
  same("invitation: relay verifier", sha256(proof), b(v.relay_proof.verifier_hex));
  const request = b(v.request.request_hex);
  check("invitation: request header", request[0] === 1 && Buffer.compare(request.subarray(1, 17), id) === 0);
  const payload = aesGcmOpen(key, request.subarray(17, 29), request.subarray(29), cat(label("mano/v1/invitation"), Buffer.from("request"), team, id));
  const d = v.new_device;
  same("invitation: request payload", payload, enc([bin(d.device_id_hex), bin(d.x25519_public_hex), bin(v.request.proof_hex), bin(d.mlkem768_public_hex)]));
  check("invitation: proof", verify(b(d.device_id_hex), b(v.request.proof_hex), cat(label("mano/v1/invitation/proof"), team, id, b(d.x25519_public_hex), b(d.mlkem768_public_hex))));
  const welcome = b(v.admission.welcome_hex);
  const plain = aesGcmOpen(key, welcome.subarray(0, 12), welcome.subarray(12), cat(label("mano/v1/invitation"), Buffer.from("welcome"), team, id));
  same("invitation: welcome", plain, cat(sha256(b(v.admission.entry_hex)), b(d.device_id_hex)));
}

// --- snapshot, presence -----------------------------------------------------------------------
{
  const v = load("snapshot");
  const blob = b(v.blob_hex);
  const header = cat([1], b(v.team_id_hex), [v.compartment], u32(v.epoch), b(v.author.device_id_hex), u64(v.upto), b(v.nonce_hex));
  same("snapshot: header", blob.subarray(0, 74), header);
  const ct = blob.subarray(74, blob.length - 64);
  check("snapshot: signature", verify(b(v.author.device_id_hex), blob.subarray(blob.length - 64), cat(label(v.domain), header, ct)));
  same("snapshot: body", aesGcmOpen(b(v.content_key_hex), b(v.nonce_hex), ct, header), enc({ state: bin(v.state_hex), chain: bin(v.chain_hex) }, false));
  const [ver, chains] = v.chain_json;
  same("snapshot: chain", b(v.chain_hex), enc([ver, chains.map(([t, c, a, n, x]) => [bin(t), c, bin(a), n, bin(x)])]));
}
{ // a reader statement: which snapshot versions a device reads (protocol.md §15)
  const v = load("snapshot_reader");
  const value = b(v.value_hex);
  const device = b(v.device.device_id_hex);
  check("reader statement: key", v.key === v.device.device_id_hex && v.root === "snapshotReaders");
  same("reader statement: body", value.subarray(0, 2), cat([1], [v.reads]));
  check("reader statement: size", value.length === 66);
  const message = cat(label(v.domain), b(v.team_id_hex), device, value.subarray(0, 2));
  same("reader statement: signed message", message, b(v.signed_message_hex));
  check("reader statement: signature", verify(device, value.subarray(2), message));
  check("reader statement: not another team's", !verify(device, value.subarray(2), cat(label(v.domain), Buffer.alloc(16), device, value.subarray(0, 2))));
}
{ // version 2: a signed manifest, then each piece hashed, then opened (protocol.md §15)
  const v = load("snapshot_v2");
  const blob = b(v.blob_hex);
  const nonce = b(v.nonce_hex);
  const header = cat([2], b(v.team_id_hex), [v.compartment], u32(v.epoch), b(v.author.device_id_hex), u64(v.upto), nonce, u32(v.piece_count));
  same("snapshot v2: header", blob.subarray(0, 78), header);
  const count = blob.readUInt32BE(74);
  const lengths = [...Array(count).keys()].map((i) => blob.readUInt32BE(78 + 36 * i));
  const table = blob.subarray(78, 78 + 36 * count);
  same("snapshot v2: table", table, b(v.table_hex));
  const manifestEnd = 78 + 36 * count + 64;
  check("snapshot v2: manifest signature", verify(b(v.author.device_id_hex), blob.subarray(manifestEnd - 64, manifestEnd), cat(label(v.domain), header, table)));
  let at = manifestEnd;
  const plain = lengths.map((n, i) => {
    const ct = blob.subarray(at, at + n);
    at += n;
    same(`snapshot v2: piece ${i} hash`, sha256(ct), table.subarray(36 * i + 4, 36 * i + 36));
    const pieceNonce = cat(nonce.subarray(0, 8), u32((nonce.readUInt32BE(8) ^ i) >>> 0));
    return aesGcmOpen(b(v.content_key_hex), pieceNonce, ct, cat(header, u32(i)));
  });
  check("snapshot v2: no bytes after the last piece", at === blob.length);
  same("snapshot v2: piece 0 is the chain state", plain[0], b(v.chain_hex));
  plain.forEach((p, i) => same(`snapshot v2: piece ${i} plaintext`, p, b(v.pieces[i].plaintext_hex)));
}
{
  const v = load("presence");
  const blob = b(v.blob_hex);
  check("presence: epoch", blob.readUInt32BE(0) === v.epoch);
  const ad = cat(Buffer.from("mano/v1/presence"), b(v.team_id_hex), b(v.sender.device_id_hex)); // no 0x00
  same("presence: plaintext", aesGcmOpen(b(v.general_key_hex), blob.subarray(4, 16), blob.subarray(16), ad), enc(v.message, false));
}

// --- signed history entries and erasure orders --------------------------------------------------
{
  const v = load("history");
  // old/new as stored: JSON.parse gives integral numbers as integers, and enc sorts map keys
  for (const e of v.entries) {
    const s = e.stored_value;
    const data = enc([1, bin(v.team_id_hex), v.compartment, s.id, s.recordCollection, s.recordId, s.field, s.old, s.new, s.at, s.author, s.device]);
    same(`history ${s.field}: signed bytes`, data, b(e.signed_bytes_hex));
    check(`history ${s.field}: signature`, verify(b(s.device), b(s.sig), cat(label(v.domain), data)));
  }
}
{
  const v = load("erasure");
  const team = bin(v.team_id_hex);
  const o = v.order.stored_value;
  const data = enc([team, o.id, [...o.persons].sort(), o.reason, v.order.issued_at_as_signed, bin(o.device)]);
  same("erasure order: signed bytes", data, b(v.order.signed_bytes_hex));
  check("erasure order: signature", verify(b(o.device), b(o.signature), cat(label(v.order.domain), data)));
  const s = v.share.stored_value;
  const share = enc([team, s.id, s.person, s.organisation, bin(s.sharedBy), s.consent]);
  same("share: signed bytes", share, b(v.share.signed_bytes_hex));
  check("share: signature", verify(b(s.sharedBy), b(s.signature), cat(label(v.share.domain), share)));
}

for (const name of ["relay_auth", "membership"]) checkDevice(name, name === "relay_auth" ? load(name).device : load(name).devices.A);

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
