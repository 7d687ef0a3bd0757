"""Screens by domain: one module per section, plus the start screens and the person file."""

from __future__ import annotations

from collections.abc import Callable

from textual.screen import Screen

from .agenda import AgendaScreen
from .persons import PersonsScreen
from .report import ReportScreen
from .settings import SettingsScreen
from .stats import StatsScreen
from .structures import StructuresScreen
from .territories import TerritoriesScreen
from .urgent import UrgentScreen

SECTION_SCREENS: dict[str, Callable[[], Screen[object]]] = {
    "agenda": AgendaScreen, "persons": PersonsScreen, "structures": StructuresScreen,
    "territories": TerritoriesScreen, "report": ReportScreen, "stats": StatsScreen,
    "urgent": UrgentScreen, "settings": SettingsScreen,
}
