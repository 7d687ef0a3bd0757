"""Mano's cryptography: device identities, the membership log, content keys, envelopes and
invitations. Sans-I/O: everything is bytes in, bytes out; the store and the relay persist and
transport them. Design and threat model: docs/security.md."""

from mano_core.crypto.chain import ChainReport, ChainState
from mano_core.crypto.envelope import (
    FORMAT_VERSION,
    HEADER_SIZE,
    MIN_ENVELOPE_SIZE,
    Envelope,
    EnvelopeHeader,
    EnvelopeOpener,
    Opened,
    Sealer,
    envelope_hash,
    open_envelope,
    seal,
)
from mano_core.crypto.identity import DeviceIdentity, DevicePublicKeys, verify_signature
from mano_core.crypto.invitation import (
    Admission,
    Invitation,
    accept_request,
    invitation_id_of,
    join_team,
    parse_code,
    redeem_request,
    relay_proof,
    relay_verifier,
)
from mano_core.crypto.keyring import (
    Keyring,
    ensure_epoch_keys,
    make_key_packages,
    rotate_after_removal,
)
from mano_core.crypto.membership import (
    DeviceState,
    MembershipEntry,
    MembershipLog,
    Op,
    Role,
    decode_entry,
    entry_hash,
)

__all__ = [
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "MIN_ENVELOPE_SIZE",
    "Admission",
    "ChainReport",
    "ChainState",
    "DeviceIdentity",
    "DevicePublicKeys",
    "DeviceState",
    "Envelope",
    "EnvelopeHeader",
    "EnvelopeOpener",
    "Invitation",
    "Keyring",
    "MembershipEntry",
    "MembershipLog",
    "Op",
    "Opened",
    "Role",
    "Sealer",
    "accept_request",
    "decode_entry",
    "ensure_epoch_keys",
    "entry_hash",
    "envelope_hash",
    "invitation_id_of",
    "join_team",
    "make_key_packages",
    "open_envelope",
    "parse_code",
    "redeem_request",
    "relay_proof",
    "relay_verifier",
    "rotate_after_removal",
    "seal",
    "verify_signature",
]
