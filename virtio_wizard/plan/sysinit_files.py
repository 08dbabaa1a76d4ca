"""Which start-up files load modules on this guest, and the one to recommend.

The sysinit method may edit the guide's ``/etc/rc.d/rc.sysinit`` or one of
the cleaner files that survive an initscripts update; only the files this
guest's init reads at boot are offered (and accepted by the planner). Kept
apart from :mod:`.sysinit` (the edits) so that the shared defaults
(:mod:`.defaults`) can ask for the recommended file without the planner.
"""

from __future__ import annotations

from typing import Optional

from .. import knowledge as K
from ..facts import Distro, Facts

__all__ = ["offered_files", "recommended_file", "recommended_for"]


def _major(version: str) -> Optional[int]:
    parts = K.version_tuple(version)
    return parts[0] if parts else None


def recommended_file(distro: Distro) -> Optional[str]:
    """The cleaner module-loading file for this distro, or None when unsure.

    Red Hat 3/4: ``/etc/rc.modules``; 5/6: ``/etc/sysconfig/modules/virtio.modules``;
    7+, Fedora 15+, SUSE 12+, Arch: ``/etc/modules-load.d/virtio.conf`` (systemd);
    Debian and Ubuntu: ``/etc/modules``.
    """
    major = _major(distro.version)
    if distro.family == "debian":
        return K.ETC_MODULES
    if distro.family == "arch":
        return K.MODULES_LOAD_D
    if distro.family == "suse":
        return K.MODULES_LOAD_D if major is not None and major >= 12 else None
    if distro.family != "redhat" or major is None:
        return None
    if distro.id == "fedora":
        return K.MODULES_LOAD_D if major >= 15 else K.SYSCONFIG_MODULES
    if distro.id == "redhat" or major <= 4:
        return K.RC_MODULES
    if major <= 6:
        return K.SYSCONFIG_MODULES
    return K.MODULES_LOAD_D


def _systemd_release(distro: Distro) -> bool:
    """Releases whose init is systemd (so modules-load.d is read at boot).

    Fedora 15+, RHEL and rebuilds 7+, SUSE 12+, Debian 8+, Ubuntu 15.04+, Arch.
    """
    parts = K.version_tuple(distro.version)
    major = parts[0] if parts else None
    if distro.family == "arch" or distro.id == "arch":
        return True
    if major is None:
        return False
    if distro.id == "fedora":
        return major >= 15
    if distro.id in K.RHEL_LIKE_IDS:
        return major >= 7
    if distro.family == "suse":
        return major >= 12
    if distro.id == "ubuntu":
        return tuple(parts[:2]) >= (15, 4)
    if distro.id == "debian":
        return major >= 8
    return False


def offered_files(facts: Facts) -> dict[str, str]:
    """The sysinit-method files this guest reads at boot, each with how it is read.

    Only these are offered (TUI) and accepted (plan): a file the guest's init
    never reads would leave the drivers unloaded while everything said they
    load. Evidence first (``facts.module_loaders``: rc.sysinit's blocks,
    systemd-modules-load, Debian's /etc/modules reader), the release where the
    files cannot tell (an offline root without the binaries). RHEL 3 offers
    rc.sysinit and /etc/rc.modules only; RHEL 5/6 add sysconfig/modules;
    systemd releases modules-load.d; Debian and Ubuntu /etc/modules.
    """
    loaders = set(facts.module_loaders)
    hooked = facts.sysinit is not None and facts.sysinit.hook_line is not None
    out: dict[str, str] = {}
    if hooked or "rc.modules" in loaders:
        out[K.RC_SYSINIT] = "read at boot: the guide's edit after the /etc/rc.modules block"
        out[K.RC_MODULES] = "run by rc.sysinit's /etc/rc.modules block (#!/bin/sh, mode 0755)"
    if "sysconfig-modules" in loaders:
        out[K.SYSCONFIG_MODULES] = "run by rc.sysinit's /etc/sysconfig/modules loop (mode 0755)"
    if facts.distro.family == "debian" or "etc-modules" in loaders:
        out[K.ETC_MODULES] = "one module per line, read at boot (kmod / systemd-modules-load)"
    if "systemd-modules-load" in loaders or _systemd_release(facts.distro):
        out[K.MODULES_LOAD_D] = "one module per line, read by systemd-modules-load"
    return out


def recommended_for(facts: Facts) -> Optional[str]:
    """The cleaner file for this guest, only if the guest reads it; else None."""
    rec = recommended_file(facts.distro)
    return rec if rec in offered_files(facts) else None
