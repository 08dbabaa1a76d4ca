"""The host half in words: the steps on the host, a safe trial, and the way back.

The words for ``virtio-wizard host``, the TUI's Done screen and the report,
made from a :class:`~virtio_wizard.host.GuestView` (and the changed domain,
when one was given): power off rather than reboot, define the new XML, keep
the MACs, start, verify; and, when the guest does not boot, how to go back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .host import GuestView, HostResult, guest_view_of

if TYPE_CHECKING:
    from .facts import Facts
    from .targets import Target

__all__ = ["after_switch", "host_steps", "generic_steps", "trial_commands", "way_back"]


def after_switch(
    target: Target, facts: Optional[Facts], plan: Optional[dict] = None, name: str = "VM"
) -> dict[str, list[str]]:
    """The host steps and the way back for a prepared guest (Done screen, report)."""
    view = guest_view_of(target, facts, plan)
    return {"host_steps": host_steps(view, None, name), "way_back": way_back(view)}


def _mac_lines(view: GuestView, result: Optional[HostResult]) -> list[str]:
    macs = [n.mac for n in result.nics if n.mac] if result is not None else []
    if not macs and view.nics:
        return [f"keep the MAC of {name}: {mac}" for name, mac in view.nics if mac]
    return [f"keep the MAC {mac} (the guest names its NIC by it)" for mac in macs]


def host_steps(
    view: GuestView, result: Optional[HostResult] = None, name: str = "GUEST", xml_out: str = ""
) -> list[str]:
    """The sequence on the host: power off, change the definition, start.

    With a ``result`` (a domain XML was given) the steps name its disks and
    the file to define; without one they are the generic ``virsh`` steps.
    """
    which = " (VM: the guest's name in virsh list)" if name == "VM" else ""
    out = [
        f"power the VM off, do not just reboot it (a changed bus needs a new QEMU process): "
        f"virsh shutdown {name}, then wait until virsh domstate {name} says 'shut off'{which}",
    ]
    if result is not None and xml_out:
        out.append(f"define the new XML: virsh define {xml_out}")
    elif result is not None:
        out.append("save the new XML with -o FILE, then: virsh define FILE")
    else:
        out.append(
            f"make the new definition: virsh dumpxml {name} > {name}.xml; "
            f"virtio-wizard host --domain-xml {name}.xml -o {name}-virtio.xml; "
            f"virsh define {name}-virtio.xml (or by hand in virsh edit {name})"
        )
    out.extend(_disk_lines(view, result))
    out.extend(_mac_lines(view, result))
    out.append(f"start it: virsh start {name}; then run virtio-wizard verify in the guest")
    return out


def _disk_lines(view: GuestView, result: Optional[HostResult]) -> list[str]:
    if result is not None:
        return [
            f"disk {d.old_target} ({d.old_bus}) becomes {d.new_target} (virtio)"
            if d.moved
            else f"disk {d.old_target} stays on {d.old_bus} (the boot disk stays emulated)"
            for d in result.disks
        ]
    if not view.block:
        return []
    lines = [
        f"each system disk: <target dev='{old}' bus='...'/> becomes "
        f"<target dev='{new}' bus='virtio'/>, and its <address type='drive' .../> goes"
        for old, new in sorted(view.disk_map.items(), key=lambda kv: kv[1])
    ] or [
        "each system disk: bus='virtio', target vda, vdb, ... in the old order; "
        "drop its <address type='drive'>"
    ]
    if view.legacy_only:
        lines.append(
            f"on a q35 VM add model='virtio-transitional' to each <disk> and NIC <model> "
            f"({view.legacy_reason}), or keep the VM on i440fx"
        )
    return lines


def generic_steps(view: GuestView, name: str = "GUEST") -> list[str]:
    """``host`` without a domain XML: virsh steps, qemu flags and a safe trial."""
    disks = sorted(view.disk_map.items(), key=lambda kv: kv[1]) or [("hda", "vda")]
    legacy = {None: "unknown", True: "yes", False: "no"}[view.legacy_only]
    trans = "-transitional" if view.legacy_only else ""
    out = [
        "Steps with libvirt (virsh):",
        *(f"  {i}. {s}" for i, s in enumerate(host_steps(view, None, name), 1)),
        "",
        "The same with a plain qemu command line (power the VM off first, start it again after):",
    ]
    for i, (old, new) in enumerate(disks):
        boot = ",bootindex=1" if i == 0 else ""
        out.append(
            f"  -drive file=DISK{i + 1},format=FMT,if=none,id=disk{i} "
            f"-device virtio-blk-pci{trans},drive=disk{i}{boot}"
        )
        out.append(
            f"     (was {old}, the guest sees /dev/{new}; "
            f"short form: -drive file=DISK{i + 1},format=FMT,if=virtio)"
        )
    if view.net:
        macs = [mac for _n, mac in view.nics if mac] or ["52:54:00:XX:XX:XX"]
        for i, mac in enumerate(macs):
            out.append(
                f"  -netdev tap,id=net{i} -device virtio-net-pci{trans},netdev=net{i},mac={mac}"
            )
        out.append(
            "  (keep the MAC the NIC has now: a new one renames the interface in old guests)"
        )
    out.append(f"  legacy-only virtio drivers: {legacy} ({view.legacy_reason})")
    out.extend(
        [
            "",
            "A safe trial first (the real disk is only read):",
            "  qemu-img create -f qcow2 -b DISK -F FMT trial.qcow2",
            "  boot the VM once with trial.qcow2 as its disk on virtio (writes go to trial.qcow2);",
            "  if it comes up, run virtio-wizard verify in it, power it off, delete trial.qcow2,",
            "  then switch the real definition.",
        ]
    )
    return out


def trial_commands(result: HostResult) -> list[str]:
    """One throwaway overlay per moved disk, for a first boot on virtio."""
    out = []
    for disk in result.disks:
        if not disk.moved or not disk.source:
            continue
        fmt = disk.fmt or "raw"
        out.append(
            f"qemu-img create -f qcow2 -b {disk.source} -F {fmt} trial-{disk.new_target}.qcow2"
        )
    return out


def way_back(view: GuestView) -> list[str]:
    """What to do when the guest does not boot after the switch.

    Whether the old bus still boots depends on the disk names: once the
    apply rewrote them to ``/dev/vdX``, the old bus finds no such disk.
    """
    files = view.bus_named_files
    if files is None:
        bus_back = (
            "whether the old bus still boots depends on the disk names: where the apply "
            "rewrote /dev/hdX or /dev/sdX to /dev/vdX (fstab, grub's root= and resume=), the "
            "old bus finds no such disk; with UUID=, LABEL= or LVM names it boots"
        )
    elif files:
        bus_back = (
            "the old bus does not boot cleanly: it has no /dev/vdX, so expect trouble from "
            + ", ".join(files)
            + " (root=, resume=, fstab lines); undo first (below), then switch back"
        )
    else:
        bus_back = "the guest names its disks by UUID=, LABEL= or LVM, so the old bus still boots"
    if view.initrd_backups:
        kept = "the apply kept " + ", ".join(
            f"{image} as {backup}" for image, backup in view.initrd_backups
        )
    else:
        kept = (
            "an apply that rebuilds the initrd keeps the old one as "
            "/boot/initrd-KVER.img.virtio.orig (or .virtio-wizard.bak)"
        )
    lines = [
        f"switch the bus back (power off, define the old XML again, start); {bus_back}",
        "or boot a rescue system, mount the guest's root at /mnt/guest (and its /boot), "
        "and run: virtio-wizard --root /mnt/guest undo",
        f"or boot the old initrd from grub: {kept}; at the grub menu press e on the entry and "
        "change its initrd line to that file (grub legacy: e, then e on the initrd line, Enter, "
        "b to boot; grub2: e, edit the initrd line, Ctrl+X). It has no virtio drivers: "
        "use it on the old bus",
    ]
    if view.demo:
        demo = (
            "in this demo: the guest is a temporary copy made for this run, never booted and "
            "gone when the wizard exits; undo works here with u before you quit (a new "
            "virtio-wizard --demo run starts from a fresh copy with nothing to undo). "
            "On a real guest:"
        )
        return [demo] + lines
    return lines
