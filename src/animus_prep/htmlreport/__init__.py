"""A self-contained HTML report of a pre-flight, an upload, a run or a render review.

One file, with its thumbnails, styles and filter script inline: it makes no request,
opens from disk and reads the same offline. It shows a summary (counts by verdict and
reason, caps, the policy; for a run the character and the credits spent), a contact
sheet per kind of picture with a verdict badge and the reasons (each measured value
against its threshold) on every thumbnail, faces drawn over their photos, duplicate
groups with the kept copy marked, the over-cap photos beside the chosen set, and the
decision on every render.

    report = animus_prep.preflight("chloe/")
    animus_prep.write_html_report(report, "chloe.html")
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from ..inspection.discover import carries_report_mark
from .page import Subject, build_page
from .render import render_page


def render_html_report(
    subject: Subject,
    *,
    title: str | None = None,
    character_id: str | None = None,
    policy_origins: Mapping[str, str] | None = None,
    stopped: str | None = None,
    generated: datetime | None = None,
) -> str:
    """The HTML report of ``subject``: a pre-flight `Report`, an `UploadSummary`, a
    `RunSummary` or a `ReviewSummary`.

    ``character_id`` names the character when the subject does not (a review);
    ``policy_origins`` says where each policy value came from (`EffectivePolicy.origins`);
    ``stopped`` is why a run stopped early; ``generated`` defaults to now.
    """
    from .. import __version__

    page = build_page(
        subject,
        title=title,
        character_id=character_id,
        policy_origins=policy_origins,
        stopped=stopped,
    )
    return render_page(page, generated=generated or datetime.now(UTC), version=__version__)


def write_html_report(
    subject: Subject,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    character_id: str | None = None,
    policy_origins: Mapping[str, str] | None = None,
    stopped: str | None = None,
    generated: datetime | None = None,
    replace: bool = False,
) -> Path:
    """Write the report of `render_html_report` to ``path`` (replaced whole, never left
    half-written) and return the path.

    An existing file there is replaced only when it is an earlier report of animus-prep
    or empty (`replaceable`), or with ``replace``: a photo or a page of your own named
    by mistake raises FileExistsError and is kept. Raises OSError when the report cannot
    be written.
    """
    target = Path(path)
    if not replace and target.exists() and not replaceable(target):
        raise FileExistsError(
            f"{target} exists and is not an HTML report of animus-prep: it is never "
            "overwritten (a photo or a page of your own named by mistake would be lost)"
        )
    text = render_html_report(
        subject,
        title=title,
        character_id=character_id,
        policy_origins=policy_origins,
        stopped=stopped,
        generated=generated,
    )
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    except OSError as exc:
        # The temporary file's own name would only puzzle: name the report's.
        raise type(exc)(exc.errno, exc.strerror, str(target)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def replaceable(path: Path) -> bool:
    """Whether an existing file may be replaced by a report: an HTML report of
    animus-prep (its mark is in its head), or empty (nothing to lose)."""
    try:
        empty = path.is_file() and path.stat().st_size == 0
    except OSError:
        return False
    return empty or carries_report_mark(path)


__all__ = ["render_html_report", "replaceable", "write_html_report"]
