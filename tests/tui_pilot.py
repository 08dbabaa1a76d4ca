"""Helpers for driving the wizard with Textual's Pilot (shared by the TUI tests).

Async tests run through ``aio`` (``asyncio.run``), so no asyncio plugin is
needed; ``settle`` waits for the screen's workers (never for the step walker,
which runs until the app ends); ``wait_until`` waits for one condition;
``screen_text`` is the frame as plain text.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import html
import os
import re
import threading
from typing import Callable

__all__ = [
    "SIZE",
    "aio",
    "settle",
    "screen_text",
    "tree_hashes",
    "press",
    "static_text",
    "wait_until",
    "walk_to",
    "wizard",
    "expect",
    "ROUTE",
    "pick",
    "gated",
]

SIZE = (80, 24)


def aio(fn):
    """Run an async test with asyncio.run (no pytest-asyncio needed)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(fn(*args, **kwargs))

    return wrapper


# ---- helpers ------------------------------------------------------------------


async def settle(pilot, rounds: int = 500) -> None:
    """Wait until every worker but the step walker has finished, then a frame.

    Quiet must hold for several polls in a row: one worker may start another
    after a refresh (the Guest screen reads the initrds once the facts are shown).
    """
    app = pilot.app
    quiet = 0
    for _ in range(rounds):
        await pilot.pause(0.02)
        busy = [w for w in app.workers if w.group != "walk" and w.is_running]
        quiet = 0 if busy else quiet + 1
        if quiet >= 4:
            break
    await pilot.pause(0.05)


#: One ``<text>`` run of Rich's SVG export: its x, its line, its escaped characters.
_SVG_RUN = re.compile(
    r'<text [^>]*?x="([\d.]+)"[^>]*?clip-path="url\(#[\w-]+?-line-(\d+)\)">(.*?)</text>'
)
#: The first line's clip rectangle: as wide as the terminal, in SVG units.
_SVG_LINE = re.compile(r'-line-0">\s*<rect x="0" y="[\d.]+" width="([\d.]+)"')


def screen_text(app) -> str:
    """What is on screen now, as plain text, one row per terminal line.

    Read from ``App.export_screenshot()`` (Textual's public SVG export of the
    whole frame, dialogs over the screens behind them): each text run is put
    back at its column, which is its x over the width of one cell.
    """
    svg = app.export_screenshot()
    width, height = app.size
    cell = float(_SVG_LINE.search(svg).group(1)) / width
    rows = [[" "] * width for _ in range(height)]
    for x, line, run in _SVG_RUN.findall(svg):
        row, column = rows[int(line)], round(float(x) / cell)
        for offset, char in enumerate(html.unescape(run).replace("\xa0", " ")):
            if column + offset < width:
                row[column + offset] = char
    return "".join("".join(row) + "\n" for row in rows)


async def wait_until(pilot, condition: Callable[[], object], what: str, timeout: float = 10.0):
    """Wait until ``condition()`` holds; fail naming ``what`` (and the screen) after ``timeout``.

    Instead of a fixed pause before an assert: a fixed pause is too short on a
    loaded machine and too long on an idle one.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout:g}s: {what}\n{screen_text(pilot.app)}")
        await pilot.pause(0.01)


def static_text(widget) -> str:
    """All the text a Static holds, scrolled into view or not."""
    from rich.console import Console

    with open(os.devnull, "w") as sink:
        console = Console(width=78, record=True, file=sink, color_system=None)
        console.print(widget.content)
        return console.export_text()


def tree_hashes(root: str) -> dict[str, str]:
    """sha256 of every regular file under root (symlinks by target text)."""
    out = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                out[rel] = "link:" + os.readlink(path)
            else:
                with open(path, "rb") as fh:
                    out[rel] = hashlib.sha256(fh.read()).hexdigest()
    return out


async def press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


# ---- walking the wizard ---------------------------------------------------------


#: The steps of the default path (initrd, the wizard's own choices), each with
#: the keys that reach it from the step before and the screen it shows.
ROUTE = {
    "path": (("n",), "PathScreen"),
    "drivers": (("n",), "DriversScreen"),
    "preview": (("n",), "PreviewScreen"),
    "confirm": (("a",), "ConfirmApply"),
    "apply": (("y",), "ApplyScreen"),
    "done": (("n",), "DoneScreen"),
}


async def walk_to(pilot, to: str, method: str = "initrd") -> None:
    """From the Guest step (detected) to step ``to`` by keyboard; ``method`` picks the path."""
    if to == "guest":
        return
    for step, (keys, screen) in ROUTE.items():
        if step == "drivers" and method == "sysinit":
            await press(pilot, "down", "space")
        await expect(pilot, screen, *keys)
        if step == to:
            return


async def expect(pilot, screen: type | str, *keys: str) -> None:
    """Press ``keys``; the wizard must then show ``screen`` (a class, or its name)."""
    await press(pilot, *keys)
    shown = type(pilot.app.screen).__name__
    if isinstance(screen, str):
        assert shown == screen, f"{keys} led to {shown}"
    else:
        assert isinstance(pilot.app.screen, screen), f"{keys} led to {shown}"


@contextlib.asynccontextmanager
async def wizard(
    target, to: str = "guest", method: str = "initrd", size=SIZE, settled=True, **options
):
    """(app, pilot): the wizard on ``target`` at ``size``, detected, walked to step ``to``.

    ``options`` go to ``make_app``; the header's label is "demo guest" unless
    given. ``settled=False`` hands the app over at once (a test of what shows
    while detection still runs).
    """
    from virtio_wizard.tui.app import make_app

    app = make_app(target, **{"label": "demo guest", **options})
    async with app.run_test(size=size) as pilot:
        if settled:
            await settle(pilot)
            await walk_to(pilot, to, method)
        yield app, pilot


def gated(call: str):
    """(engine, gate): an Engine whose ``call`` waits until ``gate.set()``, as a slow guest.

    The wait gives up after 10 s, so a failing test never leaves a thread blocked.
    """
    from virtio_wizard.tui.engine import Engine

    gate = threading.Event()

    def slow(self, *args, **kwargs):
        gate.wait(10)
        return getattr(Engine, call)(self, *args, **kwargs)

    return type(f"Slow_{call}", (Engine,), {call: slow})(), gate


async def pick(pilot, radio_id: str) -> None:
    """Select a radio button by keyboard: Tab to its set, Up/Down to it, Space."""
    from textual.widgets import RadioSet

    screen = pilot.app.screen
    button = screen.query_one(f"#{radio_id}")
    radio_set = button.parent
    assert isinstance(radio_set, RadioSet)
    for _ in range(15):
        if screen.focused is radio_set:
            break
        await pilot.press("tab")
    assert screen.focused is radio_set, f"Tab never reached {radio_set.id}"
    buttons = list(radio_set.query("RadioButton"))
    target = buttons.index(button)
    current = radio_set._selected or 0
    key = "down" if target > current else "up"
    for _ in range(abs(target - current)):
        await pilot.press(key)
    await press(pilot, "space")
    assert button.value, f"{radio_id} not selected"
