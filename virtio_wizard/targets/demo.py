"""``DemoTarget``: a demo guest's private copy, where commands are shown, never run.

A demo guest (``--demo NAME``, see ``virtio_wizard.demo``) is a real file
tree copied for this run: detection, planning and apply's file writes run on
it unchanged, as on any ``--root``. What differs is said here, once, rather
than asked of the target's kind elsewhere: its commands are recorded and
refused (apply shows them as "demo: would run"), and the copy is
``temporary``, gone when the wizard exits, so nothing can be verified or
undone on it later.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Optional

from .base import CommandsDisabledError, LineCallback, RunResult
from .local import LocalTarget

__all__ = ["DemoTarget"]


class DemoTarget(LocalTarget):
    """A demo guest's temporary copy: a LocalTarget that runs no command."""

    #: The copy is made for this run and removed when the wizard exits.
    temporary = True

    def __init__(self, root: str, *, live: Optional[bool] = None) -> None:
        super().__init__(root, can_run=False, kind="demo", live=live)
        #: The commands asked of this guest, in order: what the demo would have run.
        self.recorded: list[tuple[str, ...]] = []

    def __repr__(self) -> str:
        return f"DemoTarget({self.root!r})"

    def describe(self) -> str:
        # The temp copy's path means nothing to the user; its name does.
        return f"demo guest {os.path.basename(self.root)} (a temporary copy)"

    def run(self, argv: Sequence[str], on_line: Optional[LineCallback] = None) -> RunResult:
        """Record ``argv`` instead of running it; CommandsDisabledError says so.

        Apply asks ``can_run`` first and shows such a command as "demo: would
        run"; anything else that tries to run one is refused the same way as
        on every target that runs no commands.
        """
        self.recorded.append(tuple(argv))
        raise CommandsDisabledError(" ".join(argv), "commands are not run on this target")
