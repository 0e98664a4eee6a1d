"""Reports to look at: the bundled example character, judged for real, with renders."""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

from animus_prep import Policy, Report, preflight
from animus_prep.pipeline.review import ReviewSummary, judge_renders
from animus_prep.sandbox.defects import Defect
from animus_prep.sandbox.renders import dataset_render, load_reference

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "character"


def example_report(
    tmp_path: Path, policy: Policy | None = None, absolute_root: bool = True
) -> Report:
    """The pre-flight of a private copy of the example character (face cap 1 by default,
    so one photo that passed is over the cap); its root is the copy's absolute path, or
    just ``character`` when not `absolute_root` (for pictures of the page)."""
    root = tmp_path / "character"
    if not root.exists():
        shutil.copytree(EXAMPLES, root)
    with contextlib.chdir(tmp_path):  # a short root in the report: "character"
        report = preflight("character", policy=policy or Policy(face_cap=1))
    return replace(report, root=str(root)) if absolute_root else report


def example_review(report: Report) -> ReviewSummary:
    """A review of sandbox renders judged for real against the report's accepted face
    photos: one approved, one blurred (regenerated, then approved in its second version)
    and one of a stranger (deleted when its budget ran out)."""
    refs = [load_reference(EXAMPLES / "face" / "ardern.jpg")]
    references = [i for i in report.accepted if i.kind == "face"]
    policy = report.policy
    first = judge_renders(
        [
            ("r-1", "render_1.jpg", dataset_render(refs, 11)),
            ("r-2", "render_2.jpg", dataset_render(refs, 12, Defect.BLUR)),
            ("r-3", "render_3.jpg", dataset_render(refs, 13, Defect.STRANGER)),
        ],
        references,
        policy,
    )
    second = judge_renders(
        [("r-2", "render_2.jpg", dataset_render(refs, 14))], references, policy, first[:1]
    )
    return ReviewSummary(
        approved=["r-1", "r-2"],
        regenerated=["r-2", "r-3"],
        deleted=["r-3"],
        verdicts=[*first, *second],
        dataset_approved=True,
    )


class Tags(HTMLParser):
    """Every start tag of a document with its attributes, in order."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a
            for t, a in self.tags
            if t == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]
