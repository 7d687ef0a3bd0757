"""How pycrdt's apply scales with the data (issue 24, "Opening ×10 the data"): a generated
team's general state at each scale applied into an empty document as one update, as the
import's own updates (one per batch of records loaded), or as the pieces a store's snapshot
is cut into (``mano_core.document.pieces.cut``), each in a fresh process; CPU and wall time of
the apply alone, medians of ``--repeat``.

    .venv/bin/python -m bench.open_scaling [--scales 1 10] [--repeat 3] [--cache DIR]

``--cache``: where the states are kept between runs (a ×10 state takes minutes to build)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

MODES = ("state", "import", "pieces")


async def build(where: Path, scale: float) -> None:
    from mano_core.demo import generate_team
    from mano_core.demo.load import load_demo
    from mano_core.document.pieces import cut
    from mano_core.ids import Compartment
    from mano_core.store import TEST_KDF, LocalStore
    from mano_core.team import Team

    where.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        async with await LocalStore.create(Path(tmp) / "s.mano", "bench passphrase",
                                           kdf=TEST_KDF) as store:
            team = await Team.create(store, name="Bench", member="bench-member")
            core = team.compartment(Compartment.GENERAL).core
            imported: list[bytes] = []
            sub = core.doc.observe(lambda e: imported.append(e.update))
            await load_demo(team, generate_team(seed=0, scale=scale))
            core.doc.unobserve(sub)
            state = core.doc.get_update()
    pieces = cut(state) or [state]
    for mode, updates in zip(MODES, ([state], imported, pieces), strict=True):
        (where / f"{mode}.bin").write_bytes(msgspec.msgpack.encode(updates))


def apply_one(path: str) -> None:
    """(child) Apply the updates of ``path`` into an empty Doc; print its times as JSON."""
    from pycrdt import Doc

    updates = [bytes(u) for u in msgspec.msgpack.decode(Path(path).read_bytes())]
    doc: Doc = Doc()  # type: ignore[type-arg]
    t, c = time.perf_counter(), time.process_time()
    for update in updates:
        doc.apply_update(update)
    print(json.dumps({"wall": time.perf_counter() - t, "cpu": time.process_time() - c,
                      "n": len(updates)}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "mano-open-scaling"))
    p.add_argument("--apply", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.apply:
        apply_one(args.apply)
        return
    cache = Path(args.cache)
    for scale in args.scales:
        if not (cache / f"x{scale:g}" / "pieces.bin").exists():
            asyncio.run(build(cache / f"x{scale:g}", scale))
    runs: dict[tuple[float, str], list[dict[str, float]]] = {}
    for _ in range(args.repeat):  # interleaved: the machine's noise hits every mode alike
        for scale in args.scales:
            for mode in MODES:
                out = subprocess.run(
                    [sys.executable, "-m", "bench.open_scaling", "--apply",
                     str(cache / f"x{scale:g}" / f"{mode}.bin")],
                    check=True, capture_output=True, text=True).stdout
                runs.setdefault((scale, mode), []).append(json.loads(out))
    m = statistics.median
    small = min(args.scales)
    for scale in args.scales:
        for mode in MODES:
            rs = runs[(scale, mode)]
            cpu = m(r["cpu"] for r in rs)
            base = m(r["cpu"] for r in runs[(small, mode)]) * scale / small
            print(f"×{scale:<4g} {mode:7s} {int(rs[0]['n']):5d} updates  CPU {cpu:7.3f} s  wall "
                  f"{m(r['wall'] for r in rs):7.3f} s  ÷ linear from ×{small:g}: {cpu / base:.2f}")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
