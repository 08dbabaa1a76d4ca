"""The TUI's one door to the core: detect, check, plan, preview, apply, undo, report.

Screens hold no domain logic; every question goes through an ``Engine``. The
default engine imports each core module only when first asked, so the first
frame never waits for the planner or the report writer to load. Tests hand
``make_app`` a subclass to make one call fail on purpose (a failing apply,
an unreadable guest), the way subiquity's view tests use a fake controller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:  # imported lazily: the first frame must not wait for the planner
    from ..facts import Facts
    from ..finding import Finding
    from ..plan.model import Choices, Plan

__all__ = ["Engine"]


class Engine:
    """Thin, stateless calls into the core (all may block: call from workers)."""

    # ---- detect / check ---------------------------------------------------

    def detect(self, target, progress: Optional[Callable[..., None]] = None) -> Facts:
        """Facts without the initrd contents (fast: the screen is usable at once)."""
        from ..detect import detect

        return detect(target, read_initrds=False, progress=progress)

    def with_initrds(self, target, facts: Facts) -> Facts:
        """The same facts with each initrd image read (may take seconds)."""
        from ..detect import with_initrds

        return with_initrds(target, facts)

    def check(self, facts: Facts) -> list[Finding]:
        from ..checks import check

        return list(check(facts))

    # ---- plan / preview ---------------------------------------------------

    def plan(self, target, facts: Facts, choices: Choices) -> Plan:
        from ..plan import make_plan

        return make_plan(target, facts, choices)

    def modules_for(self, block: bool, net: bool) -> tuple[str, ...]:
        from ..knowledge import modules_for

        return tuple(modules_for(block, net))

    def recommended_sysinit_file(self, facts: Facts) -> Optional[str]:
        """The cleaner module-loading file for this guest (one it reads), or None."""
        from ..plan.defaults import sysinit_file_default

        return sysinit_file_default(facts)

    def more_boot_kernels(self, facts: Facts, choices: Choices) -> tuple[str, ...]:
        """The other kernels with a boot entry the initrd method can also prepare.

        Empty when preparing "every kernel with a boot entry" would add none
        (one kernel, only Xen or module-less others, mkinitcpio's ``-P``):
        the Drivers step then offers no box that would change nothing.
        """
        from ..plan.kernels import kernel_to_prepare, other_boot_kernels

        chosen = kernel_to_prepare(facts, choices)
        if chosen is None:
            return ()
        return tuple(k.version for k, _, _ in other_boot_kernels(facts, choices, chosen) if k)

    def sysinit_files(self, facts: Facts) -> dict[str, str]:
        """The files this guest reads at boot, each with how (the core decides)."""
        from ..plan.sysinit_files import offered_files

        return offered_files(facts)

    def command_line(self, step) -> str:
        """The exact command line of a command step, as the preview prints it."""
        from ..preview import command_line

        return command_line(step)

    def preview_rich(self, plan: Plan, *, ascii: bool = False):
        """The preview as Rich renderables: the words ``plan`` prints, fixes in wizard terms."""
        from ..preview import render_rich
        from .wizard_terms import wizard_fix

        return render_rich(plan, ascii=ascii, fix_words=wizard_fix)

    # ---- apply / undo -----------------------------------------------------

    def apply(self, target, plan: Plan, on_event: Callable[[Any], None]) -> Any:
        from ..apply.run import apply_plan
        from ..cli import writable_target

        return apply_plan(writable_target(target, _note(on_event)), plan, on_event=on_event)

    def undo(self, target, on_event: Callable[[Any], None]) -> Any:
        from ..apply.undo import undo
        from ..cli import writable_target

        return undo(writable_target(target, _note(on_event)), on_event=on_event)

    def undoable_journal(self, target) -> Optional[dict]:
        """The journal undo would revert now (None: nothing to undo)."""
        from ..apply.undo import undoable_journal

        return undoable_journal(target)

    def read_journal(self, target, path: str) -> dict:
        """A journal record by its guest path (as apply and undo report it)."""
        from ..journal import read_journal

        return read_journal(target, path)

    def describe_journal(self, journal: dict) -> str:
        from ..apply.undo import describe_journal

        return describe_journal(journal)

    def verify(self, target, plan: Plan, before: Optional[Facts] = None) -> list[str]:
        """Detect again; lines saying what changed and what is left to do."""
        from ..apply.verify import verify

        return list(verify(target, plan, before))

    # ---- after the switch ---------------------------------------------------

    def after_switch(self, target, facts: Optional[Facts], plan: Optional[Plan]) -> dict:
        """The host steps (power off, definition, start, the MAC to keep) and the way back."""
        from ..host_steps import after_switch

        return after_switch(target, facts, plan.to_dict() if plan is not None else None)

    def pending_verification(self, target) -> Optional[dict]:
        """The apply awaiting ``verify`` on this running guest, or None (fast: one folder)."""
        from ..apply.verify_live import pending_verification

        return pending_verification(target)

    def verify_live(self, target) -> Any:
        """The checks after the switch (``verify``); marks the journal when all hold."""
        from ..apply.verify_live import verify_live

        return verify_live(target)

    # ---- report -----------------------------------------------------------

    def report_markdown(self, facts, findings, plan=None, journal=None, after=None) -> str:
        from ..report import render_markdown

        return render_markdown(facts, findings, plan=plan, journal=journal, after=after)

    def report_json(self, facts, findings, plan=None, journal=None, after=None) -> dict:
        from ..report import render_json

        return render_json(facts, findings, plan=plan, journal=journal, after=after)


def _note(on_event: Callable[[Any], None]) -> Callable[[str], None]:
    """A line for the apply/undo log, as a whole-run note."""
    from ..apply.events import ApplyEvent, EventKind

    return lambda text: on_event(ApplyEvent(EventKind.NOTE, None, text))
