"""Time a program in a real terminal: tmux at 80x24, until a text shows on the pane.

This is how a user waits for the wizard: they type ``virtio-wizard --demo``
and look at the screen. The program runs in a tmux pane (a real pty, real
escape sequences, the terminal's own parsing), launched the way a shell
launches it; the clock starts when tmux is told to run it and stops at the
first capture of the pane that shows the awaited text.

The pane is read through one tmux *control-mode* client (``tmux -C``) that
asks ``capture-pane`` every ``POLL`` seconds: one long-lived process, not a
fork of ``tmux`` per look, so polling takes little of the CPU the program
under test needs. That client neither receives the pane's output nor sizes
the window (``no-output,ignore-size``; the window is fixed at 80x24).

After each sample the program is asked to quit as a user would (Ctrl+Q) so
that it cleans up (the demo's temp copy); one that does not is killed.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Mapping
from typing import Optional

__all__ = ["Terminal", "TerminalError", "POLL"]

#: Seconds between two looks at the pane.
POLL = 0.003


class TerminalError(RuntimeError):
    """tmux is missing, a command failed, or the text never showed."""


class Terminal:
    """A private tmux server with one 80x24 window; ``time_until`` runs one sample.

    Use as a context manager: the server is killed on exit.
    """

    def __init__(self, width: int = 80, height: int = 24, term: str = "xterm-256color") -> None:
        self.width, self.height, self.term = width, height, term
        self.socket = f"vw-bench-{os.getpid()}"
        self._client: Optional[subprocess.Popen] = None
        self._seq = 0

    # ---- server and client ----------------------------------------------------

    def _tmux(self, *args: str) -> str:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise TerminalError(f"tmux {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def __enter__(self) -> Terminal:
        try:
            return self._start()
        except BaseException:
            self.__exit__()  # a server started before the failure must not outlive it
            raise

    def _start(self) -> Terminal:
        size = f"{self.width}x{self.height}"
        self._tmux(
            "new-session", "-d", "-s", "bench", "-x", str(self.width), "-y", str(self.height),
            "sleep 86400",
        )  # fmt: skip
        for option, value in (
            ("window-size", "manual"),
            ("default-size", size),
            ("remain-on-exit", "on"),
            ("default-terminal", self.term),
            ("status", "off"),
        ):
            self._tmux("set-option", "-g", option, value)
        self._tmux("resize-window", "-t", "bench", "-x", str(self.width), "-y", str(self.height))
        self._client = subprocess.Popen(
            ["tmux", "-L", self.socket, "-C", "attach", "-t", "bench", "-f",
             "no-output,ignore-size"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )  # fmt: skip
        self._reply("attach")  # the attach itself is answered first
        self.command("refresh-client -f no-output,ignore-size")
        shown = self.command("display-message -p '#{window_width}x#{window_height}'")
        if shown != [size]:
            raise TerminalError(f"the tmux window is {shown}, not {size}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.stdin.close()  # type: ignore[union-attr]
            try:
                self._client.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._client.kill()
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)

    def command(self, line: str) -> list[str]:
        """Run one tmux command through the control client; its output lines."""
        client = self._client
        assert client is not None and client.stdin is not None and client.stdout is not None
        client.stdin.write(line + "\n")
        client.stdin.flush()
        return self._reply(line)

    def _reply(self, line: str) -> list[str]:
        """The lines between the next ``%begin`` and its ``%end``."""
        client = self._client
        assert client is not None and client.stdout is not None
        out: list[str] = []
        inside = False
        for raw in client.stdout:
            text = raw.rstrip("\n")
            if not inside:
                # Notifications (%session-changed ...) come between replies: skip them.
                inside = text.startswith("%begin ")
                continue
            if text.startswith("%end ") or text.startswith("%error "):
                if text.startswith("%error "):
                    raise TerminalError(f"tmux {line}: {' '.join(out)}")
                return out
            out.append(text)
        raise TerminalError("the tmux control client went away")

    # ---- one sample -------------------------------------------------------------

    def screen(self) -> str:
        """The pane's text as a user sees it now."""
        return "\n".join(self.command("capture-pane -p -t bench"))

    def _dead(self) -> bool:
        return self.command("display-message -p -t bench '#{pane_dead}'") == ["1"]

    def time_until(
        self,
        argv: tuple[str, ...],
        needle: str,
        env: Mapping[str, str],
        timeout: float = 60.0,
    ) -> float:
        """Seconds from launching ``argv`` in the pane until ``needle`` is on screen.

        ``env`` is set for the program (tmux ``respawn-pane -e``); the program
        is then asked to quit (Ctrl+Q) and killed if it does not.
        """
        cmd = " ".join(shlex.quote(a) for a in argv)
        flags = " ".join(f"-e {shlex.quote(f'{k}={v}')}" for k, v in env.items())
        line = f"respawn-pane -k {flags} -t bench {shlex.quote('exec ' + cmd)}"
        start = time.perf_counter()
        self.command(line)
        try:
            while True:
                if needle in self.screen():
                    return time.perf_counter() - start
                elapsed = time.perf_counter() - start
                if elapsed > timeout or (elapsed > 1 and self._dead()):
                    tail = self.screen().strip().splitlines()[-3:]
                    raise TerminalError(
                        f"{argv[0]}: {needle!r} not shown after {elapsed:.1f} s: {tail}"
                    )
                time.sleep(POLL)
        finally:
            self._quit()

    def _quit(self) -> None:
        """Ctrl+Q, as a user leaves; after 5 s the program is killed instead."""
        if not self._dead():
            self.command("send-keys -t bench C-q")
        deadline = time.monotonic() + 5
        while not self._dead() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.command("respawn-pane -k -t bench 'sleep 86400'")
