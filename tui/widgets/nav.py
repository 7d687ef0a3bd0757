"""The section bar at the top: which section is open and the key that opens each one."""

from __future__ import annotations

from textual.widgets import Static

from tui.text import styled

SECTIONS: tuple[tuple[str, str], ...] = (
    ("agenda", "f2"), ("persons", "f3"), ("structures", "f4"), ("territories", "f5"),
    ("report", "f6"), ("stats", "f7"), ("urgent", "f8"), ("settings", "f9"),
)


class NavBar(Static):
    """``F2 Agenda  F3 [Personnes]  …``: the current section is bracketed, not only coloured."""

    DEFAULT_CLASSES = "nav-bar"

    def __init__(self, current: str, labels: dict[str, str]) -> None:
        parts: list[str | tuple[str, str]] = []
        for name, key in SECTIONS:
            if parts:
                parts.append("│")
            label = labels[name]
            parts.append((f"{key.upper()} [{label}]", "bold reverse") if name == current
                         else f"{key.upper()} {label}")
        super().__init__(styled(*parts))
