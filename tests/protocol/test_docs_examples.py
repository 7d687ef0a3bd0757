"""docs/protocol.md's hex examples are what the codec really produces."""

from __future__ import annotations

from pathlib import Path

from mano_core.protocol import codec
from tests.protocol.examples import EXAMPLES, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_examples_in_the_spec_match_the_codec() -> None:
    text = DOC.read_text()
    assert render() in text
    for _, msg in EXAMPLES:
        assert codec.decode(codec.encode(msg)) == msg
