"""Text into HTML: escaped, and always encodable as UTF-8."""

from __future__ import annotations

import html

from .._text import printable


def esc(text: object) -> str:
    """``text`` escaped for HTML content and attribute values, shown as on the terminal
    (`_text.printable`): a file name's undecodable bytes as ``\\udcXX`` escapes (so the
    page can be saved as UTF-8), and control characters, line separators and
    bidirectional overrides as escapes (so a name cannot pass for another)."""
    return html.escape(printable(str(text)), quote=True)
