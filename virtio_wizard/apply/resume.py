"""Resuming: which journal an apply continues, and the record a new one starts with.

A re-run after a kill or a failure must finish the same journal with the same
steps, so that one ``undo`` still gives back the guest as it was; these rules
decide when that is the case and when another unfinished apply is in the way.
"""

from __future__ import annotations

import json
import time
from typing import Any, Optional

from ..journal import (
    DONE,
    JOURNAL_SCHEMA,
    RUNNING,
    UNREADABLE,
    changed_anything,
    list_journals,
    new_journal_id,
    timestamp,
)
from ..plan.model import Plan, Step
from ..targets import Target
from .preflight import ApplyRefused, same_root

__all__ = ["new_journal", "plan_to_resume", "resumable", "unfinished", "PENDING"]

#: A step not reached yet (in the journal and in the outcomes).
PENDING = "pending"


def _plain_plan(plan: Plan) -> dict[str, Any]:
    """The plan exactly as it reads back from the journal's JSON."""
    return json.loads(json.dumps(plan.to_dict()))


def resumable(target: Target, plan: Plan) -> tuple[Plan, Optional[dict[str, Any]]]:
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
    return kind == target.kind and isinstance(root, str) and same_root(root, target.root)


def plan_to_resume(target: Target, plan: Plan) -> Optional[Plan]:
    """The unfinished apply's own plan when ``apply_plan`` would resume it instead of ``plan``.

    For the faces: show the steps that will really run. ApplyRefused when an
    unfinished apply with other choices is in the way.
    """
    own, journal = resumable(target, plan)
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


def new_journal(target: Target, plan: Plan) -> dict[str, Any]:
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


def unfinished(journal: Optional[dict[str, Any]]) -> bool:
    return journal is not None and journal.get("status") != DONE
