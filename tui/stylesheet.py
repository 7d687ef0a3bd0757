"""The app's stylesheet, parsed once per set of CSS variables (issue 24).

Textual re-parses every CSS source of the app (ours and each widget's default CSS: ~25 KB,
40–60 ms of CPU on the 2-core reference machine) each time a screen is shown for the first
time (``App.refresh_css`` → ``Stylesheet.reparse``, which starts from an empty stylesheet),
on the UI loop, although nothing changed: same sources, same variables. ``MemoStylesheet``
keeps its parsed rules while the variables stay the same, and parses only the sources added
since (a widget's default CSS, when it is first mounted); a change of variables (a theme)
re-parses everything as Textual does.

``parsed_with`` says which variables the rules were parsed with, the launch's parse included
(Textual's start parses the sources with ``parse``, not ``reparse``): the first section shown
after the unlock re-parsed all of them and restyled every widget mounted (30–80 ms) although
they were all styled with these very rules (``ManoApp.refresh_css``)."""

from __future__ import annotations

from textual.css.stylesheet import Stylesheet


class MemoStylesheet(Stylesheet):
    """A Textual stylesheet whose ``reparse`` is a no-op when nothing it depends on changed."""

    def __init__(self, *, variables: dict[str, str] | None = None) -> None:
        super().__init__(variables=variables)
        self._parsed_with: dict[str, str] | None = None   # the variables of the last parse

    @property
    def parsed_with(self) -> dict[str, str] | None:
        """The CSS variables the current rules were parsed with (None: not parsed yet, or
        the variables changed since)."""
        return self._parsed_with

    def set_variables(self, variables: dict[str, str]) -> None:
        if variables == self._variables and self._parsed_with is not None:
            return   # the same: keep the parsed sources (Textual clears its caches here)
        super().set_variables(variables)   # clears the parse cache (the old variables')
        self._parsed_with = None

    def parse(self) -> None:
        super().parse()   # sources parsed before come from the cache (parsed with these)
        self._parsed_with = dict(self._variables)

    def reparse(self) -> None:
        if self._parsed_with is not None and self._parsed_with == self._variables:
            if self._require_parse:
                self.parse()   # only the sources added since are parsed (the others cached)
            return
        self._parse_cache.clear()
        self.parse()   # every source, into this stylesheet's cache (Textual parses a copy)
