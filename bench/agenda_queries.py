"""The agenda's queries (``Actions.due_on`` and its twins), CPU of the calling thread.

    .venv/bin/python -m bench.agenda_queries [N]     # N synthetic actions (default 8,000)

N actions due over two years (a quarter still to do) are written to a document, which a
second document opens and reads in 10 ms slices (``Collection.loading``, as the app's first
read); then one day's agenda (first call, again, after a local edit), a week of days, the
overdue and the upcoming lists. Five repeats, medians. Not in ``python -m bench``: the
agenda's share of the UI loop's stalls is in ``bench.ui_loop`` (issue 24)."""

from __future__ import annotations

import datetime as dt
import random
import statistics
import sys
import time
import uuid

from mano_core.document.compartments import GeneralDocument
from mano_core.model.records import Action
from tests.document.helpers import Clock

REPEAT = 5
NOW = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)


def actions(n: int) -> list[Action]:
    rng = random.Random(0)
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    made = []
    for i in range(n):
        status = rng.choice(["A FAIRE", "FAIT", "FAIT", "ANNULEE"])
        made.append(Action(
            id=str(uuid.UUID(int=rng.getrandbits(128))), name=f"Action {i}", created_at=NOW,
            updated_at=NOW, created_by="m", updated_by="m",
            due_at=start + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 700)),
            status=status, completed_at=None if status == "A FAIRE" else NOW, teams=["t"]))
    return made


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    writer = GeneralDocument(author="m", client_id=1, clock=Clock())
    writer.actions.insert_many(actions(n))
    state = writer.doc.get_update()
    day = dt.date(2026, 3, 10)
    now = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    rows: dict[str, list[float]] = {}

    def timed(label: str, work: object) -> None:
        t = time.thread_time()
        work()  # type: ignore[operator]
        rows.setdefault(label, []).append(time.thread_time() - t)

    for _ in range(REPEAT):
        doc = GeneralDocument(author="m2", state=[state])
        timed("first read (its slices, total)",
              lambda d=doc: [None for _ in d.actions.loading(budget=0.010)])
        timed("due_on, first call", lambda d=doc: d.actions.due_on(day))
        timed("due_on, again", lambda d=doc: d.actions.due_on(day))
        moved = doc.actions.due_on(day)[0]
        doc.actions.update(moved.id, due_at=moved.due_at + dt.timedelta(days=1))
        timed("due_on after an edit", lambda d=doc: d.actions.due_on(day))
        timed("a week (7 due_on)", lambda d=doc: [d.actions.due_on(day + dt.timedelta(i))
                                                  for i in range(7)])
        timed("overdue", lambda d=doc: d.actions.overdue(now))
        timed("upcoming", lambda d=doc: d.actions.upcoming(now))
    print(f"{n} actions, CPU ms, median of {REPEAT} (the runs)")
    for label, values in rows.items():
        runs = ", ".join(f"{v * 1e3:.1f}" for v in values)
        print(f"  {label:32} {statistics.median(values) * 1e3:8.2f}  ({runs})")


if __name__ == "__main__":
    main()
