"""``virtio-wizard apply``: detect, plan (or load a saved plan), show, confirm, apply.

The preview is always printed first. Refusals stop it whatever ``--yes``
says (exit 3); without ``--yes`` the user is asked on the terminal, and no
terminal (a pipe, EOF) means no: exit 1, nothing written. Command output is
streamed as it comes; at the end the result and what is left to do (detect
again, ``verify``) are printed. Exit 0 done, 1 failure, 2 usage, 3 refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, Optional, TextIO

from ..cli import EXIT_ERROR, EXIT_OK, EXIT_REFUSED, UsageError, open_target
from ..plan.model import Plan, PlanError

__all__ = ["run", "load_plan", "confirm", "print_event", "print_refusal"]

#: Options that make a plan; ``--plan FILE`` replaces them all.
_CHOICE_OPTIONS = ("method", "drivers", "kernel", "sysinit_file")


def load_plan(path: str) -> Plan:
    """A plan saved with ``plan -o FILE``; UsageError when it cannot be one."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise UsageError(f"cannot read the plan {path}: {exc.strerror or exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"the plan {path} is not JSON: {exc}") from exc
    try:
        return Plan.from_dict(data)
    except PlanError as exc:
        raise UsageError(f"the plan {path} is not usable: {exc}") from exc


def confirm(question: str, stdin: Optional[TextIO] = None, out: Optional[TextIO] = None) -> bool:
    """Ask ``question`` on the terminal; only an explicit yes is yes.

    Without a terminal (a script forgot ``--yes``) or at end of input the
    answer is no: writing a guest must never be a default.
    """
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    if not stdin.isatty():
        return False
    out.write(question)
    out.flush()
    line = stdin.readline()
    if not line:
        out.write("\n")
        return False
    return line.strip().lower() in ("y", "yes")


def print_event(
    total: int, out: Optional[TextIO] = None, failed: Optional[list[str]] = None
) -> Callable:
    """An ``on_event`` callback that prints apply/undo progress as plain lines.

    Failure texts are also collected in ``failed`` (when given), so the
    caller does not print them a second time from the result's messages.
    """
    stream = out or sys.stdout

    def show(event) -> None:
        if event.kind == "step-failed" and failed is not None:
            failed.append(event.text)
        n = f"[{event.index + 1}/{total}]" if event.index is not None else ""
        if event.kind == "step-start":
            line = f"{n} {event.text}"
        elif event.kind == "output":
            line = f"    | {event.text}"
        elif event.kind == "step-done":
            line = f"    done: {event.text}"
        elif event.kind == "step-skipped":
            line = f"{n} skipped: {event.text}"
        elif event.kind == "step-failed":
            line = f"    FAILED: {event.text}"
        else:
            line = f"note: {event.text}"
        stream.write(line + "\n")
        stream.flush()

    return show


def print_refusal(exc: Exception) -> int:
    """One refusal on stderr, with the plan's fixes when it has them; exit 3."""
    print(f"virtio-wizard: refused: {exc}", file=sys.stderr)
    for finding in getattr(exc, "findings", ()):
        if finding.fix:
            print(f"  {finding.id}: {finding.fix}", file=sys.stderr)
    print("virtio-wizard: nothing written", file=sys.stderr)
    return EXIT_REFUSED


def run(args: argparse.Namespace) -> int:
    from ..apply import ApplyRefused, apply_plan, check_plan_applicable, check_root, verify
    from ..detect import detect
    from ..preview import render_text, terminal_width

    plan_file = getattr(args, "plan", None)
    if plan_file:
        given = [o for o in _CHOICE_OPTIONS if getattr(args, o, None)]
        if given:
            flags = ", ".join("--" + o.replace("_", "-") for o in given)
            raise UsageError(f"--plan FILE replaces {flags}: give one or the other")
        plan: Optional[Plan] = load_plan(plan_file)
        choices = None
    else:
        from .plan import choices_from_args

        choices = choices_from_args(args)
        plan = None
    target = open_target(args)
    try:
        check_root(target, "applying")
    except ApplyRefused as exc:
        return print_refusal(exc)
    facts = detect(target)
    if plan is None:
        from ..plan import make_plan

        plan = make_plan(target, facts, choices)
    sys.stdout.write(
        render_text(plan, color=sys.stdout.isatty(), width=terminal_width(sys.stdout.isatty()))
    )
    try:
        check_plan_applicable(target, plan)
    except ApplyRefused as exc:
        return print_refusal(exc)
    if plan.changes_nothing:
        print("nothing to change: the guest is already as this plan wants it")
        return EXIT_OK
    count = len(plan.steps)
    question = f"Apply these {count} changes to {target.describe()}? [y/N] "
    if not args.yes and not confirm(question):
        print("virtio-wizard: not confirmed; nothing written", file=sys.stderr)
        return EXIT_ERROR
    shown: list[str] = []
    try:
        result = apply_plan(target, plan, on_event=print_event(count, failed=shown))
    except ApplyRefused as exc:
        return print_refusal(exc)
    for message in result.messages:
        if message not in shown:  # a failed step's text was printed as it happened
            print(message)
    if result.status == "failed":
        print("virtio-wizard: apply failed", file=sys.stderr)
        return EXIT_ERROR
    for line in verify(target, plan, before=facts):
        print(f"- {line}")
    return EXIT_OK
