"""The HTML report in a real browser: headless Chromium opens it from disk, offline.

Skipped, with the reason, on a machine without Chromium (`apt-get install chromium`;
`.ci/run` installs it). Set ANIMUS_PREP_CHROMIUM to use another binary, and
ANIMUS_PREP_ARTIFACTS to a folder to keep the screenshot there (the README's picture is
made that way: ``ANIMUS_PREP_ARTIFACTS=docs pytest tests/htmlreport/test_browser.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from headless_chromium import Chromium, find_chromium
from PIL import Image
from report_support import example_report, example_review

from animus_prep import Report, write_html_report
from animus_prep.pipeline.run import RunSummary
from animus_prep.pipeline.upload import UploadOutcome

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (apt-get install chromium, or set ANIMUS_PREP_CHROMIUM)",
)

VISIBLE_CARDS = (
    "[...document.querySelectorAll('figure.card[data-filter]')].filter(e => e.offsetParent)"
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return example_report(tmp_path_factory.mktemp("browser"), absolute_root=False)


@pytest.fixture(scope="module")
def page_file(report: Report, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = RunSummary(
        character_id="char-0042",
        report=report,
        uploads=[
            UploadOutcome(i.path, i.image_type or "", "uploaded", asset_id=f"asset-{n}")
            for n, i in enumerate(report.accepted)
        ],
        review=example_review(report),
        trainings={"face": "succeeded", "body": "succeeded"},
        generation_ready=True,
        credits_spent=21.5,
    )
    return write_html_report(run, tmp_path_factory.mktemp("page") / "report.html")


@contextlib.contextmanager
def opened(page: Path) -> Iterator[Chromium]:
    """Headless Chromium showing ``page`` in a 1280x900 window."""
    assert CHROMIUM is not None
    with Chromium(CHROMIUM) as chromium:
        chromium.page(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )
        chromium.open(page.as_uri())
        yield chromium


@pytest.fixture
def browser(page_file: Path) -> Iterator[Chromium]:
    with opened(page_file) as chromium:
        yield chromium


def _visible(browser: Chromium) -> list[str]:
    return browser.evaluate(f"{VISIBLE_CARDS}.map(e => e.querySelector('.name').textContent)")


def _click(browser: Chromium, selector: str) -> None:
    browser.evaluate(f"document.querySelector({json.dumps(selector)}).click()")


def test_every_picture_is_shown_with_its_badge(browser: Chromium, report: Report) -> None:
    renders = 4
    total = len(report.images) + renders
    assert browser.evaluate("document.querySelectorAll('figure.card[data-filter]').length") == total
    assert len(_visible(browser)) == total
    badges = browser.evaluate(
        "[...document.querySelectorAll('figure.card[data-filter] .badge')].map(b => b.textContent)"
    )
    assert badges.count("accepted") == len(report.accepted)
    assert badges.count("rejected") == len(report.rejected)
    assert badges.count("approved") == 2 and badges.count("deleted") == 1
    assert badges.count("kept copy") == 2
    # Every picture decoded and drawn: a data URI that failed would have no width.
    images = browser.evaluate(
        "[...document.images]"
        ".map(i => [i.complete, i.naturalWidth, i.getBoundingClientRect().width])"
    )
    with_pictures = sum(1 for i in report.images if i.thumbnail is not None) + renders
    copies = sum(1 for i in report.images if i.duplicate_of) + 2
    assert len(images) == with_pictures + copies
    assert all(done and natural > 0 and shown > 0 for done, natural, shown in images)
    assert browser.evaluate("document.getElementById('shown').textContent") == (
        f"Showing {total} of {total}"
    )


def test_face_boxes_land_on_the_faces(browser: Chromium, report: Report) -> None:
    img = report.image("face/with_a_friend.jpg")
    assert img.faces and img.width and img.height
    boxes: list[dict[str, Any]] = browser.evaluate(
        """(() => {
          const card = document.querySelector('figure.card img[alt="face/with_a_friend.jpg"]');
          const pic = card.getBoundingClientRect();
          return [...card.parentElement.querySelectorAll('rect.face')].map(r => {
            const b = r.getBoundingClientRect();
            return {x: (b.x - pic.x) / pic.width, y: (b.y - pic.y) / pic.height,
                    w: b.width / pic.width, h: b.height / pic.height};
          });
        })()"""
    )
    assert len(boxes) == len(img.faces) == 2
    for box, face in zip(boxes, img.faces, strict=True):
        x, y, w, h = face.box
        # Where the box is drawn, as a share of the thumbnail, is where the face is in
        # the full-resolution photo (within a pixel and a half of the thumbnail).
        assert box["x"] == pytest.approx(x / img.width, abs=0.01)
        assert box["y"] == pytest.approx(y / img.height, abs=0.01)
        assert box["w"] == pytest.approx(w / img.width, abs=0.01)
        assert box["h"] == pytest.approx(h / img.height, abs=0.01)


def test_filters_by_verdict_and_reason(browser: Chromium, report: Report) -> None:
    total = len(report.images) + 4
    _click(browser, '[data-verdict-filter="rejected"]')
    assert sorted(_visible(browser)) == sorted(i.path for i in report.rejected)
    assert browser.evaluate("document.getElementById('shown').textContent") == (
        f"Showing {len(report.rejected)} of {total}"
    )
    # The body photo's sheet had nothing rejected: it is hidden whole.
    assert browser.evaluate("document.getElementById('sheet-body-front').hidden") is True

    _click(browser, '[data-verdict-filter="all"]')
    _click(browser, '[data-reason-filter="duplicate"]')
    duplicates = sorted(i.path for i in report.images if "duplicate" in i.codes)
    assert sorted(_visible(browser)) == duplicates
    _click(browser, '[data-reason-filter="identity_mismatch"]')  # any of the two
    mismatched = ["face/obama.jpg", "render_3.jpg"]
    assert sorted(_visible(browser)) == sorted(duplicates + mismatched)
    groups = browser.evaluate(
        "[...document.querySelectorAll('.group')].filter(g => !g.hidden).length"
    )
    assert groups == 2

    _click(browser, '[data-verdict-filter="deleted"]')
    assert _visible(browser) == ["render_3.jpg"]
    _click(browser, "[data-clear-filters]")
    assert len(_visible(browser)) == total
    assert browser.evaluate("document.getElementById('nothing').hidden") is True


def test_nothing_but_the_page_and_its_data_is_requested(browser: Chromium, page_file: Path) -> None:
    requested = [
        e["params"]["request"]["url"]
        for e in browser.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert requested[0] == page_file.as_uri()
    assert all(url.startswith("data:image/jpeg;base64,") for url in requested[1:])
    assert len(requested) > 1
    failed = [e for e in browser.events if e.get("method") == "Network.loadingFailed"]
    errors = [
        e
        for e in browser.events
        if e.get("method") == "Runtime.exceptionThrown"
        or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
    ]
    assert failed == [] and errors == []  # a CSP violation would be logged as an error


def test_a_screenshot_of_the_report(browser: Chromium, tmp_path: Path) -> None:
    shot = browser.screenshot(tmp_path / "report.png", 1280, 1280)
    with Image.open(shot) as im:
        assert im.size == (1280, 1280)
        # The page is drawn: many colours, not a blank or error page.
        assert len(im.convert("RGB").getcolors(1 << 20) or ()) > 1000
    artifacts = os.environ.get("ANIMUS_PREP_ARTIFACTS")
    if artifacts:
        target = Path(artifacts) / "report-screenshot.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(shot) as im:  # 256 colours: small enough to keep in the repository
            im.convert("RGB").quantize(256).save(target, optimize=True)
    else:
        shutil.copy(shot, tmp_path / "report-screenshot.png")


def test_long_render_ids_and_names_stay_inside_their_cards(report: Report, tmp_path: Path) -> None:
    # The server's ids are long unbroken strings; they wrap rather than run off the card.
    review = example_review(report)
    long_id = "img_" + "0391de467bcc41f9909f869b" * 3
    review.verdicts = [
        dataclasses.replace(v, image_id=f"{long_id}{n}", filename=f"{long_id}{n}.jpg")
        for n, v in enumerate(review.verdicts)
    ]
    page = write_html_report(review, tmp_path / "review.html")
    with opened(page) as chromium:
        shown = chromium.evaluate(
            "[...document.querySelectorAll('figure.card')].map(card => card.textContent)"
        )
        overflowing = chromium.evaluate(
            "[...document.querySelectorAll('figure.card *')]"
            ".filter(e => e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0)"
            ".map(e => e.className || e.tagName)"
        )
    assert any(long_id in text for text in shown)
    assert overflowing == []
