"""The person's family or group: each link with the relation's description. ``n`` links
another person (chosen with the picker, which tells homonyms apart) with a description
("mère", "frère", "compagne"), Enter corrects the relation under the cursor, Suppr removes
the link.

The engine keeps a family as a ``Group`` (its persons and ``a|b|description`` relations, a
set: two links added at once on two devices are both kept). Linking two persons of two
families makes one family of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.widgets import DataTable

from mano_core.errors import NotFoundError
from mano_core.model.records import Group, Person
from tui.records.pickers import person_field
from tui.text import cells
from tui.widgets.forms import Field
from tui.widgets.table import LiteralTable

from .tab import PersonTab, cursor_key, register, restore

SEPARATOR = "|"


def relation_parts(relation: str) -> tuple[str, str, str]:
    a, _, rest = relation.partition(SEPARATOR)
    b, _, what = rest.partition(SEPARATOR)
    return a, b, what


class FamilyTab(PersonTab):
    name = "family"

    def compose(self) -> ComposeResult:
        yield LiteralTable(id="family", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        t = self.t
        self.query_one("#family", DataTable).add_columns(
            t("col.person"), t("family.relation"))

    def groups(self) -> list[Group]:
        return self.session.team.groups.filter(lambda g: self.person_id in g.persons)

    def links(self) -> list[tuple[str, str, str, str]]:
        """(row key, other person's id, name, relation) of the person's links."""
        team = self.session.team
        out: list[tuple[str, str, str, str]] = []
        for g in self.groups():
            related: set[str] = set()
            for relation in g.relations:
                a, b, what = relation_parts(relation)
                if self.person_id not in (a, b):
                    continue
                other = b if a == self.person_id else a
                try:
                    name = team.persons.get(other).name
                except NotFoundError:
                    continue
                related.add(other)
                out.append((f"{g.id}{SEPARATOR}{relation}", other, name, what))
            for other in g.persons:  # in the family without a described relation
                if other != self.person_id and other not in related:
                    try:
                        name = team.persons.get(other).name
                    except NotFoundError:
                        continue
                    out.append((f"{g.id}{SEPARATOR}{SEPARATOR}{other}", other, name, ""))
        return sorted(out, key=lambda x: x[2].casefold())

    def reload(self, person: Person) -> None:
        table = self.query_one("#family", DataTable)
        keep = cursor_key(table)
        table.clear()
        for key, _other, name, what in self.links():
            table.add_row(*cells(name, what or "—"), key=key)
        restore(table, keep)

    def commands(self) -> dict[str, Callable[[], Any]]:
        return {"new": self.link, "open": self.correct, "delete": self.unlink}

    def link(self) -> None:
        t = self.t
        team = self.session.team
        linked = {other for _k, other, _n, _w in self.links()}
        fields = [person_field(self.file, "other", t("family.other"),
                               exclude={self.person_id, *linked}, required=True),
                  Field("what", t("family.relation"), placeholder=t("family.relation_hint"),
                        wire=("relations",))]

        async def submit(v: dict[str, Any]) -> Group:
            return await self._link(v["other"], v["what"].strip())

        self.form(t("family.link_title", name=team.persons.get(self.person_id).name), fields,
                  submit, t("family.linked"))

    async def _link(self, other: str, what: str) -> Group:
        team = self.session.team
        mine = self.groups()
        theirs = team.groups.filter(lambda g: other in g.persons)
        relation = SEPARATOR.join((self.person_id, other, what))
        if not mine and not theirs:
            return await team.groups.create(persons=[self.person_id, other],
                                            relations=[relation])
        keep, *others = [*mine, *[g for g in theirs if g not in mine]]
        persons = list(dict.fromkeys([*keep.persons, self.person_id, other,
                                      *(p for g in others for p in g.persons)]))
        relations = list(dict.fromkeys([*keep.relations, relation,
                                        *(x for g in others for x in g.relations)]))
        updated = await team.groups.update(keep.id, persons=persons, relations=relations)
        for g in others:  # two families joined: one group holds them
            await team.groups.delete(g.id)
        return updated

    def correct(self) -> None:
        """The relation under the cursor, to correct ("mère" typed for "fille"), or to say
        for one in the family without it."""
        t = self.t
        key = cursor_key(self.query_one("#family", DataTable))
        found = next((x for x in self.links() if x[0] == key), None)
        if key is None or found is None:
            return
        _key, other, name, what = found
        group_id, _, relation = key.partition(SEPARATOR)
        fields = [Field("what", t("family.relation"), value=what,
                        placeholder=t("family.relation_hint"), wire=("relations",))]

        async def submit(v: dict[str, Any]) -> Group:
            g = self.session.team.groups.get(group_id)
            a, b, _what = relation_parts(relation)   # the order it was said in stays
            pair = (a, b) if {a, b} == {self.person_id, other} else (self.person_id, other)
            new = SEPARATOR.join((*pair, v["what"].strip()))
            relations = [x for x in g.relations if x != relation]
            if new not in relations:
                relations.append(new)
            if relations == g.relations:
                return g
            return await self.session.team.groups.update(g.id, relations=relations)

        self.form(t("family.correct_title", name=name), fields, submit, t("family.linked"))

    def unlink(self) -> None:
        key = cursor_key(self.query_one("#family", DataTable))
        if key is not None:
            self.run_worker(self._unlink(key), group="write")

    async def _unlink(self, key: str) -> None:
        t = self.t
        team = self.session.team
        group_id, _, relation = key.partition(SEPARATOR)
        found = next((x for x in self.links() if x[0] == key), None)
        if found is None:
            return
        _key, other, name, what = found
        if not await self.confirm(t("family.unlink_title"), [f"{name} — {what or '—'}"],
                                  t("family.unlink_confirm")):
            return
        g = team.groups.get(group_id)
        relations = [r for r in g.relations if r != relation]
        if relation in g.relations:
            # one of the two whom no relation names any more leaves the group
            named = {p for r in relations for p in relation_parts(r)[:2]}
            persons = [p for p in g.persons if p not in (self.person_id, other) or p in named]
        else:  # in the group without a described relation
            persons = [p for p in g.persons if p != other]
        if len(persons) < 2:
            await self.write(team.groups.delete(g.id), t("family.unlinked"))
        else:
            await self.write(team.groups.update(g.id, persons=persons, relations=relations),
                             t("family.unlinked"))


register(FamilyTab)
