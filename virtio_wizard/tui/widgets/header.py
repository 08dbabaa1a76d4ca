"""The top bar: which step the wizard is on and which guest it is working on.

The target is always in view because the same keys do very different
things on ``this system (/)`` and on a demo copy; the user must never have to
guess which one a write will go to.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

__all__ = ["WizardHeader", "fit_label", "header_line"]

#: The target keeps at least this many cells before the step title is shortened.
TARGET_ROOM = 24


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


def _step_forms(step: str) -> list[str]:
    """The step title, then shorter: its number and first word, then its number.

    >>> _step_forms("3/6 Drivers & options")
    ['3/6 Drivers & options', '3/6 Drivers', '3/6']
    """
    words = step.split()
    return list(dict.fromkeys([step, " ".join(words[:2]), " ".join(words[:1])]))


def header_line(step: str, target_label: str, width: int) -> str:
    """``virtio-wizard | step`` on the left, ``on TARGET`` on the right, in ``width`` cells.

    The app's name always stays (it says what is running on this console);
    when both do not fit, the step title is shortened first, down to its
    number, until the target gets ``TARGET_ROOM`` cells; the target is cut
    in its middle last.

    >>> header_line("3/6 Drivers & options", "demo guest rhel52 (a temporary copy)", 60)
    ' virtio-wizard | 3/6 Drivers  on demo guest...mporary copy) '
    """
    target = "on " + target_label
    for form in _step_forms(step):
        left = " virtio-wizard" + (f" | {form}" if form else "")
        room = width - len(left) - 3  # two cells apart, one at the right edge
        if room >= min(len(target), TARGET_ROOM):
            break
    right = fit_label(target, room) + " " if room >= len("on ...") else ""
    gap = max(2, width - len(left) - len(right))
    return (left + " " * gap + right)[:width]


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
        return Text(header_line(self.step, self.target_label, self.size.width), no_wrap=True)
