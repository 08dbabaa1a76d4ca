"""Detection started with the app, before the first frame, handed to the Guest screen.

Textual needs some 20-50 ms from ``App.run`` to its first frame; detecting in
a thread started when the app is built overlaps that, so the facts are often
ready when the Guest screen mounts. (A forked helper process was measured as
well: on two shared CPUs it was no faster, and a thread needs no care about
what a child inherits.) The Guest screen's worker awaits ``wait()`` (the
same for a detection it starts itself, after an undo); the UI thread never
blocks.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Optional

__all__ = ["EarlyDetection"]


class EarlyDetection:
    """One detection of ``target`` in a thread: ``start()`` once, then ``await wait()``."""

    def __init__(self, engine, target) -> None:
        self.engine = engine
        self.target = target
        #: Set by the Guest screen: where progress phrases go (called in this thread).
        self.progress_sink: Optional[Callable[..., None]] = None
        #: True once a Guest screen has taken the result (later ones detect afresh).
        self.used = False
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._on_done: list[Callable[[], None]] = []
        self._result: Any = None
        self._error: Optional[BaseException] = None

    def start(self) -> EarlyDetection:
        """Start the detection thread; returns at once (with self, to chain)."""
        threading.Thread(target=self._run, name="virtio-wizard-detect", daemon=True).start()
        return self

    @property
    def done(self) -> bool:
        """True once detection has ended (``result()`` no longer blocks)."""
        return self._done.is_set()

    def _run(self) -> None:
        try:
            facts = self.engine.detect(self.target, progress=self._progress)
            self._result = (facts, self.engine.check(facts))
        except Exception as exc:  # noqa: BLE001 - re-raised in the screen's worker
            self._error = exc
        finally:
            with self._lock:
                self._done.set()
                waiting, self._on_done = self._on_done, []
            for on_done in waiting:
                on_done()

    def when_done(self, callback: Callable[[], None]) -> bool:
        """Call ``callback`` (in the detection thread) when detection ends.

        Returns False, and never calls it, when detection has ended already:
        the caller takes ``result()`` at once. Handing the news over from
        this thread saves a wake-up of a waiting worker thread, each of which
        may wait a whole GIL switch interval (5 ms) before the frame.
        """
        with self._lock:
            if self._done.is_set():
                return False
            self._on_done.append(callback)
            return True

    def _progress(self, *args: Any) -> None:
        sink = self.progress_sink
        if sink is not None:
            sink(*args)

    async def finished(self) -> None:
        """Until detection has ended, without blocking the event loop."""
        loop = asyncio.get_running_loop()
        woken: asyncio.Future = loop.create_future()

        def wake() -> None:
            loop.call_soon_threadsafe(lambda: woken.done() or woken.set_result(None))

        if self.when_done(wake):
            await woken

    async def wait(self):
        """(facts, findings) once detected; raises what detection raised."""
        await self.finished()
        return self.result()

    async def wait_briefly(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds without blocking the event loop; True if done.

        A demo or a local guest is detected in tens of milliseconds: showing
        the Guest screen with its facts in its first frame costs less than a
        "Detecting ..." frame followed by another one (Textual draws changes
        on its next refresh tick). A slow target (SSH, a big root) runs past
        ``timeout`` and gets the screen with its progress line instead.
        """
        try:
            await asyncio.wait_for(self.finished(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    def result(self):
        """(facts, findings); raises what detection raised. Blocks until ``done``."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._result
