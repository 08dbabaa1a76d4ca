"""Small views of a Plan for the confirmation and the Apply screen.

The full preview is the core's (``preview.render_rich``); here are the step
titles the Apply screen ticks off and the files the confirmation names. A
command line comes from the core's ``command_line`` (via the engine), never
rebuilt here; on a target that cannot run commands (the demo) it is marked
"would run" so nobody mistakes the demo for a change.
"""

from __future__ import annotations

from rich.text import Text

from ...plan.model import Plan, Step

__all__ = ["written_paths", "step_title"]


def step_title(step: Step, command_line: str, can_run: bool) -> Text:
    """One line naming what a step does."""
    if step.kind == "edit":
        verb = "Create" if step.old_sha256 is None else "Edit"
        return Text.assemble((f"{verb} ", "bold"), (step.path or "", "bold cyan"))
    if step.kind == "backup":
        return Text.assemble(("Back up ", "bold"), step.path or "", " -> ", step.to or "")
    if step.kind == "remove":
        return Text.assemble(("Remove ", "bold"), (step.path or "", "bold cyan"))
    prefix = "Run" if can_run else "Would run (demo: not executed)"
    return Text.assemble((f"{prefix}: ", "bold"), (command_line, "bold magenta"))


def written_paths(plan: Plan) -> list[str]:
    """The guest files apply will write, in plan order (edits, backups, images)."""
    out: list[str] = []
    for step in plan.steps:
        for path in (
            step.path if step.kind in ("edit", "remove") else None,
            step.to if step.kind == "backup" else None,
            step.image if step.kind == "command" else None,
        ):
            if path and path not in out:
                out.append(path)
    return out
