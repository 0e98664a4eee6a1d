"""Text as it is shown to people: on the terminal (`cli.output`) and in the HTML report."""

from __future__ import annotations

_CONTROLS = (
    {
        c: f"\\x{c:02x}" if c < 256 else f"\\u{c:04x}"
        for c in (*range(32), *range(127, 160), 0x2028, 0x2029, *range(0x202A, 0x202F))
    }
    | {c: f"\\u{c:04x}" for c in range(0x2066, 0x206A)}
    | {
        ord("\n"): "\\n",
        ord("\r"): "\\r",
        ord("\t"): "\\t",
    }
)


def printable(text: str) -> str:
    """``text`` as it is shown: a file name's undecodable bytes (lone surrogates) as
    ``\\udcXX`` escapes, and control characters (a line break in a name, C0 and C1
    controls, line and paragraph separators, bidirectional overrides and isolates) as
    ``\\n``, ``\\x1b``, ``\\u202e``..., so that every entry stays on its line, reads in its
    own order (a right-to-left override cannot show ``evil.jpg`` as ``gpj.live``), and
    columns are measured on what is shown."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").translate(_CONTROLS)
