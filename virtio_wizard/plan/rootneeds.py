"""What an initrd must hold for the root to mount, besides the virtio drivers.

A rebuilt image that holds every virtio module can still leave the guest at
"VFS: Unable to mount root fs" or a dracut emergency shell: the file system's
module is missing, or the root sits on LVM, MD RAID or LUKS and the image
cannot set them up. This module turns the Facts (``facts.root_stack``) into
the members a kernel's image must then hold, as data: pure, no Target.

Rules (each kernel's own answer decides whether a module is needed at all: a
module built into the kernel, or one the kernel does not have, is never asked
of the image; a kernel whose module answers were not read asks no module):

- the root file system's module (``ext4``; ``ext3`` or ``ext4`` for ext3 and
  ``ext2``, which the ext4 driver mounts too);
- LVM: ``dm_mod`` and the ``lvm`` tool (nash mkinitrd copies ``lvm.static``
  to ``/bin/lvm``; dracut and initramfs-tools install ``lvm``), and where the
  image runs udev (it holds ``rules.d`` files) LVM's udev rules
  (``*lvm*.rules``: dracut's 64-lvm.rules, lvm2's 69-dm-lvm.rules,
  initramfs-tools' 56-lvm.rules; nash images run no udev);
- MD: ``md_mod`` and the RAID level's module (``raid1``; ``raid456`` or the
  older ``raid5``/``raid6`` for levels 4-6; any of them when mdadm.conf does not
  say), and ``mdadm`` except in nash mkinitrd images, which assemble the
  arrays with nash's own ``raidautorun``;
- LUKS: ``dm_mod``, ``dm_crypt`` and ``cryptsetup`` (or systemd's
  ``systemd-cryptsetup``, which dracut installs instead in systemd images),
  except in nash images, whose crypt support is not checked here.

*Sources:* dracut modules 90lvm, 90mdraid, 90crypt (``module-setup.sh``:
``inst_multiple cryptsetup``, ``inst_rules 64-lvm.rules``); initramfs-tools
hooks of lvm2, mdadm and cryptsetup-initramfs; Red Hat's nash mkinitrd
(``lvm.static``, ``raidautorun``); the kernel's Kconfig symbols in
``detect.rootstack.ROOT_MODULE_SYMBOLS``.

A need travels in a plan Step as one string, ``"ALT|ALT for WHY"``: an
alternative with a ``/`` or ``*`` is a glob over the image's member paths
(``*bin/lvm``), one starting with ``!`` is met when *no* member matches the
glob after it, any other is a module name.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Optional

from ..facts import BUILTIN, MODULE, Facts, Kernel, RootStack
from .model import Step

__all__ = ["Need", "root_needs", "with_root_needs", "unmet", "decode", "describe"]

#: File systems whose module a root may need; ext2/ext3 also mount with ext4.
FS_MODULES: dict[str, tuple[str, ...]] = {
    "ext2": ("ext2", "ext4"),
    "ext3": ("ext3", "ext4"),
    "ext4": ("ext4",),
    "xfs": ("xfs",),
    "btrfs": ("btrfs",),
    "jfs": ("jfs",),
    "reiserfs": ("reiserfs",),
}
RAID_LEVEL_MODULES: dict[str, tuple[str, ...]] = {
    "linear": ("linear",),
    "raid0": ("raid0",),
    "raid1": ("raid1",),
    "raid10": ("raid10",),
    "raid4": ("raid456", "raid5"),
    "raid5": ("raid456", "raid5"),
    "raid6": ("raid456", "raid6"),
}
ANY_RAID = ("raid1", "raid0", "raid10", "raid456", "raid5", "raid6", "linear")
LVM_TOOL = ("*bin/lvm",)
LVM_RULES = ("*/rules.d/*lvm*.rules", "!*/rules.d/*.rules")
MDADM_TOOL = ("*bin/mdadm",)
CRYPT_TOOL = ("*bin/cryptsetup", "*/systemd-cryptsetup")
NASH = "mkinitrd"


@dataclass(frozen=True)
class Need:
    """One thing an image must hold: any one of ``any_of``, for the reason ``why``."""

    any_of: tuple[str, ...]
    why: str

    def encode(self) -> str:
        return "|".join(self.any_of) + " for " + self.why


def decode(text: str) -> Need:
    """The Need a Step carries as text.

    >>> decode("ext3|ext4 for the root file system, ext3")
    Need(any_of=('ext3', 'ext4'), why='the root file system, ext3')
    """
    alts, _sep, why = text.partition(" for ")
    return Need(tuple(a for a in alts.split("|") if a), why)


def _modules(
    kernel_states: Optional[dict[str, str]], alts: Sequence[str]
) -> Optional[tuple[str, ...]]:
    """The alternatives the image must offer; None when the kernel needs none of them.

    Built in: nothing to load. Missing from the kernel: nothing an image could
    hold. Unknown (no answers read): not asked.
    """
    if kernel_states is None:
        return None
    if any(kernel_states.get(m) == BUILTIN for m in alts):
        return None
    present = tuple(m for m in alts if kernel_states.get(m) == MODULE)
    return present or None


def root_needs(facts: Facts, kernel: Kernel) -> tuple[Need, ...]:
    """What ``kernel``'s initrd must hold for this guest's root (see the module doc)."""
    stack = facts.root_stack
    if stack is None:
        return ()
    states = stack.kernel_modules.get(kernel.version)
    wanted: list[tuple[Sequence[str], str]] = []
    if stack.fstype in FS_MODULES:
        wanted.append((FS_MODULES[stack.fstype], f"the root file system, {stack.fstype}"))
    if stack.lvm or stack.crypt:
        wanted.append((("dm_mod",), "device-mapper: root on " + _dm_what(stack)))
    if stack.crypt:
        wanted.append((("dm_crypt",), "root on LUKS"))
    if stack.md:
        wanted.append((("md_mod",), "root on MD RAID"))
        wanted.append((_raid_modules(stack.md_levels), "root on MD RAID"))
    out = [Need(alts, why) for alts, why in _kept(states, wanted)]
    out += _tools(facts, stack.lvm, stack.md, stack.crypt)
    return tuple(out)


def _dm_what(stack: RootStack) -> str:
    return " and ".join(w for w, on in (("LVM", stack.lvm), ("LUKS", stack.crypt)) if on)


def _raid_modules(levels: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for level in levels:
        for m in RAID_LEVEL_MODULES.get(level, ANY_RAID):
            if m not in out:
                out.append(m)
    return tuple(out) or ANY_RAID


def _kept(
    states: Optional[dict[str, str]], wanted: list[tuple[Sequence[str], str]]
) -> list[tuple[tuple[str, ...], str]]:
    kept = []
    for alts, why in wanted:
        present = _modules(states, alts)
        if present is not None:
            kept.append((present, why))
    return kept


def _tools(facts: Facts, lvm: bool, md: bool, crypt: bool) -> list[Need]:
    nash = facts.initrd_tool == NASH
    out: list[Need] = []
    if lvm:
        out.append(Need(LVM_TOOL, "the lvm tool: root on LVM"))
    if lvm and not nash:  # nash runs no udev
        out.append(Need(LVM_RULES, "LVM's udev rules: root on LVM, the image runs udev"))
    if md and not nash:
        out.append(Need(MDADM_TOOL, "mdadm: root on MD RAID"))
    if crypt and not nash:
        out.append(Need(CRYPT_TOOL, "cryptsetup: root on LUKS"))
    return out


def with_root_needs(facts: Facts, steps: Sequence[Step]) -> list[Step]:
    """``steps`` with each initrd rebuild also carrying its kernel's root needs."""
    from .initrd import image_path

    by_image: dict[str, Kernel] = {}
    for k in facts.kernels:
        image = image_path(facts.initrd_tool or "", k)
        if image:
            by_image.setdefault(image, k)
    out = []
    for step in steps:
        kernel = by_image.get(step.image or "") if step.kind == "command" else None
        needs = root_needs(facts, kernel) if kernel is not None and step.verify_modules else ()
        encoded = tuple(n.encode() for n in needs)
        out.append(replace(step, verify_members=encoded) if encoded else step)
    return out


def _matches(alt: str, members: set[str], modules: set[str]) -> bool:
    if alt.startswith("!"):
        return not any(fnmatch.fnmatchcase(m, alt[1:]) for m in members)
    if "/" in alt or "*" in alt:
        return any(fnmatch.fnmatchcase(m, alt) for m in members)
    return alt in modules


def unmet(needs: Iterable[str], members: set[str], modules: set[str]) -> list[Need]:
    """The needs no member of an image meets.

    ``members`` are the image's paths with a leading ``/`` (``/usr/sbin/lvm``),
    ``modules`` the canonical module names inside.

    >>> unmet(["*bin/lvm for LVM", "dm_mod for LVM"], {"/usr/sbin/lvm"}, set())
    [Need(any_of=('dm_mod',), why='LVM')]
    """
    out = []
    for text in needs:
        need = decode(text)
        if not any(_matches(a, members, modules) for a in need.any_of):
            out.append(need)
    return out


def _shown(alt: str) -> str:
    """An alternative in a user's words: a glob by its file name (``*bin/lvm`` is ``lvm``)."""
    return alt.rsplit("/", 1)[-1]


def describe(needs: Iterable[Need]) -> str:
    """``ext3 or ext4 (the root file system, ext3); lvm (the lvm tool: root on LVM)``.

    >>> describe([decode("*bin/cryptsetup|*/systemd-cryptsetup for cryptsetup: root on LUKS")])
    'cryptsetup or systemd-cryptsetup (cryptsetup: root on LUKS)'
    """
    return "; ".join(
        " or ".join(_shown(a) for a in n.any_of if not a.startswith("!")) + f" ({n.why})"
        for n in needs
    )
