"""Radio buttons and checkboxes that read the same on every terminal.

Textual's toggles draw ``▐●▌`` and tell on from off by colour alone, which a
16-colour console or ``NO_COLOR`` loses. These draw ``(*)``/``( )`` and
``[X]``/``[ ]``: pure ASCII, and the state is in the character itself.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox, RadioButton, RadioSet

__all__ = ["Radio", "Check", "Choice"]


def _button(widget, left: str, on: str, right: str) -> Content:
    style = widget.get_visual_style("toggle--label")
    inner = on if widget.value else " "
    return Content.assemble((f"{left}{inner}{right}", style))


class Radio(RadioButton):
    """A radio button drawn as ``(*)``."""

    @property
    def _button(self) -> Content:
        return _button(self, "(", "*", ")")


class Check(Checkbox):
    """A checkbox drawn as ``[X]``."""

    @property
    def _button(self) -> Content:
        return _button(self, "[", "X", "]")


class Choice(RadioSet):
    """A radio set whose keyboard highlight moves to the chosen button on focus.

    Textual's RadioSet highlights its first button, whatever is chosen: Up
    and Down then start from the wrong place, and on a console the highlight
    is the only sign of where Space will land.
    """

    def on_focus(self) -> None:
        if self.pressed_index >= 0:
            self._selected = self.pressed_index
