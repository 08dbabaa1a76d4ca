"""mdadm.conf device patterns that would not see the virtio disks.

mdadm.conf(5): ``DEVICE`` lines list the devices mdadm scans for RAID
members, as names or glob patterns (``DEVICE /dev/sd*[0-9] /dev/hd*``); the
word ``partitions`` means every device in ``/proc/partitions`` and is the
default when there is no ``DEVICE`` line at all. An ``ARRAY`` line's
``devices=`` is a comma-separated list of names or patterns, and only
devices matching one of them are used for that array. Explicit names
(``/dev/sda3``) are renamed like every other disk name (``disknames``); a
*pattern* that names only the emulated disks matches nothing once they are
``/dev/vdX``: the array is not assembled and a root or ``/home`` on it is
not found. The plan adds the same pattern for ``/dev/vd`` beside each such
one (``/dev/sd*[0-9]`` gets ``/dev/vd*[0-9]``), previewed as a diff; the
old ones stay, so the file works on both buses.

Pure: the text comes from the Workspace, like the rest of planning.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Optional

from ..facts import Facts
from ..finding import WARNING, Finding, Remedy
from .defaults import disks_move_to_virtio
from .edits import Workspace, split_lines
from .model import Choices

__all__ = ["MDADM_CONFS", "needed_files", "plan_mdadm", "virtio_patterns"]

MDADM_CONFS: tuple[str, ...] = ("/etc/mdadm.conf", "/etc/mdadm/mdadm.conf")
SOURCE = "mdadm.conf(5) (DEVICE, ARRAY devices=)"
_GLOB = re.compile(r"[*?\[]")
_LEGACY_PREFIX = re.compile(r"^/dev/(sd|hd)")
#: Names a virtio disk and its partitions get, to test patterns with.
_VIRTIO_SAMPLES = ("/dev/vda", "/dev/vda1", "/dev/vdb", "/dev/vdb1")


def needed_files(facts: Facts, choices: Choices) -> list[str]:
    """The guest files this module reads (only when the disks move to virtio)."""
    return list(MDADM_CONFS) if _moves(choices) else []


def _moves(choices: Choices) -> bool:
    return choices.block and disks_move_to_virtio(choices.block, choices.boot_disk)


def virtio_patterns(words: list[str]) -> list[str]:
    """The ``/dev/vd`` patterns to add beside ``words``; [] when they already match virtio.

    >>> virtio_patterns(["/dev/sd*[0-9]", "/dev/hd*"])
    ['/dev/vd*[0-9]', '/dev/vd*']
    >>> virtio_patterns(["partitions"]), virtio_patterns(["/dev/sd*", "/dev/vd*"])
    ([], [])
    >>> virtio_patterns(["/dev/sda3"])
    []
    """
    if any(w.lower() == "partitions" for w in words):
        return []
    if any(fnmatch.fnmatchcase(s, w) for w in words for s in _VIRTIO_SAMPLES):
        return []
    out: list[str] = []
    for word in words:
        if _GLOB.search(word) and _LEGACY_PREFIX.match(word):
            new = _LEGACY_PREFIX.sub("/dev/vd", word)
            if new not in out and new not in words:
                out.append(new)
    return out


def _device_lines(lines: list[str]) -> list[tuple[int, list[str]]]:
    """(index, words) of each ``DEVICE`` line and its continuation lines."""
    out: list[tuple[int, list[str]]] = []
    keyword = ""
    for i, raw in enumerate(lines):
        body = raw.split("#", 1)[0]
        words = body.split()
        if not words:
            continue
        if not raw[:1].isspace():
            keyword = words[0].upper()
            words = words[1:]
        if keyword == "DEVICE":
            out.append((i, words))
    return out


def _append(line: str, extra: list[str]) -> str:
    """``line`` with ``extra`` words added before its comment and line end."""
    end = len(line) - len(line.rstrip("\r\n"))
    body, eol = line[: len(line) - end], line[len(line) - end :]
    code, hash_, comment = body.partition("#")
    return code.rstrip() + " " + " ".join(extra) + (" #" + comment if hash_ else "") + eol


_DEVICES_RE = re.compile(r"(?i)(?<!\S)(devices=)(\S+)")


def _fix_devices_lists(lines: list[str]) -> list[str]:
    """Add virtio patterns to ARRAY ``devices=`` lists; returns what was added."""
    added: list[str] = []
    for i, raw in enumerate(lines):
        code, hash_, comment = raw.partition("#")

        def widen(m: re.Match[str]) -> str:
            items = [x for x in m.group(2).split(",") if x]
            extra = virtio_patterns(items)
            added.extend(extra)
            return m.group(1) + ",".join(items + extra)

        new_code = _DEVICES_RE.sub(widen, code)
        if new_code != code:
            lines[i] = new_code + hash_ + comment
    return added


def _fix_text(text: str) -> tuple[str, list[str]]:
    """The text with virtio patterns added, and the patterns added."""
    lines = split_lines(text)
    device = _device_lines(lines)
    added = virtio_patterns([w for _, words in device for w in words]) if device else []
    if added:
        last = device[-1][0]
        lines[last] = _append(lines[last], added)
    added += _fix_devices_lists(lines)
    return "".join(lines), added


def plan_mdadm(choices: Choices, ws: Workspace) -> list[Finding]:
    """Add ``/dev/vd`` patterns where mdadm.conf's patterns name only emulated disks."""
    if not _moves(choices):
        return []
    findings: list[Finding] = []
    for path in MDADM_CONFS:
        text: Optional[str] = ws.text(path)
        if text is None:
            continue
        new, added = _fix_text(text)
        if not added:
            continue
        ws.set(path, new, "let mdadm scan the virtio disks too: add " + " ".join(added))
        findings.append(
            Finding(
                "mdadm-devices-miss-virtio",
                WARNING,
                f"{ws.real(path)}: its device patterns match only the emulated disks "
                "(/dev/sd*, /dev/hd*): after the switch mdadm would not find the RAID "
                "members on /dev/vd* and the arrays would not be assembled.",
                Remedy(
                    f"The plan adds {' '.join(added)} beside them (the old patterns stay); "
                    "review the diff. If the initrd holds a copy of mdadm.conf, the rebuild "
                    "after the edit takes the new one."
                ),
                SOURCE,
            )
        )
    return findings
