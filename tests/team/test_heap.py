"""The collector during a team's open and first read (mano_core/heap.py): full collections
wait, young ones go on, what is alive at the end is frozen, the thresholds come back."""

from __future__ import annotations

import gc
import weakref

import pytest

from mano_core.heap import (
    YOUNG_DURING_DELIVERY,
    bulk_decoding,
    collect_full,
    copy_alive,
    full_collection_due,
    full_collections_deferred,
    one_delivery,
    thaw,
)


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


def test_a_delivery_postpones_young_collections_and_a_cycle_made_then_is_freed_after(collector):
    """A delivery's objects all live until its commit: no young collection walks them mid-way;
    the threshold comes back (also when the delivery fails), and a cycle that became garbage
    during it is freed by the collections after."""
    gc.set_threshold(700, 10, 10)
    young = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            young.append(info["generation"])

    class Node:
        pass

    collected = []
    gc.collect()
    gc.callbacks.append(seen)
    try:
        with pytest.raises(RuntimeError):
            with one_delivery():
                assert gc.get_threshold() == (YOUNG_DURING_DELIVERY, 10, 10)
                kept = [[i] for i in range(YOUNG_DURING_DELIVERY // 2)]  # a delivery's objects
                a, b = Node(), Node()
                a.other, b.other = b, a
                weakref.finalize(a, collected.append, "freed")
                del a, b
                assert not young
                raise RuntimeError("the delivery failed")
    finally:
        gc.callbacks.remove(seen)
    assert gc.get_threshold() == (700, 10, 10)
    del kept
    gc.collect()
    assert collected == ["freed"]


def test_a_delivery_during_an_open_each_restores_only_its_own_generation(collector):
    """An open's first read (generation 2 postponed) and a catch-up's deliveries (generation 0)
    overlap in any order: whichever ends first leaves the other's threshold alone."""
    gc.set_threshold(500, 7, 9)
    opening, delivering = bulk_decoding(), one_delivery()
    opening.__enter__()
    delivering.__enter__()
    assert gc.get_threshold() == (YOUNG_DURING_DELIVERY, 7, 1 << 30)
    opening.__exit__(None, None, None)
    assert gc.get_threshold() == (YOUNG_DURING_DELIVERY, 7, 9)
    delivering.__exit__(None, None, None)
    assert gc.get_threshold() == (500, 7, 9)
    with one_delivery():
        with bulk_decoding():
            with one_delivery():
                pass
            assert gc.get_threshold() == (YOUNG_DURING_DELIVERY, 7, 1 << 30)
        assert gc.get_threshold() == (YOUNG_DURING_DELIVERY, 7, 9)
    assert gc.get_threshold() == (500, 7, 9)


def test_a_copy_inside_a_delivery_raises_the_young_threshold_and_each_end_restores_it(collector):
    """A statistics computation's copy (``copy_alive``: no collection until it is dropped) and a
    delivery (young collections every ``YOUNG_DURING_DELIVERY``) overlap in any order: each
    gets at least what it asked for, and the threshold comes back once both have ended."""
    gc.set_threshold(500, 7, 9)
    with one_delivery():
        with copy_alive():
            assert gc.get_threshold()[0] > YOUNG_DURING_DELIVERY * 1000
        assert gc.get_threshold()[0] > YOUNG_DURING_DELIVERY   # held until the delivery ends
    assert gc.get_threshold() == (500, 7, 9)
    with copy_alive():
        with one_delivery():
            pass
        assert gc.get_threshold()[0] > YOUNG_DURING_DELIVERY * 1000
    assert gc.get_threshold() == (500, 7, 9)


class _Node:
    pass


def _garbage_cycle_in_the_old_generation(collected: list[str]) -> None:
    """A reference cycle that survived into generation 2, then became garbage: only a full
    collection frees it."""
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    weakref.finalize(a, collected.append, "freed")
    gc.collect(1)   # survivors of the young generations move to generation 2
    del a, b


def test_deferred_full_collections_run_only_when_asked_and_free_what_they_did(collector):
    """While full collections are deferred (the app runs), CPython starts none of its own,
    however much survives; once its own rule would have run one, ``full_collection_due`` says
    so and ``collect_full`` runs it, freeing the cycles that became garbage meanwhile."""
    gc.set_threshold(700, 10, 10)
    gc.collect()
    full: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(2)

    collected: list[str] = []
    gc.callbacks.append(seen)
    try:
        with full_collections_deferred():
            assert not full_collection_due()   # the first check counts generation 2
            _garbage_cycle_in_the_old_generation(collected)
            kept = [[i] for i in range(200_000)]   # far past CPython's full-collection point
            assert not full and not collected
            assert full_collection_due()
            collect_full()
            assert full == [2] and collected == ["freed"]
            assert not full_collection_due()        # (counts generation 2 again)
            assert not full_collection_due()        # nothing grew since
            del kept
    finally:
        gc.callbacks.remove(seen)
    assert gc.get_threshold() == (700, 10, 10)


def test_no_full_collection_is_due_while_an_open_a_delivery_or_a_copy_is_under_way(collector):
    """A full collection then would walk every record read so far (an open, before its
    freeze), a delivery's parses, a statistics copy: it is due again once they end."""
    gc.set_threshold(700, 10, 10)
    gc.collect()
    with full_collections_deferred():
        assert not full_collection_due()
        kept = [[i] for i in range(200_000)]
        for block in (one_delivery, copy_alive, bulk_decoding):
            assert full_collection_due(), block.__name__
            with block():
                assert not full_collection_due(), block.__name__
        del kept


def test_an_open_while_deferred_still_freezes_and_a_thaw_still_thaws(collector):
    gc.set_threshold(700, 10, 10)
    collected: list[str] = []
    with full_collections_deferred():
        with bulk_decoding():
            a, b = _Node(), _Node()
            a.other, b.other = b, a
            weakref.finalize(a, collected.append, "freed")
        assert gc.get_threshold() == (700, 10, 1 << 30)   # still deferred
        del a, b
        collect_full()
        assert not collected       # frozen by the open: not looked at
        thaw()
        collect_full()
        assert collected == ["freed"]
    assert gc.get_threshold() == (700, 10, 10)


def test_deferral_and_an_open_overlapping_in_any_order_restore_the_threshold(collector):
    gc.set_threshold(500, 7, 9)
    deferred, opening = full_collections_deferred(), bulk_decoding()
    deferred.__enter__()
    opening.__enter__()
    deferred.__exit__(None, None, None)
    assert gc.get_threshold() == (500, 7, 1 << 30)   # the open still holds it
    opening.__exit__(None, None, None)
    assert gc.get_threshold() == (500, 7, 9)
    with bulk_decoding():
        with full_collections_deferred():
            pass
        assert gc.get_threshold() == (500, 7, 1 << 30)
    assert gc.get_threshold() == (500, 7, 9)
