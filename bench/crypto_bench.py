"""Envelope seal/open cost against raw AES-256-GCM and raw Ed25519, measured in the same run.

Run:  .venv/bin/python bench/crypto_bench.py [--n 2000] [--rounds 5] [--size 1024]
Prints the median over rounds of each figure and the ratios (docs/benchmarks.md, "Envelopes").
A benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import cryptography
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mano_core.crypto import (
    ChainState,
    DeviceIdentity,
    Keyring,
    MembershipLog,
    ensure_epoch_keys,
    envelope_hash,
    open_envelope,
    seal,
)
from mano_core.ids import Compartment, new_id, new_team_id


SLICES = 20  # each round interleaves the operations in slices, so load bursts hit all alike


def one_round(n: int, size: int) -> dict[str, float]:
    """Seconds per operation of each figure, measured interleaved in one round."""
    plaintext = os.urandom(size)
    header = os.urandom(106)
    signed = os.urandom(106 + size + 16)

    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    nonces = [os.urandom(12) for _ in range(n)]
    cts = [aead.encrypt(nonce, plaintext, header) for nonce in nonces]
    signer = Ed25519PrivateKey.generate()
    public = signer.public_key()
    sig = signer.sign(signed)

    team_id = new_team_id()
    me = DeviceIdentity.generate()
    log = MembershipLog.create(team_id, me, member=new_id())
    ring = Keyring(team_id)
    ensure_epoch_keys(me, log, ring)
    sealed: list[bytes] = []  # the sealer's own chain

    def do_seal(lo: int, hi: int) -> None:
        for counter in range(lo, hi):
            prev = envelope_hash(sealed[-1]) if sealed else bytes(32)
            sealed.append(seal(me, ring, team_id=team_id, compartment=Compartment.GENERAL,
                               epoch=0, counter=counter, prev_hash=prev, plaintext=plaintext))

    to_open: list[bytes] = []
    prev = bytes(32)
    for counter in range(n):
        raw = seal(me, ring, team_id=team_id, compartment=Compartment.GENERAL, epoch=0,
                   counter=counter, prev_hash=prev, plaintext=plaintext)
        to_open.append(raw)
        prev = envelope_hash(raw)
    chain = ChainState()

    def do_open(lo: int, hi: int) -> None:
        for raw in to_open[lo:hi]:
            open_envelope(raw, log=log, keyring=ring, team_id=team_id,
                          compartment=Compartment.GENERAL, chain_state=chain)

    def aes_encrypt(lo: int, hi: int) -> None:
        for nonce in nonces[lo:hi]:
            aead.encrypt(nonce, plaintext, header)

    def aes_decrypt(lo: int, hi: int) -> None:
        for nonce, ct in zip(nonces[lo:hi], cts[lo:hi]):
            aead.decrypt(nonce, ct, header)

    def ed_sign(lo: int, hi: int) -> None:
        for _ in range(lo, hi):
            signer.sign(signed)

    def ed_verify(lo: int, hi: int) -> None:
        for _ in range(lo, hi):
            public.verify(sig, signed)

    ops: dict[str, Callable[[int, int], None]] = {
        "aes_gcm_encrypt": aes_encrypt, "aes_gcm_decrypt": aes_decrypt,
        "ed25519_sign": ed_sign, "ed25519_verify": ed_verify, "seal": do_seal, "open": do_open,
    }
    spent = dict.fromkeys(ops, 0.0)
    bounds = [n * i // SLICES for i in range(SLICES + 1)]
    for lo, hi in itertools.pairwise(bounds):
        for name, op in ops.items():
            start = time.perf_counter()
            op(lo, hi)
            spent[name] += time.perf_counter() - start
    return {name: total / n for name, total in spent.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="operations per figure per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", type=int, default=1024, help="plaintext bytes per envelope")
    args = parser.parse_args(argv)

    rounds = [one_round(args.n, args.size) for _ in range(args.rounds)]
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print(f"# Python {platform.python_version()}, cryptography {cryptography.__version__}, "
          f"{os.cpu_count()} CPU, {platform.machine()}; {args.size} B plaintext, "
          f"n={args.n}, median of {args.rounds} rounds")
    print(f"{'operation':<18}{'µs/op':>10}{'ops/s':>12}")
    for name, secs in med.items():
        print(f"{name:<18}{secs * 1e6:>10.1f}{1 / secs:>12,.0f}")
    print()
    raw_seal = med["aes_gcm_encrypt"] + med["ed25519_sign"]
    raw_open = med["aes_gcm_decrypt"] + med["ed25519_verify"]
    ratios = {
        "seal / (aes_encrypt + ed25519_sign)": med["seal"] / raw_seal,
        "open / (aes_decrypt + ed25519_verify)": med["open"] / raw_open,
        "seal / aes_encrypt": med["seal"] / med["aes_gcm_encrypt"],
        "open / aes_decrypt": med["open"] / med["aes_gcm_decrypt"],
        "open / ed25519_verify": med["open"] / med["ed25519_verify"],
    }
    for name, value in ratios.items():
        print(f"{name:<40}{value:>8.2f}x")
    overhead_open = med["open"] - med["aes_gcm_decrypt"] - med["ed25519_verify"]
    overhead_seal = med["seal"] - med["aes_gcm_encrypt"] - med["ed25519_sign"]
    print(f"{'our overhead per seal (µs)':<40}{overhead_seal * 1e6:>8.1f}")
    print(f"{'our overhead per open (µs)':<40}{overhead_open * 1e6:>8.1f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
