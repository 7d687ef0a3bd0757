"""The always-visible sync bar: connection, edits waiting, last sync, teammates online.

Every state is a word (and a symbol), never a colour alone."""

from __future__ import annotations

import time
from typing import Any

from textual.widgets import Static

from mano_core.sync.state import Status
from tui import format as fmt
from tui.text import plain

SYMBOL = {Status.ONLINE: "●", Status.OFFLINE: "○", Status.CLOSED: "○",
          Status.REVOKED: "⊘", Status.REFUSED: "⊘"}


class SyncBar(Static):
    """Reads the app's sync client; redrawn whenever the app's ``sync_version`` moves."""

    DEFAULT_CLASSES = "sync-bar"

    def on_mount(self) -> None:
        self.watch(self.app, "sync_version", lambda _v: self.refresh_state(), init=True)

    def refresh_state(self) -> None:
        app: Any = self.app   # the Mano app (a widget never imports it): .t, .session
        t = app.t
        session = app.session
        self.remove_class("online", "offline", "problem")
        if session is None:
            self.update("")
            return
        sync = session.sync
        if sync is None:
            self.update(t("sync.local_only", pending=0))
            self.add_class("offline")
            return
        s = sync.state
        status = t(f"sync.status.{s.status.value}")
        parts = [f"{SYMBOL.get(s.status, '◌')} {status}"]
        plan = s.catchup
        if s.behind and plan is not None:  # the relay said what the catch-up holds
            key = "sync.catching_up_from_snapshot" if plan.snapshot else "sync.catching_up_planned"
            parts.append(t(key, count=plan.records_total,
                           done=min(plan.records_done, plan.records_total),
                           total=plan.records_total,
                           size=fmt.size(t, min(plan.bytes_done, plan.bytes_total)),
                           size_total=fmt.size(t, plan.bytes_total)))
        elif s.behind:  # a catch-up (a new device's first sync): how far it has come
            done = s.received.envelopes
            parts.append(t("sync.catching_up", count=done + s.behind, done=done,
                           total=done + s.behind, size=fmt.size(t, s.received.bytes)))
        parts.append(t("sync.pending", count=s.pending) if s.pending else t("sync.saved"))
        if s.last_sync is not None:
            parts.append(t("sync.last", ago=_ago(t, time.time() - s.last_sync)))
        mates = s.online_teammates()   # none while offline: this device cannot hear them
        if mates:
            names = sorted({session.member_name(m.member, t) for m in mates})
            parts.append(t("sync.teammates", count=len(names), names=", ".join(names[:3])))
        elif s.status is Status.ONLINE:
            parts.append(t("sync.nobody"))
        self.update(plain(" │ ".join(parts)))
        self.add_class("online" if s.status is Status.ONLINE else
                       "problem" if s.status in (Status.REVOKED, Status.REFUSED) else "offline")


def _ago(t: object, seconds: float) -> str:
    from tui.i18n import Translator
    assert isinstance(t, Translator)
    if seconds < 60:
        return t("ago.seconds", n=max(0, int(seconds)))
    if seconds < 3600:
        return t("ago.minutes", n=int(seconds // 60))
    return t("ago.hours", n=int(seconds // 3600))

