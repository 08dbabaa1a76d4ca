"""Step 3, Drivers & options: which drivers, which kernel, disk names, boot disk.

Every change re-asks the planner (in a worker, the newest question wins) and
shows its verdict at once: the module list in load order, the kernels the
plan prepares and those it leaves out (with the planner's reason), and any
refusal with its reason. On the initrd path a box prepares every other kernel
with a boot entry too (``Choices.all_kernels``), offered only where the core
says there is one it can prepare. Next stays blocked while the plan is
refused, e.g. sysinit with the block driver for a boot disk that moves to
virtio, which the guide says cannot work.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Checkbox, RadioSet, Static
from textual.worker import get_current_worker

from ...facts import Facts
from ...finding import Finding
from ...plan.defaults import fix_disk_names_default
from ...plan.model import Choices, Plan
from ..session import Session
from ..widgets.choice import Check, Choice, Radio
from ..widgets.facts_view import findings_text
from .base import StepScreen

__all__ = ["DriversScreen"]

#: The box for ``Choices.all_kernels`` (initrd path, a guest with more boot kernels).
ALL_KERNELS = "Also prepare the other kernels with a boot entry"
#: The findings naming a boot kernel the plan leaves out; shown under that box.
LEFT_OUT = "kernel-left-out"

DRIVER_CHOICES = (
    ("both", "Block and network"),
    ("block", "Block (disks) only"),
    ("net", "Network only"),
)


class DriversScreen(StepScreen):
    """Choose drivers and options; Next hands on the accepted Plan."""

    STEP_TITLE = "3/6 Drivers & options"

    def __init__(self, target, engine, facts: Facts, choices: Choices) -> None:
        super().__init__()
        self.target = target
        self.engine = engine
        self.facts = facts
        self.choices = choices
        self.plan: Optional[Plan] = None
        self.next_ready = False

    # ---- layout -------------------------------------------------------------

    def compose(self) -> ComposeResult:
        c = self.choices
        yield from self.compose_header()
        yield Static("", id="status")
        with VerticalScroll(id="body", can_focus=False):
            # Refusals go first, where they are seen without scrolling.
            yield Static(id="refusal")
            yield Static(Text("Drivers", style="bold"))
            current = "both" if c.block and c.net else ("block" if c.block else "net")
            with Choice(id="drivers"):
                for key, label in DRIVER_CHOICES:
                    yield Radio(label, value=key == current, id=f"drivers-{key}")
            yield Static(id="modules")
            if c.method == "sysinit":
                yield Static(Text("File to load them from", style="bold"))
                files = self.engine.sysinit_files(self.facts)
                chosen = c.sysinit_file or next(iter(files), None)
                best = self.engine.recommended_sysinit_file(self.facts)
                with Choice(id="sysinit-file"):
                    for i, path in enumerate(files):
                        note = " (recommended here)" if path == best else ""
                        yield Radio(f"{path}{note}", value=path == chosen, id=f"sysinit-{i}")
                yield Static(id="sysinit-about")
            kernels = [k.version for k in self.facts.kernels]
            if kernels:
                default = self.facts.default_kernel()
                chosen_k = c.kernel or (default.version if default else kernels[0])
                yield Static(Text("Kernel", style="bold"))
                with Choice(id="kernel"):
                    for i, version in enumerate(kernels):
                        running = " (running)" if version == self.facts.running_kernel else ""
                        yield Radio(version + running, value=version == chosen_k, id=f"kernel-{i}")
                if c.method == "initrd":
                    box = Check(ALL_KERNELS, value=c.all_kernels, id="all-kernels")
                    # Shown only where it changes the plan: see _offer_all_kernels.
                    box.display = bool(self.engine.more_boot_kernels(self.facts, c))
                    yield box
                    prepared = Static(id="kernels-prepared")
                    prepared.display = False  # filled when a plan comes back
                    yield prepared
            yield Static(Text("Boot disk", style="bold"))
            with Choice(id="boot-disk"):
                yield Radio(
                    "moves to virtio (vda)", value=c.boot_disk == "virtio", id="boot-virtio"
                )
                yield Radio(
                    "stays emulated (IDE/SATA)", value=c.boot_disk == "emulated", id="boot-emulated"
                )
            yield Static(Text("Disk names", style="bold"))
            yield Check(
                "Rewrite /dev/hdX, /dev/sdX to /dev/vdX", value=c.fixes_disk_names, id="fix-names"
            )
            yield Check("Write UUID= where the UUID is known", value=c.use_uuid, id="use-uuid")
            yield Static(id="verdict")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one("#drivers", RadioSet).focus()
        self._replan()

    # ---- choices ------------------------------------------------------------

    def _read_choices(self) -> Choices:
        """The form's current state as Choices (no judgement: the planner judges)."""
        drivers = self._pressed("drivers") or "both"
        block, net = drivers in ("both", "block"), drivers in ("both", "net")
        data = self.choices.to_dict()
        data.update(block=block, net=net)
        data["boot_disk"] = (
            "emulated" if self._pressed("boot-disk") == "boot-emulated" else "virtio"
        )
        data["fix_disk_names"] = self.query_one("#fix-names", Checkbox).value
        data["use_uuid"] = self.query_one("#use-uuid", Checkbox).value
        if self.choices.method == "sysinit":
            files = list(self.engine.sysinit_files(self.facts))
            idx = self._pressed_index("sysinit-file")
            data["sysinit_file"] = files[idx] if idx is not None else None
        if self.facts.kernels:
            idx = self._pressed_index("kernel")
            if idx is not None:
                data["kernel"] = self.facts.kernels[idx].version
        if self._has_box:
            data["all_kernels"] = self.query_one("#all-kernels", Checkbox).value
        return Choices.from_dict(data)

    def _pressed(self, radioset_id: str) -> Optional[str]:
        button = self.query_one(f"#{radioset_id}", RadioSet).pressed_button
        if button is None or button.id is None:
            return None
        return button.id.replace(f"{radioset_id}-", "") if radioset_id == "drivers" else button.id

    def _pressed_index(self, radioset_id: str) -> Optional[int]:
        index = self.query_one(f"#{radioset_id}", RadioSet).pressed_index
        return index if index >= 0 else None

    @on(RadioSet.Changed)
    @on(Checkbox.Changed)
    def _changed(self, event: Any) -> None:
        if isinstance(event, RadioSet.Changed) and event.radio_set.id in ("drivers", "boot-disk"):
            self._follow_names_default()
        self._replan()

    def _follow_names_default(self) -> None:
        """Rename by default exactly when the disks move to virtio (the core's default).

        A boot disk left emulated keeps its name, so the box unticks itself;
        ticking it by hand then is the planner's refusal to show.
        """
        try:
            choices = self._read_choices()
        except Exception:  # noqa: BLE001 - PlanError: _replan shows it
            return
        default = fix_disk_names_default(choices)
        for box_id, value in (("fix-names", default), ("use-uuid", None)):
            box = self.query_one(f"#{box_id}", Checkbox)
            if value is None:  # UUID= stays as the user set it, unless nothing moves
                value = box.value and default
            if box.value != value:
                with box.prevent(Checkbox.Changed):
                    box.value = value

    def _replan(self) -> None:
        self.set_next_ready(False)
        try:
            choices = self._read_choices()
        except Exception as exc:  # noqa: BLE001 - PlanError: a choice the model refuses
            self._verdict(None, str(exc))
            return
        self.choices = choices
        self._offer_all_kernels(choices)
        if choices.method == "sysinit":
            files = self.engine.sysinit_files(self.facts)
            path = choices.sysinit_file or next(iter(files), "")
            self.query_one("#sysinit-about", Static).update(
                Text(f"{path}: {files.get(path, '')}", style="italic")
            )
        modules = self.engine.modules_for(choices.block, choices.net)
        self.query_one("#modules", Static).update(
            Text.assemble(("Load order: ", "bold"), " -> ".join(modules))
        )
        self.query_one("#status", Static).update("Planning ...")
        self.make_plan(choices)

    @property
    def _has_box(self) -> bool:
        """Whether the all-kernels box is composed (initrd path, a kernel to choose)."""
        return self.choices.method == "initrd" and bool(self.facts.kernels)

    def _offer_all_kernels(self, choices: Choices) -> None:
        """Show the all-kernels box only where another boot kernel could be prepared.

        Which ones can is the core's answer; it follows the Kernel and Drivers
        choices (another kernel may lack a module only one driver needs).
        """
        if not self._has_box:
            return
        box = self.query_one("#all-kernels", Checkbox)
        box.display = bool(self.engine.more_boot_kernels(self.facts, choices))

    def _kernels_prepared(self, plan: Optional[Plan]) -> list[Finding]:
        """Under the box: the kernels the plan prepares, and those it does not, with why.

        Returns the left-out findings shown here, so the verdict does not
        repeat them.
        """
        if not self._has_box or plan is None or plan.refused:
            self._set_kernels_prepared("")
            return []
        left_out = [f for f in plan.findings if f.id == LEFT_OUT]
        if not left_out and not self.query_one("#all-kernels", Checkbox).display:
            self._set_kernels_prepared("")
            return []
        parts: list[Any] = [Text.assemble(("Prepared: ", "bold"), ", ".join(plan.kernels))]
        if not plan.choices.all_kernels:
            others = self.engine.more_boot_kernels(self.facts, plan.choices)
            if others:
                parts.append(
                    Text.assemble(
                        ("Not prepared: ", "bold"), ", ".join(others), " (the box is unticked)"
                    )
                )
        if left_out:
            parts.append(findings_text(left_out))
        self._set_kernels_prepared(Group(*parts))
        return left_out

    def _set_kernels_prepared(self, content: Any) -> None:
        if self._has_box:
            shown = self.query_one("#kernels-prepared", Static)
            shown.update(content)
            shown.display = bool(content)

    @work(thread=True, exclusive=True, group="plan")
    def make_plan(self, choices: Choices) -> None:
        plan, error = None, None
        try:
            plan = self.engine.plan(self.target, self.facts, choices)
        except Exception as exc:  # noqa: BLE001 - shown as the verdict
            error = f"The planner failed: {exc}"
        if not get_current_worker().is_cancelled:  # else a newer question was asked
            self.post_message(self._Planned(plan, error))

    class _Planned(Message, bubble=False):
        def __init__(self, plan: Optional[Plan], error: Optional[str]) -> None:
            super().__init__()
            self.plan = plan
            self.error = error

    def on_drivers_screen__planned(self, message: _Planned) -> None:
        self._verdict(message.plan, message.error)

    def _verdict(self, plan: Optional[Plan], error: Optional[str]) -> None:
        self.plan = plan
        shown = self._kernels_prepared(plan)
        status = self.query_one("#status", Static)
        refusal = self.query_one("#refusal", Static)
        verdict = self.query_one("#verdict", Static)
        if plan is None or plan.refused:
            if plan is None:
                status.update(Text("Cannot plan: " + (error or ""), style="bold red"))
                why: Any = Text(error or "", style="red")
            else:
                status.update(
                    Text("Refused: change a choice below; Next is blocked.", style="bold red")
                )
                why = findings_text(plan.refusals)
            refusal.update(Group(Text("Next is blocked:", style="bold red"), why, Text("")))
            # The reason stands first in the body: bring it into view.
            self.query_one("#body").scroll_home(animate=False)
            verdict.update("")
            self.set_next_ready(False)
            return
        refusal.update("")
        n = len(plan.steps)
        steps = "step" if n == 1 else "steps"
        notes = [f for f in plan.findings if f.severity != "error" and f not in shown]
        summary = (
            "Nothing to change: the guest already has what you chose."
            if plan.changes_nothing
            else f"Plan ready: {n} {steps}. Press n to preview them."
        )
        hint = f"Plan ready ({n} {steps}). Tab: next group, Space: pick, n: preview."
        status.update(Text(summary if plan.changes_nothing else hint, style="green"))
        parts: list[Any] = [Text(""), Text(summary, style="bold green")]
        if notes:
            parts.append(findings_text(notes))
        verdict.update(Group(*parts))
        self.set_next_ready(True)

    def result(self) -> Optional[Plan]:
        return self.plan

    def so_far(self, session: Session) -> Session:
        accepted = self.plan is not None and not self.plan.refused
        return replace(session, plan=self.plan) if accepted else session
