"""Checks on what a guest brings from its old hypervisor.

virt-v2v's list: kudzu at first boot, interfaces pinned to a MAC, Xen
kernels, ``DEFAULTKERNEL=kernel-xen`` and Xen consoles.
"""

from __future__ import annotations

from .. import knowledge as kn
from ..facts import Facts
from ..finding import INFO, WARNING, Finding, Remedy, choose

__all__ = ["check_network_continuity", "check_xen_leftovers"]


def check_network_continuity(facts: Facts) -> list[Finding]:
    """kudzu at first boot, and interfaces pinned to a MAC (virt-v2v; issue 14).

    kudzu is not changed by the wizard: disabling a service is a runlevel
    link, outside the file edits that apply journals and undo restores; the
    finding gives the exact commands instead.
    """
    c = facts.continuity
    out = []
    if c.kudzu:
        out.append(
            Finding(
                "kudzu-first-boot",
                WARNING,
                "kudzu is enabled: at the first boot with the virtio NIC it sees new hardware "
                "and asks at the console, reconfigures or disables eth0 (virt-v2v disables it).",
                Remedy(
                    "The wizard does not change services; before switching, run in the guest "
                    "`chkconfig kudzu off` (turn it back on after the first good boot with "
                    "`chkconfig kudzu on` if you want hardware detection)."
                ),
                kn.VIRT_V2V + " (unconfigure_kudzu)",
            )
        )
    if c.pinned_macs:
        pins = "; ".join(
            f"{p.file}:{p.line} {p.about + ' ' if p.about else ''}{p.value}" for p in c.pinned_macs
        )
        macs = ", ".join(kn.unique(p.value for p in c.pinned_macs))
        out.append(
            Finding(
                "mac-pinned",
                WARNING,
                f"The interface configuration is pinned to MAC {macs} ({pins}): a virtio NIC "
                "with another MAC comes up as a new, unconfigured interface (eth1).",
                Remedy(
                    f"Give the virtio NIC the same MAC ({macs}) in the VM definition: in libvirt, "
                    "change only <model type='virtio'/> and keep the interface's <mac address=...>."
                ),
                kn.VIRT_V2V + "; udev 70-persistent-net.rules; ifcfg HWADDR",
            )
        )
    return out


def check_xen_leftovers(facts: Facts) -> list[Finding]:
    """A guest that came from Xen: Xen kernels, DEFAULTKERNEL=kernel-xen, Xen consoles."""
    c = facts.continuity
    out = []
    xen = [k.version for k in facts.kernels if kn.is_xen_kernel(k.version)]
    plain = [k.version for k in facts.kernels if not kn.is_xen_kernel(k.version)]
    if xen:
        out.append(
            Finding(
                "xen-kernel",
                WARNING if not plain else INFO,
                f"Xen paravirtual kernel{'s' if len(xen) > 1 else ''} {', '.join(xen)}: "
                "they run only on Xen and never get virtio, so the wizard leaves them out.",
                Remedy(
                    f"Boot and prepare a non-Xen kernel ({', '.join(plain)}).",
                    (choose(kernel=plain[0]),),
                )
                if plain
                else Remedy(
                    "Install the distribution's non-Xen kernel package (kernel), then plan again."
                ),
                kn.VIRT_V2V + " (Xen PV-only kernels are skipped)",
            )
        )
    pkg = c.default_kernel_pkg
    if pkg is not None and pkg.value == "kernel-xen":
        out.append(
            Finding(
                "defaultkernel-xen",
                WARNING,
                f"{pkg.file}:{pkg.line} says DEFAULTKERNEL=kernel-xen: the next kernel update "
                "installs a Xen kernel and makes it grub's default, which does not boot on KVM.",
                Remedy(
                    "The plan resets it to DEFAULTKERNEL=kernel (a non-Xen kernel is "
                    f"installed: {', '.join(plain)})."
                    if plain
                    else "Install the non-Xen kernel package first; then the plan resets it to "
                    "DEFAULTKERNEL=kernel."
                ),
                kn.VIRT_V2V + " (configure_kernel: DEFAULTKERNEL, RHBZ#1176801)",
            )
        )
    if c.xen_consoles:
        where = "; ".join(f"{x.file}:{x.line} {x.about}" for x in c.xen_consoles)
        out.append(
            Finding(
                "xen-console",
                WARNING,
                f"Xen console devices are configured ({where}): on KVM there is no xvc0, and "
                "hvc0 is only there with a virtio console, so these gettys and logins are dead.",
                Remedy(
                    "Change them to tty1 or ttyS0 (virt-v2v moves them to ttyS0) in /etc/inittab, "
                    "/etc/securetty and the grub console= argument."
                ),
                kn.VIRT_V2V + " (configure_console)",
            )
        )
    return out
