"""Which dataset renders carry a defect, decided reproducibly from the sandbox seed."""

from __future__ import annotations

import random
from enum import StrEnum


class Defect(StrEnum):
    """A flaw a reviewer of dataset renders is expected to catch."""

    BLUR = "blur"
    NO_FACE = "no_face"
    STRANGER = "stranger"
    NEAR_COPY = "near_copy"
    TINY = "tiny"
    CORRUPT = "corrupt"
    DUPLICATE = "duplicate"


def plan_batch(n: int, rate: float, rng: random.Random) -> list[Defect | None]:
    """Defects for a batch of `n` renders: exactly `round(rate * n)` of them are flawed.

    An exact count (rather than a coin flip per render) keeps the share stable on the
    small batches a dataset has. Kinds rotate so every kind appears once the batch is
    large enough; a duplicate needs a clean render to copy, so it is only planned when
    one exists.
    """
    count = min(n, round(rate * n))
    flawed = set(rng.sample(range(n), count))
    kinds = list(Defect)
    rng.shuffle(kinds)
    plan: list[Defect | None] = [None] * n
    clean_left = n - count
    for i, idx in enumerate(sorted(flawed)):
        kind = kinds[i % len(kinds)]
        if kind is Defect.DUPLICATE and clean_left == 0:
            kind = Defect.BLUR
        plan[idx] = kind
    return plan


def pick_single(rate: float, rng: random.Random) -> Defect | None:
    """Defect for one regenerated render: flawed with probability `rate`."""
    if rng.random() >= rate:
        return None
    return rng.choice([d for d in Defect if d is not Defect.DUPLICATE])
