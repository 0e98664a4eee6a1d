"""The page as one self-contained HTML document.

Everything is inline: styles, the filter script, thumbnails as data URIs. A Content
Security Policy forbids every other source, so the page makes no request at all, opens
from disk and reads the same offline, years later.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from importlib import resources

from ..inspection.discover import REPORT_MARK
from .escape import esc
from .page import Block, Card, DuplicateGroup, Page, Sheet
from .thumbs import face_overlay, jpeg_data_uri

CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
)

THUMB_HEIGHT = 260
"""The tallest a picture is shown on a card, in CSS pixels."""

_VERDICT_ORDER = ("accepted", "rejected", "approved", "regenerated", "deleted", "skipped")


def _static(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def render_page(page: Page, *, generated: datetime, version: str) -> str:
    """The HTML document of a page."""
    stamp = generated.isoformat(timespec="seconds")
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        REPORT_MARK,
        f"<title>{esc(page.title)}</title>",
        f"<style>{_static('report.css')}</style>",
        "</head><body>",
        "<header>",
        f"<h1>{esc(page.title)}</h1>",
        f'<p class="meta">made by animus-prep {esc(version)} on '
        f'<time datetime="{esc(stamp)}">{esc(stamp)}</time></p>',
    ]
    if page.stopped:
        out.append(f'<p class="stopped" role="alert">Stopped: {esc(page.stopped)}</p>')
    out.append('<dl class="facts">')
    for label, value in page.facts:
        out.append(f"<div><dt>{esc(label)}</dt><dd>{esc(value)}</dd></div>")
    out.append("</dl>")
    if page.warnings:
        out.append('<ul class="warnings">')
        out.extend(f"<li>{esc(w)}</li>" for w in page.warnings)
        out.append("</ul>")
    out.append("</header>")
    out.append(_filters(page))
    out.append("<main>")
    out.extend(_sheet(s) for s in page.sheets)
    if page.groups:
        out.append(_groups(page.groups))
    if page.policy:
        out.append(_policy(page))
    out.append('<p id="nothing" hidden>No picture matches these filters.</p>')
    out.append("</main>")
    out.append(f"<script>{_static('report.js')}</script>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _filters(page: Page) -> str:
    total = sum(page.verdicts.values())
    verdicts = [v for v in _VERDICT_ORDER if v in page.verdicts]
    parts = [
        '<nav class="filters" aria-label="Filters">',
        '<div class="row"><span class="label">Verdict</span>',
        f'<button type="button" data-verdict-filter="all" aria-pressed="true">all '
        f"<b>{total}</b></button>",
    ]
    parts.extend(
        f'<button type="button" class="v-{v}" data-verdict-filter="{v}" aria-pressed="false">'
        f"{v} <b>{page.verdicts[v]}</b></button>"
        for v in verdicts
    )
    parts.append("</div>")
    if page.reasons:
        parts.append('<div class="row"><span class="label">Reason</span>')
        parts.extend(
            f'<button type="button" class="reason" data-reason-filter="{esc(code)}" '
            f'aria-pressed="false">{esc(code)} <b>{count}</b></button>'
            for code, count in page.reasons.items()
        )
        parts.append(
            '<button type="button" class="clear" data-clear-filters hidden>clear</button></div>'
        )
    parts.append(f'<p class="shown" id="shown">Showing {total} of {total}</p></nav>')
    return "\n".join(parts)


def _sheet(sheet: Sheet) -> str:
    parts = [
        f'<section class="sheet" id="{sheet.key}" data-block>',
        f"<h2>{esc(sheet.title)} <small>{esc(sheet.summary)}</small></h2>",
    ]
    blocks = list(sheet.blocks)
    i = 0
    while i < len(blocks):
        if blocks[i].beside_next and i + 1 < len(blocks):
            parts.append('<div class="beside">')
            parts.extend(_block(b) for b in blocks[i : i + 2])
            parts.append("</div>")
            i += 2
        else:
            parts.append(_block(blocks[i]))
            i += 1
    parts.append("</section>")
    return "\n".join(parts)


def _block(block: Block) -> str:
    note = f'<p class="note">{esc(block.note)}</p>' if block.note else ""
    cards = "\n".join(_card(c) for c in block.cards)
    return (
        f'<div class="block" data-block><h3>{esc(block.title)}</h3>{note}'
        f'<div class="grid">\n{cards}\n</div></div>'
    )


def _card(card: Card, *, filtered: bool = True, label: str = "") -> str:
    """A picture with its badge, name, facts, reasons and notes. Cards of the contact
    sheets are `filtered` (counted and hidden by the filters); copies of them shown
    again elsewhere (duplicate groups) are not."""
    codes = " ".join(card.codes)
    attrs = (
        f' data-filter data-verdict="{esc(card.verdict)}" data-reasons="{esc(codes)}"'
        if filtered
        else ""
    )
    classes = f"card v-{card.verdict}" + (" kept" if card.kept_copy else "")
    ident = f' id="{card.key}"' if filtered else ""
    parts = [f'<figure class="{classes}"{ident}{attrs}>', _picture(card, label)]
    parts.append("<figcaption>")
    parts.append(f'<div class="name" title="{esc(card.name)}">{esc(card.name)}</div>')
    if card.facts:
        parts.append(f'<div class="facts">{esc(" · ".join(card.facts))}</div>')
    if card.reasons:
        parts.append('<ul class="reasons">')
        parts.extend(_reason(r.code.value, r.message, r.score, r.threshold) for r in card.reasons)
        parts.append("</ul>")
    if card.duplicate_of:
        key, name = card.duplicate_of
        parts.append(f'<p class="dup">copy of <a href="#{key}">{esc(name)}</a> (kept)</p>')
    parts.extend(f'<p class="note">{esc(n)}</p>' for n in card.notes)
    parts.append("</figcaption></figure>")
    return "".join(parts)


def _picture(card: Card, label: str) -> str:
    badges = f'<span class="badge v-{esc(card.verdict)}">{esc(card.verdict)}</span>'
    if card.kept_copy:
        badges += '<span class="badge kept">kept copy</span>'
    if label:
        badges += f'<span class="badge extra">{esc(label)}</span>'
    badge_html = f'<div class="badges">{badges}</div>'
    if card.thumbnail is None:
        return f'<div class="thumb empty"><span>no picture</span>{badge_html}</div>'
    th, tw = card.thumbnail.shape[:2]
    w, h = (card.width, card.height) if card.width and card.height else (tw, th)
    # At most THUMB_HEIGHT px tall, keeping the aspect ratio the face overlay relies on.
    style = f"aspect-ratio: {w} / {h}; max-width: {THUMB_HEIGHT * w / h:.0f}px"
    overlay = (
        face_overlay(card.faces, card.width, card.height)
        if card.faces and card.width and card.height
        else ""
    )
    return (
        f'<div class="thumb" style="{style}">'
        f'<img src="{jpeg_data_uri(card.thumbnail)}" width="{tw}" height="{th}" '
        f'alt="{esc(card.name)}" loading="eager" decoding="async">'
        f"{overlay}{badge_html}</div>"
    )


def _reason(code: str, message: str, score: float | None, threshold: float | None) -> str:
    value = ""
    if score is not None:
        value = f"{score:.3g}" + (f" vs {threshold:.3g}" if threshold is not None else "")
        value = f' <span class="measured" title="measured vs threshold">{value}</span>'
    return f'<li class="chip" data-code="{esc(code)}"><b>{esc(code)}</b>{value} {esc(message)}</li>'


def _groups(groups: Iterable[DuplicateGroup]) -> str:
    parts = [
        '<section class="sheet" id="duplicates" data-block>',
        "<h2>Duplicate groups <small>the best copy is kept; the others are rejected</small></h2>",
    ]
    for g in groups:
        members = [g.kept, *(c for c, _ in g.copies)]
        verdicts = " ".join(dict.fromkeys(c.verdict for c in members))
        codes = " ".join(dict.fromkeys(code for c in members for code in c.codes))
        parts.append(
            f'<div class="group" data-filter data-verdict="{esc(verdicts)}" '
            f'data-reasons="{esc(codes)}">'
        )
        parts.append(_card(g.kept, filtered=False))
        for card, sim in g.copies:
            label = "copy" if sim is None else f"copy, similarity {sim:.2f}"
            parts.append(_card(card, filtered=False, label=label))
        parts.append("</div>")
    parts.append("</section>")
    return "\n".join(parts)


def _policy(page: Page) -> str:
    rows = "".join(
        f"<tr><th>{esc(name)}</th><td>{esc(value)}</td><td>{esc(origin)}</td></tr>"
        for name, value, origin in page.policy
    )
    return (
        '<section class="sheet policy" id="policy"><details><summary>Policy</summary>'
        "<table><thead><tr><th>setting</th><th>value</th><th>from</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></details></section>"
    )
