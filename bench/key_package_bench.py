"""Key packages: hybrid ML-KEM-768 + X25519 (version 2) against X25519 only (version 1).

Run:  .venv/bin/python bench/key_package_bench.py [--devices 50] [--rounds 5]
Makes one package per device of a team (what a removal costs the device that generates the new
epoch's key) and opens one, with every device on version 2, then on version 1, interleaved;
prints the medians over rounds, the ratios and the sizes (docs/benchmarks.md, "Key packages").
A benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import cryptography

from mano_core.crypto import (
    DeviceIdentity,
    Keyring,
    MembershipLog,
    Role,
    ensure_epoch_keys,
    make_key_packages,
)
from mano_core.ids import Compartment, new_id, new_team_id


def _team(devices: int, hybrid: bool) -> tuple[DeviceIdentity, MembershipLog, Keyring,
                                              list[DeviceIdentity]]:
    def make() -> DeviceIdentity:
        identity = DeviceIdentity.generate()
        return identity if hybrid else DeviceIdentity.from_bytes(
            b"\x01" + identity.to_bytes()[1:65])

    admin = make()
    log = MembershipLog.create(new_team_id(), admin, member=new_id(), health=True)
    members = [make() for _ in range(devices)]
    for m in members:
        log.append(log.add_device(admin, m.public, member=new_id(), role=Role.NORMAL,
                                  health=True))
    ring = Keyring(log.team_id)
    ensure_epoch_keys(admin, log, ring)
    return admin, log, ring, members


def one_round(devices: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for hybrid in (True, False):
        name = "v2" if hybrid else "v1"
        admin, log, ring, members = _team(devices, hybrid)
        start = time.perf_counter()
        packages = make_key_packages(admin, log, ring)
        out[f"make_{name}"] = (time.perf_counter() - start) / devices
        package = packages[members[0].device_id]
        start = time.perf_counter()
        for _ in range(20):
            Keyring(log.team_id).accept_package(members[0], package, log)
        out[f"open_{name}"] = (time.perf_counter() - start) / 20
        out[f"size_{name}"] = len(package)
        out[f"entry_{name}"] = len(log.entries[1])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    runs = [one_round(args.devices) for _ in range(args.rounds)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"python {platform.python_version()}, cryptography {cryptography.__version__}, "
          f"{args.devices} recipients, medians of {args.rounds} rounds, both kinds per round")
    for op in ("make", "open"):
        v2, v1 = med[f"{op}_v2"], med[f"{op}_v1"]
        print(f"{op} one package   v2 {v2 * 1e6:8.1f} µs   v1 {v1 * 1e6:8.1f} µs"
              f"   ratio {v2 / v1:.2f}×")
    print(f"package bytes      v2 {med['size_v2']:8.0f}      v1 {med['size_v1']:8.0f}"
          f"      (2 keys, {Compartment.GENERAL.name} and {Compartment.MEDICAL.name})")
    print(f"add entry bytes    v2 {med['entry_v2']:8.0f}      v1 {med['entry_v1']:8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
