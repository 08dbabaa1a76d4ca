"""``virtio-wizard`` with no subcommand: the full-screen wizard.

Environment first, Textual second: ASCII mode (``--ascii`` or ``TERM=linux``)
must set 16 colours and no animations *before* Textual reads its settings at
import time, so everything Textual is imported inside ``run``.
"""

from __future__ import annotations

import argparse
import os

__all__ = ["run", "prepare_environment", "want_ascii"]

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


def run(args: argparse.Namespace) -> int:
    ascii_mode = want_ascii(bool(getattr(args, "ascii", False)))
    prepare_environment(ascii_mode)
    from ..cli import open_target

    target = open_target(args)
    from ..tui.app import make_app

    app = make_app(target, ascii=ascii_mode)
    code = app.run()
    return int(code or 0)
