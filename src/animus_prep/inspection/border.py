"""Bars and frames along a photo's edges: letterboxing, pillarboxing, a mount or a scan's
margin, each of which a LoRA would learn as part of the person.

A border here is a band along one edge that is one flat colour, black or white (a
letterbox bar, a video frame's bars, a white mount or scan margin), and ends in a
straight line across the whole side: the picture starts at once, along the full width
(or height). A band of any other flat colour (grey, pink, a navy that is not dark enough)
counts only with its twin on the opposite edge, of the same brightness and also ending
in a straight line of its own: the padding an app adds to make a photo square or fit a
screen. Alone, it may be a wall or a sky ending at a straight line. A white or black
studio background is just as flat but ends where the person begins, which is not a
straight line across the whole frame, so it is not a border. What does look like one:
a person wholly below a blown-out or black sky that ends at a straight horizon, with
nothing crossing it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DARK_BAR = 40
"""Luma at or under which a flat band is a black bar."""
LIGHT_BAR = 215
"""Luma at or over which a flat band is a white bar or mount."""
FLAT_TOLERANCE = 6
"""Luma within which a band's pixels count as its colour."""
FLAT_SHARE = 0.99
"""Share of a line's pixels within `FLAT_TOLERANCE` of the bar's colour for the line to
belong to the bar (JPEG ringing and dust leave a few pixels off)."""
CAPTION_SHARE = 0.3
"""Share of a line's pixels of the bar's colour for a line of a caption written in the
bar (white letters on a black bar can take most of a line): the bar runs on through
such lines when a wholly flat line follows them. The picture must still start along a
straight line after the last flat one (`EDGE_SHARE`)."""
DRIFT = 4
"""How far a line's median may be from the bar's colour (a gradient is not a bar)."""
EDGE_CONTRAST = 12
"""Luma by which the picture's pixels differ from the bar's colour along the boundary."""
EDGE_SHARE = 0.8
"""Share of the boundary line that must differ so: the picture starts along the whole
side at once."""
EDGE_SEARCH = 3
"""Lines after the flat band in which the boundary is looked for (resampling and JPEG
blocks soften it over a line or two)."""
MAX_BAR = 0.45
"""Largest share of a side searched: a phone screenshot of a landscape photo has bars
of about a third of its height each."""
_CHUNK = 16
"""Lines judged at a time while a flat band runs on."""


@dataclass(frozen=True, slots=True)
class Border:
    """The share of the photo's height (top, bottom) or width (left, right) that a bar or
    frame covers along each edge; 0 where there is none."""

    top: float = 0.0
    bottom: float = 0.0
    left: float = 0.0
    right: float = 0.0

    @property
    def widest(self) -> float:
        return max(self.top, self.bottom, self.left, self.right)

    def edges(self, at_least: float) -> list[str]:
        """The edges whose bar covers more than ``at_least`` of their side."""
        shares = {"top": self.top, "bottom": self.bottom, "left": self.left, "right": self.right}
        return [edge for edge, share in shares.items() if share > at_least]


NO_BORDER = Border()


def measure_border(gray: np.ndarray) -> Border:
    """The bars along each edge of a grey image (uint8, any size).

    Each edge's flat band is found first; then its boundary is looked for between the
    bands of the two edges beside it, so a frame on all four sides is found too (where a
    top bar meets a side bar, the side bar's colour runs on).
    """
    if gray.ndim != 2 or min(gray.shape) < 8:
        return NO_BORDER
    h, w = gray.shape
    edges = (gray, gray[::-1], gray.T, gray.T[::-1])  # top, bottom, left, right
    bands = [_flat_band(lines) for lines in edges]
    top, bottom, left, right = (b[0] if b is not None else 0 for b in bands)
    spans = ((left, w - right), (left, w - right), (top, h - bottom), (top, h - bottom))
    shares = [
        _bar_share(lines, band, span) if band is not None else 0.0
        for lines, band, span in zip(edges, bands, spans, strict=True)
    ]
    seen = list(shares)  # each edge's own boundary, before its twin vouches for it
    for edge, twin in ((0, 1), (1, 0), (2, 3), (3, 2)):
        shares[edge] = shares[edge] or _twin_share(bands[edge], bands[twin], shares[twin])
    # A band of any other colour is a bar only in pairs, as padding to a square or a
    # screen's shape leaves it: a wall or a sky alone can end in a straight line too.
    mid = [b is not None and DARK_BAR < b[1] < LIGHT_BAR for b in bands]
    for edge, twin in ((0, 1), (1, 0), (2, 3), (3, 2)):
        if mid[edge] and not _padding_pair(bands[edge], bands[twin], seen[edge], seen[twin]):
            shares[edge] = 0.0
    return Border(*shares)


def _padding_pair(
    band: tuple[int, float] | None,
    twin: tuple[int, float] | None,
    share: float,
    twin_share: float,
) -> bool:
    """Whether a band and the one on the opposite edge are one padding: each seen to end
    in a straight line of its own, of one brightness (grey levels: a pink and a green
    band of one brightness pass as a pair)."""
    if band is None or twin is None or share <= 0 or twin_share <= 0:
        return False
    return abs(band[1] - twin[1]) <= DRIFT


def _twin_share(
    band: tuple[int, float] | None,
    twin: tuple[int, float] | None,
    twin_share: float,
) -> float:
    """The share of an edge whose boundary could not be seen, when the opposite edge has a
    bar: letterboxing and pillarboxing put the same bar on both. Beside one of them the
    picture may be of nearly the bar's colour (dark clothes at the bottom of a black
    letterbox); a flat band of the same colour at least as deep is that bar."""
    if band is None or twin is None or twin_share <= 0:
        return 0.0
    (rows, colour), (twin_rows, twin_colour) = band, twin
    if abs(colour - twin_colour) > DRIFT or rows < twin_rows - 1:
        return 0.0
    return twin_share


def _flat_band(lines: np.ndarray) -> tuple[int, float] | None:
    """How many ``lines`` (rows, the first at the edge) are one flat colour, and that
    colour; None when the edge is not such a band.

    A caption written in the bar (a screenshot's user name, a meme's words) leaves lines
    partly of the bar's colour: the band runs on through them when wholly flat lines
    follow, up to the last of those. A person against a flat studio background never
    gives way to a flat line again, so the band still ends where the person begins.
    """
    first = lines[0]
    colour = float(np.median(first))
    if _flat_share(first, colour) < FLAT_SHARE:
        return None  # what nearly every photo ends at: not flat, one row decides
    limit = max(1, int(len(lines) * MAX_BAR))
    end = 0  # just past the last wholly flat line
    for start in range(0, limit, _CHUNK):  # a studio background's flat band ends early
        band = lines[start : min(start + _CHUNK, limit)]
        share = (_off(band, colour) <= FLAT_TOLERANCE).mean(axis=1)
        of_the_bar = np.abs(np.median(band, axis=1) - colour) <= DRIFT
        flat = (share >= FLAT_SHARE) & of_the_bar
        written = share >= CAPTION_SHARE
        stop = len(band) if written.all() else int(np.argmin(written))
        flat_lines = np.flatnonzero(flat[:stop])
        if flat_lines.size:
            end = start + int(flat_lines[-1]) + 1
        if stop < len(band):  # the picture (or the person) starts
            return end, colour
    if end >= limit:
        return None  # flat as far as was searched: a flat photo, not a bar before one
    return end, colour


def _bar_share(lines: np.ndarray, band: tuple[int, float], span: tuple[int, int]) -> float:
    """The share of the side a flat band covers when the picture starts right after it,
    along the whole span between the bars beside it; else 0."""
    rows, colour = band
    start, end = span
    if end - start < 8:
        return 0.0
    after = _off(lines[rows : rows + EDGE_SEARCH, start:end], colour) > EDGE_CONTRAST
    if not (after.mean(axis=1) >= EDGE_SHARE).any():
        return 0.0
    return rows / len(lines)


def _off(lines: np.ndarray, colour: float) -> np.ndarray:
    off: np.ndarray = np.abs(lines.astype(np.int16) - np.int16(round(colour)))
    return off


def _flat_share(line: np.ndarray, colour: float) -> float:
    return float((_off(line, colour) <= FLAT_TOLERANCE).mean())
