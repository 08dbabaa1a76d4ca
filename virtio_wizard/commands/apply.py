"""``virtio-wizard apply``: detect, plan (or load a saved plan), show, confirm, apply.

The preview is printed first (for ``--plan FILE`` once the file is checked
and planned again, see ``rederive``: a forged plan is never shown as if it
would run). Refusals stop it whatever ``--yes``
says (exit 3); without ``--yes`` the user is asked on the terminal, and no
terminal (a pipe, EOF) means no: exit 1, nothing written. Command output is
streamed as it comes; at the end the result and what is left to do (detect
again, ``verify``) are printed. Exit 0 done, 1 failure, 2 usage, 3 refused.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from typing import TYPE_CHECKING, Any, Callable, Optional, TextIO

from ..cli import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    UsageError,
    open_target,
    writable_target,
)
from ..plan.model import Plan
from ..plan.saved import MAX_PLAN_BYTES, SavedPlanError, parse_plan_document
from ..present.remedy import cli_fix

if TYPE_CHECKING:
    from ..targets import Target

__all__ = ["run", "load_plan", "rederive", "confirm", "print_event", "print_refusal"]

#: Options that make a plan; ``--plan FILE`` replaces them all.
_CHOICE_OPTIONS = ("method", "drivers", "kernel", "sysinit_file")


def load_plan(path: str) -> Plan:
    """A plan saved with ``plan -o FILE``, checked whole; SavedPlanError when it is not one.

    Only a regular file is read (a FIFO would hang, ``/dev/zero`` never end),
    and at most ``MAX_PLAN_BYTES`` of it; every field is checked before the
    plan is used (``plan.saved``). The message is one line naming the file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise SavedPlanError(f"cannot read the plan {path}: {exc.strerror or exc}") from None
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
        if not regular:
            raise SavedPlanError(f"the plan {path} is not a regular file (plan -o writes one)")
        with os.fdopen(os.dup(fd), "rb") as fh:
            raw = fh.read(MAX_PLAN_BYTES + 1)
    except OSError as exc:
        raise SavedPlanError(f"cannot read the plan {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    try:
        return parse_plan_document(raw)
    except SavedPlanError as exc:
        how = "is not usable: " if exc.context else "is "
        raise SavedPlanError(f"the plan {path} {how}{exc}; make it again with plan -o") from None


def rederive(target: Target, facts: Any, saved: Plan, name: str) -> Plan:
    """The plan to run for a saved one: the wizard's own, from the saved choices.

    It must be the saved plan itself, step for step; or the saved plan must
    be the one the guest's latest apply (not undone) ran, so a rerun after an
    interruption finishes it with what the wizard plans now. Anything else is
    refused (ApplyRefused, StaleFileError when a file changed since).
    """
    from ..apply.preflight import ApplyRefused, StaleFileError
    from ..journal import latest_journal, sha256_file
    from ..plan import make_plan
    from ..plan.saved import differences, stale_edit

    fresh = make_plan(target, facts, saved.choices)
    diffs = differences(saved, fresh)
    if not diffs:
        return fresh
    last = latest_journal(target)
    if last is not None and not last.get("undone") and _same_plan(last.get("plan"), saved):
        return fresh

    def sha_of(path: str) -> Optional[str]:
        try:
            return sha256_file(target, target.resolve(path))
        except OSError:  # not a regular file any more, unreadable: changed all the same
            return "unreadable"

    stale = stale_edit(saved, fresh, sha_of)
    if stale is not None:
        raise StaleFileError(stale)
    shown = "; ".join(diffs[:3]) + ("; ..." if len(diffs) > 3 else "")
    raise ApplyRefused(
        f"the plan {name} is not what the wizard plans for this guest now ({shown}): "
        "a plan file can only confirm the wizard's own plan; make a new one with plan -o",
        paths=(target.root,),
    )


def _same_plan(recorded: Any, saved: Plan) -> bool:
    """Whether a journal's plan is ``saved`` (the target's spelling aside)."""
    if not isinstance(recorded, dict):
        return False
    mine = json.loads(json.dumps(saved.to_dict()))
    return {k: v for k, v in recorded.items() if k != "target"} == {
        k: v for k, v in mine.items() if k != "target"
    }


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
    from ..apply.events import EventKind
    from ..preview import printable

    stream = out or sys.stdout
    lines = {
        EventKind.STEP_START: "{n} {text}",
        EventKind.OUTPUT: "    | {text}",
        EventKind.STEP_DONE: "    done: {text}",
        EventKind.STEP_SKIPPED: "{n} skipped: {text}",
        EventKind.STEP_FAILED: "    FAILED: {text}",
        EventKind.NOTE: "note: {text}",
    }

    def show(event) -> None:
        if event.kind == EventKind.STEP_FAILED and failed is not None:
            failed.append(event.text)
        n = f"[{event.index + 1}/{total}]" if event.index is not None else ""
        line = lines[event.kind].format(n=n, text=event.text)
        # Guest names and command output: shown, never sent to the terminal raw.
        stream.write(printable(line) + "\n")
        stream.flush()

    return show


def print_refusal(exc: Exception) -> int:
    """One refusal on stderr, with the plan's fixes when it has them; exit 3."""
    print(f"virtio-wizard: refused: {exc}", file=sys.stderr)
    for finding in getattr(exc, "findings", ()):
        if finding.remedy:
            print(f"  {finding.id}: {cli_fix(finding.remedy)}", file=sys.stderr)
    print("virtio-wizard: nothing written", file=sys.stderr)
    return EXIT_REFUSED


def _saved_plan(args: argparse.Namespace) -> Optional[Plan]:
    """The plan ``--plan FILE`` names, or None; SavedPlanError when it cannot be read."""
    plan_file = getattr(args, "plan", None)
    if not plan_file:
        return None
    given = [o for o in _CHOICE_OPTIONS if getattr(args, o, None)]
    if given:
        flags = ", ".join("--" + o.replace("_", "-") for o in given)
        raise UsageError(f"--plan FILE replaces {flags}: give one or the other")
    return load_plan(plan_file)


def _show(plan: Plan) -> None:
    from ..preview import render_text, terminal_width

    tty = sys.stdout.isatty()
    sys.stdout.write(render_text(plan, color=tty, width=terminal_width(tty)))


def _plan_to_apply(
    target: Target, facts: Any, saved: Optional[Plan], choices: Any, plan_file: str
) -> Plan:
    """The plan made (or re-derived from the saved one), shown, and the steps that will run.

    Raises ApplyRefused. An unfinished apply with the same choices runs its
    own steps instead, and they are shown too (docs/apply.md).
    """
    from ..apply.preflight import check_plan_applicable
    from ..apply.resume import plan_to_resume
    from ..plan import make_plan

    if saved is not None:
        check_plan_applicable(target, saved)  # made for this guest, not refused
        plan = rederive(target, facts, saved, plan_file)
    else:
        plan = make_plan(target, facts, choices)
    _show(plan)
    check_plan_applicable(target, plan)
    resumed = plan_to_resume(target, plan)
    if resumed is None:
        return plan
    print("\nAn unfinished apply with these choices is on this guest; these are its steps:\n")
    _show(resumed)
    return resumed


def run(args: argparse.Namespace) -> int:
    from ..apply.preflight import ApplyRefused, check_root
    from ..apply.run import apply_plan
    from ..apply.verify import verify
    from ..detect import detect

    try:
        saved = _saved_plan(args)
    except SavedPlanError as exc:
        print(f"virtio-wizard: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if saved is not None:
        choices = saved.choices
    else:
        from .plan import choices_from_args

        choices = choices_from_args(args)  # usage errors before the guest is opened
    target = open_target(args)
    try:
        check_root(target, "applying")
    except ApplyRefused as exc:
        return print_refusal(exc)
    facts = detect(target)
    try:
        plan = _plan_to_apply(target, facts, saved, choices, getattr(args, "plan", None) or "")
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
    target = writable_target(target)
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
