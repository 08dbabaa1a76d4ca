"""The apply journal: one JSON record per apply, kept in the guest itself.

Every apply writes ``/var/lib/virtio-wizard/journal/<id>.json`` in the target
(atomically, after each step) and keeps a copy of each file it replaces under
``/var/lib/virtio-wizard/backups/<id>/``. Keeping both *in the guest* is what
lets ``undo`` work from any rescue system later, and what lets a re-run of an
interrupted apply find the backups the first run made. This module only
stores and reads the records; ``apply`` writes them and ``undo`` replays them.

A journal (schema ``virtio-wizard/journal/1``) holds: ``id``, ``started``,
``finished``, ``status`` (running, done, failed, interrupted), ``undone`` (a
time, or null), the plan (``Plan.to_dict``), the target, and ``steps``: one
record per plan step with its ``status`` (pending, running, done, already,
skipped, failed), ``changed`` (True when this apply changed the guest there)
and, for edits, ``backup`` (path of the copy, sha256, mode, uid, gid) or
``created``; for commands ``exit_code``, ``output_tail`` and ``image``
(path, ``before_sha256``, ``after_sha256``). See ``docs/apply.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import datetime
from typing import Any, Optional

from .jsontext import dumps_bytes
from .targets import Target, TargetError

__all__ = [
    "JOURNAL_SCHEMA",
    "STATE_DIR",
    "LOCK_PATH",
    "JOURNAL_DIR",
    "SCRIPT_BACKUP_DIR",
    "BACKUP_DIR",
    "RUNNING",
    "DONE",
    "FAILED",
    "INTERRUPTED",
    "UNREADABLE",
    "new_journal_id",
    "journal_path",
    "log_path",
    "backup_path",
    "write_journal",
    "read_journal",
    "list_journals",
    "latest_journal",
    "touched",
    "changed_anything",
    "sha256_bytes",
    "sha256_file",
    "timestamp",
]

JOURNAL_SCHEMA = "virtio-wizard/journal/1"
#: The wizard's one folder inside the guest; every other path below is in it.
STATE_DIR = "/var/lib/virtio-wizard"
LOCK_PATH = STATE_DIR + "/lock"
#: The apply journals (``<id>.json``).
JOURNAL_DIR = STATE_DIR + "/journal"
#: Apply's copies of the files it changed, one folder per journal id.
BACKUP_DIR = STATE_DIR + "/backups"
#: Where a ``plan --script`` keeps its copies when the script runs.
SCRIPT_BACKUP_DIR = STATE_DIR + "/script-backups"

#: Journal statuses. A journal left ``running`` when nobody holds the lock
#: was killed mid-way; apply and undo rewrite it as ``interrupted``.
RUNNING, DONE, FAILED, INTERRUPTED = "running", "done", "failed", "interrupted"
#: Shown by ``list_journals`` for a journal file that cannot be parsed.
UNREADABLE = "unreadable"


def timestamp() -> str:
    """Local time with its UTC offset, to the second (what a user reads)."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def new_journal_id(target: Target, pid: Optional[int] = None) -> str:
    """``YYYYmmddTHHMMSS-<pid>``, with ``-2``, ``-3`` ... if that file exists.

    The pid tells two wizards apart; the suffix tells apart two applies of
    one process in the same second (the tests do that).
    """
    base = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid() if pid is None else pid}"
    candidate, n = base, 1
    while target.exists(journal_path(candidate)):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def journal_path(journal_id: str) -> str:
    """Guest path of a journal."""
    return f"{JOURNAL_DIR}/{journal_id}.json"


def log_path(journal_id: str) -> str:
    """Guest path of the log apply and undo keep beside the journal (``apply.logfile``)."""
    return f"{JOURNAL_DIR}/{journal_id}.log"


def backup_path(journal_id: str, guest_path: str) -> str:
    """Guest path of the copy of ``guest_path`` kept by apply ``journal_id``.

    >>> backup_path("20240102T030405-7", "/etc/fstab")
    '/var/lib/virtio-wizard/backups/20240102T030405-7/etc/fstab'
    """
    return f"{BACKUP_DIR}/{journal_id}/{guest_path.lstrip('/')}"


def write_journal(target: Target, journal: dict[str, Any]) -> str:
    """Write the journal atomically (``target.write_file``); returns its path.

    The file is replaced as a whole after every step, so a kill at any moment
    leaves either the previous or the new record, never half of one.
    """
    path = journal_path(journal["id"])
    target.makedirs(JOURNAL_DIR, 0o700)
    data = dumps_bytes(journal)
    target.write_file(path, data, mode=0o600)
    return path


def read_journal(target: Target, path: str) -> dict[str, Any]:
    """Parse one journal file; ValueError when it is not a journal."""
    raw = target.read_bytes(path)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema") != JOURNAL_SCHEMA:
        raise ValueError(f"{path}: not a {JOURNAL_SCHEMA} document")
    if not isinstance(data.get("steps"), list) or not isinstance(data.get("id"), str):
        raise ValueError(f"{path}: journal without id or steps")
    data["path"] = path
    return data


def _order(journal: dict[str, Any]) -> tuple[float, str]:
    """By start time; unreadable files last, where a reader looks for trouble."""
    started = journal.get("started_ts")
    if journal.get("status") == UNREADABLE or not isinstance(started, (int, float)):
        return (float("inf"), journal["id"])
    return (float(started), journal["id"])


def list_journals(target: Target) -> list[dict[str, Any]]:
    """Every journal of the target, oldest first (for the report and the TUI).

    A file that cannot be read is listed with status ``unreadable`` and an
    ``error``, so the user sees it; undo never picks it.
    """
    out: list[dict[str, Any]] = []
    for name in target.listdir(JOURNAL_DIR):
        if not name.endswith(".json") or name.startswith("."):
            continue
        path = f"{JOURNAL_DIR}/{name}"
        try:
            out.append(read_journal(target, path))
        except (OSError, ValueError) as exc:
            out.append(
                {
                    "id": name[: -len(".json")],
                    "path": path,
                    "status": UNREADABLE,
                    "error": str(exc),
                    "steps": [],
                }
            )
    return sorted(out, key=_order)


def latest_journal(target: Target) -> Optional[dict[str, Any]]:
    """The newest readable journal, or None when the guest has none."""
    readable = [j for j in list_journals(target) if j.get("status") != UNREADABLE]
    return readable[-1] if readable else None


def touched(record: dict[str, Any]) -> bool:
    """Whether apply may have changed the guest at this step.

    True for a finished change, and for a step cut short (running, failed)
    once it had recorded what it was about to change, unless apply saw the
    file still intact after the failure (``intact``).
    """
    if record.get("changed"):
        return True
    if record.get("intact"):
        return False
    partial = record.get("status") in (RUNNING, FAILED)
    return bool(partial and (record.get("backup") or record.get("created") or record.get("image")))


def changed_anything(journal: dict[str, Any]) -> bool:
    """Whether undo has something to revert in this journal."""
    return any(touched(r) for r in journal.get("steps", []))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(target: Target, path: str) -> Optional[str]:
    """sha256 of a guest file, streamed (initrds are tens of MB); None if absent."""
    if not target.exists(path):
        return None
    if not target.is_file(path):
        raise TargetError(path, "not a regular file")
    digest = hashlib.sha256()
    with target.open_binary(path) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
