"""Choosing within the cap: best first, then variety; body views are represented."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from animus_prep.inspection.selection import select_within_cap


def unit(v: list[float]) -> np.ndarray:
    a = np.array(v, dtype=np.float64)
    return a / np.linalg.norm(a)


def test_everything_is_kept_under_the_cap() -> None:
    assert select_within_cap([0.1, 0.2], [unit([1, 0]), unit([0, 1])], 5) == [0, 1]


def test_the_best_image_opens_the_set() -> None:
    vecs = [unit([1, 0]), unit([0, 1]), unit([1, 1])]
    assert select_within_cap([0.2, 0.9, 0.5], vecs, 2)[0] == 1


def test_variety_beats_a_slightly_better_near_copy() -> None:
    # Three nearly identical selfies and one different shot; cap 2.
    same = [unit([1, 0.01 * i, 0]) for i in range(3)]
    vecs = [*same, unit([0, 0, 1])]
    chosen = select_within_cap([0.90, 0.89, 0.88, 0.80], vecs, 2)
    assert set(chosen) == {0, 3}


def test_body_views_not_yet_represented_are_preferred() -> None:
    vecs = [unit([1, 0.1 * i]) for i in range(4)]
    groups = ["front", "front", "front", "back"]
    chosen = select_within_cap([0.9, 0.9, 0.9, 0.5], vecs, 2, groups=groups)
    assert 3 in chosen


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=30),
    cap=st.integers(min_value=0, max_value=30),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_selection_laws(n: int, cap: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    q = rng.random(n).tolist()
    vecs = [unit(list(rng.normal(size=4))) for _ in range(n)]
    chosen = select_within_cap(q, vecs, cap)
    assert len(chosen) == min(n, cap)
    assert len(set(chosen)) == len(chosen)
    assert all(0 <= i < n for i in chosen)
    if chosen and n > cap:
        assert chosen[0] == int(np.argmax(q))
