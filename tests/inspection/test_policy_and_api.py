"""The policy's file format, and the curated public API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import animus_prep
from animus_prep.inspection.batch import check_batch
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


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"face_crop_margin": -5}, "face_crop_margin must not be negative"),
        ({"face_min_score": 7}, r"face_min_score must be in \[0, 1\]"),
        ({"second_face_min_score": -0.1}, "second_face_min_score"),
        ({"duplicate_min_similarity": -5}, "duplicate_min_similarity"),
        ({"second_face_min_ratio": -1}, "second_face_min_ratio"),
        ({"identity_min_faces": -3}, "identity_min_faces must be positive"),
        ({"dark_p90": 250, "bright_p10": 10}, "too dark and too bright"),
        ({"bright_p10": 300}, r"bright_p10 must be in \[0, 255\]"),
        ({"server_min_sharpness": -1}, "server_min_sharpness"),
        ({"min_side": 768.5}, "min_side must be a whole number"),
        ({"min_side": "768"}, "min_side must be a whole number"),
        ({"face_cap": 2.5}, "face_cap must be a whole number"),
        ({"faces": "no"}, "faces must be true or false"),
        ({"max_edge_width": "2"}, "max_edge_width must be a number"),
        ({"max_edge_width": True}, "max_edge_width must be a number"),
    ],
)
def test_the_constructor_refuses_what_a_policy_file_would(
    values: dict[str, object], message: str
) -> None:
    # A library caller's Policy(...) gets the same checks as a policy file: a value of the
    # wrong type or out of range is a PolicyError, never a silently changed verdict.
    with pytest.raises(PolicyError, match=message):
        Policy(**values)  # type: ignore[arg-type]


def test_a_whole_number_for_a_decimal_setting_is_kept_as_a_float() -> None:
    p = Policy(max_edge_width=2, dark_p90=0, bright_p10=255)
    assert p.max_edge_width == 2.0 and isinstance(p.max_edge_width, float)
    assert isinstance(p.dark_p90, float) and isinstance(p.bright_p10, float)


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


def test_the_public_classes_document_their_public_methods() -> None:
    undocumented = []
    for name in animus_prep.__all__:
        cls = getattr(animus_prep, name)
        if not isinstance(cls, type) or not cls.__module__.startswith("animus_prep"):
            continue
        for attr, value in vars(cls).items():
            func = value.fget if isinstance(value, property) else value
            func = getattr(func, "__func__", func)  # static and class methods
            if attr.startswith("_") or isinstance(func, type) or not callable(func):
                continue
            if not func.__doc__:
                undocumented.append(f"{name}.{attr}")
    assert undocumented == []


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


def test_a_policy_that_is_not_a_policy_is_named(tmp_path: Path) -> None:
    (tmp_path / "face").mkdir()
    with pytest.raises(TypeError, match=r"got dict: make one with Policy\(\)\.with_overrides"):
        animus_prep.preflight(tmp_path, policy={"min_side": 768})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got dict"):
        list(check_batch(tmp_path, policy={"min_side": 768}))  # type: ignore[arg-type]
    # A policy given where the kind goes is named by its type, not a page of its repr.
    with pytest.raises(animus_prep.LayoutError, match=r"^unknown kind of type Policy: use face"):
        animus_prep.preflight(tmp_path, Policy())  # type: ignore[arg-type]


def test_every_client_error_is_public_at_the_top_level() -> None:
    # The README and Client's docstring name these errors; a caller catches them from
    # `animus_prep` without knowing the client's module layout.
    import animus_prep.client as client

    errors = {
        name
        for name in client.__all__
        if isinstance(getattr(client, name), type)
        and issubclass(getattr(client, name), animus_prep.AnimusError)
    }
    assert {"ResponseTooLargeError", "APIResponseValidationError"} <= errors
    assert errors <= set(animus_prep.__all__), errors - set(animus_prep.__all__)


def test_every_image_in_the_json_report_carries_every_key() -> None:
    # Consumers index img["faces"] and img["identity_score"]: present on every image,
    # null when faces were not looked for (an unreadable file, faces off).
    examples = Path(__file__).resolve().parents[2] / "examples" / "character"
    for policy in (Policy(), Policy(faces=False)):
        images = animus_prep.preflight(examples, policy=policy).to_json()["images"]
        keys = {frozenset(img) for img in images}
        assert len(keys) == 1 and {"faces", "identity_score"} <= next(iter(keys))
    by_path = {img["path"]: img for img in images}
    assert by_path["notes.txt"]["faces"] is None
    assert all(img["faces"] is None for img in images)  # faces off
