"""Which tool builds the guest's initrd, and the settings of it that matter.

The tool decides the syntax of every initrd edit the plan makes
(KNOWLEDGE.md section 4). It is found by the files that are installed, with
the distribution as tie-breaker: Fedora ships a ``/sbin/mkinitrd`` that is a
wrapper around dracut, SLES 11 a ``/sbin/mkinitrd`` that is neither, and RHEL
3-5 the nash ``mkinitrd`` shell script.

The returned config dict carries what later steps need to judge the
"host-only" trap: ``MODULES`` of initramfs-tools (``most`` includes the virtio
modules, ``dep`` and ``list`` may not), dracut's ``hostonly``, mkinitcpio's
``MODULES`` and ``HOOKS``, SUSE's ``INITRD_MODULES``; and ``path``, the tool
that was found, and ``evidence``, why this tool was chosen.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional

from ..facts import Distro, Unreadable
from ..knowledge import RHEL_LIKE_IDS, version_tuple
from ._read import read_guest_text

if TYPE_CHECKING:
    from ..targets import Target

__all__ = ["detect_initrd_tool", "shell_assignments", "TOOL_PATHS"]

Problems = Optional[list[Unreadable]]

#: Where each tool's program lives, in the order looked at.
TOOL_PATHS: dict[str, tuple[str, ...]] = {
    "mkinitrd": ("/sbin/mkinitrd", "/usr/sbin/mkinitrd"),
    "dracut": ("/usr/bin/dracut", "/sbin/dracut", "/usr/sbin/dracut"),
    "initramfs-tools": ("/usr/sbin/update-initramfs", "/sbin/update-initramfs"),
    "mkinitcpio": ("/usr/bin/mkinitcpio", "/usr/sbin/mkinitcpio"),
}
#: The nash script is a few hundred KB at most; a bigger file is not it.
_SCRIPT_LIMIT = 1024 * 1024

_ASSIGN_RE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)(\+?=)(.*)$")


def _value(raw: str) -> str:
    """The value of a shell assignment: quotes removed, trailing comment dropped."""
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        quote = raw[0]
        end = raw.find(quote, 1)
        return raw[1:end] if end > 0 else raw[1:]
    if raw.startswith("("):
        end = raw.find(")")
        return raw[1:end].strip() if end > 0 else raw[1:].strip()
    return raw.split("#", 1)[0].strip()


def shell_assignments(text: str) -> dict[str, str]:
    """``KEY=value`` settings of a sourced shell config; ``+=`` appends, last wins.

    >>> shell_assignments('MODULES=most\\n# MODULES=dep\\nadd_drivers+=" a "\\nadd_drivers+=" b "')
    {'MODULES': 'most', 'add_drivers': 'a b'}
    """
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        m = _ASSIGN_RE.match(line)
        if m is None:
            continue
        key, op, raw = m.groups()
        value = _value(raw)
        if op == "+=" and key in out:
            value = " ".join(p for p in (out[key], value) if p)
        out[key] = " ".join(value.split()) if op == "+=" else value
    return out


def _conf_files(target: Target, main: Optional[str], folders: tuple[str, ...]) -> list[str]:
    """Config files in the order the tool reads them: drop-ins after the main file."""
    paths = [main] if main else []
    for folder in folders:
        paths += [f"{folder}/{n}" for n in target.listdir(folder) if n.endswith(".conf")]
    return paths


def _read_settings(
    target: Target, paths: list[str], keys: tuple[str, ...], problems: Problems
) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in paths:
        text = read_guest_text(target, path, problems)
        if text is None:
            continue
        for key, value in shell_assignments(text).items():
            if key in keys:
                merged[key] = value
    return merged


def _first_file(target: Target, paths: tuple[str, ...]) -> Optional[str]:
    return next((p for p in paths if target.is_file(p)), None)


def _rhel_major(distro: Distro) -> Optional[int]:
    if distro.id not in RHEL_LIKE_IDS:
        return None
    parts = version_tuple(distro.version)
    return parts[0] if parts else None


def _mkinitrd_kind(target: Target, path: str, distro: Distro, problems: Problems) -> Optional[str]:
    """What a ``mkinitrd`` is: ``mkinitrd`` (nash), ``dracut`` (wrapper), ``suse-mkinitrd``."""
    text = read_guest_text(target, path, problems, limit=_SCRIPT_LIMIT) or ""
    if "dracut" in text:
        return "dracut"
    if "nash" in text:
        return "mkinitrd"
    if distro.family == "suse":
        return "suse-mkinitrd"
    major = _rhel_major(distro)
    if major is not None and major <= 5:
        return "mkinitrd"
    return None


def _kernel_hook_prefers_initramfs_tools(target: Target) -> bool:
    """Debian can have dracut's programs and initramfs-tools side by side; the
    kernel postinst hook shows which one actually rebuilds the images."""
    hooks = "/etc/kernel/postinst.d"
    return (
        target.exists(f"{hooks}/initramfs-tools")
        and not target.exists(f"{hooks}/dracut")
        and _first_file(target, TOOL_PATHS["initramfs-tools"]) is not None
    )


def detect_initrd_tool(
    target: Target, distro: Distro, problems: Problems = None
) -> tuple[Optional[str], dict[str, str]]:
    """``(tool, config)``: the initrd tool's name (or None) and its settings."""
    tool: Optional[str] = None
    config: dict[str, str] = {}
    mkinitrd = _first_file(target, TOOL_PATHS["mkinitrd"])
    dracut = _first_file(target, TOOL_PATHS["dracut"])
    major = _rhel_major(distro)
    if mkinitrd is not None and (dracut is None or (major is not None and major <= 5)):
        tool = _mkinitrd_kind(target, mkinitrd, distro, problems)
        if tool == "dracut":
            config = {"path": mkinitrd, "evidence": f"{mkinitrd} calls dracut"}
        elif tool is not None:
            config = {"path": mkinitrd, "evidence": mkinitrd}
    if tool is None and dracut is not None and not _kernel_hook_prefers_initramfs_tools(target):
        tool, config = "dracut", {"path": dracut, "evidence": dracut}
    if tool is None:
        update = _first_file(target, TOOL_PATHS["initramfs-tools"])
        if update is not None or target.is_dir("/etc/initramfs-tools"):
            where = update or "/etc/initramfs-tools"
            tool, config = "initramfs-tools", {"path": update or "", "evidence": where}
    if tool is None:
        cpio = _first_file(target, TOOL_PATHS["mkinitcpio"])
        if cpio is not None or target.is_file("/etc/mkinitcpio.conf"):
            where = cpio or "/etc/mkinitcpio.conf"
            tool, config = "mkinitcpio", {"path": cpio or "", "evidence": where}
    if tool is None and major is not None:
        # The program is missing (a stripped root); the release still says which.
        tool = "mkinitrd" if major <= 5 else "dracut"
        config = {"path": "", "evidence": f"{distro.id} {distro.version} (no program found)"}
    if tool is None:
        return None, {}
    config.update(_tool_settings(target, tool, problems))
    return tool, config


def _tool_settings(target: Target, tool: str, problems: Problems) -> dict[str, str]:
    if tool == "initramfs-tools":
        paths = _conf_files(
            target, "/etc/initramfs-tools/initramfs.conf", ("/etc/initramfs-tools/conf.d",)
        )
        # conf.d files need not end in .conf for initramfs-tools: read them all.
        paths += [
            f"/etc/initramfs-tools/conf.d/{n}"
            for n in target.listdir("/etc/initramfs-tools/conf.d")
            if not n.endswith(".conf")
        ]
        return _read_settings(target, paths, ("MODULES", "COMPRESS"), problems)
    if tool == "dracut":
        paths = [
            *_conf_files(target, None, ("/usr/lib/dracut/dracut.conf.d",)),
            *_conf_files(target, "/etc/dracut.conf", ("/etc/dracut.conf.d",)),
        ]
        got = _read_settings(target, paths, ("hostonly", "add_drivers", "force_drivers"), problems)
        return {k: v for k, v in got.items() if k == "hostonly"}
    if tool == "mkinitcpio":
        paths = _conf_files(target, "/etc/mkinitcpio.conf", ("/etc/mkinitcpio.conf.d",))
        return _read_settings(target, paths, ("MODULES", "HOOKS"), problems)
    if tool == "suse-mkinitrd":
        return _read_settings(target, ["/etc/sysconfig/kernel"], ("INITRD_MODULES",), problems)
    return {}
