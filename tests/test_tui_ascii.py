"""ASCII mode: every screen is pure ASCII, and none of it needed the safety net.

Each screen is rendered at 80x24 in ASCII mode and every character of the
frame must be ASCII. The app's ``AsciiFilter`` would transliterate stray
glyphs, so the test also requires that it never met a drawing glyph (box,
block, arrow, bullet): the chrome itself must be ASCII by construction.
"""

from __future__ import annotations

import pytest
from tui_pilot import SIZE, aio, press, screen_text, settle

from virtio_wizard.commands.tui import prepare_environment, want_ascii
from virtio_wizard.demo import open_demo
from virtio_wizard.tui.app import make_app
from virtio_wizard.tui.widgets.ascii import AsciiFilter, is_drawing_glyph, to_ascii

pytestmark = pytest.mark.tui


def assert_ascii(app, where: str) -> None:
    text = screen_text(app)
    bad = sorted({c for c in text if not c.isascii()})
    assert not bad, f"{where}: non-ASCII on screen: {bad!r}\n{text}"
    seen = sorted(app.ascii_filter.glyphs_seen)
    assert app.ascii_filter.glyphs_replaced == 0, f"{where}: drawing glyphs drawn: {seen!r}"


@aio
async def test_every_screen_is_ascii_in_ascii_mode():
    target = open_demo("rhel52")
    app = make_app(target, ascii=True, label="demo guest")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert_ascii(app, "guest")
        await press(pilot, "t")
        assert_ascii(app, "troubleshooting")
        await press(pilot, "escape", "r")
        assert_ascii(app, "report")
        await press(pilot, "escape", "n")
        assert_ascii(app, "path")
        await press(pilot, "down", "space", "n")
        assert_ascii(app, "drivers (sysinit, refused)")
        await press(pilot, "escape", "up", "space", "n")
        assert_ascii(app, "drivers (initrd)")
        await press(pilot, "n")
        assert_ascii(app, "preview")
        await press(pilot, "pagedown", "pagedown")
        assert_ascii(app, "preview, scrolled")
        await press(pilot, "a")
        assert_ascii(app, "confirm")
        await press(pilot, "y")
        assert_ascii(app, "apply")
        await press(pilot, "n")
        assert_ascii(app, "done")
        await press(pilot, "u")
        assert_ascii(app, "confirm undo")
        await press(pilot, "y")
        assert_ascii(app, "undo")
        await press(pilot, "n")
        await settle(pilot)
        assert_ascii(app, "guest after undo")


@aio
async def test_ascii_mode_uses_ansi_colours_and_the_ansi_theme():
    app = make_app(open_demo("debian12"), ascii=True, label="demo guest")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.ansi_color is True
        assert app.current_theme.ansi
        assert app.has_class("-ascii")
        assert_ascii(app, "debian12 guest")


@aio
async def test_normal_mode_keeps_unicode_chrome():
    """The ASCII work is confined to ASCII mode (no filter, Textual's look)."""
    app = make_app(open_demo("debian12"), label="demo guest")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not hasattr(app, "ascii_filter")
        assert not app.has_class("-ascii")


def test_filter_transliterates_guest_text_and_counts_glyphs():
    from rich.segment import Segment
    from textual.color import Color

    f = AsciiFilter()
    out = f.apply([Segment("Fedora release 19 (Schr\u00f6dinger\u2019s Cat)")], Color(0, 0, 0))
    assert out[0].text == "Fedora release 19 (Schrodinger's Cat)"
    assert f.glyphs_replaced == 0
    out = f.apply([Segment("\u2502x\u2588")], Color(0, 0, 0))
    assert out[0].text.isascii() and len(out[0].text) == 3
    assert f.glyphs_replaced == 2


def test_wide_characters_keep_their_width():
    from rich.cells import cell_len
    from rich.segment import Segment
    from textual.color import Color

    text = "\u4e2d\u6587 ok"
    out = AsciiFilter().apply([Segment(text)], Color(0, 0, 0))
    assert out[0].text.isascii()
    assert len(out[0].text) == cell_len(text)


@pytest.mark.parametrize(
    "char, drawing", [("\u2500", True), ("\u258c", True), ("\u25cf", True), ("\u00e9", False)]
)
def test_drawing_glyphs_are_told_from_letters(char, drawing):
    assert is_drawing_glyph(char) is drawing
    assert to_ascii(char).isascii()


@pytest.mark.parametrize(
    "term, explicit, expected",
    [
        ("linux", False, True),
        ("vt220", False, True),
        ("xterm-256color", False, False),
        ("xterm-256color", True, True),
        ("", False, False),
    ],
)
def test_ascii_mode_is_automatic_on_the_console(term, explicit, expected):
    assert want_ascii(explicit, {"TERM": term}) is expected


def test_ascii_mode_sets_16_colours_and_no_animation_unless_set():
    env: dict[str, str] = {}
    prepare_environment(True, env)
    assert env == {"TEXTUAL_COLOR_SYSTEM": "standard", "TEXTUAL_ANIMATIONS": "none"}
    env = {"TEXTUAL_COLOR_SYSTEM": "256"}
    prepare_environment(True, env)
    assert env["TEXTUAL_COLOR_SYSTEM"] == "256"
    env = {}
    prepare_environment(False, env)
    assert env == {}
