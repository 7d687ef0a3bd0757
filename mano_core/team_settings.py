"""The team's settings as its API offers them: lists and feature switches, durable writes, each
for the role the rule table names (split from mano_core/team.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mano_core.document.settings import FrozenSettings, Settings
from mano_core.rules.table import Power, setting_power


class DurableSettings:
    """The team's lists (categories, services…) and feature switches; writes are durable and
    for admins only (PermissionDeniedError otherwise, nothing changed)."""

    def __init__(self, settings: Settings, commit: Callable[[], Any],
                 require: Callable[[Power], None] | None = None, member: str = "") -> None:
        self._s = settings
        self._commit = commit
        self._require = require or (lambda power: None)
        self._member = member

    def values(self, kind: str) -> list[str]:
        return self._s.values(kind)

    def feature(self, name: str) -> bool:
        return self._s.feature(name)

    def get(self, key: str) -> Any:
        return self._s.get(key)

    def frozen(self) -> FrozenSettings:
        """Every setting as it is now, readable from any thread (``Settings.frozen``)."""
        return self._s.frozen()

    async def add(self, kind: str, *values: str) -> None:
        self._require(Power.SETTINGS)
        self._s.add(kind, *values)
        await self._commit()

    async def remove(self, kind: str, value: str) -> None:
        self._require(Power.SETTINGS)
        self._s.remove(kind, value)
        await self._commit()

    async def set_feature(self, name: str, on: bool) -> None:
        self._require(Power.FEATURES)
        self._s.set_feature(name, on)
        await self._commit()

    async def set(self, key: str, value: str | int | float | bool | None) -> None:
        """Admins; any member for its own display name (``memberName.<member id>``)."""
        power = setting_power(key, self._member)
        if power is not None:
            self._require(power)
        self._s.set(key, value)
        await self._commit()
