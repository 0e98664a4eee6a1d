"""The HTML report's content, read back from the document (the browser test renders it)."""

from __future__ import annotations

import base64
import io
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image
from report_support import Tags, example_report, example_review

from animus_prep import Policy, Report, preflight, render_html_report, write_html_report
from animus_prep.htmlreport.page import render_decisions
from animus_prep.pipeline.review import ReviewSummary
from animus_prep.pipeline.run import RunSummary
from animus_prep.pipeline.upload import UploadOutcome, UploadSummary
from photos import photo, scene, write

DATA_JPEG = "data:image/jpeg;base64,"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return example_report(tmp_path_factory.mktemp("html"))


@pytest.fixture(scope="module")
def review(report: Report) -> ReviewSummary:
    return example_review(report)


def test_every_file_has_a_card_with_its_verdict_and_every_reason(report: Report) -> None:
    tags = Tags(render_html_report(report))
    cards = [a for t, a in tags.tags if t == "figure" and "data-filter" in a]
    assert len(cards) == len(report.images) == 14
    for card, img in zip(
        sorted(cards, key=lambda a: a["id"] or ""),
        sorted(report.images, key=lambda i: f"photo-{report.images.index(i)}"),
        strict=True,
    ):
        assert card["data-verdict"] == ("accepted" if img.accepted else "rejected")
        assert (card["data-reasons"] or "").split() == list(dict.fromkeys(img.codes))
    html = render_html_report(report)
    # Each reason's measured value against its threshold, on its chip.
    blurry = report.image("face/ardern_blurry.jpg").reasons[0]
    assert blurry.score is not None and blurry.threshold is not None
    assert f"{blurry.score:.3g} vs {blurry.threshold:.3g}" in html
    # The reason filters count every code.
    for code, count in report.rejected_by_reason().items():
        assert f'data-reason-filter="{code}" aria-pressed="false">{code} <b>{count}</b>' in html


def test_faces_are_drawn_over_the_thumbnail_in_full_resolution_pixels(report: Report) -> None:
    img = report.image("face/with_a_friend.jpg")
    assert img.faces is not None and len(img.faces) == 2
    html = render_html_report(report)
    card = html[html.index('alt="face/with_a_friend.jpg"') :]
    card = card[: card.index("</svg>")]
    assert f'viewBox="0 0 {img.width} {img.height}"' in card
    rects = re.findall(r'<rect class="face (\w+)" x="([\d.]+)" y="([\d.]+)"', card)
    assert [r[0] for r in rects] == ["main", "other"]
    for (_, x, y), face in zip(rects, img.faces, strict=True):
        assert float(x) == pytest.approx(face.box[0], abs=0.06)
        assert float(y) == pytest.approx(face.box[1], abs=0.06)
    assert card.count("<circle") == 10  # five landmarks a face


def test_duplicate_groups_show_the_kept_copy_beside_its_copies(report: Report) -> None:
    html = render_html_report(report)
    section = html[html.index('id="duplicates"') :]
    groups = section.split('<div class="group"')[1:]
    kept_of = {img.duplicate_of for img in report.images if img.duplicate_of}
    assert len(groups) == len(kept_of) == 2
    first = groups[0]  # groups are ordered by the kept photo's name
    names = re.findall(r'<div class="name" title="[^"]*">([^<]*)</div>', first)
    copies = sorted(i.path for i in report.images if i.duplicate_of == "face/ardern.jpg")
    assert names == ["face/ardern.jpg", *copies]
    assert first.count("kept copy") == 1
    assert len(re.findall(r"copy, similarity [01]\.\d\d", first)) == len(copies)


def test_over_cap_photos_sit_beside_the_chosen_set(report: Report) -> None:
    # face cap 1: two face photos passed
    over = [i for i in report.images if i.codes == ("over_cap",)]
    assert len(over) == 1
    html = render_html_report(report)
    beside = html[html.index('<div class="beside">') :]
    assert beside.index("Chosen set (1)") < beside.index("Over the cap (1)")
    assert beside.index(f'alt="{over[0].path}"') > beside.index("Over the cap (1)")
    assert "within the server&#x27;s cap of 1" in beside


def test_the_page_needs_nothing_but_itself(report: Report) -> None:
    html = render_html_report(report)
    tags = Tags(html)
    csp = tags.find("meta", http_equiv="Content-Security-Policy")
    assert csp and "default-src 'none'" in (csp[0]["content"] or "")
    sources = [a.get("src") for t, a in tags.tags if "src" in a]
    assert sources and all((s or "").startswith(DATA_JPEG) for s in sources)
    links = [a.get("href") for t, a in tags.tags if "href" in a]
    assert all((h or "").startswith("#") for h in links)
    assert not tags.find("link") and "@import" not in html and "url(" not in html
    assert not [a for t, a in tags.tags if t == "script" and "src" in a]


def test_pictures_come_from_the_report_not_from_the_files(tmp_path: Path) -> None:
    report = example_report(tmp_path)
    shutil.rmtree(tmp_path / "character")  # nothing left to decode again
    html = render_html_report(report)
    uris = re.findall(r'src="(data:image/jpeg;base64,[^"]+)"', html)
    decoded = sum(1 for i in report.images if i.thumbnail is not None)
    groups = sum(1 for i in report.images if i.duplicate_of) + 2  # copies + kept ones
    assert len(uris) == decoded + groups
    for uri in uris:
        with Image.open(io.BytesIO(base64.b64decode(uri.removeprefix(DATA_JPEG)))) as im:
            assert im.format == "JPEG" and max(im.size) <= 192
    assert html.count("no picture") == len(report.images) - decoded


def test_odd_file_names_are_escaped_and_the_page_still_writes(tmp_path: Path) -> None:
    face = tmp_path / "c" / "face"
    write(face / "<b>bold</b> & 'q'.jpg", photo("astronaut", 700))
    odd = bytes(face) + b"/caf\xe9.jpg"
    with open(odd, "wb") as f:
        f.write((face / "<b>bold</b> & 'q'.jpg").read_bytes())
    report = preflight(tmp_path / "c")
    path = write_html_report(report, tmp_path / "r.html")
    html = path.read_text(encoding="utf-8")
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt; &amp; &#x27;q&#x27;" in html
    assert "caf\\udce9.jpg" in html
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".r.html")] == []


def test_a_name_with_a_direction_override_or_a_line_break_cannot_pass_for_another(
    tmp_path: Path,
) -> None:
    # Shown raw, U+202E makes "\u202eevil.jpg" read "gpj.live", and U+2028 breaks a line.
    face = tmp_path / "c" / "face"
    write(face / "\u202eevil.jpg", photo("astronaut", 700))
    write(face / "two\u2028lines\nhere.jpg", photo("astronaut", 600))
    html = write_html_report(preflight(tmp_path / "c"), tmp_path / "r.html").read_text("utf-8")
    assert "\u202e" not in html and "\u2028" not in html
    assert "face/\\u202eevil.jpg" in html and "two\\u2028lines\\nhere.jpg" in html


def test_a_report_that_cannot_be_written_names_its_own_path(tmp_path: Path) -> None:
    report = Report(str(tmp_path), Policy(), ())
    target = tmp_path / "no" / "such" / "report.html"
    with pytest.raises(FileNotFoundError) as info:
        write_html_report(report, target)
    assert info.value.filename == str(target) and str(target) in str(info.value)


def test_a_report_replaces_only_an_earlier_report_or_an_empty_file(tmp_path: Path) -> None:
    report = Report(str(tmp_path), Policy(), ())
    photo_file = tmp_path / "chloe.jpg"
    photo_file.write_bytes(b"\xff\xd8 a photo named by mistake")
    with pytest.raises(FileExistsError, match="never overwritten"):
        write_html_report(report, photo_file)
    assert photo_file.read_bytes() == b"\xff\xd8 a photo named by mistake"
    earlier = write_html_report(report, tmp_path / "r.html")
    assert write_html_report(report, earlier) == earlier  # an earlier report: replaced
    empty = tmp_path / "empty.html"
    empty.touch()
    assert write_html_report(report, empty).stat().st_size > 0
    write_html_report(report, photo_file, replace=True)  # asked for in so many words
    assert "<html" in photo_file.read_text(encoding="utf-8")


def test_a_sixty_photo_folder_makes_a_report_under_3_mb(tmp_path: Path) -> None:
    root = tmp_path / "sixty"
    names = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "cat")
    for n in range(60):
        kind = "face" if n < 20 else "body/front"
        picture = photo(names[n % len(names)], 700) if n % 2 else scene(n, (900, 700))
        write(root / kind / f"{n:02}.jpg", picture)
    report = preflight(root, policy=Policy(faces=False))
    size = len(render_html_report(report).encode("utf-8"))
    assert sum(1 for i in report.images if i.thumbnail is not None) == 60
    assert size < 3_000_000, size


def test_a_run_shows_the_character_the_credits_and_each_upload(
    report: Report, review: ReviewSummary
) -> None:
    uploads = [
        UploadOutcome("face/ardern.jpg", "face_image", "uploaded", asset_id="a-17"),
        UploadOutcome("body/front/ardern_studio.jpg", "body_image_front", "failed", error="503"),
    ]
    run = RunSummary(
        character_id="char-42",
        report=report,
        uploads=uploads,
        review=review,
        trainings={"face": "succeeded"},
        credits_spent=12.5,
    )
    html = render_html_report(run)
    assert "<dt>Character</dt><dd>char-42</dd>" in html
    assert "<dt>Credits spent</dt><dd>12.5 (by this run)</dd>" in html
    assert "uploaded (asset a-17)" in html and "upload failed: 503" in html
    assert "<dt>Uploads</dt><dd>1 uploaded, 0 already there, 1 failed</dd>" in html
    stopped = render_html_report(UploadSummary("char-42", report, uploads), stopped="no credit")
    assert "Stopped: no credit" in stopped and "Dataset renders" not in stopped


def test_renders_show_the_decision_taken_on_each(review: ReviewSummary) -> None:
    assert [v.ok for v in review.verdicts] == [True, False, False, True]
    assert render_decisions(review) == ["approved", "regenerated", "deleted", "approved"]
    html = render_html_report(review, character_id="char-7")
    tags = Tags(html)
    cards = [a for t, a in tags.tags if t == "figure" and "data-filter" in a]
    assert [c["data-verdict"] for c in cards] == ["approved", "approved", "regenerated", "deleted"]
    assert "identity_mismatch" in (cards[3]["data-reasons"] or "")
    assert "blurry" in (cards[2]["data-reasons"] or "")
    assert "version 2" in html and "<dd>char-7</dd>" in html
    # Renders show their faces like photos do.
    assert html.count('<rect class="face main"') == 4


def test_only_reports_and_summaries_make_a_page() -> None:
    with pytest.raises(TypeError, match="cannot make a report of str"):
        render_html_report("report.json")  # type: ignore[arg-type]
