"""Machine architecture, CPU vendor, and the driver package that fits them.

The machine is read offline-safe, as libguestfs does: the ELF header of the
first of ``/bin/bash``, ``/bin/ls``, ``/bin/echo``, ``/bin/rm``, ``/bin/sh``
that is a regular file (links resolved inside the root, so a usrmerge
``/bin -> usr/bin`` works). Only when none is readable do the kernels' names
or ``/boot/config-KVER`` decide.

The vendor comes from the guest's ``/proc/cpuinfo`` when it is live, else from
the host's, which is the CPU the guest will run on when it runs here; the
source is recorded so the user sees which.

``kernel_variant`` is the installed kernel *package's* arch (RHEL 3 ships
``ia32e``, ``x86_64``, ``athlon``, ``i686`` kernels; KNOWLEDGE.md section 3).
It is set only from real evidence: a package list naming the kernel package
(``/var/log/rpmpkgs``, ``/root/install.log``) or the CPU selection in the
kernel's config. Otherwise it stays None and the source says why.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

from ..facts import Cpu, Distro, Kernel, Unreadable
from ..knowledge import kernel_sort_key, package_arch
from ._read import note, read_guest_text
from .kernels import ConfigCache, read_config

if TYPE_CHECKING:
    from ..targets import Target

__all__ = [
    "detect_cpu",
    "elf_machine",
    "machine_from_kernels",
    "kernel_variant_from_packages",
    "kernel_variant_from_config",
    "cpuinfo_vendor",
    "ELF_PROBES",
    "HOST_CPUINFO",
]

Problems = Optional[list[Unreadable]]

#: libguestfs's order for reading the guest's architecture.
ELF_PROBES: tuple[str, ...] = ("/bin/bash", "/bin/ls", "/bin/echo", "/bin/rm", "/bin/sh")
#: The host's cpuinfo (not a guest file: read directly).
HOST_CPUINFO = "/proc/cpuinfo"
#: Package lists that name installed kernel packages with their arch.
PACKAGE_LISTS: tuple[str, ...] = ("/var/log/rpmpkgs", "/root/install.log")

#: e_machine -> (32-bit name, 64-bit name), from the ELF gABI / elf.h.
_EM: dict[int, tuple[str, str]] = {
    2: ("sparc", "sparc64"),
    3: ("i686", "i686"),
    8: ("mips", "mips64"),
    20: ("ppc", "ppc64"),
    21: ("ppc64", "ppc64"),
    22: ("s390", "s390x"),
    40: ("armv7l", "armv7l"),
    43: ("sparc64", "sparc64"),
    50: ("ia64", "ia64"),
    62: ("x86_64", "x86_64"),
    183: ("aarch64", "aarch64"),
    243: ("riscv32", "riscv64"),
}
_X86_32 = ("i386", "i486", "i586", "i686", "athlon")


def elf_machine(header: bytes) -> Optional[str]:
    """The machine an ELF header is for, or None if it is not ELF.

    >>> elf_machine(b"\\x7fELF\\x02\\x01\\x01" + bytes(11) + b"\\x3e\\x00")
    'x86_64'
    """
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    ei_class, ei_data = header[4], header[5]
    if ei_class not in (1, 2) or ei_data not in (1, 2):
        return None
    (machine,) = struct.unpack("<H" if ei_data == 1 else ">H", header[18:20])
    names = _EM.get(machine)
    if names is None:
        return None
    name = names[1] if ei_class == 2 else names[0]
    if name == "ppc64" and ei_data == 1:
        return "ppc64le"
    return name


def _kernel_arch_suffix(versions: Sequence[str]) -> Optional[str]:
    """An arch named in a kernel version (Fedora ``...fc14.i686``, Debian ``-686``)."""
    for version in versions:
        m = re.search(r"[.-](x86_64|amd64|i[3-6]86|athlon|aarch64|ppc64le|s390x)\b", version)
        if m:
            arch = m.group(1)
            return "x86_64" if arch == "amd64" else arch
        m = re.search(r"-([3-6]86)(?:-|$)", version)
        if m:
            return "i" + m.group(1)
    return None


_CONFIG_Y = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=y[ \t]*$", re.M)


def _config_yes(config: str) -> set[str]:
    """The symbols a kernel config sets to ``y`` (one pass, one regex)."""
    return set(_CONFIG_Y.findall(config))


def _yes_of(config: dict[str, str]) -> set[str]:
    """The symbols a parsed config (``kernels.read_config``) sets to ``y``."""
    return {name for name, value in config.items() if value == "y"}


def _config_machine(config: str) -> Optional[str]:
    return _machine_from_yes(_config_yes(config))


def _machine_from_yes(yes: set[str]) -> Optional[str]:
    if "CONFIG_X86_64" in yes:
        return "x86_64"
    if "CONFIG_X86" in yes or "CONFIG_X86_32" in yes:
        if "CONFIG_M386" in yes:
            return "i386"
        if yes & {"CONFIG_M586", "CONFIG_M586TSC", "CONFIG_M586MMX"}:
            return "i586"
        if "CONFIG_MK7" in yes:
            return "athlon"
        return "i686"
    if "CONFIG_ARM64" in yes:
        return "aarch64"
    return None


def machine_from_kernels(
    target: Target,
    kernels: Sequence[Kernel],
    problems: Problems = None,
    configs: Optional[ConfigCache] = None,
) -> tuple[Optional[str], Optional[str]]:
    """``(machine, source)`` from kernel names, then ``/boot/config-KVER``.

    ``configs`` holds the configs kernel detection read already.
    """
    versions = sorted((k.version for k in kernels), key=kernel_sort_key, reverse=True)
    suffix = _kernel_arch_suffix(versions)
    if suffix is not None:
        return suffix, "kernel version"
    for version in versions:
        path = f"/boot/config-{version}"
        config = read_config(target, path, problems, configs)
        if config is None:
            continue
        machine = _machine_from_yes(_yes_of(config))
        if machine is not None:
            return machine, path
    return None, None


def _probe_order(target: Target) -> list[str]:
    """The existing probes in libguestfs's order; smallest first on a remote
    target, whose ``open_binary`` copies the whole file over the link (the
    probes are all executables of the same guest, so any one tells the arch)."""
    found = [p for p in ELF_PROBES if target.is_file(p)]
    if getattr(target, "kind", "") == "ssh":

        def size(path: str) -> int:
            st = target.stat(path)
            return st.size if st is not None else 1 << 62

        found.sort(key=size)
    return found


def _elf_probe(target: Target, problems: Problems) -> tuple[Optional[str], Optional[str]]:
    for path in _probe_order(target):
        try:
            with target.open_binary(path) as fh:
                header = fh.read(64)
        except OSError as exc:
            note(problems, path, getattr(exc, "message", None) or exc.strerror or str(exc))
            continue
        machine = elf_machine(header)
        if machine is not None:
            return machine, path
        note(problems, path, "not an ELF executable this wizard knows")
    return None, None


def cpuinfo_vendor(text: str) -> Optional[str]:
    """The first ``vendor_id`` of a cpuinfo text.

    >>> cpuinfo_vendor("processor\\t: 0\\nvendor_id\\t: AuthenticAMD\\n")
    'AuthenticAMD'
    """
    m = re.search(r"^vendor_id\s*:\s*(\S+)", text, re.M)
    return m.group(1) if m else None


def _host_vendor(path: str) -> Optional[str]:
    try:
        with open(path, "rb") as fh:
            data = fh.read(1 << 20)
    except OSError:
        return None
    return cpuinfo_vendor(data.decode("latin-1"))


_PKG_RE = re.compile(
    r"\bkernel(?P<flavour>-[A-Za-z]+)?-(?P<ver>\d[\w.]*-[\w.]+?)\.(?P<arch>ia32e|x86_64|athlon|i[3-6]86)\b"
)


def kernel_variant_from_packages(text: str, kernel: Optional[str]) -> Optional[str]:
    """The arch of the kernel package behind ``kernel`` in a package list.

    RHEL's ``/var/log/rpmpkgs`` and anaconda's ``install.log`` name packages
    as ``kernel-smp-2.4.21-58.EL.ia32e``; a kernel release ``2.4.21-58.ELsmp``
    is that package's version plus its flavour.

    >>> kernel_variant_from_packages("kernel-2.4.21-58.EL.ia32e.rpm\\n", "2.4.21-58.EL")
    'ia32e'
    >>> kernel_variant_from_packages("kernel-smp-2.4.21-58.EL.athlon.rpm", "2.4.21-58.ELsmp")
    'athlon'
    """
    found: list[tuple[str, str]] = []
    for m in _PKG_RE.finditer(text):
        flavour = (m.group("flavour") or "").lstrip("-")
        if flavour in ("devel", "doc", "source", "headers", "utils", "pcmcia"):
            continue
        found.append((m.group("ver") + flavour, m.group("arch")))
    if kernel is not None:
        for release, arch in found:
            if release == kernel:
                return arch
        return None
    arches = {arch for _, arch in found}
    return arches.pop() if len(arches) == 1 else None


#: Processor-selection symbols of x86 kernel configs -> the package arch they mean.
_CONFIG_VARIANTS: tuple[tuple[str, str], ...] = (
    ("CONFIG_MPSC", "ia32e"),
    ("CONFIG_MK7", "athlon"),
    ("CONFIG_M686", "i686"),
    ("CONFIG_MPENTIUMII", "i686"),
    ("CONFIG_MPENTIUMIII", "i686"),
    ("CONFIG_MPENTIUM4", "i686"),
    ("CONFIG_M586", "i586"),
    ("CONFIG_M586TSC", "i586"),
    ("CONFIG_M586MMX", "i586"),
    ("CONFIG_M386", "i386"),
)


def kernel_variant_from_config(config: str) -> Optional[str]:
    """The variant a kernel was built for, from its processor selection.

    >>> kernel_variant_from_config("CONFIG_X86=y\\nCONFIG_MK7=y\\n")
    'athlon'
    """
    return _variant_from_yes(_config_yes(config))


def _variant_from_yes(yes: set[str]) -> Optional[str]:
    for symbol, variant in _CONFIG_VARIANTS:
        if symbol in yes:
            return variant
    return None


def _kernel_variant(
    target: Target, kernel: Optional[str], problems: Problems, configs: Optional[ConfigCache]
) -> tuple[Optional[str], str]:
    if kernel is None:
        return None, "unknown: no installed kernel found"
    for path in PACKAGE_LISTS:
        text = read_guest_text(target, path, problems)
        if text is None:
            continue
        variant = kernel_variant_from_packages(text, kernel)
        if variant is not None:
            return variant, path
    path = f"/boot/config-{kernel}"
    config = read_config(target, path, problems, configs)
    if config is not None:
        variant = _variant_from_yes(_yes_of(config))
        if variant is not None:
            return variant, path
        return None, f"unknown: {path} selects no specific processor and no package list names it"
    return None, f"unknown: no package list names kernel {kernel} and {path} is missing"


def detect_cpu(
    target: Target,
    kernels: Sequence[Kernel],
    distro: Distro,
    problems: Problems = None,
    *,
    host_cpuinfo: str = HOST_CPUINFO,
    configs: Optional[ConfigCache] = None,
) -> Cpu:
    """Machine, vendor, the guide's package arch and the installed kernel variant.

    ``distro`` is accepted so callers pass what detection knows; the rules
    here need only the files, because the package names are the same on every
    RHEL-family release.
    """
    del distro
    machine, machine_source = _elf_probe(target, problems)
    if machine is None:
        machine, machine_source = machine_from_kernels(target, kernels, problems, configs)
    elif machine in _X86_32:
        # ELF says only "386"; a kernel named ...i586 or ...686 is more precise.
        named = _kernel_arch_suffix([k.version for k in kernels])
        if named in _X86_32:
            machine = named

    vendor = None
    vendor_source = None
    # An offline root's proc/cpuinfo (a bind mount, a leftover) is the host's.
    text = read_guest_text(target, "/proc/cpuinfo", problems) if target.live else None
    if text is not None:
        vendor = cpuinfo_vendor(text)
        vendor_source = "target" if vendor else None
    if vendor is None:
        vendor = _host_vendor(host_cpuinfo)
        vendor_source = "host" if vendor else None

    chosen = _chosen_kernel(kernels)
    variant, variant_source = _kernel_variant(target, chosen, problems, configs)
    return Cpu(
        machine=machine,
        machine_source=machine_source,
        vendor=vendor,
        vendor_source=vendor_source,
        package_arch=package_arch(machine, vendor),
        kernel_variant=variant,
        kernel_variant_source=variant_source,
    )


def _chosen_kernel(kernels: Sequence[Kernel]) -> Optional[str]:
    """The running kernel, else the newest installed (Facts.default_kernel's rule)."""
    for k in kernels:
        if k.running:
            return k.version
    if not kernels:
        return None
    return max(kernels, key=lambda k: kernel_sort_key(k.version)).version
