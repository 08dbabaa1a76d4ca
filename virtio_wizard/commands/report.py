"""``virtio-wizard report``: a Markdown or JSON report for a support ticket.

Detects the target, checks it, and adds the newest apply journal when the
journal module offers one (``virtio_wizard.journal.latest_journal``), so a
customer can attach one file that says what the guest is, what the wizard
found and what it changed. ``-o FILE`` writes the report to a file on the
machine running the wizard (not into the guest), owner-only as ``plan -o``
(``outfile.write_private``): it quotes guest files.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from typing import Any, Optional

__all__ = ["run", "journal_of"]


def journal_of(target: Any) -> Optional[dict[str, Any]]:
    """The target's newest journal, or None when there is none to read.

    The journal module is optional for a report (it may be absent in a build
    without it): its absence is checked, never hidden behind an except.
    """
    if importlib.util.find_spec("virtio_wizard.journal") is None:
        return None
    journal_mod = importlib.import_module("virtio_wizard.journal")
    if not hasattr(journal_mod, "latest_journal"):
        return None
    return journal_mod.latest_journal(target)


def run(args: argparse.Namespace) -> int:
    from ..checks import check
    from ..cli import open_target
    from ..detect import detect
    from ..jsontext import dumps_bytes
    from ..outfile import write_private
    from ..report import render_json, render_markdown

    target = open_target(args)
    facts = detect(target)
    findings = check(facts)
    journal = journal_of(target)
    after = None
    if journal is not None and not journal.get("undone"):
        from ..host_steps import after_switch
        from ..journal import changed_anything

        if changed_anything(journal):
            after = after_switch(target, facts, journal.get("plan"))
    if getattr(args, "format", "markdown") == "json":
        # Names that are not UTF-8 are written as JSON escapes (jsontext.dumps_bytes).
        text = dumps_bytes(render_json(facts, findings, journal=journal, after=after)).decode(
            "utf-8"
        )
    else:
        text = render_markdown(facts, findings, journal=journal, after=after)
    output = getattr(args, "output", None)
    if output:
        # The report quotes guest lines and the journal's backups: owner only, as plan -o.
        note = write_private(output, text.encode("utf-8", errors="backslashreplace"))
        print(f"virtio-wizard: report: {note}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
