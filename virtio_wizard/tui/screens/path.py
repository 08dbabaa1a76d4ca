"""Step 2, Path: load the drivers late from sysinit, or early from the initrd.

The guide's reasoning stands beside each path. Which path is possible is not
decided here: the screen asks the planner for a plan of each kind (in a
worker) and shows its refusals; a path the planner refuses is disabled with
the reason, and the first path it accepts (initrd before sysinit, because only
the initrd lets the boot disk itself be virtio) is preselected.
"""

from __future__ import annotations

from typing import Any, Optional

from rich.console import Group
from rich.padding import Padding
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import RadioSet, Static
from textual.worker import get_current_worker

from ...facts import Facts
from ...plan.defaults import boot_disk_default
from ...plan.model import Choices, Plan
from ..widgets.choice import Choice, Radio
from ..widgets.facts_view import findings_text
from .base import StepScreen

__all__ = ["PathScreen", "REASONS", "probe_choices", "with_path"]

#: Why each path works, after Red Hat's virtualization guide, shown beside the choice.
REASONS = {
    "initrd": (
        "Put the modules into the initial RAM disk (as Red Hat's virtualization guide "
        "does: mkinitrd --with virtio --with virtio_ring ...). They load with the "
        "kernel, so the disk the guest boots from can be virtio. The initrd is rebuilt; "
        "the old one is backed up."
    ),
    "sysinit": (
        "Load the modules late in boot: Red Hat's virtualization guide adds modprobe lines to "
        "/etc/rc.d/rc.sysinit after the /etc/rc.modules block. No initrd rebuild, "
        "but the guide warns: the disk the guest boots from cannot be virtio this way."
    ),
}
TITLES = {
    "initrd": "initrd: drivers in the initial RAM disk",
    "sysinit": "sysinit: drivers loaded late in boot",
}
ORDER = ("initrd", "sysinit")


def reason(method: str, facts: Optional[Facts], sysinit_file: Optional[str]) -> str:
    """Why a path works, worded for this guest: its initrd tool, the file sysinit edits.

    The guide's example (mkinitrd, rc.sysinit) is Red Hat's; on a Debian guest
    the same paths mean initramfs-tools and /etc/modules.
    """
    from ...knowledge import INITRD_TOOLS, RC_SYSINIT

    tool = facts.initrd_tool if facts is not None else None
    if method == "initrd" and tool and tool != "mkinitrd":
        name = INITRD_TOOLS.get(tool, {}).get("name", tool)
        return (
            f"Put the modules into the initial RAM disk, rebuilt with {name}. They load "
            "with the kernel, so the disk the guest boots from can be virtio. The "
            "initrd is rebuilt; the old one is backed up."
        )
    if method == "sysinit" and sysinit_file and sysinit_file != RC_SYSINIT:
        return (
            f"Load the modules late in boot from {sysinit_file}. No initrd rebuild, but "
            "loaded this late they cannot serve the disk the guest boots from, which "
            "stays on its emulated bus."
        )
    return REASONS[method]


def probe_choices(method: str, base: Choices) -> Choices:
    """The choices a path is judged by: the user's, with the method swapped in.

    sysinit is judged with the boot disk left emulated, the only way the guide
    allows it; the Drivers step shows the refusal if the user then moves it.
    """
    data = base.to_dict()
    data["method"] = method
    if method == "sysinit":
        data["boot_disk"] = "emulated"
    return Choices.from_dict(data)


def with_path(base: Choices, method: str, sysinit_file: Optional[str]) -> Choices:
    """The user's choices with the path taken on this step.

    A path changed here starts the Drivers step from what it was judged
    with (``probe_choices``): sysinit with the boot disk emulated (the
    guide: sysinit cannot serve it), initrd with it on virtio.
    """
    data = base.to_dict()
    data.update(method=method, sysinit_file=sysinit_file)
    if method != base.method:
        data["boot_disk"] = boot_disk_default(method)
    return Choices.from_dict(data)


class PathScreen(StepScreen):
    """Choose sysinit or initrd; Next hands on the chosen method."""

    STEP_TITLE = "2/6 Path"

    def __init__(
        self, target, engine, facts: Facts, choices: Choices, chosen: Optional[str] = None
    ):
        super().__init__()
        self.target = target
        self.engine = engine
        self.facts = facts
        self.choices = choices
        self.chosen = chosen
        self.plans: dict[str, Plan] = {}
        #: Paths the planner could not judge (it raised), with why.
        self.errors: dict[str, Exception] = {}
        self.next_ready = False

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static("Asking the planner which paths this guest allows ...", id="status")
        with VerticalScroll(id="body", can_focus=False):
            yield Static(Text("How should the guest load the virtio drivers?", style="bold"))
            with Choice(id="method"):
                for method in ORDER:
                    yield Radio(TITLES[method], id=f"method-{method}", disabled=True)
            yield Static(id="reasons")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self._show_reasons()
        self.probe()

    @work(thread=True, exclusive=True, group="plan")
    def probe(self) -> None:
        worker = get_current_worker()
        plans: dict[str, Any] = {}
        for method in ORDER:
            if worker.is_cancelled:  # the user left the step: nobody waits for more
                return
            try:
                # With no file chosen the core plans the one it recommends
                # here (rc.sysinit only where that one is refused), and the
                # plan's choices name it: that is what the Drivers step preselects.
                probe = probe_choices(method, self.choices)
                plans[method] = self.engine.plan(self.target, self.facts, probe)
            except Exception as exc:  # noqa: BLE001 - shown as this path's reason
                plans[method] = exc
        self.post_message(self._Probed(plans))

    class _Probed(Message, bubble=False):
        def __init__(self, plans: dict[str, Any]) -> None:
            super().__init__()
            self.plans = plans

    def on_path_screen__probed(self, message: _Probed) -> None:
        self._probed(message.plans)

    def _probed(self, plans: dict[str, Any]) -> None:
        self.plans = {m: p for m, p in plans.items() if isinstance(p, Plan)}
        self.errors = {m: p for m, p in plans.items() if not isinstance(p, Plan)}
        possible = [m for m in ORDER if m in self.plans and not self.plans[m].refused]
        for method in ORDER:
            self.query_one(f"#method-{method}", Radio).disabled = method not in possible
        pick = self.chosen if self.chosen in possible else (possible[0] if possible else None)
        if pick is not None:
            self.query_one(f"#method-{pick}", Radio).value = True
            self.chosen = pick
            self.query_one("#method", RadioSet).focus()
        status = self.query_one("#status", Static)
        if possible:
            status.update(f"Recommended: {possible[0]}. Up/Down and Space choose; n goes on.")
        else:
            status.update(
                Text("Neither path is possible for this guest: see why below.", style="red")
            )
        self._show_reasons()
        self.set_next_ready(pick is not None)

    @on(RadioSet.Changed, "#method")
    def _changed(self, event: RadioSet.Changed) -> None:
        pressed = event.pressed.id or ""
        self.chosen = pressed.replace("method-", "") or None
        self._show_reasons()

    def _show_reasons(self) -> None:
        parts: list[Any] = []
        for method in ORDER:
            mark = ">" if method == self.chosen else " "
            parts.append(Text(f"{mark} {method}", style="bold"))
            plan = self.plans.get(method)
            judged = plan.choices.sysinit_file if plan is not None else None
            parts.append(Padding(Text(reason(method, self.facts, judged)), (0, 0, 0, 2)))
            error = self.errors.get(method)
            if error is not None:
                parts.append(Text(f"  Not possible: {error}", style="red"))
            elif plan is not None and plan.refused:
                parts.append(Text("  Not possible here:", style="bold red"))
                parts.append(Padding(findings_text(plan.refusals), (0, 0, 0, 2)))
            parts.append(Text(""))
        self.query_one("#reasons", Static).update(Group(*parts))

    def result(self) -> Choices:
        """The choices with this path, and the sysinit file it was judged with."""
        assert self.chosen is not None  # Next waits for a possible path
        plan = self.plans.get(self.chosen)
        sysinit_file = plan.choices.sysinit_file if plan is not None else None
        return with_path(
            self.choices, self.chosen, sysinit_file if self.chosen == "sysinit" else None
        )
