"""Custom fields (admins), every scope and every flag: persons, medical file, consultations
(per consultation type), observations; required, enabled for some sub-teams, health-only,
shown in statistics; options renamed (the values holding them are rewritten), added or
removed; a field disabled (kept with its values, no longer offered) or removed.

Neither locks a record: a value that no longer fits its definition is shown as stale and may
always be cleared (``Team.stale_custom_fields``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding

from mano_core.model.records import CUSTOM_FIELD_TYPES, CustomFieldDefinition
from tui.text import cell
from tui.widgets.forms import Field, FieldError

from .pane import SettingsPane, table

SCOPES: Final = ("person", "medicalFile", "consultation", "observation")
CHOICE_TYPES: Final = ("enum", "multi-choice")
MAX_OPTIONS_SHOWN: Final = 30     # option fields in the options form (more: one per line)


class FieldsPane(SettingsPane):
    BINDINGS = [
        Binding("n", "new_field", "key.new_field"),
        Binding("e", "edit_field", "key.edit"),
        Binding("o", "edit_options", "key.options"),
        Binding("t", "toggle_field", "key.toggle_enabled"),
        Binding("x", "remove_field", "key.remove"),
    ]

    def compose(self) -> ComposeResult:
        t = self.t
        yield table("fields", t("col.label"), t("col.type"), t("col.scope"), t("col.section"),
                    t("col.flags"))

    def definitions(self) -> list[CustomFieldDefinition]:
        return sorted(self.session.team.custom_fields.list(),
                      key=lambda d: (SCOPES.index(d.scope), d.section, d.created_at))

    def flags(self, d: CustomFieldDefinition) -> str:
        t = self.t
        names = {s.id: s.name for s in self.session.subteams()}
        out = [t("fields.flag.disabled")] if not d.enabled else []
        out += [t(f"fields.flag.{f}") for f in ("required", "health_only", "show_in_stats")
                if getattr(d, f)]
        if d.enabled_teams:
            out.append(t("fields.flag.teams", names=", ".join(
                names.get(i, "?") for i in d.enabled_teams)))
        return ", ".join(out) or "—"

    def reload(self) -> None:
        t = self.t
        self.refill("fields", [(d.id, (
            cell(d.label_text), t(f"fields.type.{d.type}"), t(f"fields.scope.{d.scope}"),
            cell(d.section), cell(self.flags(d)))) for d in self.definitions()])

    def _selected(self) -> CustomFieldDefinition | None:
        key = self.current_key("fields")
        return next((d for d in self.session.team.custom_fields.list() if d.id == key), None)

    # --- the form -------------------------------------------------------------------------------

    def _fields(self, d: CustomFieldDefinition | None) -> list[Field]:
        t = self.t
        out = [Field("label", t("field.label"), value=d.label_text if d else "",
                     wire=("labelText", "key"))]
        if d is None:
            out += [
                Field("scope", t("field.scope"), kind="select", value="person",
                      options=[(t(f"fields.scope.{s}"), s) for s in SCOPES], wire=("scope",)),
                Field("type", t("field.type"), kind="select", value="text", wire=("type",),
                      options=[(t(f"fields.type.{x}"), x) for x in CUSTOM_FIELD_TYPES]),
            ]
        out += [
            Field("section", t("field.section_or_type"), wire=("section",),
                  value=d.section if d else "",
                  placeholder=", ".join(self.session.team.settings.values(
                      "consultationTypes")[:3]) or "Informations"),
            Field("required", t("field.required"), kind="check",
                  value=d.required if d else False, wire=("required",)),
            Field("health_only", t("field.health_only"), kind="check",
                  value=d.health_only if d else False, wire=("healthOnly",)),
            Field("show_in_stats", t("field.show_in_stats"), kind="check",
                  value=d.show_in_stats if d else False, wire=("showInStats",)),
        ]
        for s in self.session.subteams():
            out.append(Field(f"team_{s.id}", t("field.enabled_for", name=s.name),
                             kind="check", value=bool(d and s.id in d.enabled_teams),
                             wire=("enabledTeams",)))
        if d is None:
            out.append(Field("options", t("field.options"), placeholder=t("fields.options_hint"),
                             wire=("options",)))
        return out

    def _submit(self, d: CustomFieldDefinition | None) -> Any:
        t = self.t
        team = self.session.team
        subs = self.session.subteams()

        async def submit(v: dict[str, Any]) -> CustomFieldDefinition:
            label = str(v["label"]).strip()
            if not label:
                raise FieldError("label", t("error.required"))
            scope = d.scope if d else str(v["scope"] or "person")
            section = str(v["section"]).strip()
            if scope == "consultation":
                types = team.settings.values("consultationTypes")
                if section not in types:
                    raise FieldError("section", t("fields.consultation_type",
                                                  types=", ".join(types) or "—"))
            changes: dict[str, Any] = {
                "label_text": label, "section": section or "Informations",
                "required": bool(v["required"]), "health_only": bool(v["health_only"]),
                "show_in_stats": bool(v["show_in_stats"]),
                "enabled_teams": [s.id for s in subs if v.get(f"team_{s.id}")]}
            if d is not None:
                return await team.custom_fields.update(d.id, **changes)
            kind = str(v["type"] or "text")
            options = [o.strip() for o in str(v["options"]).split(",") if o.strip()]
            if kind in CHOICE_TYPES and not options:
                raise FieldError("options", t("fields.options_needed"))
            return await team.custom_fields.create(
                key=self._new_key(scope), type=kind, scope=scope, options=options, **changes)
        return submit

    def _new_key(self, scope: str) -> str:
        """A key no field of ``scope`` ever had (MANO's form: ``custom-<ISO time>``)."""
        held = {d.key for d in self.session.team.custom_fields.list(include_deleted=True)
                if d.scope == scope}
        now: dt.datetime = self.mano.now()
        base = "custom-" + now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H%M%S.%f")
        key, n = base, 1
        while key in held:
            n += 1
            key = f"{base}-{n}"
        return key

    def action_new_field(self) -> None:
        t = self.t
        self.form(t("settings.new_field"), self._fields(None), self._submit(None),
                  lambda d: self.mano.say(t("fields.saved", name=d.label_text)) if d else None)

    def action_edit_field(self) -> None:
        d = self._selected()
        if d is not None:
            t = self.t
            self.form(t("fields.edit_title", name=d.label_text), self._fields(d),
                      self._submit(d),
                      lambda r: self.mano.say(t("fields.saved", name=r.label_text)) if r
                      else None)

    def action_edit_options(self) -> None:
        """One field per option: change it to rename the option (every value holding it is
        rewritten), empty it to remove it (values holding it become stale), and new ones."""
        d = self._selected()
        if d is None:
            return
        t = self.t
        if d.type not in CHOICE_TYPES:
            self.mano.say(t("fields.no_options"), error=True)
            return
        team = self.session.team
        current = list(d.options)[:MAX_OPTIONS_SHOWN]

        async def submit(v: dict[str, Any]) -> int:
            kept: list[str] = []
            renamed = 0
            for i, old in enumerate(current):
                new = str(v[f"option_{i}"]).strip()
                if new and new != old:
                    renamed += await team.rename_custom_field_option(d.id, old, new)
                if new and new not in kept:
                    kept.append(new)
            kept += [o for o in d.options[MAX_OPTIONS_SHOWN:] if o not in kept]
            kept += [o.strip() for o in str(v["more"]).split(",")
                     if o.strip() and o.strip() not in kept]
            if not kept:
                raise FieldError("more", t("fields.options_needed"))
            fresh = team.custom_fields.get(d.id)
            if fresh.options != kept:
                await team.custom_fields.update(d.id, options=kept)
            return renamed
        self.form(t("fields.options_title", name=d.label_text),
                  [*[Field(f"option_{i}", t("field.option", n=i + 1), value=o)
                     for i, o in enumerate(current)],
                   Field("more", t("field.more_options"), placeholder=t("fields.options_hint"))],
                  submit,
                  lambda n: self.mano.say(t("fields.options_saved", count=n)) if n is not None
                  else None)

    @work(group="write", exclusive=True)
    async def action_toggle_field(self) -> None:
        d = self._selected()
        if d is None:
            return
        t = self.t
        await self.attempt(self.session.team.custom_fields.update(d.id, enabled=not d.enabled),
                           t("fields.enabled" if not d.enabled else "fields.disabled",
                             name=d.label_text))

    @work(group="write", exclusive=True)
    async def action_remove_field(self) -> None:
        d = self._selected()
        if d is None:
            return
        t = self.t
        if not await self.confirm(t("fields.remove_title", name=d.label_text),
                                  [t("fields.remove_effect")], t("key.remove")):
            return
        await self.attempt(self.session.team.custom_fields.delete(d.id),
                           t("fields.removed", name=d.label_text))
