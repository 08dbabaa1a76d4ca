"""The log of one apply or undo, kept in the guest beside its journal.

The journal says what changed; the log says how it went: every command with
where it ran (the sandbox, the SSH shell, the appliance), its output, exit
code and duration, and each step and undo action as it happened. It is
written through the Target (``<journal id>.log``, mode 0600), so it lands in
the guest with the journal and a rescue system finds both; an undo adds its
own records to the apply's log. It is kept whatever ``-v``/``--debug`` say:
a support ticket needs it after the fact.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Optional

from .. import __version__
from ..journal import log_path
from ..logs import ROOT
from ..targets import Target

__all__ = ["GuestLog", "guest_log"]

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class GuestLog(logging.Handler):
    """The records of one run (this thread's only), kept until written to the guest."""

    def __init__(self, target: Target, journal_id: str) -> None:
        super().__init__(logging.DEBUG)
        self.target = target
        self.path = log_path(journal_id)
        self.lines: list[str] = []
        #: The TUI runs apply in a worker: the screen's own records stay out.
        self.thread = threading.get_ident()
        self.setFormatter(logging.Formatter(_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.lines.append(self.format(record))

    def write(self) -> Optional[str]:
        """Write the log to the guest (after what an earlier run left); why not, or None.

        A log that cannot be written never fails the apply or undo it
        describes: the journal is the record that counts.
        """
        try:
            before = self.target.read_bytes(self.path) if self.target.exists(self.path) else b""
            text = "\n".join(self.lines) + "\n"
            data = before + text.encode("utf-8", "backslashreplace")
            self.target.write_file(self.path, data, mode=0o600)
        except OSError as exc:
            return exc.strerror or str(exc)
        self.lines = []
        return None


@contextlib.contextmanager
def guest_log(target: Target, journal_id: str, doing: str) -> Iterator[GuestLog]:
    """Collect every ``virtio_wizard`` record of this thread at DEBUG while the block runs.

    The logger's level is lowered for the block only, so the terminal's
    handler (``logs.setup``) still shows no more than its flags asked.
    """
    logger = logging.getLogger(ROOT)
    handler = GuestLog(target, journal_id)
    before = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logging.getLogger(__name__).info(
            "virtio-wizard %s: %s %s, journal %s", __version__, doing, target.describe(), journal_id
        )
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)
