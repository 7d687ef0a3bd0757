"""Coverage-guided fuzzing with atheris (libFuzzer) of the targets in fuzz_targets.py; not part
of the test run. Only ManoError subclasses may escape; anything else is a crash libFuzzer
reports with the input that caused it.

    .venv/bin/pip install atheris
    .venv/bin/python -m tests.adversarial.atheris_fuzz payload -atheris_runs=1000000
    (targets: parse, open, open_delivery, payload, ydeps, frame; other arguments go to libFuzzer)"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from mano_core.errors import ManoError
    from tests.adversarial import fuzz_targets


def main() -> None:
    name = sys.argv.pop(1)
    target = fuzz_targets.TARGETS[name]
    fuzz_targets.kit()  # build the team once, outside the measured runs

    def one(data: bytes) -> None:
        try:
            target(data)
        except ManoError:
            pass

    atheris.Setup(sys.argv, one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
