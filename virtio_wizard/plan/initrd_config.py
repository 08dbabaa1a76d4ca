"""The initrd tools' configs: how each tool is told to put the modules in every image.

A config edit per tool (dracut's drop-in, SUSE's ``INITRD_MODULES``,
initramfs-tools' module list, mkinitcpio's ``MODULES``), so that images the
guest builds later (a kernel update) keep the drivers; nash mkinitrd has no
such file and takes them on its command line. Existing lists keep the user's
words and order; missing modules go where the guide's order wants them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Callable, Optional

from .. import knowledge as K
from ..finding import Finding
from .edits import (
    Workspace,
    line_ending,
    merge_whole_file,
    module_rank,
    order_finding,
    parse_module_line,
    split_lines,
)
from .files import MKINITCPIO_DROPIN_DIR

__all__ = ["CONFIGURE", "merge_words"]


def merge_words(
    words: Sequence[str], wanted: Sequence[str], strict: bool = True
) -> tuple[list[str], list[str], Optional[int]]:
    """Insert missing modules into a word list keeping the guide's order.

    Returns (new words, added, index of the first existing word out of order).
    Non-virtio words stay where they are; a missing module goes before the
    first listed one the guide loads later, else at the end. With ``strict``
    (a 2.4 kernel) a list out of order is returned unchanged; otherwise the
    index is still returned (for the warning) and the modules are added.
    """
    names = [K.canonical_module(w) for w in words]
    seed = [(i, n) for i, n in enumerate(names) if n in K.SEED_MODULES]
    bad = K.order_violation([n for _, n in seed])
    if bad is not None and strict:
        return list(words), [], seed[bad][0]
    bad_index = seed[bad][0] if bad is not None else None
    added = [m for m in wanted if m not in names]
    inserts: dict[int, list[str]] = {}
    for m in added:
        later = [i for i, n in seed if module_rank(n) > module_rank(m)]
        pos = later[0] if later else (seed[-1][0] + 1 if seed else len(words))
        inserts.setdefault(pos, []).append(m)
    out: list[str] = []
    for i in range(len(words) + 1):
        out += inserts.get(i, [])
        if i < len(words):
            out.append(words[i])
    return out, added, bad_index


# ---- per tool: telling it about the modules -------------------------------------

_DRACUT_RE = re.compile(r"""^\s*add_drivers\+?=\s*(["'])(.*?)\1""")


def config_dracut(ws: Workspace, modules: Sequence[str], strict: bool = True) -> list[Finding]:
    """``add_drivers+=" ... "`` in a drop-in (spaces inside the quotes: dracut.conf(5))."""
    path = K.DRACUT_DROPIN
    text = ws.text(path)
    present: list[str] = []
    for line in split_lines(text or ""):
        m = _DRACUT_RE.match(line)
        if m:
            present += [K.canonical_module(w) for w in m.group(2).split()]
    missing = [m for m in modules if m not in present]
    if not missing:
        return []
    line = f'add_drivers+=" {" ".join(missing)} "'
    if text is None:
        new = (
            f"# virtio drivers for the initrd (written by virtio-wizard; dracut.conf(5))\n{line}\n"
        )
    else:
        eol = line_ending(text)
        new = text + ("" if not text or text.endswith("\n") else eol) + line + eol
    ws.set(path, new, f"tell dracut to put {', '.join(missing)} in every initrd it builds")
    return []


#: Xen's paravirtual drivers in SUSE's INITRD_MODULES (virt-v2v unconfigure_xen).
XEN_INITRD_MODULES = frozenset({"xennet", "xen-vnif", "xenblk", "xen-vbd"})
_SUSE_RE = re.compile(r"""^(\s*INITRD_MODULES=)(["']?)(.*?)\2(\s*(?:#.*)?)$""")


def config_suse(ws: Workspace, modules: Sequence[str], strict: bool = True) -> list[Finding]:
    """``INITRD_MODULES="..."`` in /etc/sysconfig/kernel, missing names appended in order."""
    path = K.SUSE_SYSCONFIG_KERNEL
    text = ws.text(path)
    why = "SUSE mkinitrd puts the modules of INITRD_MODULES in the initrd"
    if text is None:
        ws.set(path, f'INITRD_MODULES="{" ".join(modules)}"\n', why)
        return []
    lines = split_lines(text)
    for i, raw in enumerate(lines):
        body = raw.rstrip("\r\n")
        m = _SUSE_RE.match(body)
        if not m:
            continue
        # Xen's drivers go (virt-v2v unconfigure_xen): mkinitrd on a KVM kernel lacks them.
        xen = [w for w in m.group(3).split() if w in XEN_INITRD_MODULES]
        kept = [w for w in m.group(3).split() if w not in XEN_INITRD_MODULES]
        words, added, bad = merge_words(kept, modules, strict)
        if bad is not None and (strict or not added):
            return [order_finding(path, "INITRD_MODULES", strict)]
        notes = [order_finding(path, "INITRD_MODULES", False)] if bad is not None else []
        if not added and not xen:
            return []
        quote = m.group(2) or '"'
        lines[i] = f"{m.group(1)}{quote}{' '.join(words)}{quote}{m.group(4)}" + raw[len(body) :]
        whys = [f"{why}: add {', '.join(added)}"] if added else []
        if xen:
            whys.append(f"drop Xen's {', '.join(xen)}: a KVM kernel's mkinitrd lacks them")
        ws.set(path, "".join(lines), "; ".join(whys))
        return notes
    eol = line_ending(text)
    sep = "" if not text or text.endswith("\n") else eol
    ws.set(path, f'{text}{sep}INITRD_MODULES="{" ".join(modules)}"{eol}', why)
    return []


def config_initramfs_tools(
    ws: Workspace, modules: Sequence[str], strict: bool = True
) -> list[Finding]:
    """One name per line in /etc/initramfs-tools/modules (initramfs-tools(7))."""
    path = K.INITRAMFS_TOOLS_MODULES
    text = ws.text(path)
    why = "initramfs-tools puts the modules listed there in the initrd and loads them in order"
    if text is None:
        ws.set(path, "".join(f"{m}\n" for m in modules), why)
        return []
    merge, notes = merge_whole_file(path, text, modules, parse_module_line, str, strict)
    if merge is None:
        return notes
    if merge.added:
        ws.set(path, "".join(merge.lines), f"{why}: add {', '.join(merge.added)}")
    return notes


_MKINITCPIO_RE = re.compile(r"""^(\s*MODULES\+?=)(?:\((.*?)\)|(["'])(.*?)\3)(.*)$""")


def _mkinitcpio_words(text: Optional[str]) -> list[str]:
    words: list[str] = []
    for line in split_lines(text or ""):
        m = _MKINITCPIO_RE.match(line.rstrip("\r\n"))
        if m:
            words += [
                K.canonical_module(w.strip("\"'")) for w in (m.group(2) or m.group(4) or "").split()
            ]
    return words


MKINITCPIO_HEADER = "# virtio drivers for the initrd (written by virtio-wizard; mkinitcpio.conf(5))"


def config_mkinitcpio(ws: Workspace, modules: Sequence[str], strict: bool = True) -> list[Finding]:
    """``MODULES+=(...)`` in a drop-in when mkinitcpio reads them (v36+), else MODULES=()."""
    present = _mkinitcpio_words(ws.text(K.MKINITCPIO_CONF)) + _mkinitcpio_words(
        ws.text(K.MKINITCPIO_DROPIN)
    )
    missing = [m for m in modules if m not in present]
    if not missing:
        return []
    why = "mkinitcpio puts the MODULES array in the image and loads it in order"
    dropins = ws.exists(MKINITCPIO_DROPIN_DIR) or ws.exists(K.MKINITCPIO_DROPIN)
    main = ws.text(K.MKINITCPIO_CONF)
    if dropins or main is None:
        path = K.MKINITCPIO_DROPIN
        text = ws.text(path)
        line = f"MODULES+=({' '.join(missing)})"
        if text is None:
            new = f"{MKINITCPIO_HEADER}\n{line}\n"
        else:
            eol = line_ending(text)
            new = text + ("" if not text or text.endswith("\n") else eol) + line + eol
        ws.set(path, new, f"{why}: add {', '.join(missing)} (drop-in)")
        return []
    lines = split_lines(main)
    for i, raw in enumerate(lines):
        body = raw.rstrip("\r\n")
        m = _MKINITCPIO_RE.match(body)
        if not m or m.group(1).strip() != "MODULES=":
            continue
        if m.group(2) is not None:
            words, added, bad = merge_words(m.group(2).split(), modules, strict)
            value = f"({' '.join(words)})"
        else:
            words, added, bad = merge_words(m.group(4).split(), modules, strict)
            value = f"{m.group(3)}{' '.join(words)}{m.group(3)}"
        if bad is not None and strict:
            return [order_finding(K.MKINITCPIO_CONF, "MODULES", True)]
        lines[i] = f"{m.group(1)}{value}{m.group(5)}" + raw[len(body) :]
        ws.set(K.MKINITCPIO_CONF, "".join(lines), f"{why}: add {', '.join(added)}")
        if bad is not None:
            return [order_finding(K.MKINITCPIO_CONF, "MODULES", False)]
        return []
    eol = line_ending(main)
    sep = "" if main.endswith("\n") or not main else eol
    ws.set(K.MKINITCPIO_CONF, f"{main}{sep}MODULES+=({' '.join(missing)}){eol}", why)
    return []


def config_mkinitrd(ws: Workspace, modules: Sequence[str], strict: bool = True) -> list[Finding]:
    """Nash mkinitrd takes the modules on its command line (--with=M): no file."""
    return []


CONFIGURE: dict[str, Callable[[Workspace, Sequence[str], bool], list[Finding]]] = {
    "mkinitrd": config_mkinitrd,
    "dracut": config_dracut,
    "suse-mkinitrd": config_suse,
    "initramfs-tools": config_initramfs_tools,
    "mkinitcpio": config_mkinitcpio,
}
