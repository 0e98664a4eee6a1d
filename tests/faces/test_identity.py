"""Who the character is, from the faces of a set: `judge_identity` on embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from animus_prep.faces.identity import (
    SAME_PERSON_COSINE,
    IdentityVerdict,
    cosine,
    judge_identity,
    same_person_groups,
)


def people(*sizes: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Embeddings of ``sizes[k]`` photos of person k: each person a random direction in
    128-d (strangers' cosines near 0), each photo of them near it (cosines about 0.8)."""
    rng = np.random.default_rng(seed)
    out = {}
    for who, size in enumerate(sizes):
        centre = rng.normal(size=128)
        centre /= np.linalg.norm(centre)
        for k in range(size):
            v = centre + rng.normal(size=128) * 0.05
            out[f"p{who}_{k}"] = (v / np.linalg.norm(v)).astype(np.float32)
    return out


def judged(*sizes: int) -> IdentityVerdict:
    return judge_identity(people(*sizes), SAME_PERSON_COSINE, min_faces=3)


def test_the_groups_are_the_people_largest_first() -> None:
    faces = people(2, 4, 1)
    groups = same_person_groups(np.stack(list(faces.values())), SAME_PERSON_COSINE)
    names = [sorted(list(faces)[i] for i in g) for g in groups]
    assert names == [[f"p1_{k}" for k in range(4)], ["p0_0", "p0_1"], ["p2_0"]]


@pytest.mark.parametrize("sizes", [(3, 2), (4, 1, 1, 1), (3, 1, 1, 1, 1), (5, 2, 2, 1)])
def test_a_majority_or_a_clear_lead_is_the_character(sizes: tuple[int, ...]) -> None:
    verdict = judged(*sizes)
    assert verdict.source == "dominant" and verdict.target is not None
    faces = people(*sizes)
    mine = [k for k, e in faces.items() if cosine(e, verdict.target) >= SAME_PERSON_COSINE]
    assert sorted(mine) == [f"p0_{k}" for k in range(sizes[0])]


@pytest.mark.parametrize(
    ("sizes", "shown"),
    [
        ((1, 1, 1, 1, 1, 1), "6 different people, each in one photo"),
        ((3, 3), "2 people, none of them in more than 3 photos"),
        ((2, 1, 1), "3 people, none of them in more than 2 photos"),
        ((4, 3, 2), "3 people, none of them in more than 4 photos"),
    ],
)
def test_several_people_with_none_ahead_are_unclear(sizes: tuple[int, ...], shown: str) -> None:
    verdict = judged(*sizes)
    assert verdict.source == "unclear" and verdict.target is None
    assert verdict.note == (
        f"the {sum(sizes)} photos that can tell who the character is show {shown}: keep "
        "one person's photos, or name the character with --reference"
    )


def test_too_few_photos_say_how_many_people_they_show() -> None:
    assert judged(1, 1).note == (
        "identity not checked: 2 photos with a usable face, and they look like 2 different "
        "people; 3 needed to tell who the character is (or give reference photos)"
    )
    alike = judged(2)
    assert alike.source == "none" and alike.note == (
        "identity not checked: 2 photos with a usable face; 3 needed to tell who the "
        "character is (or give reference photos)"
    )
    assert "0 photos with a usable face;" in (judged().note or "")


def test_a_face_alike_to_two_people_does_not_make_them_one() -> None:
    # A blurred or blended photo can reach the threshold against both people; the two
    # stay apart. The bridge joins one of them, which is then the majority: the identity
    # is that person's, not a blend that would let both pass.
    faces = people(3, 3, seed=4)
    a = np.mean([v for k, v in faces.items() if k.startswith("p0")], axis=0)
    b = np.mean([v for k, v in faces.items() if k.startswith("p1")], axis=0)
    bridge = a / np.linalg.norm(a) + b / np.linalg.norm(b)
    faces["bridge"] = (bridge / np.linalg.norm(bridge)).astype(np.float32)
    assert all(cosine(faces["bridge"], v) >= SAME_PERSON_COSINE for v in faces.values())
    groups = same_person_groups(np.stack(list(faces.values())), SAME_PERSON_COSINE)
    assert sorted(len(g) for g in groups) == [3, 4]
    verdict = judge_identity(faces, SAME_PERSON_COSINE, min_faces=3)
    assert verdict.target is not None
    scores = {k: cosine(v, verdict.target) for k, v in faces.items()}
    passed = {k[:2] for k, s in scores.items() if s >= SAME_PERSON_COSINE and k != "bridge"}
    assert len(passed) == 1  # one person's photos pass, the other's do not
