"""Text into HTML: escaped, and always encodable as UTF-8."""

from __future__ import annotations

import html


def esc(text: object) -> str:
    """``text`` escaped for HTML content and attribute values.

    File names that are not valid in the file system's encoding reach Python as lone
    surrogates; they are written as ``\\udcXX`` escapes (as on the terminal and in the
    JSON report) so the page can still be saved as UTF-8.
    """
    clean = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    return html.escape(clean, quote=True)
