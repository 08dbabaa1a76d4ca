"""``virtio-wizard`` with no subcommand: the full-screen wizard.

Environment first, Textual second: ASCII mode (``--ascii`` or ``TERM=linux``)
must set 16 colours and no animations *before* Textual reads its settings at
import time, so everything Textual is imported inside ``run``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, TextIO

__all__ = ["run", "prepare_environment", "want_ascii", "terminal_problem"]

#: Terminals that are consoles: the Linux VT and serial terminals.
CONSOLE_TERMS = ("linux", "vt100", "vt102", "vt220", "dumb")


def want_ascii(explicit: bool = False, environ=None) -> bool:
    """ASCII mode when asked for, or automatically on a console.

    ``TERM=linux`` is the kernel's VT: 16 colours and, often, a font without
    box-drawing glyphs; serial consoles (vt100/vt220) are the same.
    """
    env = os.environ if environ is None else environ
    return explicit or env.get("TERM", "") in CONSOLE_TERMS


def prepare_environment(ascii_mode: bool, environ=None) -> None:
    """Settings Textual reads on import: 16 colours and no animation for consoles.

    A value the user set already is kept (they know their terminal).
    """
    env = os.environ if environ is None else environ
    if ascii_mode:
        env.setdefault("TEXTUAL_COLOR_SYSTEM", "standard")
        env.setdefault("TEXTUAL_ANIMATIONS", "none")


def terminal_problem(
    stdin: Optional[TextIO] = None, stdout: Optional[TextIO] = None
) -> Optional[str]:
    """Why the full-screen wizard cannot run on these streams, or None.

    Textual reads keys from stdin and draws on stdout: with stdin at end of
    file (``< /dev/null``) it polls forever at full CPU, with stdin closed it
    fails inside its driver. Scripts have the subcommands instead.
    """
    streams = (("stdin", stdin or sys.stdin), ("stdout", stdout or sys.stdout))
    for name, stream in streams:
        try:
            ok = stream is not None and stream.isatty()
        except (OSError, ValueError):  # a closed or detached stream
            ok = False
        if not ok:
            return f"{name} is not a terminal"
    return None


def run(args: argparse.Namespace) -> int:
    ascii_mode = want_ascii(bool(getattr(args, "ascii", False)))
    prepare_environment(ascii_mode)
    from ..cli import EXIT_USAGE, open_target

    target = open_target(args)
    problem = terminal_problem()
    if problem is not None:
        print(
            f"virtio-wizard: error: the full-screen wizard needs a terminal ({problem}); "
            "in scripts use detect, plan and apply --yes",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from ..tui.app import make_app

    app = make_app(target, ascii=ascii_mode)
    code = app.run()
    return int(code or 0)
