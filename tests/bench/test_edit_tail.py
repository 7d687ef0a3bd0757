"""bench/edit_tail.py: each edit is cut into its path's segments, and what else ran in a process
while the edit was on its way is counted as that edit's cause (the p99's causes, issue 24)."""

from __future__ import annotations

from bench import edit_tail

MS = 1_000_000


def _stamps(offset: int) -> dict[str, list[tuple[str, int]]]:
    """One edit's path starting at ``offset`` (ns): 1 ms per segment, B seeing it at 11 ms."""
    at = lambda k: offset + k * MS  # noqa: E731
    return {
        "a": [("a.edit.start", at(0)), ("commit.thread.start", at(1)),
              ("commit.thread.end", at(2)), ("a.push.start", at(3))],
        "relay": [("relay.push.start", at(4)), ("relay.commit.thread.start", at(5)),
                  ("relay.commit.thread.end", at(6)), ("relay.write.start", at(7))],
        "b": [("frame.start", at(8)), ("commit.thread.start", at(9)),
              ("commit.thread.end", at(10))],
    }


def test_an_edit_is_cut_into_its_segments() -> None:
    (edit,) = edit_tail.edits_of(_stamps(0), [0], [0.011])
    assert edit.latency == 11.0
    assert edit.segments == [1.0] * len(edit_tail.SEGMENTS)
    assert edit.causes == {}


def test_what_ran_during_an_edit_is_its_cause_and_nothing_after_it() -> None:
    stamps = _stamps(0)
    stamps["b"] += [("gc1.start", 9 * MS + 100), ("gc1.end", 9 * MS + 600_100),
                    ("x.ckpt.start", 20 * MS), ("x.ckpt.end", 24 * MS)]  # the second: after it
    stamps["relay"] += [("slow:Relay._sweep.start", 4 * MS + 500_000),
                        ("slow:Relay._sweep.end", 6 * MS + 500_000),
                        ("slow:Committer._run.start", 5 * MS), ("slow:Committer._run.end", 7 * MS)]
    for rows in stamps.values():
        rows.sort(key=lambda row: row[1])
    (edit,) = edit_tail.edits_of(stamps, [0], [0.011])
    assert edit.causes == {
        "b:gc1": [(0.6, "B's commit")],
        "relay:slow:Relay._sweep": [(2.0, "relay before its commit")],
        "relay:step:Committer._run": [(2.0, "relay's commit")],  # one of the path's own steps
    }


def test_a_missing_stamp_leaves_an_empty_segment() -> None:
    stamps = _stamps(0)
    stamps["relay"] = [row for row in stamps["relay"] if row[0] != "relay.write.start"]
    (edit,) = edit_tail.edits_of(stamps, [0], [0.011])
    i = edit_tail.SEGMENTS.index("relay to its write")
    assert edit.segments[i] == 0.0
    assert edit.segments[i + 1] == 2.0  # the hop to B starts from the relay's commit then
