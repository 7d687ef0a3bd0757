"""A checkbox whose state reads without colour: ``[✓]`` when on, ``[ ]`` when off."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox, RadioButton


class Check(Checkbox):
    """Textual's Checkbox draws the same mark in both states and tells them apart by colour
    only; this one draws a tick when checked."""

    @property
    def _button(self) -> Content:
        return Content.assemble("[", ("✓" if self.value else " ", "bold"), "]")


class Radio(RadioButton):
    """A radio button whose choice reads without colour: ``(●)`` chosen, ``( )`` not
    (Textual's draws the same dot for both)."""

    @property
    def _button(self) -> Content:
        return Content.assemble("(", ("●" if self.value else " ", "bold"), ")")
