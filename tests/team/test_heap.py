"""The collector during a team's open and first read (mano_core/heap.py): full collections
wait, young ones go on, what is alive at the end is frozen, the thresholds come back."""

from __future__ import annotations

import gc
import weakref

import pytest

from mano_core.heap import bulk_decoding, thaw


@pytest.fixture
def collector():
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)


def test_full_collections_wait_young_ones_go_on_and_the_survivors_are_frozen(collector):
    gc.set_threshold(700, 10, 10)
    full, young = [], []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            (full if info["generation"] == 2 else young).append(info["generation"])

    kept = []
    gc.callbacks.append(seen)
    try:
        with bulk_decoding():
            assert gc.get_threshold() == (700, 10, 1 << 30)
            frozen_before = gc.get_freeze_count()
            for i in range(200_000):   # far past what triggers a full collection (700 × 10 × 10)
                kept.append([i])
        assert not full
        assert young
    finally:
        gc.callbacks.remove(seen)
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() >= frozen_before + len(kept)


def test_nested_uses_restore_the_thresholds_once_the_last_ends(collector):
    gc.set_threshold(500, 7, 9)
    with bulk_decoding():
        with bulk_decoding():
            pass
        assert gc.get_threshold() == (500, 7, 1 << 30)
    assert gc.get_threshold() == (500, 7, 9)


def test_a_disabled_collector_is_left_alone(collector):
    gc.disable()
    try:
        gc.set_threshold(500, 7, 9)
        with bulk_decoding():
            assert gc.get_threshold() == (500, 7, 9)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_cycle_frozen_by_an_open_is_freed_once_thawed(collector):
    class Node:
        pass

    collected = []
    with bulk_decoding():
        a, b = Node(), Node()
        a.other, b.other = b, a   # a cycle alive when the open ends: frozen
        ref = weakref.ref(a, collected.append)
    del a, b
    gc.collect()
    assert ref() is not None       # frozen: not looked at
    thaw()
    gc.collect()
    assert ref() is None and collected
