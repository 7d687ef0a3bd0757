"""The team's settings that are lists of names (categories, services…) and feature switches.

Lists are sets in the CRDT (one entry per value) so that two admins adding categories at the
same time both keep theirs. Sub-teams and custom-field definitions are full records
(collections ``subteams`` and ``customFields``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from pycrdt import Map

from mano_core import limits
from mano_core.errors import ValidationError
from mano_core.codes import Code

if TYPE_CHECKING:
    from .team_doc import DocumentCore

LISTS: Final = ("actionCategories", "structureCategories", "services", "territoryTypes",
                "collaborations", "consultationTypes", "outOfActiveListReasons")
FEATURES: Final = ("territories", "encounters", "passages", "receptionCounters", "groups")
DEFAULT_FEATURES: Final = dict.fromkeys(FEATURES, True)


class Settings:
    """Named value lists and feature switches of one team."""

    def __init__(self, core: DocumentCore) -> None:
        self._core = core
        self._map: Map[Any] = core.doc.get("settings", type=Map)

    def values(self, kind: str) -> list[str]:
        """The values of one list, in the order they were added."""
        self._check_kind(kind)
        prefix = f"{kind}["
        items = [(stamp, key[len(prefix):-1]) for key, stamp in self._map.items()
                 if key.startswith(prefix) and stamp is not None]
        return [name for _stamp, name in sorted(items)]

    def add(self, kind: str, *values: str) -> None:
        """Add values to a list (already present ones are kept where they are)."""
        self._check_kind(kind)
        now = self._core.now_ms()
        with self._core.doc.transaction():
            for i, raw in enumerate(values):
                value = raw.strip()
                if not value or len(value) > limits.MAX_SHORT_FIELD:
                    raise ValidationError("settings", kind, Code.INVALID_LIST_VALUE, value=value)
                key = f"{kind}[{value}]"
                if key not in self._map:
                    self._map[key] = now + i / 1000
            self._core.mark_settings_changed()

    def remove(self, kind: str, value: str) -> None:
        """Remove one value from a list."""
        self._check_kind(kind)
        key = f"{kind}[{value}]"
        if key in self._map:
            with self._core.doc.transaction():
                del self._map[key]
                self._core.mark_settings_changed()

    def feature(self, name: str) -> bool:
        """Whether a feature switch is on (territories, encounters, passages…)."""
        if name not in FEATURES:
            raise ValidationError("settings", name, Code.UNKNOWN_FEATURE)
        value = self._map.get(f"features.{name}")
        return DEFAULT_FEATURES[name] if value is None else bool(value)

    def set_feature(self, name: str, on: bool) -> None:
        if name not in FEATURES:
            raise ValidationError("settings", name, Code.UNKNOWN_FEATURE)
        with self._core.doc.transaction():
            self._map[f"features.{name}"] = bool(on)
            self._core.mark_settings_changed()

    def get(self, key: str) -> Any:
        """A free setting (e.g. ``organisationName``)."""
        return self._map.get(f"value.{key}")

    def set(self, key: str, value: str | int | float | bool | None) -> None:
        with self._core.doc.transaction():
            self._map[f"value.{key}"] = value
            self._core.mark_settings_changed()

    def frozen(self) -> FrozenSettings:
        """A copy of every setting as it is now, readable from any thread (it holds no pycrdt
        object): what statistics computed off the event loop read (mano_core.slices)."""
        return FrozenSettings({str(k): v for k, v in self._map.items()})

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in LISTS:
            raise ValidationError("settings", kind, Code.UNKNOWN_LIST, known=list(LISTS))


class FrozenSettings:
    """Settings copied at one moment (``Settings.frozen``): the same reads, no writes."""

    def __init__(self, entries: dict[str, Any]) -> None:
        self._entries = entries

    def values(self, kind: str) -> list[str]:
        Settings._check_kind(kind)
        prefix = f"{kind}["
        items = [(stamp, key[len(prefix):-1]) for key, stamp in self._entries.items()
                 if key.startswith(prefix) and stamp is not None]
        return [name for _stamp, name in sorted(items)]

    def feature(self, name: str) -> bool:
        if name not in FEATURES:
            raise ValidationError("settings", name, Code.UNKNOWN_FEATURE)
        value = self._entries.get(f"features.{name}")
        return DEFAULT_FEATURES[name] if value is None else bool(value)

    def get(self, key: str) -> Any:
        return self._entries.get(f"value.{key}")
