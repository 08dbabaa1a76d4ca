"""PgUp/PgDn for the steps and the confirmation dialogs: scroll the body, whatever has the focus.

Its own module so that a dialog (``ConfirmUndo``, which every step opens on
``u``) and the steps' base share it without importing each other.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen

__all__ = ["SCROLL_BINDINGS", "scroll_body"]

#: PgUp/PgDn scroll ``#body`` whatever control has the focus.
SCROLL_BINDINGS = [
    Binding("pageup", "scroll_body('up')", "Scroll up", show=False),
    Binding("pagedown", "scroll_body('down')", "Scroll down", show=False),
]


def scroll_body(screen: Screen, way: str) -> None:
    """Scroll the screen's ``#body`` (or a dialog's ``#confirm-body``) by a page."""
    for selector in ("#body", "#confirm-body"):
        found = screen.query(selector)
        if found:
            body = found.first()
            if way == "up":
                body.scroll_page_up()
            else:
                body.scroll_page_down()
            return
