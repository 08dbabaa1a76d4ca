"""The guest's boot menu: which kernels have an entry, and which one boots next.

A guest boots the kernel its boot loader picks, not the one running now: a
RHEL 5 guest that installed 2.6.18-164 while 2.6.18-128 runs boots 164 next
(new-kernel-pkg made it the default), so 164's initrd is the one that must
hold virtio. This module reads, without running anything in the guest:

- grub legacy (``/boot/grub/grub.conf``, ``menu.lst``): ``title`` entries with
  their ``kernel``/``initrd`` lines; ``default N``, or ``default saved`` with
  the number kept in ``/boot/grub/default`` (written by ``savedefault``);
  ``fallback N`` (grub's info manual, "default", "fallback", "savedefault").
- grub2 (``/boot/grub2/grub.cfg``, ``/boot/grub/grub.cfg``, else the EFI
  system partition's ``/boot/efi/EFI/<vendor>/grub.cfg`` of RHEL 7-8 and
  Fedora before 34, with the grubenv beside it): ``menuentry``
  blocks with their ids (``$menuentry_id_option 'id'`` or ``--id``), titles and
  ``linux``/``initrd`` lines, ``submenu`` blocks, and ``set default=``, where
  ``${saved_entry}`` (``GRUB_DEFAULT=saved``) is read from ``grubenv`` and a
  default may be a number, a title, an id, or a ``>``-separated path into a
  submenu (grub's manual, "default"; grub-mkconfig's ``00_header``).
- BLS entries (``/boot/loader/entries/*.conf``, RHEL 8+, Fedora 30+) when
  grub.cfg loads them with ``blscfg`` or no grub config exists (grubenv is
  read all the same): ``title``,
  ``version``, ``linux``, ``initrd``, ``options`` (``$kernelopts`` and other
  variables from grubenv), newest version first as grub's blscfg sorts
  them, the default from grubenv's ``saved_entry`` (the entry's file name).

The same structure libguestfs-common's ``mldrivers/linux_bootloaders.ml``
reads (there through Augeas, grubby and grub2-editenv).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Optional

from ..facts import BootEntry, BootMenu, Kernel, Unreadable
from ..targets import Target
from ._read import read_guest_text
from .blsentries import BLS_DIR, read_bls
from .devnames import real_files
from .disks import GRUB_LEGACY_CONFIGS
from .grubenv import GRUBENVS
from .grubplaces import grub2_configs

__all__ = [
    "detect_boot_menu",
    "BLS_DIR",
    "parse_grub_legacy",
    "parse_grub2",
    "parse_grubenv",
    "match_kernels",
]

_LINUX_CMDS = ("linux", "linux16", "linuxefi")
_INITRD_CMDS = ("initrd", "initrd16", "initrdefi")
_DEVICE_PREFIX = re.compile(r"^\([^)]*\)")


def detect_boot_menu(
    target: Target,
    kernels: Sequence[Kernel] = (),
    problems: Optional[list[Unreadable]] = None,
) -> Optional[BootMenu]:
    """The boot menu the guest's boot loader shows, or None when none is found.

    grub2 comes first (a guest upgraded from grub legacy may keep an old
    ``menu.lst`` that nothing reads); BLS entries count when grub.cfg loads
    them (``blscfg``) or there is no grub config at all, their default and
    ``$kernelopts`` then still coming from grubenv.
    """
    menu = _grub2_menu(target, problems)
    if menu is None:
        for path in real_files(target, GRUB_LEGACY_CONFIGS):
            text = read_guest_text(target, path, problems)
            if text is None:
                continue
            saved = read_guest_text(target, "/boot/grub/default", problems)
            menu = parse_grub_legacy(text, path, saved)
            break
    if menu is None and target.listdir(BLS_DIR):
        menu = read_bls(target, _grubenv(target, None, problems), problems)
    if menu is None:
        return None
    return match_kernels(target, menu, kernels)


def _grubenv(
    target: Target, folder: Optional[str], problems: Optional[list[Unreadable]]
) -> dict[str, str]:
    """The grubenv beside a grub.cfg (``folder``), else grub2's usual ones in /boot."""
    paths = ([posixpath.join(folder, "grubenv")] if folder else []) + list(GRUBENVS)
    for path in paths:
        if target.is_file(path):
            return parse_grubenv(read_guest_text(target, path, problems))
    return {}


def _grub2_menu(target: Target, problems: Optional[list[Unreadable]]) -> Optional[BootMenu]:
    """The first grub2 config that is a menu: it loads BLS entries or holds entries.

    A config with neither (the EFI stub that hands over to
    ``/boot/grub2/grub.cfg`` with ``configfile``) is skipped.
    """
    for path in grub2_configs(target):
        text = read_guest_text(target, path, problems)
        if text is None:
            continue
        env = _grubenv(target, posixpath.dirname(path), problems)
        if "blscfg" in _commands(text):
            return read_bls(target, env, problems, grub_cfg=path)
        menu = parse_grub2(text, path, env)
        if menu.boot_entries:
            return menu
    return None


def _commands(text: str) -> set[str]:
    return {line.split()[0] for line in text.splitlines() if line.split()}


# ---- grub legacy -------------------------------------------------------------


def _legacy_split(line: str) -> tuple[str, str]:
    """``default=0`` and ``default 0`` alike -> ("default", "0")."""
    m = re.match(r"^([A-Za-z_]+)\s*(?:=\s*|\s+|$)(.*)$", line)
    if not m:
        return "", line
    return m.group(1).lower(), m.group(2).strip()


def _strip_device(path: str) -> str:
    """``(hd0,0)/vmlinuz`` -> ``/vmlinuz`` (grub's device prefix names no Linux path)."""
    return _DEVICE_PREFIX.sub("", path)


def _is_hypervisor(path: Optional[str]) -> bool:
    return bool(path) and posixpath.basename(path or "").startswith("xen")


def _legacy_kernel(entry: dict, value: str) -> None:
    """``kernel PATH ARGS`` of the current entry."""
    words = value.split(None, 1)
    if words:
        entry["kernel"] = _strip_device(words[0])
        entry["args"] = words[1].strip() if len(words) > 1 else ""


def _legacy_module(entry: dict, value: str) -> None:
    """A Xen entry: ``kernel /xen.gz``, then the Linux kernel and its initrd as
    modules (grub's multiboot). The first module is the kernel."""
    words = value.split(None, 1)
    if not words:
        return
    if not entry.get("xen"):
        entry["xen"] = True
        _legacy_kernel(entry, value)
    elif entry["initrd"] is None:
        entry["initrd"] = _strip_device(words[0])


def _legacy_entry_line(entry: dict, key: str, value: str) -> None:
    """One line inside a ``title`` block."""
    if key == "kernel":
        _legacy_kernel(entry, value)
    elif key == "initrd":
        words = value.split()
        if words:
            entry["initrd"] = _strip_device(words[0])
    elif key == "module" and (entry.get("xen") or _is_hypervisor(entry["kernel"])):
        _legacy_module(entry, value)


def _legacy_default(
    default_word: Optional[str], saved: Optional[str], count: int
) -> tuple[Optional[int], str, Optional[str]]:
    """(index of the default entry or None, how it was found, why none could be)."""
    index: Optional[int] = None
    problem: Optional[str] = None
    if default_word is None:
        index, how = 0, "no default line: grub boots the first entry"
    elif default_word == "saved":
        number = (saved or "").strip().split()
        if number and number[0].isdigit():
            index, how = int(number[0]), f"default saved; /boot/grub/default holds {number[0]}"
        else:
            index, how = 0, "default saved; /boot/grub/default holds no number: the first entry"
    elif default_word.isdigit():
        index, how = int(default_word), f"default {default_word}"
    else:
        how, problem = f"default {default_word}", f"default {default_word!r} is not a number"
    if index is not None and not 0 <= index < count:
        problem = f"{how} names no entry (the menu has {count})"
        index = None
    return index, how, problem


def parse_grub_legacy(text: str, config: str, saved: Optional[str] = None) -> BootMenu:
    """Entries of a grub legacy config; ``saved`` is ``/boot/grub/default``'s text.

    >>> conf = "default=1\\ntitle A\\nkernel /vmlinuz-1 ro\\n"
    >>> conf += "title B\\nkernel /vmlinuz-2 ro root=/dev/hda2\\n"
    >>> m = parse_grub_legacy(conf, "/boot/grub/grub.conf")
    >>> [(e.title, e.default, e.args) for e in m.boot_entries]
    [('A', False, 'ro'), ('B', True, 'ro root=/dev/hda2')]
    """
    entries: list[dict] = []
    default_word: Optional[str] = None
    fallback: list[int] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, value = _legacy_split(line)
        if key == "title":
            entries.append({"title": value, "kernel": None, "initrd": None, "args": ""})
        elif entries:
            _legacy_entry_line(entries[-1], key, value)
        elif key == "default":
            default_word = value.split()[0] if value.split() else ""
        elif key == "fallback":
            fallback = [int(w) for w in value.split() if w.isdigit()]
    index, how, problem = _legacy_default(default_word, saved, len(entries))
    out = tuple(
        BootEntry(
            title=e["title"],
            kernel=e["kernel"],
            initrd=e["initrd"],
            args=e["args"],
            index=str(i),
            default=i == index,
            fallback=i in fallback,
        )
        for i, e in enumerate(entries)
    )
    return BootMenu("grub-legacy", config, out, how, problem)


# ---- grub2 ---------------------------------------------------------------------


def parse_grubenv(text: Optional[str]) -> dict[str, str]:
    """``name=value`` lines of a grubenv block (the ``#`` padding is skipped)."""
    env: dict[str, str] = {}
    for line in (text or "").split("\n"):
        if line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        env[key.strip()] = value.rstrip("\r")
    return env


@dataclass
class _Item:
    """One item of a grub2 menu level: an entry, or a submenu with children."""

    title: str
    id: Optional[str]
    submenu: bool = False
    kernel: Optional[str] = None
    initrd: Optional[str] = None
    args: str = ""
    children: list[_Item] = field(default_factory=list)


def _words(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=False, posix=True)
    except ValueError:
        return line.split()


def _menu_head(words: list[str]) -> tuple[str, Optional[str]]:
    """Title and id of a ``menuentry``/``submenu`` line's words."""
    title = words[1] if len(words) > 1 else ""
    ident = None
    for k, w in enumerate(words):
        if w in ("$menuentry_id_option", "${menuentry_id_option}", "--id") and k + 1 < len(words):
            ident = words[k + 1]
    return title, ident


def _grub2_entry_line(current: _Item, head: str, words: list[str], line: str) -> None:
    """A ``linux``/``initrd`` line inside a menuentry."""
    if head in _LINUX_CMDS and len(words) > 1:
        parts = line.split(None, 2)
        current.kernel = _strip_device(parts[1]) if len(parts) > 1 else None
        current.args = parts[2].strip() if len(parts) > 2 else ""
    elif head in _INITRD_CMDS and len(words) > 1:
        current.initrd = _strip_device(words[-1])


def _grub2_block(
    line: str, words: list[str], stack: list[Optional[_Item]], top: list[_Item]
) -> bool:
    """Open or close a block (menuentry, submenu, function, if); True when the line did."""
    current = next((s for s in reversed(stack) if s is not None), None)
    if words[0] in ("menuentry", "submenu") and line.endswith("{"):
        title, ident = _menu_head(words[:-1] if words[-1] == "{" else words)
        item = _Item(title, ident, submenu=words[0] == "submenu")
        (current.children if current is not None else top).append(item)
        stack.append(item)
        return True
    if line.endswith("{"):
        stack.append(None)  # a block that is no menu
        return True
    if line == "}":
        if stack:
            stack.pop()
        return True
    return False


def _grub2_items(text: str) -> tuple[list[_Item], list[str]]:
    """Top-level menu items and every ``set default=`` value, in file order."""
    top: list[_Item] = []
    stack: list[Optional[_Item]] = []  # None: a block that is no menu (function, if)
    defaults: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        words = _words(line) if line and not line.startswith("#") else []
        if not words or _grub2_block(line, words, stack, top):
            continue
        head = words[0]
        current = next((s for s in reversed(stack) if s is not None), None)
        if head == "set" and len(words) > 1 and words[1].startswith("default="):
            if current is None:
                defaults.append(words[1][len("default=") :])
        elif current is not None and not current.submenu:
            _grub2_entry_line(current, head, words, line)
    return top, defaults


def _pick(items: list[_Item], part: str) -> Optional[int]:
    """grub's lookup of one ``default`` part: a number, an id, else a title."""
    if part.isdigit():
        n = int(part)
        return n if n < len(items) else None
    for n, item in enumerate(items):
        if item.id == part:
            return n
    for n, item in enumerate(items):
        if item.title == part:
            return n
    return None


def _resolve_default(top: list[_Item], value: str) -> Optional[list[int]]:
    """The path of indexes ``value`` names (``"1>2"``: submenu 1, its entry 2)."""
    path: list[int] = []
    level = top
    for part in value.split(">"):
        n = _pick(level, part)
        if n is None:
            return None
        path.append(n)
        level = level[n].children
    return path


def parse_grub2(text: str, config: str, env: Optional[dict[str, str]] = None) -> BootMenu:
    """Entries of a grub2 config, submenus flattened with ``>`` in their index.

    >>> cfg = "set default=\\"${saved_entry}\\"\\n"
    >>> cfg += "menuentry 'A' --id a {\\n linux /vmlinuz-1 ro\\n}\\n"
    >>> cfg += "submenu 'More' {\\n menuentry 'B' --id b {\\n  linux /vmlinuz-2 ro\\n }\\n}\\n"
    >>> m = parse_grub2(cfg, "/boot/grub/grub.cfg", {"saved_entry": "More>b"})
    >>> [(e.index, e.title, e.default) for e in m.boot_entries]
    [('0', 'A', False), ('1>0', 'B', True)]
    """
    env = env or {}
    top, defaults = _grub2_items(text)
    concrete = [d for d in defaults if "next_entry" not in d]
    how: str
    problem: Optional[str] = None
    value: Optional[str]
    if not concrete:
        value, how = "0", "no set default: grub boots the first entry"
    else:
        raw = concrete[0]
        if "saved_entry" in raw:
            value = env.get("saved_entry") or None
            if value:
                how = f"set default=${{saved_entry}}; grubenv saved_entry={value}"
            else:
                value, how = "0", "set default=${saved_entry}; grubenv has none: the first entry"
        else:
            value, how = raw, f"set default={raw}"
    path = _resolve_default(top, value) if value is not None else None
    if path is None:
        problem = f"{how} names no entry of the menu"
    entries: list[BootEntry] = []

    def walk(items: list[_Item], prefix: list[int]) -> None:
        for n, item in enumerate(items):
            here = [*prefix, n]
            if item.submenu:
                walk(item.children, here)
                continue
            entries.append(
                BootEntry(
                    title=item.title,
                    kernel=item.kernel,
                    initrd=item.initrd,
                    args=item.args,
                    id=item.id,
                    index=">".join(map(str, here)),
                    default=path is not None and here == path,
                )
            )

    walk(top, [])
    return BootMenu("grub2", config, tuple(entries), how, problem)


# ---- which installed kernel each entry boots -----------------------------------------


def match_kernels(target: Target, menu: BootMenu, kernels: Sequence[Kernel]) -> BootMenu:
    """Fill ``version`` (the installed kernel an entry boots) and the guest paths.

    A path in the config is relative to the partition grub reads it from: on a
    guest with a separate ``/boot`` the file ``/vmlinuz-X`` is ``/boot/vmlinuz-X``.
    Matching is by the image's file name; the longer name wins a tie, so the
    Xen kernel's ``vmlinuz-2.6.18-164.el5xen`` is never taken for ``...el5``.
    """
    by_name: dict[str, str] = {}
    for k in kernels:
        if k.image:
            by_name.setdefault(posixpath.basename(k.image), k.version)
    out = []
    for entry in menu.boot_entries:
        version = None
        kernel = _in_boot(target, entry.kernel)
        initrd = _in_boot(target, entry.initrd)
        if (
            kernel
            and initrd
            and entry.kernel != kernel
            and initrd == entry.initrd
            and not initrd.startswith("/boot/")
        ):
            # A missing initrd sits where its kernel was found (separate /boot).
            initrd = "/boot" + ("" if initrd.startswith("/") else "/") + initrd
        if kernel:
            version = by_name.get(posixpath.basename(kernel))
            if version is None:
                base = posixpath.basename(kernel)
                for prefix in ("vmlinuz-", "vmlinux-"):
                    if base.startswith(prefix) and any(
                        k.version == base[len(prefix) :] for k in kernels
                    ):
                        version = base[len(prefix) :]
        out.append(replace(entry, kernel=kernel, initrd=initrd, version=version))
    return replace(menu, boot_entries=tuple(out))


def _in_boot(target: Target, path: Optional[str]) -> Optional[str]:
    """The guest path a boot-loader path names: as written, or under ``/boot``."""
    if not path:
        return path
    if not path.startswith("/"):
        path = "/" + path
    if target.exists(path):
        return path
    alt = "/boot" + path
    if not path.startswith("/boot/") and target.exists(alt):
        return alt
    return path
