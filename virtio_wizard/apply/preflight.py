"""The refusals before apply or undo writes anything, and the target's lock.

``check_plan_applicable`` needs no look at the guest's files (root, a refused
plan, a plan made for another guest); ``survey`` decides for every step
whether it is still to do, and refuses a file changed since planning;
``check_space`` and ``preflight`` refuse what would stop the apply half-way
for a reason known now (no room for a rebuilt initrd, guest commands that
cannot run here, a path that cannot be written). Each raises before the
first write, so a refusal always means "nothing was changed".
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional

from ..finding import Finding
from ..journal import DONE, LOCK_PATH, STATE_DIR, sha256_bytes
from ..plan.model import Plan, Step
from ..targets import (
    FileTooLargeError,
    LockedError,
    NotRegularFileError,
    Target,
    TargetError,
)
from .verify import missing_modules

__all__ = [
    "ApplyRefused",
    "StaleFileError",
    "StepState",
    "ROOT_NOTE",
    "SPACE_MARGIN",
    "check_plan_applicable",
    "check_root",
    "check_space",
    "hold_lock",
    "needs_root",
    "preflight",
    "same_root",
    "survey",
]

#: Room kept free on top of "backup + new image" when an initrd is rebuilt.
SPACE_MARGIN = 16 * 1024 * 1024


class ApplyRefused(ValueError):
    """Apply will not start; nothing was written.

    ``findings`` are the plan's refusals when that is the reason; ``paths``
    the guest paths concerned.
    """

    def __init__(
        self,
        message: str,
        *,
        findings: tuple[Finding, ...] = (),
        paths: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.findings = findings
        self.paths = paths


class StaleFileError(ApplyRefused):
    """A file to edit is neither as planned nor already as wanted."""

    def __init__(self, path: str, detail: str = "") -> None:
        text = f"{path} changed since the plan was made: re-run plan"
        super().__init__(text + (f" ({detail})" if detail else ""), paths=(path,))
        self.path = path


@contextlib.contextmanager
def hold_lock(target: Target) -> Iterator[None]:
    """The target's apply lock, for the whole apply or undo.

    LockedError (another wizard) passes as it is; any other failure to take
    it (a read-only guest, no space for the lock file) becomes one clear
    TargetError naming the guest path, before anything was written.
    """
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(target.lock(LOCK_PATH))
    except LockedError:
        raise
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise TargetError(
            LOCK_PATH, f"cannot take the lock: {reason}; nothing was changed", exc.errno or 0
        ) from exc
    with stack:
        yield


# ---- checks before anything --------------------------------------------------


def same_root(a: str, b: str) -> bool:
    """The same folder, however it was spelled (a symlink, a trailing part)."""
    return a == b or os.path.realpath(a) == os.path.realpath(b)


def needs_root(target: Target) -> bool:
    """Whether apply and undo on this target will be refused for want of root."""
    return target.kind == "local" and os.geteuid() != 0


#: Said at the start (detect, the Guest step), not only when apply refuses.
ROOT_NOTE = "not running as root: detection works, but apply and undo here will need root (sudo)"


def check_root(target: Target, doing: str = "applying") -> None:
    """Writing the running system needs root; say so before anything else."""
    if needs_root(target):
        raise ApplyRefused(
            f"{doing} to this system (/) needs root: run virtio-wizard as root (sudo)",
            paths=("/",),
        )


def check_plan_applicable(target: Target, plan: Plan) -> None:
    """The refusals that need no look at the guest's files.

    Root comes first: on the running system nothing else is worth checking
    if the writes would fail half-way for lack of permission.
    """
    check_root(target, "applying")
    if plan.refused:
        first = plan.refusals[0]
        raise ApplyRefused(
            f"the plan is refused: {first.message}", findings=plan.refusals, paths=()
        )
    want = plan.target or {}
    kind, root = want.get("kind"), want.get("root")
    # A temporary copy's folder is new each run: its kind is what the plan must match.
    copy = bool(kind) and getattr(target, "temporary", False)
    if (kind and kind != target.kind) or (
        root and not copy and not same_root(str(root), target.root)
    ):
        made_for = " ".join(str(x) for x in (kind, root) if x)
        raise ApplyRefused(
            f"this plan was made for {made_for}, not {target.describe()}: "
            "make a new plan for this guest",
            paths=(target.root,),
        )


# ---- the survey: what is left to do ----------------------------------------


@dataclass(frozen=True)
class StepState:
    """What one step needs, found before anything is written."""

    todo: bool
    #: For edits: sha256 of the file now (None when absent), and of the new bytes.
    current: Optional[str] = None
    new: Optional[str] = None
    note: str = ""
    #: A command this target does not run (the demo): shown, never executed.
    demo: bool = False


def survey(target: Target, plan: Plan, prior: Optional[dict[str, Any]]) -> list[StepState]:
    """Decide for every step: to do, or already in place. Raises StaleFileError.

    A command counts as done when its image already holds the modules, or
    when the last apply of this same plan ran it and nothing before it is
    left to do (so a re-run after success records nothing).
    """
    edited: set[str] = set()
    prior_done = prior is not None and prior.get("status") == DONE
    states: list[StepState] = []
    changed_before = False
    for i, step in enumerate(plan.steps):
        if step.kind == "edit":
            state = _survey_edit(target, step, edited)
        elif step.kind == "backup":
            state = _survey_backup(target, step)
        elif step.kind == "remove":
            state = _survey_remove(target, step, edited)
        else:
            state = _survey_command(target, step, i, prior if prior_done else None, changed_before)
        changed_before = changed_before or state.todo
        states.append(state)
    return states


def _survey_edit(target: Target, step: Step, edited: set[str]) -> StepState:
    """An edit is to do (file as planned), done (file as wanted) or stale.

    One file edited by two steps is refused: the second backup would be of
    the first's result, and undo could not get back to the original.
    """
    path = step.path or ""
    resolved = target.resolve(path)
    if resolved in edited:
        raise ApplyRefused(f"the plan edits {resolved} twice: make a new plan", paths=(resolved,))
    edited.add(resolved)
    new = sha256_bytes(step.new_bytes())
    current: Optional[str] = None
    if target.exists(resolved):
        try:
            current = sha256_bytes(target.read_bytes(resolved))
        except (NotRegularFileError, FileTooLargeError) as exc:
            raise StaleFileError(path, exc.message) from exc
    if current == new:
        return StepState(False, current, new, f"{path} is already as planned")
    if current != step.old_sha256:
        if step.old_sha256 is None:
            detail = "it exists now"
        else:
            detail = "it is gone" if current is None else "its content differs"
        raise StaleFileError(path, detail)
    return StepState(True, current, new)


def _survey_remove(target: Target, step: Step, edited: set[str]) -> StepState:
    """A removal is to do (file as planned), done (file gone) or stale."""
    path = step.path or ""
    resolved = target.resolve(path)
    if resolved in edited:
        raise ApplyRefused(f"the plan edits {resolved} twice: make a new plan", paths=(resolved,))
    edited.add(resolved)
    if not target.exists(resolved) and not target.is_symlink(resolved):
        return StepState(False, None, None, f"{path} is already gone")
    try:
        current = sha256_bytes(target.read_bytes(resolved))
    except (NotRegularFileError, FileTooLargeError) as exc:
        raise StaleFileError(path, exc.message) from exc
    if current != step.old_sha256:
        raise StaleFileError(path, "its content differs")
    return StepState(True, current, None)


def _survey_backup(target: Target, step: Step) -> StepState:
    to, path = step.to or "", step.path or ""
    if target.exists(to):
        return StepState(False, note=f"{to} exists and is kept")
    if not target.is_file(path):
        raise StaleFileError(path, "the file to back up is missing")
    return StepState(True)


def _survey_command(
    target: Target,
    step: Step,
    index: int,
    prior_done: Optional[dict[str, Any]],
    changed_before: bool,
) -> StepState:
    if not target.can_run:
        return StepState(False, note="demo: would run: " + shlex.join(step.argv), demo=True)
    if step.image and step.verify_modules and target.is_file(step.image):
        try:
            if not missing_modules(target, step.image, step.verify_modules):
                return StepState(False, note=f"{step.image} already holds the modules")
        except ValueError:
            pass
    if prior_done is not None and not changed_before:
        records = prior_done.get("steps", [])
        if index < len(records) and records[index].get("status") == DONE:
            return StepState(False, note="done by the previous apply")
    return StepState(True)


def check_space(target: Target, plan: Plan, states: list[StepState]) -> None:
    """A rebuild needs room for the old image's backup and the new image."""
    need: dict[str, int] = {}
    for step, state in zip(plan.steps, states):
        if step.kind != "command" or not state.todo or not step.image:
            continue
        info = target.stat(step.image)
        size = info.size if info is not None and info.is_file else 0
        folder = posixpath.dirname(step.image) or "/"
        need[folder] = need.get(folder, 0) + 2 * size + SPACE_MARGIN
    for folder, wanted in sorted(need.items()):
        free = target.free_bytes(folder)
        if free is not None and free < wanted:
            mib = 1024 * 1024
            raise ApplyRefused(
                f"{folder} has {free // mib} MiB free; rebuilding the initrd needs about "
                f"{-(-wanted // mib)} MiB (a backup of the image and the new image): "
                "free some space there (old kernels, old images) and apply again",
                paths=(folder,),
            )


def preflight(target: Target, plan: Plan, states: list[StepState]) -> None:
    """Everything the steps left to do need, checked before the first write.

    A plan that would stop half-way for a reason known now (guest commands
    that cannot run here: no bwrap, not root; a file or folder that cannot
    be written: read-only, immutable, no permission) stops with one
    TargetError while nothing has changed, not after the first backups.
    """
    commands = [
        s for s, st in zip(plan.steps, states) if s.kind == "command" and st.todo and not st.demo
    ]
    if commands:
        problem = target.command_problem()
        if problem is not None:
            raise TargetError(commands[0].argv[0], f"{problem}; nothing was changed", errno.EPERM)
    paths: list[str] = [f"{STATE_DIR}/journal/x.json"]
    for step, state in zip(plan.steps, states):
        if not state.todo:
            continue
        if step.kind == "edit" and step.path:
            paths.append(step.path)
        elif step.kind == "backup" and step.to:
            paths.append(step.to)
        elif step.kind == "command" and step.image and not state.demo:
            paths.append(step.image)
    for path in paths:
        problem = target.write_problem(path)
        if problem is not None:
            shown = STATE_DIR if path.startswith(STATE_DIR + "/") else path
            raise TargetError(
                shown, f"cannot be written: {problem}; nothing was changed", errno.EACCES
            )
