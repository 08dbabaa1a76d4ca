"""The data of planning: the user's Choices, the Steps of a Plan, the Plan.

Plans are data, like subiquity's ``render()`` output: ``plan()`` builds one
from Facts and Choices without writing anything, ``preview`` renders it,
``apply`` executes it, and its JSON form (schema ``virtio-wizard/plan/2``) is
what ``plan --json`` prints and ``apply --plan FILE`` reads back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

from ..finding import ERROR, Finding
from .defaults import boot_disk_default, fix_disk_names_default

__all__ = ["PLAN_SCHEMA", "Choices", "Step", "Plan", "PlanError", "parse_drivers"]

# /2: findings carry a structured remedy (advice, options, command) instead of fix text.
PLAN_SCHEMA = "virtio-wizard/plan/2"
METHODS = ("sysinit", "initrd")
STEP_KINDS = ("edit", "backup", "command", "remove")


class PlanError(ValueError):
    """A plan document or a choice is invalid; ``context`` names the key."""

    def __init__(self, message: str, context: str = "") -> None:
        super().__init__(message)
        self.context = context


def parse_drivers(text: str) -> tuple[bool, bool]:
    """``"block"``, ``"net"``, ``"block,net"`` -> (block, net).

    >>> parse_drivers("net,block")
    (True, True)
    """
    names = {p.strip().lower() for p in text.replace("+", ",").split(",") if p.strip()}
    unknown = names - {"block", "net", "both"}
    if unknown or not names:
        raise PlanError(
            f"unknown driver {', '.join(sorted(unknown)) or '(none)'}: use block, net or block,net",
            "drivers",
        )
    both = "both" in names
    return (both or "block" in names, both or "net" in names)


@dataclass(frozen=True)
class Choices:
    """What the user decided. Defaults are the wizard's recommendation."""

    method: str = "initrd"
    block: bool = True
    net: bool = True
    #: Kernel version to prepare; None means the running one, else the newest.
    kernel: Optional[str] = None
    #: Rewrite /dev/hdX, /dev/sdX references; None means "yes when the disks move to
    #: virtio" (block chosen and the boot disk moving: ``defaults.fix_disk_names_default``).
    fix_disk_names: Optional[bool] = None
    #: Write UUID= instead of /dev/vdX where the UUID is known.
    use_uuid: bool = False
    #: For sysinit: the file to edit. ``plan`` takes None as the guide's
    #: /etc/rc.d/rc.sysinit; ``make_plan`` first tries the file the wizard
    #: recommends (``defaults.sysinit_file_default``), as both faces do.
    sysinit_file: Optional[str] = None
    #: Whether the boot disk moves to virtio ("virtio") or stays emulated ("emulated").
    #: None (the default) takes the wizard's recommendation for the method,
    #: ``defaults.boot_disk_default``, when the Choices are made, so a caller of the
    #: core gets the same default as the CLI and the TUI: sysinit leaves the boot disk
    #: emulated (the guide: its drivers load too late for it). Never None afterwards.
    boot_disk: Optional[str] = None
    #: initrd method: also prepare every other installed kernel with a boot
    #: entry (each that can: a Xen kernel or one without the modules is named
    #: and left out), so whatever entry boots after the switch finds virtio.
    all_kernels: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise PlanError(f"unknown method {self.method!r}: use sysinit or initrd", "method")
        if not (self.block or self.net):
            raise PlanError("choose at least one driver: block, net or both", "drivers")
        if self.boot_disk is None:
            # Frozen: the resolved default is set once, here, so every reader sees a str.
            object.__setattr__(self, "boot_disk", boot_disk_default(self.method))
        if self.boot_disk not in ("virtio", "emulated"):
            raise PlanError(f"unknown boot disk {self.boot_disk!r}", "boot_disk")

    @property
    def drivers(self) -> str:
        """``block``, ``net`` or ``block,net``."""
        return ",".join(n for n, on in (("block", self.block), ("net", self.net)) if on)

    @property
    def fixes_disk_names(self) -> bool:
        return fix_disk_names_default(self) if self.fix_disk_names is None else self.fix_disk_names

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Choices:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Step:
    """One thing apply does, with a one-line reason.

    - ``edit``: replace ``path`` (the real file behind any symlink) with
      ``new_text`` encoded as ``encoding``; ``old_sha256`` is the hash of the
      file when planned (None: the file must not exist yet); ``mode`` the mode
      after; ``diff`` the unified diff shown in the preview.
    - ``backup``: copy ``path`` to ``to`` (kept after apply; undo does not
      remove it unless apply created it).
    - ``remove``: delete ``path`` (a stale cache the guest rebuilds by itself);
      ``old_sha256`` is its hash when planned; apply keeps a copy in the
      journal's backups and undo puts it back.
    - ``command``: run ``argv`` in the target. ``image`` is the initrd it
      makes and ``verify_modules`` the modules that must then be inside it.
      ``build`` (when set) is the file the command writes instead: apply
      checks the modules are in it, then renames it over ``image``, so an
      interrupted rebuild never leaves a torn ``image``. ``verify_members``
      is what the root needs in that image besides (``plan.rootneeds``: the
      root file system's module, LVM/MD/crypt modules and tools), checked
      the same way.
    """

    kind: str
    why: str
    path: Optional[str] = None
    old_sha256: Optional[str] = None
    new_text: Optional[str] = None
    encoding: str = "utf-8"
    mode: Optional[int] = None
    diff: str = ""
    to: Optional[str] = None
    argv: tuple[str, ...] = ()
    image: Optional[str] = None
    verify_modules: tuple[str, ...] = ()
    build: Optional[str] = None
    #: Encoded ``plan.rootneeds.Need`` strings (``"dm_mod for root on LVM"``).
    verify_members: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in STEP_KINDS:
            raise PlanError(f"unknown step kind {self.kind!r}", "kind")

    def new_bytes(self) -> bytes:
        """The bytes an edit writes (the file's own encoding is kept)."""
        return (self.new_text or "").encode(self.encoding)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["argv"] = list(self.argv)
        d["verify_modules"] = list(self.verify_modules)
        d["verify_members"] = list(self.verify_members)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        for key in ("argv", "verify_modules", "verify_members"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key] or ())
        return cls(**kwargs)


@dataclass(frozen=True)
class Plan:
    """An ordered list of steps for one guest and one set of choices.

    ``findings`` holds the refusals (severity error: nothing may be applied)
    and notes for the user. ``modules`` is the load order the plan uses.
    """

    choices: Choices
    steps: tuple[Step, ...] = ()
    findings: tuple[Finding, ...] = ()
    modules: tuple[str, ...] = ()
    kernel: Optional[str] = None
    #: The target the plan was made for (kind and root), checked on apply --plan.
    target: dict[str, Any] = field(default_factory=dict)
    #: Every kernel the plan prepares, ``kernel`` (the one booted next) first.
    kernels: tuple[str, ...] = ()
    schema: str = PLAN_SCHEMA

    @property
    def refused(self) -> bool:
        return any(f.severity == ERROR for f in self.findings)

    @property
    def refusals(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == ERROR)

    @property
    def changes_nothing(self) -> bool:
        return not self.steps

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "choices": self.choices.to_dict(),
            "kernel": self.kernel,
            "kernels": list(self.kernels),
            "modules": list(self.modules),
            "target": dict(self.target),
            "steps": [s.to_dict() for s in self.steps],
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        if not isinstance(data, dict) or data.get("schema") != PLAN_SCHEMA:
            raise PlanError(f"not a {PLAN_SCHEMA} document", "schema")
        try:
            return cls(
                choices=Choices.from_dict(data["choices"]),
                steps=tuple(Step.from_dict(s) for s in data.get("steps", [])),
                findings=tuple(Finding.from_dict(f) for f in data.get("findings", [])),
                modules=tuple(data.get("modules", [])),
                kernel=data.get("kernel"),
                target=dict(data.get("target") or {}),
                kernels=tuple(data.get("kernels") or ()),
            )
        except (KeyError, TypeError) as exc:
            raise PlanError(f"invalid plan: {exc}") from exc
