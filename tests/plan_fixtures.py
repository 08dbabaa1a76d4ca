"""Hand-built Facts and guest file texts for the planner tests.

The planner is pure, so its tests build Facts by hand (as detection would
fill them) and pass file bytes in a plain dict; nothing here touches a disk.
"""

from __future__ import annotations

from typing import Any, Optional

from virtio_wizard.facts import DiskRef, Distro, Facts, Kernel, Sysinit, TargetInfo
from virtio_wizard.knowledge import SEED_MODULES
from virtio_wizard.plan import Choices, Plan, plan

KVER = "2.6.18-8.el5"
IMAGE = f"/boot/initrd-{KVER}.img"
ALL = ("virtio", "virtio_ring", "virtio_blk", "virtio_net", "virtio_pci")

RC_HEAD = (
    "#!/bin/bash\n"
    "#\n"
    "# /etc/rc.d/rc.sysinit - run once at boot time\n"
    "\n"
    "# Load other user-defined modules\n"
    "for file in /etc/sysconfig/modules/*.modules ; do\n"
    "  [ -x $file ] && $file\n"
    "done\n"
    "\n"
    "# Load modules (for backward compatibility with VARs)\n"
    "if [ -f /etc/rc.modules ]; then\n"
    "\t/etc/rc.modules\n"
    "fi\n"
)
RC_TAIL = "\nmount -n /dev/pts >/dev/null 2>&1\n"
RC_SYSINIT = RC_HEAD + RC_TAIL
#: 1-based line of the ``fi`` in RC_SYSINIT.
HOOK = 13
SEED_LINES = (
    "\nmodprobe virtio\nmodprobe virtio_ring\nmodprobe virtio_blk\n"
    "modprobe virtio_net\nmodprobe virtio_pci\n"
)


def kernel(
    version: str = KVER,
    *,
    virtio: Optional[dict[str, str]] = None,
    initrd: Optional[str] = "default",
    initrd_virtio: Optional[tuple[str, ...]] = (),
    **kw: Any,
) -> Kernel:
    """A kernel with every seed module as a module and an initrd without them."""
    if initrd == "default":
        initrd = f"/boot/initrd-{version}.img"
    return Kernel(
        version=version,
        image=f"/boot/vmlinuz-{version}",
        initrd=initrd,
        initrd_virtio=initrd_virtio,
        virtio=virtio if virtio is not None else {m: "module" for m in SEED_MODULES},
        **kw,
    )


def facts(**kw: Any) -> Facts:
    """RHEL 5.1-like Facts: nash mkinitrd, the seed's rc.sysinit hook, one kernel."""
    base: dict[str, Any] = {
        "target": TargetInfo("root", "/guest"),
        "distro": Distro("rhel", "Red Hat Enterprise Linux Server", "5.1", "redhat"),
        "kernels": (kernel(),),
        "initrd_tool": "mkinitrd",
        "sysinit": Sysinit(hook_line=HOOK),
        # rc.sysinit runs /etc/rc.modules and the /etc/sysconfig/modules loop.
        "module_loaders": ("rc.modules", "sysconfig-modules"),
    }
    base.update(kw)
    return Facts(**base)


def ref(file: str, line: int, device: str, proposed: Optional[str], **kw: Any) -> DiskRef:
    scheme = "legacy" if proposed else "virtio"
    return DiskRef(file=file, line=line, device=device, scheme=scheme, proposed=proposed, **kw)


def make(f: Facts, files: dict[str, Optional[bytes]], **choices: Any) -> Plan:
    """Plan with Choices built from keyword arguments."""
    return plan(f, Choices(**choices), files)


def sysinit(files: dict[str, Optional[bytes]], f: Optional[Facts] = None, **kw: Any) -> Plan:
    """The sysinit method, net only unless told."""
    kw.setdefault("block", False)
    return make(f or facts(), files, method="sysinit", **kw)


def applied(p: Plan, files: dict[str, Optional[bytes]]) -> dict[str, Optional[bytes]]:
    """``files`` after the plan's edits, as apply would leave them."""
    out = dict(files)
    for step in p.steps:
        if step.kind == "edit":
            out[step.path] = step.new_bytes()
    return out
