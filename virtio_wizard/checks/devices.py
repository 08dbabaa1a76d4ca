"""Checks on the VM's devices: PCI slots running out, the guide's GSO/TSO advice."""

from __future__ import annotations

from .. import knowledge as kn
from ..facts import Facts
from ..finding import ERROR, INFO, WARNING, Finding, Remedy

__all__ = ["check_pci_slots", "check_gso_tso"]


def _slot_key(slot: str) -> str:
    """``0000:00:03.1`` -> ``0000:00:03``: functions of one slot share it."""
    return slot.rsplit(".", 1)[0]


def check_pci_slots(facts: Facts) -> list[Finding]:
    """Distinct PCI slots in use, against the 28 free of the guest's 32 (the guide)."""
    used = len({_slot_key(d.slot) for d in facts.devices})
    if used < kn.PCI_SLOTS_WARN:
        return []
    left = max(kn.PCI_SLOTS_TOTAL - used, 0)
    severity = ERROR if left == 0 else WARNING
    total_functions = kn.PCI_SLOTS_FREE * kn.PCI_FUNCTIONS
    return [
        Finding(
            "pci-slots",
            severity,
            f"{used} of the guest's {kn.PCI_SLOTS_TOTAL} PCI slots are in use "
            f"({kn.PCI_SLOTS_FIXED} fixed, {kn.PCI_SLOTS_FREE} free for devices), {left} left.",
            Remedy(
                "Add virtio devices as functions of one multifunction slot (8 functions per slot, "
                f"up to {total_functions} devices) or remove unused emulated devices first."
            ),
            kn.SEED_PCI,
        )
    ]


def _net_relevant(facts: Facts) -> bool:
    if any(d.kind in ("virtio-net", "e1000", "rtl8139") for d in facts.devices):
        return True
    if "virtio_net" in (facts.loaded_modules or ()):
        return True
    return "virtio_net" in facts.virtio_bus_drivers


def check_gso_tso(facts: Facts) -> list[Finding]:
    """The guide's host-side ethtool commands, as a troubleshooting step only.

    They were a workaround for RHEL 5.4-era virtio-net; on current vhost-net
    hosts GSO/TSO off usually lowers throughput (KNOWLEDGE.md section 9), so the
    finding says when to try them and how to undo, not that they are needed.
    """
    if not _net_relevant(facts):
        return []
    return [
        Finding(
            "gso-tso",
            INFO,
            "Troubleshooting only, for a slow virtio network on an old host: the guide's advice "
            "to turn GSO and TSO off dates from RHEL 5.4-era virtio-net; on current hosts "
            "(vhost-net) turning them off usually lowers throughput, so leave them on unless "
            "you measure a slow network.",
            Remedy(
                "Only if throughput is low: on the HOST, not in this guest, with IFACE the guest's "
                "tap or bridge interface, look first ("
                + kn.GSO_TSO_COMMANDS[0]
                + "), then try "
                + " and ".join(kn.GSO_TSO_COMMANDS[1:])
                + ", measure again, and turn them back on (gso on, tso on) if nothing improved."
            ),
            kn.SEED_NET + "; " + kn.VIRT_V2V_NOTES,
        )
    ]
