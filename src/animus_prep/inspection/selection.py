"""Choosing the best set within the server's cap: quality first, then variety.

Greedy selection: the best image opens the set; each next pick maximises its quality plus
its distance to the closest image already chosen (up to a distance where photos are
simply different), so ten near-identical selfies do not crowd out the one
profile shot. Body photos also favour views not yet represented.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_VARIETY_WEIGHT = 0.6
# Beyond this distance two photos are simply different: more distance earns no more, so
# among different photos quality decides and variety only counts against near-copies.
_DISTINCT = 0.6
_NEW_VIEW_BONUS = 0.5


def select_within_cap(
    quality: Sequence[float],
    vectors: Sequence[np.ndarray],
    cap: int,
    groups: Sequence[str] | None = None,
) -> list[int]:
    """Indices of at most `cap` items, in the order they were chosen."""
    n = len(quality)
    if n <= cap:
        return list(range(n))
    if cap <= 0:
        return []
    q = np.asarray(quality, dtype=np.float64)
    v = np.stack([np.asarray(x, dtype=np.float64) for x in vectors])
    chosen: list[int] = [int(np.argmax(q))]
    closest = np.linalg.norm(v - v[chosen[0]], axis=1)
    seen = {groups[chosen[0]]} if groups is not None else set()
    while len(chosen) < cap:
        score = q + _VARIETY_WEIGHT * np.minimum(closest, _DISTINCT)
        if groups is not None:
            score = score + np.array([_NEW_VIEW_BONUS if g not in seen else 0.0 for g in groups])
        score[chosen] = -np.inf
        pick = int(np.argmax(score))
        chosen.append(pick)
        if groups is not None:
            seen.add(groups[pick])
        closest = np.minimum(closest, np.linalg.norm(v - v[pick], axis=1))
    return chosen
