"""The initrd method: put the modules in the initial RAM disk, then rebuild it.

One function per tool says how that tool is told about the modules (a
config edit, in :mod:`.initrd_config`, or command-line flags) and how it
rebuilds (KNOWLEDGE.md section 4, the tools' man pages, virt-v2v's
``convert_linux.ml``). The shared part is
here too: the image is backed up first under a free name (the guide's
``IMAGE.virtio.orig`` when it is free), the rebuild runs, and apply then
reads the new image and checks the modules are inside (``verify_modules``).
An image that already holds every module is not rebuilt.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Optional

from .. import knowledge as K
from ..facts import Facts, Kernel
from ..finding import ERROR, INFO, WARNING, Finding, Remedy, choose
from .edits import (
    Workspace,
)
from .files import MKINITCPIO_DROPIN_DIR, backup_candidates
from .initrd_config import CONFIGURE
from .kernels import kernel_to_prepare
from .model import Choices, Step
from .modprobe import modprobe_path, persists_in_nash

__all__ = [
    "plan_initrd",
    "config_paths",
    "image_path",
    "rebuild_argv",
    "build_path",
    "TOOLS",
]

TOOLS = ("mkinitrd", "dracut", "suse-mkinitrd", "initramfs-tools", "mkinitcpio")


def needed_files(facts: Facts, choices: Choices) -> list[str]:
    """The tool's config files and, for each kernel to rebuild, its backup names (probes)."""
    if choices.method != "initrd":
        return []
    paths = config_paths(facts.initrd_tool)
    kernel = kernel_to_prepare(facts, choices)
    kernels = [kernel] if kernel is not None else []
    if choices.all_kernels:
        kernels += [k for k in facts.boot_kernels() if k not in kernels]
    for k in kernels:
        image = image_path(facts.initrd_tool, k) if facts.initrd_tool else None
        if image:
            paths += backup_candidates(image)
    return paths


def config_paths(tool: Optional[str]) -> list[str]:
    """The guest files the tool's configuration step reads."""
    return {
        "dracut": [K.DRACUT_DROPIN],
        "suse-mkinitrd": [K.SUSE_SYSCONFIG_KERNEL],
        "initramfs-tools": [K.INITRAMFS_TOOLS_MODULES],
        "mkinitcpio": [K.MKINITCPIO_CONF, K.MKINITCPIO_DROPIN, MKINITCPIO_DROPIN_DIR],
    }.get(tool or "", [])


def image_path(tool: str, kernel: Kernel) -> Optional[str]:
    """The kernel's initrd, or the name the tool gives a new one (None: unknown)."""
    if kernel.initrd:
        return kernel.initrd
    v = kernel.version
    return {
        "mkinitrd": f"/boot/initrd-{v}.img",
        "dracut": f"/boot/initramfs-{v}.img",
        "suse-mkinitrd": f"/boot/initrd-{v}",
        "initramfs-tools": f"/boot/initrd.img-{v}",
    }.get(tool)


# ---- per tool: the rebuild command ------------------------------------------------


def build_path(image: str) -> str:
    """The file a rebuild writes, beside ``image``; apply checks it, then renames it over."""
    return image + K.INITRD_BUILD_SUFFIX


def rebuild_argv(
    tool: str, kernel: Kernel, out: str, modules: Sequence[str], offline: bool = False
) -> tuple[str, ...]:
    """The command that builds the initrd of ``kernel`` into ``out`` with the modules inside.

    ``out`` is the build file beside the image (``build_path``), never the
    image itself: apply checks the new image there and then renames it over
    the old one, so a rebuild cut short leaves the old image whole.

    ``offline`` (a ``--root`` or image guest, not running): dracut gets
    ``--no-hostonly``, since host-only mode would size the image for the
    hardware of the machine running the chroot, not the guest's.
    """
    v = kernel.version
    if tool == "mkinitrd":
        # The guide's command with -f (nash refuses to overwrite without it) and the
        # --with=M form every nash version and dracut's mkinitrd wrapper accept.
        return ("mkinitrd", "-f", *(f"--with={m}" for m in modules), out, v)
    if tool == "dracut":
        return ("dracut", "-f", *(("--no-hostonly",) if offline else ()), out, v)
    if tool == "suse-mkinitrd":
        # -k and -i name files relative to the boot dir (-b, default /boot).
        kimg = kernel.image or f"/boot/vmlinuz-{v}"
        boot = os.path.dirname(out)
        argv = ["mkinitrd", "-k", os.path.basename(kimg), "-i", os.path.basename(out)]
        if boot != "/boot":
            argv += ["-b", boot]
        return tuple(argv)
    if tool == "initramfs-tools":
        # update-initramfs has no output option: it runs `mkinitramfs -o IMAGE.new
        # KVER` and renames. The same call into our build file, checked before
        # the rename (its other duties, docs/apply.md, are not needed here).
        return ("mkinitramfs", "-o", out, v)
    if tool == "mkinitcpio":
        # -P builds every preset's images in place; -k/-g builds the one image
        # into a file of our choosing (the fallback image holds every module).
        return ("mkinitcpio", "-k", v, "-g", out)
    raise ValueError(f"unknown initrd tool {tool!r}")


def _free_backup(ws: Workspace, kernel: Kernel, image: str) -> Optional[str]:
    for name in backup_candidates(image):
        if name == kernel.virtio_orig or ws.exists(name):
            continue
        return name
    return None


def future_images_keep_them(tool: str, config: Mapping[str, str]) -> bool:
    """True when the tool's setup puts the virtio modules in every image anyway.

    initramfs-tools with ``MODULES=most`` (its default) and dracut with
    ``hostonly="no"`` include all storage and network drivers; host-only
    images (``MODULES=dep``, dracut's host-only mode, mkinitcpio's autodetect)
    hold only what the running system uses, so the next kernel update would
    drop virtio again unless the config names it.
    """
    if tool == "initramfs-tools":
        return config.get("MODULES", "most").strip("\"'") == "most"
    if tool == "dracut":
        return config.get("hostonly", "").strip("\"'") == "no"
    return False


def _already_inside(
    tool: str, kernel: Kernel, image: str, modules: Sequence[str], keep: bool, ws: Workspace
) -> Finding:
    """The note for an image that holds the modules already, and whether later ones will."""
    if tool == "mkinitrd":
        conf = modprobe_path(kernel.version)
        later = (
            f"{conf}'s alias scsi_hostadapter virtio_blk puts them in images built later "
            "(a kernel update runs mkinitrd without --with)."
            if persists_in_nash(ws, kernel)
            else f"an image a kernel update builds will lack them unless {conf} names "
            "virtio_blk as scsi_hostadapter (nash mkinitrd has no other config); the "
            "initrd method with the boot disk on virtio writes that alias."
        )
    elif keep:
        later = "images built later get them too."
    else:
        later = "the config names them so images built later keep them."
    return Finding(
        "initrd-already-has-virtio",
        INFO,
        f"{image} already holds {', '.join(modules)}: no rebuild needed.",
        Remedy(f"Nothing to rebuild; {later}"),
        K.INITRD_TOOLS[tool]["source"],
    )


def plan_initrd(
    tool: Optional[str],
    kernel: Kernel,
    modules: Sequence[str],
    ws: Workspace,
    tool_config: Optional[Mapping[str, str]] = None,
    offline: bool = False,
) -> tuple[list[Step], list[Finding]]:
    """Config edits go into ``ws``; returns (backup and rebuild steps, findings).

    ``offline``: the guest is not running (see ``rebuild_argv``).
    """
    if tool not in CONFIGURE:
        return [], [
            Finding(
                "initrd-tool-unknown",
                ERROR,
                "No initrd tool (mkinitrd, dracut, SUSE mkinitrd, initramfs-tools, mkinitcpio) "
                "was found on this guest, so the initrd cannot be rebuilt.",
                Remedy(
                    "Install the distribution's initrd tool, or load the drivers late in boot "
                    "(sysinit) with the boot disk kept emulated.",
                    (choose(method="sysinit", boot_disk="emulated"),),
                ),
                K.SEED_INITRD,
            )
        ]
    source = K.INITRD_TOOLS[tool]["source"]
    if not modules:
        return [], []
    image = image_path(tool, kernel)
    if image is None:
        return [], [
            Finding(
                "initrd-image-unknown",
                ERROR,
                f"Kernel {kernel.version} has no initrd image, and {K.INITRD_TOOLS[tool]['name']} "
                "names its images by preset, so the wizard cannot tell which one to check.",
                Remedy("Build the kernel's image once (mkinitcpio -P), then plan again."),
                source,
            )
        ]
    inside = set(kernel.initrd_virtio or ())
    covered = bool(kernel.initrd) and kernel.initrd_virtio is not None and set(modules) <= inside
    keep = future_images_keep_them(tool, tool_config or {})
    findings: list[Finding] = []
    if not (covered and keep):
        findings = CONFIGURE[tool](ws, modules, K.order_matters(kernel.version))
        if any(f.severity == ERROR for f in findings):
            return [], findings
    if covered:
        return [], findings + [_already_inside(tool, kernel, image, modules, keep, ws)]
    if kernel.initrd and kernel.initrd_virtio is None:
        reason = f" ({kernel.initrd_error})" if kernel.initrd_error else ""
        findings.append(
            Finding(
                "initrd-unreadable",
                WARNING,
                f"The wizard could not read {image}{reason}, so it rebuilds it to be sure.",
                Remedy("Nothing to do; apply checks the new image."),
                source,
            )
        )
    steps: list[Step] = []
    if kernel.initrd:
        backup = _free_backup(ws, kernel, image)
        if backup is None:
            return [], [
                Finding(
                    "initrd-backup-names-taken",
                    ERROR,
                    f"Every backup name for {image} (.virtio.orig, .virtio-wizard.bak, "
                    f".virtio-wizard.bak.1 to .{len(backup_candidates(image)) - 2}) is taken.",
                    Remedy("Move old backups out of /boot, then plan again."),
                    K.SEED_ORIG,
                )
            ]
        steps.append(
            Step(
                kind="backup",
                why="keep the current initrd as the way back if the new one does not boot",
                path=image,
                to=backup,
            )
        )
    out = build_path(image)
    argv = rebuild_argv(tool, kernel, out, modules, offline)
    if "--no-hostonly" in argv:
        findings.append(
            Finding(
                "dracut-no-hostonly",
                INFO,
                f"dracut rebuilds {image} with --no-hostonly: run offline, its host-only "
                "mode would look at the hardware of the machine running it, not the "
                "guest's, and could leave out the guest's own storage drivers.",
                Remedy(
                    "Nothing to do; the image is larger (every driver). The guest's own next "
                    "rebuild, on the guest, is host-only again with the virtio drivers named "
                    "in its config."
                ),
                source,
            )
        )
    what = "rebuild" if kernel.initrd else "build"
    steps.append(
        Step(
            kind="command",
            why=f"{what} the initrd of {kernel.version} with {', '.join(modules)} inside",
            argv=argv,
            image=image,
            verify_modules=tuple(modules),
            build=out,
        )
    )
    return steps, findings
