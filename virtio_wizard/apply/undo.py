"""Undo: replay the last apply's journal backwards, byte for byte.

``undo(target)`` picks the newest journal that changed something and is not
undone yet, checks *every* step before touching anything, then restores: an
edited file from its backup copy (bytes, mode, owner and times), a created
file by removing it, a rebuilt initrd from the backup the plan made of it,
and removes the backup files apply created. The journal is then marked
undone, so a second ``undo`` reverts the apply before it.

It refuses, naming the file, when a file is neither what apply wrote nor the
original: someone changed it since, and overwriting that work is not undo's
call to make.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ..journal import (
    DONE,
    INTERRUPTED,
    RUNNING,
    UNREADABLE,
    backup_path,
    changed_anything,
    list_journals,
    sha256_file,
    timestamp,
    touched,
    write_journal,
)
from ..targets import Target
from .events import ApplyEvent, Emit, EventKind
from .logfile import guest_log
from .preflight import check_root, hold_lock

__all__ = ["UndoResult", "UndoRefused", "undo", "undoable_journal", "describe_journal"]

log = logging.getLogger(__name__)


class UndoRefused(ValueError):
    """Undo will not start; nothing was changed. ``paths`` names the files."""

    def __init__(self, message: str, paths: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.paths = paths


@dataclass(frozen=True)
class UndoResult:
    """What undo did: status ``done`` or ``nothing``; the journal it reverted."""

    status: str
    journal: Optional[str]
    restored: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Action:
    """One thing undo will do, decided before anything is done."""

    index: int
    #: restore (copy ``source`` over ``path``), remove (``path``), or keep.
    kind: str
    path: str
    source: Optional[str] = None
    note: str = ""


def undoable_journal(target: Target) -> Optional[dict[str, Any]]:
    """The journal ``undo`` would revert now: the newest that changed something
    and is not undone. Journals that changed nothing (an apply that failed at
    its first write) are passed over.

    Raises UndoRefused when a journal that cannot be read is as new as that
    one or newer (or there is no other): it may record the latest changes,
    and reverting an older apply underneath them would mix two states.
    """
    journals = list_journals(target)
    found = None
    for journal in reversed(journals):
        if journal.get("status") == UNREADABLE or journal.get("undone"):
            continue
        if changed_anything(journal):
            found = journal
            break
    for journal in journals:
        if journal.get("status") == UNREADABLE and _not_older(journal["id"], found):
            raise _refuse_unreadable(journal)
    return found


def _not_older(unreadable_id: str, found: Optional[dict[str, Any]]) -> bool:
    """Whether a damaged journal may be newer than ``found``, by the start time
    its file name carries (``YYYYmmddTHHMMSS-pid``); a name without one may be."""
    if found is None:
        return True
    stamp = unreadable_id[:15]
    if not re.fullmatch(r"\d{8}T\d{6}", stamp):
        return True
    return stamp >= str(found["id"])[:15]


def _refuse_unreadable(journal: dict[str, Any]) -> UndoRefused:
    path = journal["path"]
    backups = backup_path(journal["id"], "/").rstrip("/")
    return UndoRefused(
        f"the newest journal {path} is unreadable ({journal.get('error', 'damaged')}): "
        "undo refused, nothing was changed; undo reverts the newest apply first and "
        "cannot tell what that one changed. Restore its files by hand from "
        f"{backups}/ (if it is there), then move the damaged journal aside "
        f"(e.g. to {path}.damaged) to undo the apply before it",
        (path,),
    )


def _refuse_edited(path: str, backup: Optional[str]) -> UndoRefused:
    where = f"; the original is kept at {backup}" if backup else ""
    return UndoRefused(
        f"{path} was changed after the apply (it is neither what apply wrote nor the "
        f"original): undo refused, nothing was changed{where}",
        (path,),
    )


def _plan_edit(target: Target, rec: dict[str, Any]) -> _Action:
    i = rec["index"]
    path = rec.get("resolved") or rec["path"]
    now = sha256_file(target, path)
    new = rec.get("new_sha256")
    backup = rec.get("backup")
    if backup:
        if now == backup["sha256"]:
            return _Action(i, "keep", path, note=f"{path} is already as it was")
        if now != new:
            raise _refuse_edited(path, backup["path"])
        if sha256_file(target, backup["path"]) != backup["sha256"]:
            raise UndoRefused(
                f"the backup copy {backup['path']} of {path} is missing or damaged: "
                "undo refused, nothing was changed",
                (backup["path"],),
            )
        return _Action(i, "restore", path, backup["path"])
    if rec.get("created"):
        if now is None:
            return _Action(i, "keep", path, note=f"{path} is already gone")
        if now != new:
            raise _refuse_edited(path, None)
        return _Action(i, "remove", path)
    return _Action(i, "keep", path)


def _plan_remove(target: Target, rec: dict[str, Any]) -> _Action:
    """Put a removed file back from its copy; one made again since is kept.

    The files apply removes are caches the guest rebuilds on demand (LVM's
    ``.cache``, blkid's ``blkid.tab``) or the LVM devices file that
    ``vgimportdevices`` writes anew: a new one is the guest's own, not ours.
    """
    i = rec["index"]
    path = rec.get("resolved") or rec["path"]
    backup = rec.get("backup")
    if not backup:
        return _Action(i, "keep", path)
    now = sha256_file(target, path)
    if now == backup["sha256"]:
        return _Action(i, "keep", path, note=f"{path} is already as it was")
    if now is not None:
        return _Action(
            i,
            "keep",
            path,
            note=f"{path} was made again since the apply; it is kept (the removed copy is "
            f"at {backup['path']})",
        )
    if sha256_file(target, backup["path"]) != backup["sha256"]:
        raise UndoRefused(
            f"the backup copy {backup['path']} of {path} is missing or damaged: "
            "undo refused, nothing was changed",
            (backup["path"],),
        )
    return _Action(i, "restore", path, backup["path"])


def _plan_command(
    target: Target, rec: dict[str, Any], backups: dict[str, dict[str, Any]]
) -> _Action:
    i = rec["index"]
    image = rec.get("image") or {}
    path = image.get("path")
    if not path:
        return _Action(i, "keep", "", note="a command without an image: nothing to restore")
    now = sha256_file(target, path)
    before, after = image.get("before_sha256"), image.get("after_sha256")
    if now == before:
        return _Action(i, "keep", path, note=f"{path} is already as it was")
    # A finished command is checked against what it made; a command cut
    # short may have left anything, and the backup is then the way back.
    if rec.get("status") == DONE and after is not None and now != after:
        raise _refuse_edited(path, (backups.get(path) or {}).get("to"))
    if before is None:
        return _Action(i, "remove", path)
    backup = backups.get(path)
    if backup is None or sha256_file(target, backup["to"]) != before:
        raise UndoRefused(
            f"there is no backup of {path} as it was before the apply: undo refused, "
            "nothing was changed",
            (path,),
        )
    return _Action(i, "restore", path, backup["to"])


def _plan_backup(target: Target, rec: dict[str, Any]) -> _Action:
    i = rec["index"]
    to = rec["to"]
    if not rec.get("created") or not target.exists(to):
        return _Action(i, "keep", to)
    if rec.get("sha256") and sha256_file(target, to) != rec["sha256"]:
        return _Action(i, "keep", to, note=f"{to} changed since apply made it; it is kept")
    return _Action(i, "remove", to)


def _plan_undo(target: Target, journal: dict[str, Any]) -> list[_Action]:
    """Every action, last step first; raises UndoRefused before any is done."""
    records = journal["steps"]
    backups: dict[str, dict[str, Any]] = {}
    for rec in records:
        if rec.get("kind") == "backup" and rec.get("status") in (DONE, "already"):
            backups.setdefault(rec["path"], rec)
    actions = []
    for rec in reversed(records):
        if not touched(rec):
            continue
        kind = rec.get("kind")
        if kind == "edit":
            actions.append(_plan_edit(target, rec))
        elif kind == "command":
            build = (rec.get("image") or {}).get("build")
            if build and target.is_file(build):
                # A rebuild cut short left its build file beside the image.
                actions.append(_Action(rec["index"], "remove", build))
            actions.append(_plan_command(target, rec, backups))
        elif kind == "backup":
            actions.append(_plan_backup(target, rec))
        elif kind == "remove":
            actions.append(_plan_remove(target, rec))
    return actions


def undo(target: Target, *, on_event: Optional[Callable[[ApplyEvent], None]] = None) -> UndoResult:
    """Revert the last apply that changed anything; see the module docstring.

    Raises ApplyRefused on ``/`` without root, UndoRefused when a file was
    changed since the apply, LockedError while an apply runs.
    """
    emit = on_event or (lambda _event: None)
    check_root(target, "undoing changes")
    with hold_lock(target):
        journal = undoable_journal(target)
        if journal is None:
            return UndoResult("nothing", None, messages=("nothing to undo",))
        if journal.get("status") == RUNNING:
            journal["status"] = INTERRUPTED
        actions = _plan_undo(target, journal)
        with guest_log(target, journal["id"], "undoing on") as glog:
            text = f"undoing the apply {journal['id']} ({journal['started']})"
            log.info("%s", text)
            emit(ApplyEvent(EventKind.NOTE, None, text))
            restored, removed = _carry_out(target, actions, emit)
            journal["undone"] = timestamp()
            journal["undo"] = {"restored": restored, "removed": removed}
            path = journal.pop("path")
            write_journal(target, journal)
            log.info("undo finished; the journal is marked undone")
            problem = glog.write()
    messages = [f"undid the apply of {journal['started']} (journal {path})"]
    if problem is None:
        messages.append(f"log: {glog.path} (the apply's and this undo's)")
    else:
        messages.append(f"the log {glog.path} could not be written: {problem}")
    folders = sorted(
        {d for r in journal["steps"] if touched(r) for d in r.get("created_dirs") or []}
    )
    if folders:
        messages.append("folders apply made are left in place: " + ", ".join(folders))
    return UndoResult(DONE, path, tuple(restored), tuple(removed), tuple(messages))


def _carry_out(target: Target, actions: list[_Action], emit: Emit) -> tuple[list[str], list[str]]:
    """Do the actions, all checked already; the paths restored and removed."""
    restored: list[str] = []
    removed: list[str] = []
    for act in actions:
        if act.kind == "keep":
            log.info("undo %d: keep %s (%s)", act.index + 1, act.path, act.note or "nothing to do")
            if act.note:
                emit(ApplyEvent(EventKind.STEP_SKIPPED, act.index, act.note))
            continue
        emit(ApplyEvent(EventKind.STEP_START, act.index, f"{act.kind} {act.path}"))
        if act.kind == "restore":
            log.info("undo %d: restore %s from %s", act.index + 1, act.path, act.source)
            target.copy_file(act.source or "", act.path)
            restored.append(act.path)
            text = f"restored {act.path} from {act.source}"
        else:
            log.info("undo %d: remove %s", act.index + 1, act.path)
            target.remove(act.path)
            removed.append(act.path)
            text = f"removed {act.path}"
        emit(ApplyEvent(EventKind.STEP_DONE, act.index, text))
    return restored, removed


def describe_journal(journal: dict[str, Any]) -> str:
    """One line for lists: when, status, and how many files it changed."""
    changed = sum(1 for r in journal.get("steps", []) if r.get("changed"))
    undone = f", undone {journal['undone']}" if journal.get("undone") else ""
    return (
        f"{journal.get('started', journal['id'])}: {journal.get('status')}, "
        f"{changed} change(s){undone}"
    )
