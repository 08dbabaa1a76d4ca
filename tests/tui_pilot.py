"""Helpers for driving the wizard with Textual's Pilot (shared by the TUI tests).

Async tests run through ``aio`` (``asyncio.run``), so no asyncio plugin is
needed; ``settle`` waits for the screen's workers (never for the step walker,
which runs until the app ends); ``screen_text`` is the frame as plain text.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os

__all__ = ["SIZE", "aio", "settle", "screen_text", "tree_hashes", "press", "static_text"]

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


def screen_text(app) -> str:
    """What is on screen now, as plain text (the compositor's full frame)."""
    from rich.console import Console

    with open(os.devnull, "w") as sink:
        console = Console(width=app.size.width, record=True, file=sink, color_system=None)
        console.print(app.screen._compositor.render_update(full=True))
        return console.export_text()


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
