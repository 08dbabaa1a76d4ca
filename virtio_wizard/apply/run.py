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
nothing. ``undo`` (``virtio_wizard.apply.undo``) replays a journal backwards.

Why this file is long: the executor is one class whose step methods share
one journal record and one save-before-write order, and the crash-safety
rules above are easier to check read together; the refusals before it live
in ``preflight``, the resume rules in ``resume``, the log in ``logfile``.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import posixpath
import shlex
import signal
from collections import deque
from dataclasses import dataclass
from typing import Any, Optional

from ..journal import (
    DONE,
    FAILED,
    INTERRUPTED,
    RUNNING,
    STATE_DIR,
    backup_path,
    sha256_file,
    timestamp,
    write_journal,
)
from ..logs import run_logged
from ..plan.model import Plan, Step
from ..targets import CommandsDisabledError, StatInfo, Target
from .events import ApplyEvent, Emit, EventKind
from .logfile import GuestLog, guest_log
from .preflight import (
    StepState,
    check_plan_applicable,
    check_space,
    hold_lock,
    preflight,
    survey,
)
from .resume import PENDING, new_journal, resumable, unfinished
from .verify import missing_modules, missing_root_needs

__all__ = [
    "ApplyResult",
    "StepOutcome",
    "FAULT_ENV",
    "apply_plan",
]

#: Test hook, see ``_fault``: ``VIRTIO_WIZARD_FAULT=step:N:PHASE``.
FAULT_ENV = "VIRTIO_WIZARD_FAULT"
#: Lines of command output kept in the journal.
OUTPUT_TAIL = 40

# Step outcomes.
ALREADY, SKIPPED = "already", "skipped"

log = logging.getLogger(__name__)


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
    plan, prior = resumable(target, given)
    states = survey(target, plan, prior)
    if not any(s.todo for s in states) and not unfinished(prior):
        return _nothing_to_do(plan, states, emit)
    check_space(target, plan, states)
    preflight(target, plan, states)
    with hold_lock(target):
        plan, prior = resumable(target, given)
        states = survey(target, plan, prior)
        check_space(target, plan, states)
        if not any(s.todo for s in states) and not unfinished(prior):
            return _nothing_to_do(plan, states, emit)
        journal = _journal_to_keep(target, plan, given, prior, emit)
        with guest_log(target, journal["id"], "applying to") as glog:
            return _Run(target, plan, journal, states, emit, glog).run()


def _journal_to_keep(
    target: Target, plan: Plan, given: Plan, prior: Optional[dict[str, Any]], emit: Emit
) -> dict[str, Any]:
    """The unfinished apply's record to finish, or a new one."""
    if prior is not None and unfinished(prior):
        # Killed after its last change but before its journal said so,
        # or stopped by a failure: finish that record, keep its backups.
        journal = prior
        journal.pop("path", None)
        journal["status"] = RUNNING
        journal["finished"] = None
        own = "" if plan is given else " with its own steps (the same choices)"
        text = f"resuming the unfinished apply {journal['id']}{own}"
        log.info("%s", text)
        emit(ApplyEvent(EventKind.NOTE, None, text))
        return journal
    return new_journal(target, plan)


def _nothing_to_do(plan: Plan, states: list[StepState], emit: Emit) -> ApplyResult:
    outcomes = []
    for i, (step, state) in enumerate(zip(plan.steps, states)):
        status = SKIPPED if state.demo else ALREADY
        emit(ApplyEvent(EventKind.STEP_SKIPPED, i, state.note))
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
        states: list[StepState],
        emit: Emit,
        glog: GuestLog,
    ) -> None:
        self.target = target
        self.glog = glog
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
        except BaseException as exc:
            log.info("apply interrupted: %r", exc)
            self.journal["status"] = INTERRUPTED
            self.journal["finished"] = timestamp()
            self._try_save()
            self.glog.write()
            raise
        for j in range(len(self.outcomes), len(self.plan.steps)):
            self.outcomes.append(StepOutcome(j, self.plan.steps[j].kind, PENDING, "not reached"))
        self._close(failed)
        self.journal["status"] = FAILED if failed else DONE
        self.journal["finished"] = timestamp()
        self.journal["messages"] = list(self.messages)
        self._try_save()
        return ApplyResult(
            FAILED if failed else DONE, self.path, tuple(self.outcomes), tuple(self.messages)
        )

    def _close(self, failed: bool) -> None:
        """The closing messages (what to do next), and the log written to the guest."""
        log.info("apply %s", "stopped at a failed step" if failed else "finished")
        problem = self.glog.write()
        if problem is not None:
            self.messages.append(f"the log {self.glog.path} could not be written: {problem}")
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
        if problem is None:
            self.messages.append(
                f"log: {self.glog.path} (each command, where it ran, its exit code)"
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
            self._outcome(
                i, step, ALREADY, state.note or "already in place", EventKind.STEP_SKIPPED
            )
            return True
        log.info(
            "step %d/%d (%s %s): %s", i + 1, len(self.plan.steps), step.kind, _what(step), step.why
        )
        self.emit(ApplyEvent(EventKind.STEP_START, i, step.why))
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

    def _intact(self, rec: dict[str, Any], state: StepState) -> bool:
        """After a failed edit: is the file still as it was? (Then undo skips it.)"""
        try:
            now = sha256_file(self.target, rec.get("resolved") or rec["path"])
        except OSError:
            return False
        return now == state.current

    def _outcome(self, i: int, step: Step, status: str, text: str, event: EventKind) -> None:
        log.info("step %d/%d %s: %s", i + 1, len(self.plan.steps), status, text)
        self.outcomes.append(StepOutcome(i, step.kind, status, text))
        self.emit(ApplyEvent(event, i, text))

    def _fail(self, i: int, step: Step, rec: dict[str, Any], text: str) -> bool:
        rec["status"] = FAILED
        rec["error"] = text
        self.messages.append(text)
        self._try_save()
        self._outcome(i, step, FAILED, text, EventKind.STEP_FAILED)
        return False

    def _edit(self, i: int, step: Step, rec: dict[str, Any], state: StepState) -> None:
        t = self.target
        path = step.path or ""
        resolved = t.resolve(path)
        rec["resolved"] = resolved
        rec["new_sha256"] = state.new
        info = t.stat(resolved)
        if info is not None and self._has_backup(rec, resolved, state):
            pass  # the journal already holds this very file's copy: never copied twice
        elif info is not None:
            self._back_up(i, rec, resolved, state.current, info)
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
        self._outcome(i, step, DONE, f"{verb} {path}", EventKind.STEP_DONE)

    def _has_backup(self, rec: dict[str, Any], resolved: str, state: StepState) -> bool:
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
            self.emit(ApplyEvent(EventKind.NOTE, i, text))

    def _back_up(
        self,
        i: int,
        rec: dict[str, Any],
        resolved: str,
        current: Optional[str],
        info: Optional[StatInfo],
    ) -> None:
        """Copy ``resolved`` beside the journal and record it, once the copy's hash is checked.

        Undo restores from this copy, so one that differs from what the plan
        saw is an error here, before the file is touched.
        """
        t = self.target
        copy = backup_path(self.journal["id"], resolved)
        t.makedirs(posixpath.dirname(copy), 0o700)
        t.copy_file(resolved, copy)
        if sha256_file(t, copy) != current:
            raise OSError(f"the backup copy {copy} does not match {resolved}")
        _fault(i, "backed-up")
        rec["backup"] = {
            "path": copy,
            "sha256": current,
            "mode": info.perms if info else None,
            "uid": info.uid if info else None,
            "gid": info.gid if info else None,
        }

    def _remove(self, i: int, step: Step, rec: dict[str, Any], state: StepState) -> None:
        """Keep a verified copy beside the journal, then delete the file."""
        t = self.target
        path = step.path or ""
        resolved = t.resolve(path)
        rec["resolved"] = resolved
        self._back_up(i, rec, resolved, state.current, t.stat(resolved))
        rec["status"] = RUNNING
        self.save()
        _fault(i, "recorded")
        t.remove(resolved)
        _fault(i, "written")
        rec["status"] = DONE
        rec["changed"] = True
        self.save()
        _fault(i, "done")
        kept = rec["backup"]["path"]
        self._outcome(i, step, DONE, f"removed {path} (copy kept at {kept})", EventKind.STEP_DONE)

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
        self._outcome(i, step, DONE, f"copied {step.path} to {to}", EventKind.STEP_DONE)

    def _demo_command(self, i: int, step: Step, rec: dict[str, Any]) -> bool:
        text = "demo: would run: " + shlex.join(step.argv)
        if step.image:
            text += f" (the new {step.image} is not checked in the demo)"
        rec["status"] = SKIPPED
        rec["note"] = text
        self.save()
        self._outcome(i, step, SKIPPED, text, EventKind.STEP_SKIPPED)
        return True

    def _command(self, i: int, step: Step, rec: dict[str, Any]) -> bool:
        """Run a step's command; a rebuilt image replaces the old one only once checked."""
        if step.image and not rec.get("image"):
            # A resumed step keeps the first run's "before".
            rec["image"] = {
                "path": step.image,
                "before_sha256": sha256_file(self.target, step.image),
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
            self.emit(ApplyEvent(EventKind.OUTPUT, i, line))

        try:
            result = run_logged(self.target, step.argv, log, on_line)
        except CommandsDisabledError:
            return self._demo_command(i, step, rec)
        _fault(i, "ran")
        rec["exit_code"] = result.returncode
        rec["output_tail"] = list(tail)
        if result.returncode != 0:
            text = f"`{shlex.join(step.argv)}` failed with exit code {result.returncode}"
            return self._fail_command(i, step, rec, text)
        return self._new_image(i, step, rec)

    def _new_image(self, i: int, step: Step, rec: dict[str, Any]) -> bool:
        """After a command that exited 0: the checked build in place, the image recorded."""
        t = self.target
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
        self._outcome(i, step, DONE, f"ran {shlex.join(step.argv)}", EventKind.STEP_DONE)
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
            root = missing_root_needs(self.target, build, step.verify_members)
        except ValueError as exc:
            return str(exc)
        if lacking:
            return f"the new initrd {build} lacks {', '.join(lacking)}"
        if root:
            return f"the new initrd {build} lacks what the root needs: {root}"
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


def _what(step: Step) -> str:
    """The file or command a step is about, for the log."""
    return shlex.join(step.argv) if step.kind == "command" else step.path or ""


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
