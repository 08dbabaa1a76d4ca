"""The top bar: which step the wizard is on and which guest it is working on.

The target is always in view because the same keys do very different
things on ``this system (/)`` and on a demo copy; the user must never have to
guess which one a write will go to.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

__all__ = ["WizardHeader", "fit_label"]


def fit_label(text: str, width: int) -> str:
    """Shorten ``text`` to ``width`` cells by cutting the middle (paths keep both ends).

    >>> fit_label("guest root /srv/images/centos5/mnt", 20)
    'guest roo...tos5/mnt'
    """
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width <= 3:
        return text[:width]
    keep = width - 3
    head = (keep + 1) // 2
    tail = keep - head
    return text[:head] + "..." + (text[-tail:] if tail else "")


class WizardHeader(Widget):
    """One line: ``virtio-wizard | Step title`` on the left, the target on the right."""

    DEFAULT_CSS = """
    WizardHeader {
        dock: top;
        height: 1;
        background: $primary;
        color: $text;
        text-style: bold;
    }
    """

    #: The title of the current step, e.g. "2/6 Path".
    step: reactive[str] = reactive("")
    #: The target as the user should read it ("demo guest", "guest root /mnt").
    target_label: reactive[str] = reactive("")

    def __init__(self, target_label: str, step: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.set_reactive(WizardHeader.target_label, target_label)
        self.set_reactive(WizardHeader.step, step)

    def render(self) -> Text:
        width = self.size.width
        target = "on " + self.target_label
        left = " virtio-wizard" + (f" | {self.step}" if self.step else "")
        if len(left) + len(target) + 4 > width and self.step:
            left = f" {self.step}"  # the target matters more than the name
        room = max(0, width - len(left) - 3)
        right = fit_label(target, room) + " "
        gap = max(2, width - len(left) - len(right))
        return Text(left + " " * gap + right, no_wrap=True, overflow="crop")
