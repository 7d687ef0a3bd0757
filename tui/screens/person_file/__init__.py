"""A person's file, one module per tab (record family); ``tab.register`` adds one.

Importing this package registers the tabs in their reading order: summary, actions,
comments, places, passages and encounters, family, history, then medical (health devices)
and documents."""

from __future__ import annotations

from . import (  # noqa: F401 - each module registers its tab
    summary,
    actions_tab,
    comments,
    places,
    visits,
    family,
    history,
    medical,
    documents,
)
from .screen import PersonFileScreen
from .tab import TABS, PersonTab, register

__all__ = ["TABS", "PersonFileScreen", "PersonTab", "register"]
