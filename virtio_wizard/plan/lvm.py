"""LVM and blkid: what keeps naming the old disks after the files are renamed.

- An LVM ``filter``/``global_filter`` in ``/etc/lvm/lvm.conf`` that accepts
  only ``/dev/sd*`` or ``/dev/hd*`` rejects the same disk as ``/dev/vd*``:
  the volume group is not found and the root does not mount. lvm.conf(5):
  the patterns are tried in order and the first that matches decides; a
  device no pattern matches is accepted. The plan puts ``"a|^/dev/vd|"``
  first in each such list (previewed as a diff), which accepts the virtio
  disks and changes nothing for the others.
- ``/etc/lvm/devices/system.devices`` (RHEL 9, Fedora 36+; lvmdevices(8))
  lists the PVs by their device ids; on virtio those ids differ and LVM
  ignores the PVs. virt-v2v (``convert/convert_linux.ml``) removes it, with
  the stale ``/etc/lvm/cache/.cache`` and blkid's caches
  (``/etc/blkid/blkid.tab``, ``/etc/blkid.tab``), which name old devices and
  are rebuilt on demand (RHBZ#1164853, RHBZ#2112801). The wizard does the
  same, each with a copy kept by apply for undo, before any initrd rebuild:
  dracut copies the devices file and lvm.conf into the image.

Pure: only the bytes handed in (a Workspace), like the rest of planning.
"""

from __future__ import annotations

import hashlib
import re
from typing import Optional

from .. import knowledge as K
from ..facts import Facts
from ..finding import INFO, WARNING, Finding, Remedy
from .edits import Workspace
from .model import Choices, Step

__all__ = [
    "LVM_CONF",
    "DEVICES_FILE",
    "STALE_CACHES",
    "needed_files",
    "plan_lvm",
    "filter_accepts",
    "parse_filters",
]

LVM_CONF = "/etc/lvm/lvm.conf"
DEVICES_FILE = "/etc/lvm/devices/system.devices"
LVM_CACHE = "/etc/lvm/cache/.cache"
BLKID_CACHES = ("/etc/blkid/blkid.tab", "/etc/blkid.tab")
#: Files apply removes (a copy kept), in the order virt-v2v lists them.
STALE_CACHES = (*BLKID_CACHES, LVM_CACHE, DEVICES_FILE)
#: The pattern put first in a filter that would reject the virtio disks.
ACCEPT_VIRTIO = '"a|^/dev/vd|"'

_FILTER_RE = re.compile(
    r'(?m)^([ \t]*(global_filter|filter)[ \t]*=[ \t]*\[)((?:\s*"(?:[^"\\]|\\.)*"\s*,?)*)\s*\]'
)
_STRING_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')


def needed_files(facts: Facts, choices: Choices) -> list[str]:
    """The guest files this module reads (only when block devices move)."""
    return [LVM_CONF, *STALE_CACHES] if choices.block else []


def _blank_comments(text: str) -> str:
    """``text`` with every ``#`` comment replaced by spaces (offsets kept)."""
    out = []
    for line in text.split("\n"):
        in_string = False
        cut = len(line)
        for i, ch in enumerate(line):
            if ch == '"':
                in_string = not in_string
            elif ch == "#" and not in_string:
                cut = i
                break
        out.append(line[:cut] + " " * (len(line) - cut))
    return "\n".join(out)


def parse_filters(text: str) -> list[tuple[str, int, list[str]]]:
    """Each active ``filter``/``global_filter``: (name, offset after ``[``, patterns)."""
    blanked = _blank_comments(text)
    found = []
    for m in _FILTER_RE.finditer(blanked):
        found.append((m.group(2), m.end(1), _STRING_RE.findall(m.group(3))))
    return found


def _pattern(item: str) -> Optional[tuple[bool, re.Pattern[str]]]:
    """``a|^/dev/sd|`` -> (accept, regex); None when it cannot be read."""
    if len(item) < 3 or item[0] not in "ar":
        return None
    delim = item[1]
    body = item[2:]
    if body.endswith(delim):
        body = body[:-1]
    try:
        return item[0] == "a", re.compile(body)
    except re.error:
        return None


def filter_accepts(patterns: list[str], device: str) -> Optional[bool]:
    """lvm.conf(5): the first pattern that matches decides; none matching accepts.

    None when a pattern cannot be read (the wizard then does not judge).

    >>> filter_accepts(["a|^/dev/sda|", "r|.*|"], "/dev/vda2")
    False
    >>> filter_accepts(["r|^/dev/fd|"], "/dev/vda2")
    True
    """
    for item in patterns:
        parsed = _pattern(item)
        if parsed is None:
            return None
        accept, regex = parsed
        if regex.search(device):
            return accept
    return True


def _pairs(facts: Facts) -> list[tuple[str, str]]:
    """(old, new) names to test the filter with: the guest's own, else the first disks."""
    pairs = [
        (r.device, r.proposed)
        for r in facts.disk_refs
        if r.proposed and r.device.startswith(("/dev/sd", "/dev/hd"))
    ]
    return pairs or [("/dev/sda2", "/dev/vda2"), ("/dev/hda2", "/dev/vda2")]


def plan_lvm(facts: Facts, choices: Choices, ws: Workspace) -> tuple[list[Step], list[Finding]]:
    """The lvm.conf filter edit (into ``ws``), and the removals of stale caches."""
    if not choices.block:
        return [], []
    findings: list[Finding] = []
    text = ws.text(LVM_CONF)
    if text is not None:
        new = text
        fixed: list[str] = []
        for name, at, patterns in reversed(parse_filters(text)):
            rejects = [
                (old, virt)
                for old, virt in _pairs(facts)
                if filter_accepts(patterns, old) is True and filter_accepts(patterns, virt) is False
            ]
            if not rejects:
                continue
            new = new[:at] + " " + ACCEPT_VIRTIO + "," + new[at:]
            fixed.append(f"{name} accepts {rejects[0][0]} but rejects {rejects[0][1]}")
        if fixed:
            ws.set(
                LVM_CONF,
                new,
                "accept the virtio disks in LVM's filter (first pattern wins, lvm.conf(5))",
            )
            findings.append(
                Finding(
                    "lvm-filter-rejects-virtio",
                    WARNING,
                    f"{LVM_CONF}: {'; '.join(reversed(fixed))}: after the switch LVM would "
                    "not see its physical volumes and the root would not mount.",
                    Remedy(
                        f"The plan puts {ACCEPT_VIRTIO} first in the filter; nothing else "
                        "changes for the other disks."
                    ),
                    K.VIRT_V2V,
                )
            )
    steps: list[Step] = []
    for path in STALE_CACHES:
        data = ws.original(path)
        if data is None:
            continue
        if path == DEVICES_FILE:
            why = (
                "LVM's devices file lists the PVs by their ids on the emulated disks; on "
                "virtio LVM would ignore them (virt-v2v removes it too)"
            )
        else:
            why = "a cache of the old device names; rebuilt on demand (virt-v2v removes it too)"
        steps.append(
            Step(
                kind="remove",
                why=why,
                path=ws.real(path),
                old_sha256=hashlib.sha256(data).hexdigest(),
            )
        )
    removed = [s.path or "" for s in steps]
    if removed:
        later = (
            " After the switch, `vgimportdevices -a` writes a new devices file if you want one."
            if ws.real(DEVICES_FILE) in removed
            else ""
        )
        findings.append(
            Finding(
                "stale-device-caches",
                INFO,
                f"{', '.join(removed)} name{'s' if len(removed) == 1 else ''} the emulated "
                "disks: removed before any initrd is rebuilt (apply keeps a copy for undo).",
                Remedy("Nothing to do." + later),
                K.VIRT_V2V,
            )
        )
    return steps, findings
