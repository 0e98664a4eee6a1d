"""The policy's file format, and the curated public API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import animus_prep
from animus_prep.policy import Policy, PolicyError
from animus_prep.reasons import ReasonCode


def test_policy_files_in_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "p.toml"
    toml.write_text("[policy]\nmin_side = 640\nmax_edge_width = 2\n")
    p = Policy.from_file(toml)
    assert p.min_side == 640 and p.max_edge_width == 2.0 and isinstance(p.max_edge_width, float)
    js = tmp_path / "p.json"
    js.write_text(json.dumps({"face_cap": 10, "faces": False}))
    q = Policy.from_file(js)
    assert q.face_cap == 10 and q.faces is False and q.body_cap == 40


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"nope": 1}, "unknown policy setting"),
        ({"min_side": "big"}, "whole number"),
        ({"min_side": 1.5}, "whole number"),
        ({"faces": 1}, "true or false"),
        ({"min_side": 0}, "positive"),
        ({"identity_threshold": 2.0}, "identity_threshold"),
        ({"dark_p90": float("nan")}, "finite"),
        ({"max_edge_width": float("inf")}, "finite"),
        ({"max_edge_width": 0}, "positive"),
        ({"max_face_edge_width": -1.0}, "positive"),
        ({"face_crop_side": 0}, "positive"),
        ({"dark_p90": 10**400}, "too large"),
        ({"duplicate_hash_distance": 65}, "duplicate_hash_distance"),
        ({"duplicate_hash_distance": -1}, "duplicate_hash_distance"),
    ],
)
def test_bad_policy_values_are_refused(values: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        Policy().with_overrides(values)


def test_unparsable_policy_file(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("min_side = = 3")
    with pytest.raises(PolicyError, match="cannot parse"):
        Policy.from_file(bad)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("nan.toml", "dark_p90 = nan\n"),
        ("inf.json", '{"max_edge_width": Infinity}'),
        ("huge.json", '{"min_side": ' + "9" * 5000 + "}"),
        ("mixed.toml", "min_side = 1024\n[policy]\nface_cap = 10\n"),
    ],
)
def test_policy_files_that_cannot_be_used_are_refused_clearly(
    tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(PolicyError) as info:
        Policy.from_file(path)
    assert str(path) in str(info.value) or "finite" in str(info.value)


def test_reason_codes_are_the_published_contract() -> None:
    assert {c.value for c in ReasonCode} >= {
        "unreadable",
        "unsupported_format",
        "too_large",
        "too_small",
        "blurry",
        "too_dark",
        "too_bright",
        "duplicate",
        "over_cap",
        "no_face",
        "multiple_faces",
        "face_too_small",
        "identity_mismatch",
    }


def test_all_matches_the_real_public_names() -> None:
    # Names load lazily: each one in __all__ resolves, dir() lists them, nothing else is
    # public, and an unknown name is an AttributeError like on any module.
    assert set(animus_prep.__all__) <= set(dir(animus_prep))
    listed = {n for n in dir(animus_prep) if not n.startswith("_")}
    submodules = {n for n in listed if isinstance(getattr(animus_prep, n), type(animus_prep))}
    assert listed - submodules == set(animus_prep.__all__) - {"__version__"}
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = animus_prep.no_such_name  # type: ignore[attr-defined]
    for name in animus_prep.__all__:
        assert getattr(animus_prep, name) is not None
        doc = getattr(getattr(animus_prep, name), "__doc__", None)
        if callable(getattr(animus_prep, name)):
            assert doc, f"{name} has no docstring"


def test_an_image_that_breaks_a_measurement_is_a_verdict_from_file_or_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import animus_prep.inspection.analysis as analysis
    from animus_prep.inspection.discover import Candidate
    from photos import encode, photo

    data = encode(photo("astronaut", 600), "JPEG")
    path = tmp_path / "odd.jpg"
    path.write_bytes(data)

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("an image this odd")

    monkeypatch.setattr(analysis, "measure", broken)
    cand = Candidate(path, "odd.jpg", "face", "face_image")
    for a in (
        analysis.analyze(cand, Policy(faces=False)),
        analysis.analyze_bytes(data, "odd.jpg", Policy(faces=False)),
    ):
        (reason,) = a.reasons()
        assert reason.code is ReasonCode.UNREADABLE
        assert "could not be analysed" in reason.message
        assert a.width == 600 and a.sha256
