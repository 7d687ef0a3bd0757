"""The app's stylesheet is parsed once per set of CSS variables (tui/stylesheet.py, issue 24):
what the launch parsed is kept by the first section shown; a change of variables (a theme)
still gives rules with the new values."""

from __future__ import annotations

from textual.color import Color

from tui.stylesheet import MemoStylesheet

SOURCE = "Static { color: $accent; }"


def color_of(sheet: MemoStylesheet) -> Color:
    (rule,) = sheet.rules
    color = rule.styles.color
    assert isinstance(color, Color)
    return color


def test_the_same_variables_keep_the_rules_and_new_ones_parse_them_again() -> None:
    sheet = MemoStylesheet(variables={"accent": "red"})
    sheet.add_source(SOURCE, read_from=("app.tcss", ""))
    sheet.parse()                                # as Textual's start does
    assert sheet.parsed_with == {"accent": "red"}
    rules = sheet.rules
    assert color_of(sheet) == Color.parse("red")
    sheet.set_variables({"accent": "red"})       # App.refresh_css, nothing changed
    sheet.reparse()
    assert sheet.rules is rules                  # kept, not parsed again
    sheet.set_variables({"accent": "blue"})      # a theme
    assert sheet.parsed_with is None
    sheet.reparse()
    assert color_of(sheet) == Color.parse("blue")
    assert sheet.parsed_with == {"accent": "blue"}
    sheet.add_source("Label { color: $accent; }", read_from=("widget", "Label"))
    sheet.reparse()                              # a widget's CSS added: parsed, in blue
    assert [r.styles.color for r in sheet.rules] == [Color.parse("blue")] * 2
