"""``virtio-wizard detect``: what the guest is and what it needs.

``--json`` prints the facts (schema ``virtio-wizard/facts/1``) with a
``findings`` list added, for scripts; it imports neither Rich nor Textual, so
it starts in a fraction of the TUI's time. Without ``--json`` the same facts
and findings are printed as Rich tables readable at 80 columns, in pure ASCII
when ``--ascii`` is given or the console is a Linux VT.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any, Callable, Optional

from ..facts import Facts
from ..finding import Finding

__all__ = ["run", "facts_document", "detect_and_check", "wants_ascii"]


#: Blanks at the end of a line, before an optional final SGR reset.
_TRAILING = re.compile(r" +((?:\x1b\[[0-9;]*m)*)$")


def detect_and_check(
    args: argparse.Namespace, progress: Optional[Callable[[str], None]] = None
) -> tuple[Facts, list[Finding]]:
    """Open the target the arguments name, detect, and check.

    Imports are local so that nothing is paid before the arguments are known.
    """
    from ..checks import check
    from ..cli import open_target
    from ..detect import detect

    target = open_target(args)
    facts = detect(target, read_initrds=not getattr(args, "no_initrd", False), progress=progress)
    return facts, check(facts)


def facts_document(facts: Facts, findings: list[Finding]) -> dict[str, Any]:
    """``facts.to_dict()`` plus ``"findings"``: the ``detect --json`` document."""
    doc = facts.to_dict()
    doc["findings"] = [f.to_dict() for f in findings]
    return doc


def wants_ascii(args: argparse.Namespace) -> bool:
    """ASCII boxes when asked, or on the Linux console, whose fonts lack box glyphs."""
    return bool(getattr(args, "ascii", False)) or os.environ.get("TERM") == "linux"


def run(args: argparse.Namespace) -> int:
    if getattr(args, "json", False):
        facts, findings = detect_and_check(args)
        from ..jsontext import dumps_bytes  # names that are not UTF-8 as JSON escapes

        sys.stdout.write(dumps_bytes(facts_document(facts, findings)).decode("utf-8"))
        return 0
    from rich.console import Console

    from ..render import facts_renderable

    ascii_only = wants_ascii(args)
    console = Console(emoji=False, highlight=False, safe_box=True)
    here = not any(getattr(args, n, None) for n in ("root", "ssh", "demo", "image"))
    if here and os.geteuid() != 0:  # this system, as apply's check_root judges it
        from ..apply.preflight import ROOT_NOTE

        print(f"virtio-wizard: note: {ROOT_NOTE}", file=sys.stderr)
    status_console = Console(stderr=True)
    if status_console.is_terminal:
        # Reading a big initrd takes seconds: say what is happening meanwhile.
        spinner = "line" if ascii_only else "dots"
        with status_console.status("detecting", spinner=spinner) as status:
            facts, findings = detect_and_check(
                args, progress=lambda text: status.update(f"detect: {text}")
            )
    else:
        facts, findings = detect_and_check(args)
    with console.capture() as captured:
        console.print(facts_renderable(facts, findings, ascii=ascii_only))
    # Rich pads every grid line to the full width: no trailing blanks in a
    # pasted support ticket (the colour reset after the padding is kept).
    for line in captured.get().splitlines():
        sys.stdout.write(_TRAILING.sub(r"\1", line) + "\n")
    return 0
