"""Installed kernels, their initrd images, and how each provides the virtio drivers.

A kernel is found by its module tree (``/lib/modules/KVER``, also
``/usr/lib/modules/KVER`` on usrmerge systems) or its image in ``/boot``. For
each of the guide's modules (and ``virtio_scsi``, which virt-v2v adds) the answer
is ``module``, ``builtin`` or ``missing``, from the strongest evidence at hand:

1. the kernel's config (``/boot/config-KVER``, ``/lib/modules/KVER/config``,
   ``/proc/config.gz`` for the running kernel): ``=y`` built in, ``=m`` module;
2. ``modules.builtin``;
3. a module file in the module tree (``.ko``, compressed ``.ko.*``, ``.o`` on
   2.4 kernels) — this is how the RHEL 5.2 driver package shows up, in
   ``extra/virtio`` of a kernel whose config knows nothing of virtio. The
   tree's ``modules.dep`` (depmod's list of every module) is asked first;
   the tree (some 900 folders on a distro kernel) is walked only when that
   list is missing or does not name a module still unanswered (a driver
   package installed without running depmod);
4. for the running kernel only, what sysfs shows (a loaded module has
   ``/sys/module/NAME/initstate``, a built-in one has ``/sys/module/NAME``
   without it, and ``/sys/bus/virtio/drivers/NAME`` names a registered
   driver) — needed on kernels with no module tree at all.

Each answer records its evidence path in ``Kernel.virtio_sources``. Weaker
evidence is not read once every module is answered: on a distro kernel the
config alone answers all six.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Iterable
from typing import Callable, Optional

from ..facts import BUILTIN, MISSING, MODULE, Kernel, Unreadable
from ..knowledge import CONFIG_SYMBOLS, SEED_MODULES
from ..targets import Target
from ..vercmp import sort_newest_first
from ._read import note, read_guest_text
from .modtree import builtin_modules, dep_modules, module_files, not_in_modules_dep

__all__ = [
    "detect_running_kernel",
    "detect_kernels",
    "initrd_candidates",
    "read_config",
    "ConfigCache",
    "MODULE_DIRS",
]

#: Where module trees live; the second one only matters on usrmerge/Arch.
MODULE_DIRS: tuple[str, ...] = ("/lib/modules", "/usr/lib/modules")
#: The modules whose support is reported: the guide's five, then virtio_scsi.
_REPORTED: tuple[str, ...] = (*SEED_MODULES, "virtio_scsi")
#: A tristate line: built in (``y``) or a module (``m``), the only values detection reads.
_CONFIG_LINE = re.compile(r"^[ \t]*(CONFIG_[A-Za-z0-9_]+)=\"?([ym])\"?[ \t\r]*$", re.M)
#: Boot images that are not kernels a user would prepare.
_SKIP_IMAGE = re.compile(r"kdump|rescue|\.hmac$|\.old$|\.bak$|\.sig$")
#: Modern kernels build virtio_ring with CONFIG_VIRTIO; older ones had its own symbol.
_FOLLOWS = {"virtio_ring": "virtio"}
#: Config symbols of a Xen paravirtual-only kernel (libguestfs-common
#: ``mldrivers/linux_kernels.ml``, ``is_xen_pv_only_kernel``).
_XEN_PV_SYMBOLS = ("CONFIG_X86_XEN", "CONFIG_X86_64_XEN")

InspectFn = Callable[[Target, str], object]
#: Guest path of a kernel config -> its ``{symbol: "y"|"m"}`` (None: absent or unreadable).
#: One detection shares one, so each config is read and parsed once (kernels, CPU).
ConfigCache = dict[str, Optional[dict[str, str]]]


def detect_running_kernel(target: Target) -> Optional[str]:
    """The release of the kernel running the guest, or None when nothing runs it.

    Read from the target's ``/proc/sys/kernel/osrelease``; on the local system
    without a mounted ``/proc``, ``os.uname()`` tells the same. An offline root
    (not live) has no running kernel: its ``proc`` folder, if any, is stale.
    """
    if not target.live:
        return None
    text = read_guest_text(target, "/proc/sys/kernel/osrelease", limit=4096)
    if text and text.strip():
        return text.strip().splitlines()[0].strip()
    if target.kind == "local" and target.root == "/":
        return os.uname().release
    return None


def initrd_candidates(version: str, pkgbase: Optional[str] = None) -> tuple[str, ...]:
    """Guest paths an initrd for ``version`` may have, per distro family, in order.

    >>> initrd_candidates("2.6.18-92.el5")[0]
    '/boot/initrd-2.6.18-92.el5.img'
    """
    names = [
        f"/boot/initrd-{version}.img",  # RHEL <= 5
        f"/boot/initramfs-{version}.img",  # RHEL 6+, Fedora
        f"/boot/initrd.img-{version}",  # Debian, Ubuntu
        f"/boot/initrd-{version}",  # SUSE
    ]
    if pkgbase:
        names.append(f"/boot/initramfs-{pkgbase}.img")  # Arch
    return tuple(names)


def detect_kernels(
    target: Target,
    *,
    running: Optional[str],
    read_initrds: bool = True,
    problems: Optional[list[Unreadable]] = None,
    inspect: Optional[InspectFn] = None,
    configs: Optional[ConfigCache] = None,
    family: str = "unknown",
) -> tuple[Kernel, ...]:
    """Every installed kernel, newest first, with its image, initrd and virtio support.

    "Newest" is the guest's own rule (``family``: dpkg's comparison on
    Debian, rpm's elsewhere), equal versions by name, so the order never
    depends on set or hash order.

    ``running`` is the running kernel's release (``detect_running_kernel``);
    only that kernel may use sysfs evidence. With ``read_initrds`` each initrd
    is opened with ``virtio_wizard.initrd.inspect_initrd`` (or ``inspect``,
    for tests) to list the virtio modules inside; without it those fields stay
    None, which keeps detection fast. ``configs`` is filled with the kernel
    configs read (see ``read_config``), for the CPU detection to reuse.
    """
    trees = _module_trees(target)
    images = _boot_images(target)
    pkgbases = {v: _pkgbase(target, paths, problems) for v, paths in trees.items()}
    versions = set(trees)
    by_pkgbase = {base: v for v, base in pkgbases.items() if base}
    arch_images: dict[str, str] = {}
    for name, path in images.items():
        if name in by_pkgbase:
            arch_images[by_pkgbase[name]] = path
        elif name[:1].isdigit():
            versions.add(name)
    if running:
        # A kernel with no module tree and no image in /boot (a VM booted
        # with an external kernel) is still the one that runs the guest.
        versions.add(running)
    kernels = []
    for version in sort_newest_first(versions, family):
        kernels.append(
            _kernel(
                target,
                version,
                tree_paths=trees.get(version, ()),
                image=images.get(version) or arch_images.get(version),
                pkgbase=pkgbases.get(version),
                running=version == running,
                read_initrds=read_initrds,
                problems=problems,
                inspect=inspect,
                configs={} if configs is None else configs,
            )
        )
    return tuple(kernels)


# ---- finding kernels ---------------------------------------------------------


def _module_trees(target: Target) -> dict[str, tuple[str, ...]]:
    """KVER -> its module folders (two on a usrmerge root only if they differ)."""
    trees: dict[str, list[str]] = {}
    seen: set[str] = set()
    for base in MODULE_DIRS:
        for name in target.listdir(base):
            path = f"{base}/{name}"
            if not target.is_dir(path):
                continue
            try:
                real = target.resolve(path)
            except OSError:
                continue
            if real in seen:
                continue
            seen.add(real)
            trees.setdefault(name, []).append(path)
    return {k: tuple(v) for k, v in trees.items()}


def _boot_images(target: Target) -> dict[str, str]:
    """Suffix after ``vmlinuz-``/``vmlinux-`` -> guest path of the image."""
    images: dict[str, str] = {}
    for name in target.listdir("/boot"):
        for prefix in ("vmlinuz-", "vmlinux-"):
            if name.startswith(prefix) and not _SKIP_IMAGE.search(name):
                suffix = name[len(prefix) :]
                path = f"/boot/{name}"
                if suffix and target.is_file(path):
                    images.setdefault(suffix, path)
    return images


def _pkgbase(
    target: Target, tree_paths: Iterable[str], problems: Optional[list[Unreadable]]
) -> Optional[str]:
    """Arch names its image after the package (``vmlinuz-linux``), kept in ``pkgbase``."""
    for tree in tree_paths:
        if target.exists(f"{tree}/pkgbase"):
            text = read_guest_text(target, f"{tree}/pkgbase", problems, limit=4096)
            if text and text.strip():
                return text.strip().splitlines()[0]
    return None


# ---- one kernel -----------------------------------------------------------------


def _kernel(
    target: Target,
    version: str,
    *,
    tree_paths: tuple[str, ...],
    image: Optional[str],
    pkgbase: Optional[str],
    running: bool,
    read_initrds: bool,
    problems: Optional[list[Unreadable]],
    inspect: Optional[InspectFn],
    configs: ConfigCache,
) -> Kernel:
    if image is None:
        for tree in tree_paths:
            if target.is_file(f"{tree}/vmlinuz"):
                image = f"{tree}/vmlinuz"
                break
    initrd = next((p for p in initrd_candidates(version, pkgbase) if target.is_file(p)), None)
    orig = None
    for base in (f"/boot/initrd-{version}.img", initrd):
        if base and target.is_file(base + ".virtio.orig"):
            orig = base + ".virtio.orig"
            break
    virtio, sources, xen = _virtio_support(target, version, tree_paths, running, problems, configs)
    answered_module = [m for m in _REPORTED if virtio[m] == MODULE]
    unlisted = not_in_modules_dep(target, tree_paths, answered_module, problems)
    fmt = names = error = None
    if read_initrds and initrd is not None:
        fmt, names, error = _read_initrd(target, initrd, inspect)
    return Kernel(
        version=version,
        running=running,
        image=image,
        initrd=initrd,
        initrd_format=fmt,
        initrd_virtio=names,
        initrd_error=error,
        virtio={m: virtio[m] for m in SEED_MODULES},
        virtio_scsi=virtio["virtio_scsi"],
        virtio_orig=orig,
        virtio_sources=sources,
        virtio_unlisted=unlisted,
        xen_pv_only=xen,
    )


def _read_initrd(
    target: Target, path: str, inspect: Optional[InspectFn]
) -> tuple[Optional[str], Optional[tuple[str, ...]], Optional[str]]:
    """(format, virtio modules, error) of one image; never raises."""
    if inspect is None:
        from ..initrd import inspect_initrd

        inspect = inspect_initrd
    try:
        info = inspect(target, path)
    except Exception as exc:  # the reader promises not to raise; guard anyway
        return None, None, f"{type(exc).__name__}: {exc}"
    virtio = getattr(info, "virtio", None)
    return (
        getattr(info, "format", None),
        tuple(sorted(virtio)) if virtio is not None else None,
        getattr(info, "error", None),
    )


# ---- virtio support ---------------------------------------------------------------


class _Answers:
    """Each reported module's answer and the evidence paths, strongest evidence first.

    ``settle`` keeps the first answer a module gets: the callers ask the
    sources from strongest to weakest.
    """

    def __init__(self) -> None:
        self.by_module: dict[str, str] = {m: MISSING for m in _REPORTED}
        self.sources: list[str] = []

    def settle(self, module: str, how: str, source: str) -> None:
        if self.by_module[module] == MISSING:
            self.by_module[module] = how
            if source not in self.sources:
                self.sources.append(source)

    def settle_all(self, modules: Iterable[str], how: str, source: str) -> None:
        """Settle each reported module that is in ``modules``."""
        found = set(modules)
        for module in _REPORTED:
            if module in found:
                self.settle(module, how, source)

    def open(self) -> bool:
        """Whether a module is still unanswered."""
        return MISSING in self.by_module.values()


def _virtio_support(
    target: Target,
    version: str,
    tree_paths: tuple[str, ...],
    running: bool,
    problems: Optional[list[Unreadable]],
    configs: ConfigCache,
) -> tuple[dict[str, str], tuple[str, ...], bool]:
    """(answer per module, evidence paths, Xen PV-only kernel)."""
    answers = _Answers()
    config, config_source = _read_config(target, version, tree_paths, running, problems, configs)
    xen = config is not None and any(config.get(s) == "y" for s in _XEN_PV_SYMBOLS)
    if config is not None:
        for module in _REPORTED:
            value = _config_value(config, module)
            if value in ("y", "m"):
                answers.settle(module, BUILTIN if value == "y" else MODULE, config_source)
    for tree in tree_paths:
        if answers.open():
            _builtin_list_support(target, tree, answers, problems)
    for tree in tree_paths:
        if answers.open():
            _tree_support(target, tree, answers, problems)
    if running and target.live and answers.open():
        _sysfs_support(target, answers.by_module, answers.settle)
    return answers.by_module, tuple(answers.sources), xen


def _builtin_list_support(
    target: Target, tree: str, answers: _Answers, problems: Optional[list[Unreadable]]
) -> None:
    """``tree/modules.builtin``: the modules built into the kernel, one path a line."""
    names = builtin_modules(target, tree, problems)
    if names is not None:
        answers.settle_all(names, BUILTIN, f"{tree}/modules.builtin")


def _tree_support(
    target: Target, tree: str, answers: _Answers, problems: Optional[list[Unreadable]]
) -> None:
    """Module files of one tree: ``modules.dep`` first, a walk only if it leaves one open."""
    answers.settle_all(dep_modules(target, tree, problems), MODULE, f"{tree}/modules.dep")
    if answers.open():
        answers.settle_all(module_files(target, tree), MODULE, tree)


def _read_config(
    target: Target,
    version: str,
    tree_paths: tuple[str, ...],
    running: bool,
    problems: Optional[list[Unreadable]],
    configs: ConfigCache,
) -> tuple[Optional[dict[str, str]], str]:
    """The kernel's config as {symbol: value}, and where it was read."""
    paths = [f"/boot/config-{version}", *(f"{t}/config" for t in tree_paths)]
    for path in paths:
        config = read_config(target, path, problems, configs)
        if config is not None:
            return config, path
    if running and target.live and target.exists("/proc/config.gz"):
        try:
            raw = target.read_bytes("/proc/config.gz", 4 * 1024 * 1024)
            # zlib, not gzip: the gzip module's imports cost more than this read.
            text = zlib.decompress(raw, 16 + zlib.MAX_WBITS).decode("latin-1")
        except (OSError, zlib.error) as exc:
            note(problems, "/proc/config.gz", f"cannot read: {exc}")
        else:
            return _parse_config(text), "/proc/config.gz"
    return None, ""


def read_config(
    target: Target,
    path: str,
    problems: Optional[list[Unreadable]] = None,
    cache: Optional[ConfigCache] = None,
) -> Optional[dict[str, str]]:
    """The kernel config at ``path`` as ``{symbol: "y"|"m"}``, None when absent or unreadable.

    With ``cache``, a config already read in this detection is not read again.
    """
    if cache is not None and path in cache:
        return cache[path]
    config = None
    if target.exists(path):
        text = read_guest_text(target, path, problems)
        if text is not None:
            config = _parse_config(text)
    if cache is not None:
        cache[path] = config
    return config


def _parse_config(text: str) -> dict[str, str]:
    """``{symbol: "y" or "m"}`` of a kernel config, in one regex pass over the text.

    Strings and numbers (a third of a distro config) are left out: kernel
    and CPU detection only ask whether a symbol is built in or a module.
    """
    return dict(_CONFIG_LINE.findall(text))


def _config_value(config: dict[str, str], module: str) -> Optional[str]:
    value = config.get(CONFIG_SYMBOLS[module])
    if value is None and module in _FOLLOWS:
        value = config.get(CONFIG_SYMBOLS[_FOLLOWS[module]])
    return value


def _sysfs_support(target: Target, answers: dict[str, str], settle: Callable) -> None:
    """Evidence from the running kernel's sysfs, for kernels without a module tree."""
    loaded = set()
    if target.exists("/proc/modules"):
        text = read_guest_text(target, "/proc/modules", None) or ""
        loaded = {line.split()[0] for line in text.splitlines() if line.split()}

    def how(module: str) -> str:
        if module in loaded or target.exists(f"/sys/module/{module}/initstate"):
            return MODULE
        return BUILTIN

    for module in _REPORTED:
        if answers[module] != MISSING:
            continue
        if target.is_dir(f"/sys/module/{module}"):
            settle(module, how(module), f"/sys/module/{module}")
        elif module in ("virtio_blk", "virtio_net", "virtio_scsi") and target.is_dir(
            f"/sys/bus/virtio/drivers/{module}"
        ):
            settle(module, how(module), f"/sys/bus/virtio/drivers/{module}")
        elif module in ("virtio", "virtio_ring") and target.is_dir("/sys/bus/virtio"):
            # The virtio bus exists only when the core (and its ring) is in the kernel.
            settle(module, how(module), "/sys/bus/virtio")
        elif module == "virtio_pci" and target.is_dir("/sys/bus/pci/drivers/virtio-pci"):
            settle(module, how(module), "/sys/bus/pci/drivers/virtio-pci")
