"""Logging: what the wizard did, in words a support ticket can carry.

Every core module logs through ``logging.getLogger(__name__)``, so all
records fall under the ``virtio_wizard`` logger. Nothing reaches the terminal
unless asked for: ``-v``/``--verbose`` shows INFO (the commands run, the
apply steps, the undo actions) and ``--debug`` adds DEBUG (detection's
milestones, command output) on stderr. The full-screen wizard owns the
terminal, so it never logs there: with those flags its records go to a file
(``tui_log_path``). Apply and undo also keep their own log in the guest,
beside the journal (``virtio_wizard.apply.logfile``), whatever the flags.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
import time
from collections.abc import Sequence
from typing import Any, Callable, Optional, TextIO

__all__ = ["ROOT", "level_of", "setup", "tui_log_path", "run_logged", "runs_where"]

#: The logger every module's logger descends from.
ROOT = "virtio_wizard"

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: How a target runs guest commands, by ``Target.kind`` (``{}`` is ``describe()``).
_WHERE = {
    "local": "directly on {}",
    "root": "in a bubblewrap sandbox (own namespaces, no host path in reach) over {}",
    "ssh": "in the guest's own shell on {}",
    "image": "in the libguestfs appliance, chrooted into {}",
    "demo": "nowhere: the demo shows commands without running them ({})",
}


def level_of(verbose: bool, debug: bool) -> Optional[int]:
    """The level the flags ask for: DEBUG, INFO, or None (warnings only)."""
    if debug:
        return logging.DEBUG
    return logging.INFO if verbose else None


def tui_log_path(environ: Optional[dict[str, str]] = None) -> str:
    """Where the full-screen wizard logs with ``-v``/``--debug``: the XDG state folder."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "virtio-wizard", "wizard.log")


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is when a record comes (a test's capture, a pipe guard)."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def _own(handler: logging.Handler) -> logging.Handler:
    handler.set_name("virtio-wizard")
    return handler


def setup(level: Optional[int], *, tui: bool = False) -> Optional[str]:
    """Send the wizard's records where this run wants them; returns the log file, if any.

    The CLI logs to stderr, WARNING and up unless a flag asks
    for more. The TUI logs to a file only when asked, else nowhere; the
    logger never propagates, so Python's last-resort handler cannot print
    over the screen either. Called again, it replaces what it set before.
    """
    logger = logging.getLogger(ROOT)
    for old in [h for h in logger.handlers if h.get_name() == "virtio-wizard"]:
        logger.removeHandler(old)
        old.close()
    logger.propagate = False
    path: Optional[str] = None
    handler: logging.Handler
    if tui and level is None:
        handler = logging.NullHandler()
    elif tui:
        path = tui_log_path()
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)  # created private before logging opens it
        handler = logging.FileHandler(path, encoding="utf-8", errors="backslashreplace")
    else:
        handler = _Stderr()
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.setLevel(level or logging.WARNING)
    logger.addHandler(_own(handler))
    logger.setLevel(level or logging.WARNING)
    return path


def runs_where(target: Any) -> str:
    """In words: where ``target.run`` runs a guest command (the sandbox, or the guest)."""
    template = _WHERE.get(str(getattr(target, "kind", "")), "on {}")
    return template.format(target.describe())


def run_logged(
    target: Any,
    argv: Sequence[str],
    log: logging.Logger,
    on_line: Optional[Callable[[str], None]] = None,
) -> Any:
    """``target.run(argv)``, logged: the command, where it ran, its exit code and duration.

    The output lines go to the log at DEBUG as they come; an exception
    (the sandbox refused, the connection dropped) is logged and raised on.
    """
    cmdline = shlex.join(argv)
    log.info("running %s %s", cmdline, runs_where(target))

    def each(line: str) -> None:
        log.debug("| %s", line)
        if on_line is not None:
            on_line(line)

    started = time.monotonic()
    try:
        result = target.run(argv, on_line=each)
    except Exception as exc:
        log.info("%s did not run: %s (%.1fs)", cmdline, exc, time.monotonic() - started)
        raise
    log.info(
        "%s exited with code %d after %.1fs", cmdline, result.returncode, time.monotonic() - started
    )
    return result
