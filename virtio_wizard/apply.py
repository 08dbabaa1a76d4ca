"""The executor: apply a Plan to a Target with backups and a journal.

``apply_plan`` is the only code that changes a guest. Before it writes
anything it refuses (``ApplyRefused`` and its kinds) when the plan is refused,
when it would write ``/`` without root, when the plan was made for another
guest, when a file changed since planning, or when ``/boot`` has no room for a
rebuilt initrd. Then, under the target's lock, it keeps a journal (see
``virtio_wizard.journal``) and for every edit first copies the original, then
replaces the file atomically (``Target.write_file``: temp file, fsync, rename,
mode and owner kept).

Crash safety comes from three rules: every guest file is replaced by rename
(so it is old or new, never half); the journal is rewritten after each step;
and a step whose file already holds the planned bytes counts as done. A
re-run of the same plan after a kill therefore finishes the job, reusing the
backups of the first run, and a re-run after success changes and records
nothing. ``undo`` (``virtio_wizard.undo``) replays a journal backwards.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import posixpath
import shlex
import signal
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .finding import Finding
from .journal import (
    DONE,
    FAILED,
    INTERRUPTED,
    JOURNAL_SCHEMA,
    LOCK_PATH,
    RUNNING,
    STATE_DIR,
    UNREADABLE,
    backup_path,
    changed_anything,
    latest_journal,
    list_journals,
    new_journal_id,
    sha256_bytes,
    sha256_file,
    timestamp,
    write_journal,
)
from .plan.model import Plan, Step
from .target import (
    CommandsDisabledError,
    FileTooLargeError,
    LockedError,
    NotRegularFileError,
    Target,
    TargetError,
)

__all__ = [
    "ApplyEvent",
    "StepOutcome",
    "ApplyResult",
    "ApplyRefused",
    "StaleFileError",
    "apply_plan",
    "check_plan_applicable",
    "check_root",
    "plan_to_resume",
    "hold_lock",
    "missing_modules",
    "verify",
    "list_journals",
    "latest_journal",
    "FAULT_ENV",
    "SPACE_MARGIN",
]

#: Test hook, see ``_fault``: ``VIRTIO_WIZARD_FAULT=step:N:PHASE``.
FAULT_ENV = "VIRTIO_WIZARD_FAULT"
#: Room kept free on top of "backup + new image" when an initrd is rebuilt.
SPACE_MARGIN = 16 * 1024 * 1024
#: Lines of command output kept in the journal.
OUTPUT_TAIL = 40

# Event kinds.
STEP_START, STEP_DONE, STEP_SKIPPED, STEP_FAILED = (
    "step-start",
    "step-done",
    "step-skipped",
    "step-failed",
)
OUTPUT, NOTE = "output", "note"

# Step outcomes.
ALREADY, SKIPPED, PENDING = "already", "skipped", "pending"


@dataclass(frozen=True)
class ApplyEvent:
    """Progress for the CLI and the TUI: what happens, at which step.

    ``kind`` is step-start, step-done, step-skipped, step-failed, output (a
    line of a command's output) or note; ``index`` is the plan step, or None
    for notes about the whole apply.
    """

    kind: str
    index: Optional[int]
    text: str


@dataclass(frozen=True)
class StepOutcome:
    """How one step ended: done, already (nothing to do), skipped, failed, pending."""

    index: int
    kind: str
    status: str
    text: str


@dataclass(frozen=True)
class ApplyResult:
    """What an apply did. ``status`` is done, nothing (all in place) or failed."""

    status: str
    journal: Optional[str]
    outcomes: tuple[StepOutcome, ...] = ()
    messages: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status in (DONE, "nothing")

    @property
    def changed(self) -> bool:
        """True when the guest was changed (a journal was written)."""
        return self.journal is not None


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


Emit = Callable[[ApplyEvent], None]


def _fault(index: int, phase: str) -> None:
    """Kill this process with SIGKILL at a write boundary, for the fault tests.

    Set ``VIRTIO_WIZARD_FAULT=step:N:PHASE`` (phases: start, backed-up,
    recorded, written, done for edits; start, ran, done for backups and
    commands) and apply dies there as under ``kill -9``; ``tests/test_faults.py``
    then checks every file is old or new and a re-run finishes. Unset, it is
    one dictionary lookup.
    """
    if os.environ.get(FAULT_ENV) == f"step:{index}:{phase}":
        os.kill(os.getpid(), signal.SIGKILL)


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


def _same_root(a: str, b: str) -> bool:
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
    if (kind and kind != target.kind) or (
        root and kind != "demo" and not _same_root(str(root), target.root)
    ):
        made_for = " ".join(str(x) for x in (kind, root) if x)
        raise ApplyRefused(
            f"this plan was made for {made_for}, not {target.describe()}: "
            "make a new plan for this guest",
            paths=(target.root,),
        )


def missing_modules(target: Target, image: str, modules: tuple[str, ...]) -> tuple[str, ...]:
    """The ``modules`` not inside the initrd ``image``; raises ValueError if unreadable."""
    from .initrd import inspect_initrd
    from .knowledge import canonical_module

    info = inspect_initrd(target, image)
    inside = info.modules if info.modules is not None else info.virtio
    if inside is None:
        raise ValueError(f"cannot read {image}: {info.error or 'unknown format'}")
    have = {canonical_module(m) for m in inside}
    return tuple(m for m in modules if canonical_module(m) not in have)


# ---- the survey: what is left to do ----------------------------------------


@dataclass(frozen=True)
class _State:
    """What one step needs, found before anything is written."""

    todo: bool
    #: For edits: sha256 of the file now (None when absent), and of the new bytes.
    current: Optional[str] = None
    new: Optional[str] = None
    note: str = ""
    #: A command this target does not run (the demo): shown, never executed.
    demo: bool = False


def _survey(target: Target, plan: Plan, prior: Optional[dict[str, Any]]) -> list[_State]:
    """Decide for every step: to do, or already in place. Raises StaleFileError.

    A command counts as done when its image already holds the modules, or
    when the last apply of this same plan ran it and nothing before it is
    left to do (so a re-run after success records nothing).
    """
    edited: set[str] = set()
    prior_done = prior is not None and prior.get("status") == DONE
    states: list[_State] = []
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


def _survey_edit(target: Target, step: Step, edited: set[str]) -> _State:
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
        return _State(False, current, new, f"{path} is already as planned")
    if current != step.old_sha256:
        if step.old_sha256 is None:
            detail = "it exists now"
        else:
            detail = "it is gone" if current is None else "its content differs"
        raise StaleFileError(path, detail)
    return _State(True, current, new)


def _survey_remove(target: Target, step: Step, edited: set[str]) -> _State:
    """A removal is to do (file as planned), done (file gone) or stale."""
    path = step.path or ""
    resolved = target.resolve(path)
    if resolved in edited:
        raise ApplyRefused(f"the plan edits {resolved} twice: make a new plan", paths=(resolved,))
    edited.add(resolved)
    if not target.exists(resolved) and not target.is_symlink(resolved):
        return _State(False, None, None, f"{path} is already gone")
    try:
        current = sha256_bytes(target.read_bytes(resolved))
    except (NotRegularFileError, FileTooLargeError) as exc:
        raise StaleFileError(path, exc.message) from exc
    if current != step.old_sha256:
        raise StaleFileError(path, "its content differs")
    return _State(True, current, None)


def _survey_backup(target: Target, step: Step) -> _State:
    to, path = step.to or "", step.path or ""
    if target.exists(to):
        return _State(False, note=f"{to} exists and is kept")
    if not target.is_file(path):
        raise StaleFileError(path, "the file to back up is missing")
    return _State(True)


def _survey_command(
    target: Target,
    step: Step,
    index: int,
    prior_done: Optional[dict[str, Any]],
    changed_before: bool,
) -> _State:
    if not target.can_run:
        return _State(False, note="demo: would run: " + shlex.join(step.argv), demo=True)
    if step.image and step.verify_modules and target.is_file(step.image):
        try:
            if not missing_modules(target, step.image, step.verify_modules):
                return _State(False, note=f"{step.image} already holds the modules")
        except ValueError:
            pass
    if prior_done is not None and not changed_before:
        records = prior_done.get("steps", [])
        if index < len(records) and records[index].get("status") == DONE:
            return _State(False, note="done by the previous apply")
    return _State(True)


def _check_space(target: Target, plan: Plan, states: list[_State]) -> None:
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


def _preflight(target: Target, plan: Plan, states: list[_State]) -> None:
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


# ---- journal records ----------------------------------------------------------


def _plain_plan(plan: Plan) -> dict[str, Any]:
    """The plan exactly as it reads back from the journal's JSON."""
    return json.loads(json.dumps(plan.to_dict()))


def _resumable(target: Target, plan: Plan) -> tuple[Plan, Optional[dict[str, Any]]]:
    """The plan to carry out and the journal it continues (None: a new journal).

    An unfinished apply (running, interrupted, failed; not undone) made with
    the same choices for the same kernel on this guest is resumed with its
    own steps, whatever plan object the rerun brings: a plan made again
    after the interruption sees the first run's backups and would name new
    ones, back up a half-done file, and start a second journal, so that one
    undo would no longer give back the guest as it was. An unfinished apply
    with other choices that changed something is refused: finish it or undo
    it first. The latest apply when done counts only for the same plan.
    """
    journals = [j for j in list_journals(target) if j.get("status") != UNREADABLE]
    if not journals or journals[-1].get("undone"):
        return plan, None
    last = journals[-1]
    same_plan = last.get("plan") == _plain_plan(plan)
    if last.get("status") == DONE:
        return plan, (last if same_plan else None)
    if same_plan:
        return plan, last
    saved = last.get("plan") or {}
    same_choices = (
        saved.get("choices") == _plain_plan(plan)["choices"]
        and saved.get("kernel") == plan.kernel
        and _same_target(last.get("target") or {}, target)
    )
    if same_choices:
        try:
            return Plan.from_dict(saved), last
        except (ValueError, TypeError, KeyError):
            pass
    if not changed_anything(last):
        return plan, None
    raise ApplyRefused(
        f"the apply {last['id']} ({last.get('started', '?')}) did not finish and was made "
        "with other choices: run it again with its choices to finish it, or "
        "`virtio-wizard undo` to revert it, then apply; nothing was changed",
        paths=(str(last.get("path") or ""),),
    )


def _same_target(saved: dict[str, Any], target: Target) -> bool:
    kind, root = saved.get("kind"), saved.get("root")
    return kind == target.kind and isinstance(root, str) and _same_root(root, target.root)


def plan_to_resume(target: Target, plan: Plan) -> Optional[Plan]:
    """The unfinished apply's own plan when ``apply_plan`` would resume it instead of ``plan``.

    For the faces: show the steps that will really run. ApplyRefused when an
    unfinished apply with other choices is in the way.
    """
    own, journal = _resumable(target, plan)
    return own if journal is not None and own is not plan else None


def _step_record(i: int, step: Step) -> dict[str, Any]:
    rec: dict[str, Any] = {"index": i, "kind": step.kind, "status": PENDING, "changed": False}
    if step.kind in ("edit", "backup", "remove"):
        rec["path"] = step.path
    if step.kind == "backup":
        rec["to"] = step.to
    if step.kind == "command":
        rec["argv"] = list(step.argv)
        if step.image:
            rec["image"] = None
    return rec


def _new_journal(target: Target, plan: Plan) -> dict[str, Any]:
    import time

    return {
        "schema": JOURNAL_SCHEMA,
        "id": new_journal_id(target),
        "started": timestamp(),
        "started_ts": time.time(),
        "finished": None,
        "status": RUNNING,
        "undone": None,
        "target": {"kind": target.kind, "root": target.root},
        "plan": _plain_plan(plan),
        "steps": [_step_record(i, s) for i, s in enumerate(plan.steps)],
        "messages": [],
    }


# ---- apply --------------------------------------------------------------------


def apply_plan(target: Target, plan: Plan, *, on_event: Optional[Emit] = None) -> ApplyResult:
    """Execute ``plan`` on ``target``; see the module docstring for the rules.

    Raises ApplyRefused (StaleFileError, ...) before writing anything, and
    LockedError when another apply holds the target. A failing step stops
    the apply and is reported in the result (status ``failed``), with the
    way back (``virtio-wizard undo``) in its messages.
    """
    emit: Emit = on_event or (lambda _event: None)
    check_plan_applicable(target, plan)
    given = plan
    plan, prior = _resumable(target, given)
    states = _survey(target, plan, prior)
    if not any(s.todo for s in states) and not _unfinished(prior):
        return _nothing_to_do(plan, states, emit)
    _check_space(target, plan, states)
    _preflight(target, plan, states)
    with hold_lock(target):
        plan, prior = _resumable(target, given)
        states = _survey(target, plan, prior)
        _check_space(target, plan, states)
        if not any(s.todo for s in states) and not _unfinished(prior):
            return _nothing_to_do(plan, states, emit)
        if prior is not None and _unfinished(prior):
            # Killed after its last change but before its journal said so,
            # or stopped by a failure: finish that record, keep its backups.
            journal = prior
            journal.pop("path", None)
            journal["status"] = RUNNING
            journal["finished"] = None
            own = "" if plan is given else " with its own steps (the same choices)"
            emit(ApplyEvent(NOTE, None, f"resuming the unfinished apply {journal['id']}{own}"))
        else:
            journal = _new_journal(target, plan)
        return _Run(target, plan, journal, states, emit).run()


def _unfinished(journal: Optional[dict[str, Any]]) -> bool:
    return journal is not None and journal.get("status") != DONE


def _nothing_to_do(plan: Plan, states: list[_State], emit: Emit) -> ApplyResult:
    outcomes = []
    for i, (step, state) in enumerate(zip(plan.steps, states)):
        status = SKIPPED if state.demo else ALREADY
        emit(ApplyEvent(STEP_SKIPPED, i, state.note))
        outcomes.append(StepOutcome(i, step.kind, status, state.note))
    return ApplyResult(
        "nothing",
        None,
        tuple(outcomes),
        ("everything is already in place: nothing was changed",),
    )


class _Run:
    """One apply in progress: the steps, the journal, and the way they are saved."""

    def __init__(
        self,
        target: Target,
        plan: Plan,
        journal: dict[str, Any],
        states: list[_State],
        emit: Emit,
    ) -> None:
        self.target = target
        self.plan = plan
        self.journal = journal
        self.states = states
        self.emit = emit
        self.outcomes: list[StepOutcome] = []
        self.messages: list[str] = []
        self.path = ""
        #: A save failed: the journal on the guest lags behind what was done.
        self.unsaved = False
        #: Why the first failed save failed (it names what to fix before a rerun).
        self.unsaved_errno: Optional[int] = None

    def save(self) -> None:
        self.path = write_journal(self.target, self.journal)

    def _try_save(self) -> None:
        """Save when the apply is already failing: a second error must not hide the first.

        Said once: a guest that went away (a dropped SSH connection, a full
        disk) fails every later save the same way.
        """
        try:
            self.save()
        except OSError as exc:
            if not self.unsaved:
                self.messages.append(f"the journal could not be updated: {_os_reason(exc)}")
                self.unsaved_errno = exc.errno
            self.unsaved = True

    def run(self) -> ApplyResult:
        try:
            self.save()
        except OSError as exc:
            text = f"cannot write the journal: {_os_reason(exc)}; nothing was changed"
            return ApplyResult(FAILED, None, (), (text,))
        failed = False
        try:
            for i, step in enumerate(self.plan.steps):
                _fault(i, "start")
                if not self._step(i, step):
                    failed = True
                    break
        except BaseException:
            self.journal["status"] = INTERRUPTED
            self.journal["finished"] = timestamp()
            self._try_save()
            raise
        for j in range(len(self.outcomes), len(self.plan.steps)):
            self.outcomes.append(StepOutcome(j, self.plan.steps[j].kind, PENDING, "not reached"))
        if failed and self.unsaved:
            # The journal may not list the last step: undo alone could miss it,
            # while a rerun surveys every file and resumes the journal.
            self.messages.append(
                f"apply stopped and its journal {self.path} could not be updated; every "
                "file is either as it was or as planned: run the same apply again once "
                f"{_once(self.unsaved_errno)} (it resumes and finishes), then "
                "`virtio-wizard undo` if you want the old files back"
            )
        elif failed:
            self.messages.append(
                f"apply stopped; the journal {self.path} lists what was changed: "
                "run `virtio-wizard undo` to put it back"
            )
        else:
            self.messages.append(f"journal: {self.path}; `virtio-wizard undo` reverts this apply")
        self.journal["status"] = FAILED if failed else DONE
        self.journal["finished"] = timestamp()
        self.journal["messages"] = list(self.messages)
        self._try_save()
        return ApplyResult(
            FAILED if failed else DONE, self.path, tuple(self.outcomes), tuple(self.messages)
        )

    def _settle(self, rec: dict[str, Any], step: Step) -> None:
        """Record a step found in place: ours (done) if an earlier run began it.

        A re-run after a kill finds the file already new; the backup the first
        run recorded makes it this apply's change, so undo still restores it.
        A command cut short is ours when its image changed since.
        """
        ours = bool(rec.get("changed") or rec.get("backup") or rec.get("created"))
        image = rec.get("image")
        if step.kind == "command" and image and step.image:
            now = sha256_file(self.target, step.image)
            if now != image.get("before_sha256"):
                image["after_sha256"] = now
                ours = True
        if step.kind == "backup" and ours and not rec.get("sha256"):
            rec["sha256"] = sha256_file(self.target, step.to or "")
        rec["status"] = DONE if ours else ALREADY
        rec["changed"] = ours

    # ---- one step ----

    def _step(self, i: int, step: Step) -> bool:
        """Run one step; False when it failed (the apply stops)."""
        rec = self.journal["steps"][i]
        state = self.states[i]
        if not state.todo:
            if state.demo:
                return self._demo_command(i, step, rec)
            self._settle(rec, step)
            self.save()
            self._outcome(i, step, ALREADY, state.note or "already in place", STEP_SKIPPED)
            return True
        self.emit(ApplyEvent(STEP_START, i, step.why))
        rec.pop("intact", None)  # a resumed step starts afresh
        rec.pop("error", None)
        try:
            if step.kind == "edit":
                self._edit(i, step, rec, state)
            elif step.kind == "backup":
                self._backup(i, step, rec)
            elif step.kind == "remove":
                self._remove(i, step, rec, state)
            else:
                return self._command(i, step, rec)
        except OSError as exc:
            if step.kind != "edit":
                # Nothing of ours was being written: a command's own output
                # file is the command's business (and the backup step's copy
                # goes through a temp file).
                return self._fail(i, step, rec, _os_reason(exc))
            rec["intact"] = self._intact(rec, state)
            return self._fail(i, step, rec, _os_message(exc))
        return True

    def _intact(self, rec: dict[str, Any], state: _State) -> bool:
        """After a failed edit: is the file still as it was? (Then undo skips it.)"""
        try:
            now = sha256_file(self.target, rec.get("resolved") or rec["path"])
        except OSError:
            return False
        return now == state.current

    def _outcome(self, i: int, step: Step, status: str, text: str, event: str) -> None:
        self.outcomes.append(StepOutcome(i, step.kind, status, text))
        self.emit(ApplyEvent(event, i, text))

    def _fail(self, i: int, step: Step, rec: dict[str, Any], text: str) -> bool:
        rec["status"] = FAILED
        rec["error"] = text
        self.messages.append(text)
        self._try_save()
        self._outcome(i, step, FAILED, text, STEP_FAILED)
        return False

    def _edit(self, i: int, step: Step, rec: dict[str, Any], state: _State) -> None:
        t = self.target
        path = step.path or ""
        resolved = t.resolve(path)
        rec["resolved"] = resolved
        rec["new_sha256"] = state.new
        info = t.stat(resolved)
        if info is not None and self._has_backup(rec, resolved, state):
            pass  # the journal already holds this very file's copy: never copied twice
        elif info is not None:
            copy = backup_path(self.journal["id"], resolved)
            t.makedirs(posixpath.dirname(copy), 0o700)
            t.copy_file(resolved, copy)
            if sha256_file(t, copy) != state.current:
                raise OSError(f"the backup copy {copy} does not match {resolved}")
            _fault(i, "backed-up")
            rec["backup"] = {
                "path": copy,
                "sha256": state.current,
                "mode": info.perms,
                "uid": info.uid,
                "gid": info.gid,
            }
            rec.pop("created", None)
        else:
            rec["created"] = True
            rec["created_dirs"] = _missing_dirs(t, posixpath.dirname(resolved))
            for folder in rec["created_dirs"]:
                t.makedirs(folder)
        rec["status"] = RUNNING
        self.save()
        _fault(i, "recorded")
        t.write_file(path, step.new_bytes(), mode=step.mode)
        self._lost_xattrs(i, rec, path)
        _fault(i, "written")
        rec["status"] = DONE
        rec["changed"] = True
        self.save()
        _fault(i, "done")
        verb = "created" if rec.get("created") else "wrote"
        self._outcome(i, step, DONE, f"{verb} {path}", STEP_DONE)

    def _has_backup(self, rec: dict[str, Any], resolved: str, state: _State) -> bool:
        """The journal recorded a backup of this file as it is now, and the copy is intact."""
        prev = rec.get("backup") or {}
        return (
            prev.get("path") == backup_path(self.journal["id"], resolved)
            and prev.get("sha256") == state.current
            and sha256_file(self.target, prev["path"]) == state.current
        )

    def _lost_xattrs(self, i: int, rec: dict[str, Any], path: str) -> None:
        """Say which extended attributes (label, ACL) the new file could not get."""
        lost = tuple(getattr(self.target, "lost_xattrs", ()) or ())
        if lost:
            rec["xattrs_lost"] = list(lost)
            text = f"{path}: could not keep {', '.join(lost)} on the new file"
            if "security.selinux" in lost:
                text += "; relabel the guest (touch /.autorelabel, reboot)"
            self.messages.append(text)
            self.emit(ApplyEvent(NOTE, i, text))

    def _remove(self, i: int, step: Step, rec: dict[str, Any], state: _State) -> None:
        """Keep a verified copy beside the journal, then delete the file."""
        t = self.target
        path = step.path or ""
        resolved = t.resolve(path)
        rec["resolved"] = resolved
        info = t.stat(resolved)
        copy = backup_path(self.journal["id"], resolved)
        t.makedirs(posixpath.dirname(copy), 0o700)
        t.copy_file(resolved, copy)
        if sha256_file(t, copy) != state.current:
            raise OSError(f"the backup copy {copy} does not match {resolved}")
        _fault(i, "backed-up")
        rec["backup"] = {
            "path": copy,
            "sha256": state.current,
            "mode": info.perms if info else None,
            "uid": info.uid if info else None,
            "gid": info.gid if info else None,
        }
        rec["status"] = RUNNING
        self.save()
        _fault(i, "recorded")
        t.remove(resolved)
        _fault(i, "written")
        rec["status"] = DONE
        rec["changed"] = True
        self.save()
        _fault(i, "done")
        self._outcome(i, step, DONE, f"removed {path} (copy kept at {copy})", STEP_DONE)

    def _backup(self, i: int, step: Step, rec: dict[str, Any]) -> None:
        t = self.target
        to = step.to or ""
        rec["status"] = RUNNING
        rec["created"] = True
        rec["created_dirs"] = _missing_dirs(t, posixpath.dirname(to))
        self.save()
        for folder in rec["created_dirs"]:
            t.makedirs(folder)
        t.copy_file(step.path or "", to)
        _fault(i, "ran")
        rec["sha256"] = sha256_file(t, to)
        rec["status"] = DONE
        rec["changed"] = True
        self.save()
        _fault(i, "done")
        self._outcome(i, step, DONE, f"copied {step.path} to {to}", STEP_DONE)

    def _demo_command(self, i: int, step: Step, rec: dict[str, Any]) -> bool:
        text = "demo: would run: " + shlex.join(step.argv)
        if step.image:
            text += f" (the new {step.image} is not checked in the demo)"
        rec["status"] = SKIPPED
        rec["note"] = text
        self.save()
        self._outcome(i, step, SKIPPED, text, STEP_SKIPPED)
        return True

    def _command(self, i: int, step: Step, rec: dict[str, Any]) -> bool:
        t = self.target
        cmdline = shlex.join(step.argv)
        if step.image and not rec.get("image"):
            # A resumed step keeps the first run's "before".
            rec["image"] = {
                "path": step.image,
                "before_sha256": sha256_file(t, step.image),
                "after_sha256": None,
            }
        if step.build and step.image:
            rec["image"]["build"] = step.build
        rec["status"] = RUNNING
        self.save()
        if step.build and step.image:
            self._clear_build(step.build)
        tail: deque[str] = deque(maxlen=OUTPUT_TAIL)

        def on_line(line: str) -> None:
            tail.append(line)
            self.emit(ApplyEvent(OUTPUT, i, line))

        try:
            result = t.run(step.argv, on_line=on_line)
        except CommandsDisabledError:
            return self._demo_command(i, step, rec)
        _fault(i, "ran")
        rec["exit_code"] = result.returncode
        rec["output_tail"] = list(tail)
        if result.returncode != 0:
            text = f"`{cmdline}` failed with exit code {result.returncode}"
            return self._fail_command(i, step, rec, text)
        if step.build and step.image:
            problem = self._check_build(step)
            if problem is not None:
                return self._fail_command(i, step, rec, problem)
            t.rename(step.build, step.image or "")
            _fault(i, "renamed")
        if step.image:
            rec["image"]["after_sha256"] = sha256_file(t, step.image)
        if step.image and step.verify_modules and not step.build:  # an old plan
            try:
                lacking = missing_modules(t, step.image, step.verify_modules)
            except ValueError as exc:
                return self._fail_command(i, step, rec, str(exc))
            if lacking:
                text = (
                    f"the new initrd {step.image} lacks {', '.join(lacking)}; "
                    "restore the backup with `virtio-wizard undo`"
                )
                return self._fail(i, step, rec, text)
        rec["status"] = DONE
        rec["changed"] = True
        self.save()
        _fault(i, "done")
        self._outcome(i, step, DONE, f"ran {cmdline}", STEP_DONE)
        return True

    def _clear_build(self, build: str) -> None:
        """Remove a build file a killed or failed run left (it is ours, and stale)."""
        if self.target.exists(build) or self.target.is_symlink(build):
            self.target.remove(build)

    def _check_build(self, step: Step) -> Optional[str]:
        """Why the new image in ``step.build`` must not replace the old one, or None."""
        build = step.build or ""
        if not self.target.is_file(build):
            return f"`{shlex.join(step.argv)}` exited 0 but made no {build}"
        if not step.verify_modules:
            return None
        try:
            lacking = missing_modules(self.target, build, step.verify_modules)
        except ValueError as exc:
            return str(exc)
        if lacking:
            return f"the new initrd {build} lacks {', '.join(lacking)}"
        return None

    def _fail_command(self, i: int, step: Step, rec: dict[str, Any], text: str) -> bool:
        """A rebuild that failed: with a build file the image was never touched."""
        if step.build and step.image:
            with contextlib.suppress(OSError):
                self._clear_build(step.build)
            return self._fail(i, step, rec, f"{text}; {step.image} is unchanged")
        if step.image:
            rec["image"]["after_sha256"] = sha256_file(self.target, step.image)
        return self._fail(i, step, rec, text + self._initrd_way_back(step))

    def _initrd_way_back(self, step: Step) -> str:
        if not step.image:
            return "; run `virtio-wizard undo` to revert the changes made so far"
        for other in self.plan.steps:
            if other.kind == "backup" and other.path == step.image:
                return (
                    f"; the original initrd is kept at {other.to}: `virtio-wizard undo` restores it"
                )
        return "; run `virtio-wizard undo` to revert the changes made so far"


def _missing_dirs(target: Target, folder: str) -> list[str]:
    """The folders that must be made for ``folder`` to exist, outermost first."""
    missing: list[str] = []
    while folder not in ("", "/") and not target.is_dir(folder):
        missing.append(folder)
        folder = posixpath.dirname(folder)
    return list(reversed(missing))


def _once(err: Optional[int]) -> str:
    """What must be true before a rerun can save the journal, by the save's errno."""
    if err in (errno.ENOSPC, errno.EDQUOT):
        return f"{STATE_DIR} has free space again"
    if err == errno.EROFS:
        return f"{STATE_DIR} is writable again"
    return "the guest is reachable"


def _os_reason(exc: OSError) -> str:
    """``path: reason`` for an OSError, whatever way it was raised."""
    reason = exc.strerror or str(exc)
    where = exc.filename if isinstance(exc.filename, str) else None
    return f"{where}: {reason}" if where and where not in reason else reason


def _os_message(exc: OSError) -> str:
    """One line for a failed step: what failed and that the file is intact."""
    return _os_reason(exc) + "; the file being written is unchanged"


# ---- verify -------------------------------------------------------------------


#: Disk references of the running state: they follow the files after a reboot.
_RUNTIME_REFS = ("cmdline", "swaps", "mtab")


def _verify_sysinit(facts: Any, chosen: Optional[str], wanted: tuple[str, ...]) -> str:
    """Does the chosen file list the modules, and does the guest read it at boot?

    Listing them is not enough: a file the guest's init never reads (an
    rc.sysinit without its /etc/rc.modules block, /etc/modules on RHEL) would
    load nothing, so the file must still be one ``offered_files`` finds read.
    """
    from . import knowledge as kn
    from .plan.sysinit import offered_files

    path = chosen or kn.RC_SYSINIT
    readers = offered_files(facts)
    mlist = next((ml for ml in facts.module_lists if ml.file == path), None)
    if path == kn.RC_SYSINIT and mlist is None:
        # Detection names rc.sysinit by the path it found (/etc/rc.sysinit link).
        mlist = next((ml for ml in facts.module_lists if ml.kind == "rc.sysinit"), None)
    listed = mlist is not None and {kn.canonical_module(e.module) for e in mlist.entries} >= set(
        wanted
    )
    if not listed:
        return f"{path} does not list all of {', '.join(wanted)} yet"
    if path not in readers:
        return (
            f"{path} lists {', '.join(wanted)}, but nothing on this guest reads it at boot: "
            "the drivers will not load from it"
        )
    return f"{path} now loads {', '.join(wanted)} at boot ({readers[path]})"


def verify(target: Target, plan: Plan, before: Optional[Any] = None) -> list[str]:
    """Detect again and say what changed and what is left to do.

    ``before`` (the Facts the plan was made from) tells which new disk names
    were guesses, which detection after the change can no longer see.
    """
    from .detect import detect
    from .facts import BUILTIN

    lines: list[str] = []
    try:
        facts = detect(target)
    except (OSError, ValueError) as exc:
        return [f"could not detect the guest again: {exc}"]
    choices = plan.choices
    kernel = facts.kernel(plan.kernel) if plan.kernel else facts.default_kernel()
    wanted = tuple(m for m in plan.modules if kernel is None or kernel.virtio.get(m) != BUILTIN)
    prepared = [facts.kernel(v) for v in plan.kernels] if plan.kernels else [kernel]
    for each in prepared:
        if choices.method != "initrd" or each is None or not target.can_run:
            continue
        need = tuple(m for m in plan.modules if each.virtio.get(m) != BUILTIN)
        if not need:
            continue
        if each.initrd_virtio is None:
            why = each.initrd_error or "no image"
            lines.append(f"the initrd of {each.version} could not be read again: {why}")
        else:
            lacking = [m for m in need if m not in each.initrd_virtio]
            if lacking:
                lines.append(f"the initrd of {each.version} still lacks {', '.join(lacking)}")
            else:
                lines.append(f"the initrd of {each.version} now holds {', '.join(need)}")
    if choices.method == "initrd" and kernel is not None and wanted and target.can_run:
        # What the next kernel update builds, with the distro's own command.
        from .scratch import check_survives_update

        lines.append(check_survives_update(target, facts, wanted, kernel).line())
    if choices.method == "sysinit" and wanted:
        lines.append(_verify_sysinit(facts, choices.sysinit_file, wanted))
    legacy = [
        r
        for r in facts.disk_refs
        if r.scheme == "legacy" and r.proposed and r.context not in _RUNTIME_REFS
    ]
    if choices.fixes_disk_names and legacy:
        shown = ", ".join(f"{r.file}:{r.line} {r.device}" for r in legacy[:5])
        lines.append(f"{len(legacy)} disk reference(s) still use the old names: {shown}")
    if not target.can_run:
        lines.append("demo: commands were shown, not run; no initrd was rebuilt")
    disks = "the disk bus"
    if choices.boot_disk == "emulated":
        disks = "the bus of the other disks (the boot disk stays emulated)"
    what = " and ".join(
        w for w, on in ((disks, choices.block), ("the NIC model", choices.net)) if on
    )
    lines.append(
        f"next: power the guest off, switch {what} to virtio in the VM definition, then "
        "start it (a reboot keeps the old devices: the bus changes only on a fresh start)"
    )
    # Detected again: files that now name /dev/vdX break a boot on the old bus.
    if any(r.scheme == "virtio" and r.context not in _RUNTIME_REFS for r in facts.disk_refs):
        lines.append(
            "do not reboot before switching: the files already name the virtio disks, "
            "so on the old bus /boot and swap would not be found"
        )
    for step in plan.steps:
        if step.kind == "backup" and step.to:
            lines.append(f"the old initrd is kept at {step.to}")
    if getattr(target, "kind", "") == "demo":
        # A demo guest is a temporary copy per run: a later `virtio-wizard undo` finds nothing.
        lines.append(
            "to go back in the demo: undo before the wizard exits (u on the Done screen); "
            "the demo guest is a temporary copy made for each run, so a later "
            "virtio-wizard --demo undo finds nothing to undo"
        )
    else:
        lines.append(
            "to go back: virtio-wizard undo; if the guest no longer boots, from a rescue "
            "system with its disk mounted at /mnt/guest: virtio-wizard --root /mnt/guest undo"
        )
    guessed = [] if before is None else [r for r in before.disk_refs if r.guessed and r.proposed]
    if guessed:
        pairs = sorted({f"{r.device} -> {r.proposed}" for r in guessed})
        lines.append(
            "make sure the hypervisor presents the disks in the order assumed: " + ", ".join(pairs)
        )
    return lines


def __getattr__(name: str) -> Any:
    """``undo`` and friends live in ``virtio_wizard.undo``; reachable from here too."""
    if name in ("undo", "UndoResult", "UndoRefused"):
        from . import undo as _undo

        return getattr(_undo, name)
    raise AttributeError(name)
