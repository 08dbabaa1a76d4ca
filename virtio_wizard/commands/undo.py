"""``virtio-wizard undo``: revert the last apply, byte for byte, after asking.

It names the apply it will revert and the files concerned, asks as ``apply``
does (``--yes`` for scripts; no terminal means no), and refuses with exit 3
when a file was changed since the apply (undo never overwrites later work).
Exit 0 done or nothing to undo, 1 not confirmed or failed, 3 refused.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..cli import EXIT_ERROR, EXIT_OK, open_target, writable_target
from .apply import confirm, print_event, print_refusal

__all__ = ["run", "changed_paths"]


def changed_paths(journal: dict[str, Any]) -> list[str]:
    """The guest files an apply changed, in plan order, for the question."""
    from ..journal import touched

    paths: list[str] = []
    for rec in journal.get("steps", []):
        if not touched(rec):
            continue
        image = rec.get("image") or {}
        path = rec.get("resolved") or rec.get("to") or image.get("path") or rec.get("path")
        if path and path not in paths:
            paths.append(path)
    return paths


def run(args: argparse.Namespace) -> int:
    from ..apply.preflight import ApplyRefused, check_root
    from ..apply.undo import UndoRefused, undo, undoable_journal

    target = open_target(args)
    try:
        check_root(target, "undoing changes")
    except ApplyRefused as exc:
        return print_refusal(exc)
    try:
        journal = undoable_journal(target)
    except UndoRefused as exc:
        return print_refusal(exc)
    if journal is None:
        print("nothing to undo")
        return EXIT_OK
    paths = changed_paths(journal)
    print(
        f"The apply of {journal.get('started')} ({journal['id']}, {journal.get('status')}) changed:"
    )
    for path in paths:
        print(f"  {path}")
    question = f"Undo it on {target.describe()}? [y/N] "
    if not args.yes and not confirm(question):
        print("virtio-wizard: not confirmed; nothing written", file=sys.stderr)
        return EXIT_ERROR
    target = writable_target(target)
    try:
        result = undo(target, on_event=print_event(len(journal.get("steps", []))))
    except (ApplyRefused, UndoRefused) as exc:
        return print_refusal(exc)
    for message in result.messages:
        print(message)
    return EXIT_OK
