"""Detection started with the app, before the first frame, handed to the Guest screen.

Textual needs some 20-50 ms from ``App.run`` to its first frame; detecting in
a thread started when the app is built overlaps that, so the facts are often
ready when the Guest screen mounts. (A forked helper process was measured as
well: on two shared CPUs it was no faster, and a thread needs no care about
what a child inherits.) The screen's worker waits on ``result()``; the UI
thread never blocks.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

__all__ = ["EarlyDetection"]


class EarlyDetection:
    """One detection of ``target``: ``start()`` once, ``result()`` from a worker."""

    def __init__(self, engine, target) -> None:
        self.engine = engine
        self.target = target
        #: Set by the Guest screen: where progress phrases go (called in this thread).
        self.progress_sink: Optional[Callable[..., None]] = None
        #: True once a Guest screen has taken the result (later ones detect afresh).
        self.used = False
        self._done = threading.Event()
        self._result: Any = None
        self._error: Optional[BaseException] = None

    def start(self) -> None:
        """Start the detection thread; returns at once."""
        threading.Thread(target=self._run, name="virtio-wizard-detect", daemon=True).start()

    def _run(self) -> None:
        try:
            facts = self.engine.detect(self.target, progress=self._progress)
            self._result = (facts, self.engine.check(facts))
        except Exception as exc:  # noqa: BLE001 - re-raised in the screen's worker
            self._error = exc
        finally:
            self._done.set()

    def _progress(self, *args: Any) -> None:
        sink = self.progress_sink
        if sink is not None:
            sink(*args)

    def result(self):
        """(facts, findings); raises what detection raised. Blocks: call from a worker."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._result
