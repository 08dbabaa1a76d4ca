"""ASCII mode: what a Linux VT or a serial console without a UTF-8 font can show.

Textual draws scrollbars with block glyphs, toggles with half blocks and
bullets, keys with arrows. In ASCII mode the wizard replaces each of those at
its source (this module, the toggles in ``choice.py``, the bar in
``header.py``) so the screen is plain ASCII by construction.
``AsciiFilter`` is the last line of defence for *guest* text (a Latin-1
rc.sysinit, a release line with a curly quote): it transliterates what is
left, and counts any drawing glyph it had to replace so the tests can prove
that none of the wizard's own chrome needed it.
"""

from __future__ import annotations

import unicodedata

from rich.segment import Segment
from textual._context import active_app
from textual.color import Color
from textual.filter import LineFilter
from textual.scrollbar import ScrollBar, ScrollBarRender

__all__ = [
    "AsciiFilter",
    "AsciiAwareScrollBarRender",
    "install_scrollbar_renderer",
    "is_drawing_glyph",
    "to_ascii",
]

#: Replacements for the glyphs Textual and Rich like to draw.
_GLYPHS = {
    "\u2500": "-",
    "\u2501": "-",
    "\u2502": "|",
    "\u2503": "|",
    "\u250c": "+",
    "\u2510": "+",
    "\u2514": "+",
    "\u2518": "+",
    "\u251c": "+",
    "\u2524": "+",
    "\u252c": "+",
    "\u2534": "+",
    "\u253c": "+",
    "\u2190": "<",
    "\u2192": ">",
    "\u2191": "^",
    "\u2193": "v",
    "\u23ce": "enter",
    "\u25cf": "*",
    "\u2022": "*",
    "\u2026": "...",
    "\u2014": "--",
    "\u2013": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u00a0": " ",
}


def is_drawing_glyph(char: str) -> bool:
    """True for box drawing, blocks, geometric shapes, arrows and symbols.

    These come from the UI's own chrome, never from a guest's config text
    (which may hold accented letters, but not frames).
    """
    code = ord(char)
    return (
        0x2190 <= code <= 0x21FF  # arrows
        or 0x2300 <= code <= 0x23FF  # misc technical (return key)
        or 0x2500 <= code <= 0x27BF  # box drawing, blocks, shapes, dingbats
        or 0x2800 <= code <= 0x28FF  # braille (spinners)
        or 0x1F000 <= code <= 0x1FAFF  # emoji
    )


def to_ascii(text: str) -> str:
    """Transliterate text to ASCII: accents dropped, quotes straightened.

    >>> to_ascii("Schr\\u00f6dinger\\u2019s Cat")
    "Schrodinger's Cat"
    """
    if text.isascii():
        return text
    out = []
    for char in text:
        if char.isascii():
            out.append(char)
            continue
        if char in _GLYPHS:
            out.append(_GLYPHS[char])
            continue
        base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii")
        out.append(base if base else "?")
    return "".join(out)


class AsciiFilter(LineFilter):
    """Rewrite every segment to ASCII, keeping its width.

    Wide characters (CJK, emoji) become two ASCII cells so that layout does
    not shift. ``glyphs_replaced`` counts drawing glyphs seen (see module doc).
    """

    def __init__(self, enabled: bool = True) -> None:
        super().__init__(enabled)
        self.glyphs_replaced = 0
        self.glyphs_seen: set[str] = set()

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        out = []
        for text, style, control in segments:
            if text.isascii():
                out.append(Segment(text, style, control))
                continue
            for char in text:
                if not char.isascii() and is_drawing_glyph(char):
                    self.glyphs_replaced += 1
                    self.glyphs_seen.add(char)
            new = _fit_width(text)
            out.append(Segment(new, style, control))
        return out


def _fit_width(text: str) -> str:
    """ASCII text occupying the same number of cells as ``text``."""
    from rich.cells import cell_len

    parts = []
    for char in text:
        if char.isascii():
            parts.append(char)
            continue
        width = cell_len(char)
        repl = to_ascii(char)
        if width <= 0:
            continue
        parts.append((repl + " " * width)[:width])
    return "".join(parts)


class AsciiAwareScrollBarRender(ScrollBarRender):
    """Textual's scrollbar, minus the partial-block glyphs when the app is ASCII.

    The thumb is drawn in reverse video, so it stays visible without colour.
    """

    @classmethod
    def render_bar(cls, *args, **kwargs):  # type: ignore[override]
        try:
            app = active_app.get()
        except LookupError:
            app = None
        # Any App may be running (the wizard marks its ASCII mode with a class).
        if app is not None and app.has_class("-ascii"):
            return _AsciiBars.render_bar(*args, **kwargs)
        return super().render_bar(*args, **kwargs)


class _AsciiBars(ScrollBarRender):
    VERTICAL_BARS = [" "] * 8
    HORIZONTAL_BARS = [" "] * 8


def install_scrollbar_renderer() -> None:
    """Make every scrollbar ASCII-aware (a no-op for apps not in ASCII mode)."""
    if not issubclass(ScrollBar.renderer, AsciiAwareScrollBarRender):
        ScrollBar.renderer = AsciiAwareScrollBarRender
