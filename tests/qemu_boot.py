"""Boot a guest root under qemu (software emulation) and read its serial console.

The root is packed into an ext4 image with ``mke2fs -d`` and attached as a
**virtio** disk; the kernel and initrd are taken from the root's ``/boot``, as a
boot loader would. The guest's init is replaced by a tiny probe that prints a
marker with the device mounted on ``/``, so "the boot reached the root on
/dev/vda" is a line on the console, not a guess.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PROBE = "/sbin/virtio-wizard-probe"
MARKER = "VIRTIO-WIZARD-ROOT-MOUNTED"
FAIL_MARKERS = (
    "ALERT!",
    "Gave up waiting for root",
    "VFS: Unable to mount root fs",
    "dracut-initqueue timeout",
)

PROBE_SCRIPT = f"""#!/bin/sh
# Installed by the virtio-wizard integration test: report the root device, stop.
echo "{MARKER} $(grep ' / ' /proc/mounts | head -n 1)"
exit 0
"""


@dataclass
class BootResult:
    reached_root: bool
    root_line: str
    failure: str
    console: str


def install_probe(root: Path) -> None:
    probe = root / PROBE.lstrip("/")
    probe.write_text(PROBE_SCRIPT)
    probe.chmod(0o755)
    (root / "etc/fstab").write_text("/dev/vda / ext4 defaults 0 1\n")


def make_disk(root: Path, image: Path, size: str = "2G") -> None:
    """An ext4 file system image holding the whole root (owners kept)."""
    if image.exists():
        image.unlink()
    subprocess.run(
        ["mke2fs", "-q", "-F", "-t", "ext4", "-L", "vwroot", "-d", str(root), str(image), size],
        check=True,
    )


def boot(root: Path, image: Path, kver: str, log: Path, timeout: float = 420) -> BootResult:
    """Boot the root's kernel+initrd with ``image`` as a virtio disk; read the console."""
    argv = [
        "qemu-system-x86_64",
        "-accel",
        "tcg",
        "-m",
        "768",
        "-nographic",
        "-no-reboot",
        "-nodefaults",
        "-serial",
        f"file:{log}",
        "-kernel",
        str(root / f"boot/vmlinuz-{kver}"),
        "-initrd",
        str(root / f"boot/initrd.img-{kver}"),
        "-append",
        f"root=/dev/vda rw console=ttyS0 panic=-1 rootdelay=5 init={PROBE}",
        "-drive",
        f"file={image},format=raw,if=virtio",
        "-netdev",
        "user,id=n0,restrict=on",
        "-device",
        "virtio-net-pci,netdev=n0",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    text = ""
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(1)
            text = log.read_text(errors="replace") if log.exists() else ""
            if MARKER in text or any(m in text for m in FAIL_MARKERS[1:]):
                # Let the kernel finish printing (panic), then stop.
                time.sleep(2)
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    text = log.read_text(errors="replace") if log.exists() else ""
    root_line = next((ln for ln in text.splitlines() if ln.startswith(MARKER)), "")
    failure = next((m for m in FAIL_MARKERS if m in text), "")
    if not text.strip():
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        failure = failure or f"qemu printed nothing: {err.strip()[-300:]}"
    return BootResult(bool(root_line), root_line, failure, text)


# ---- a partitioned disk booted the way its grub.cfg says --------------------------

SWAP_MARKER = "VIRTIO-WIZARD-SWAP"
RESUME_WAIT = "Gave up waiting for suspend/resume device"
MIB = 1024 * 1024

PROBE_SWAP_SCRIPT = f"""#!/bin/sh
# Installed by the virtio-wizard integration test: report root and swap, stop.
mount -t proc proc /proc 2>/dev/null
echo "{MARKER} $(grep ' / ' /proc/mounts | head -n 1)"
swapon -a 2>&1
echo "{SWAP_MARKER} $(tail -n +2 /proc/swaps | awk '{{print $1}}' | tr '\\n' ' ')"
exit 0
"""


def install_swap_probe(root: Path) -> None:
    """An init that prints the root mount and what ``swapon -a`` made active."""
    probe = root / PROBE.lstrip("/")
    probe.write_text(PROBE_SWAP_SCRIPT)
    probe.chmod(0o755)


def make_partitioned_disk(
    root: Path, image: Path, root_mib: int = 1800, swap_mib: int = 64
) -> None:
    """An MBR disk: p1 ext4 holding ``root`` (owners kept), p2 swap (label vwswap)."""
    work = image.parent
    p1, p2 = work / "p1.img", work / "p2.img"
    for path in (image, p1, p2):
        if path.exists():
            path.unlink()
    subprocess.run(
        [
            "mke2fs",
            "-q",
            "-F",
            "-t",
            "ext4",
            "-L",
            "vwroot",
            "-d",
            str(root),
            str(p1),
            f"{root_mib}M",
        ],
        check=True,
    )
    with open(p2, "wb") as fh:
        fh.truncate(swap_mib * MIB)
    subprocess.run(["mkswap", "-L", "vwswap", str(p2)], check=True, capture_output=True)
    total = 1 + root_mib + swap_mib + 1
    with open(image, "wb") as fh:
        fh.truncate(total * MIB)
    layout = (
        "label: dos\n"
        f"start=2048, size={root_mib * 2048}, type=83, bootable\n"
        f"start={2048 + root_mib * 2048}, size={swap_mib * 2048}, type=82\n"
    )
    subprocess.run(["sfdisk", "-q", str(image)], input=layout, text=True, check=True)
    for part, start in ((p1, 1), (p2, 1 + root_mib)):
        subprocess.run(
            [
                "dd",
                f"if={part}",
                f"of={image}",
                "bs=4M",
                f"seek={start * MIB}",
                "oflag=seek_bytes",
                "conv=notrunc,sparse",
                "status=none",
            ],
            check=True,
        )
        part.unlink()


@dataclass
class EntryBoot:
    reached_root: bool
    root_line: str
    swap_line: str
    resume_wait: bool
    failure: str
    console: str


def boot_entry(
    root: Path, image: Path, kernel: str, initrd: str, args: str, log: Path, timeout: float = 600
) -> EntryBoot:
    """Boot exactly a boot entry's kernel, initrd and arguments, the disk on virtio-blk.

    ``kernel``/``initrd`` are guest paths; the console and the probe as init
    are added to the entry's own arguments.
    """
    argv = [
        "qemu-system-x86_64",
        "-accel",
        "tcg",
        "-m",
        "768",
        "-nographic",
        "-no-reboot",
        "-nodefaults",
        "-serial",
        f"file:{log}",
        "-kernel",
        str(root / kernel.lstrip("/")),
        "-initrd",
        str(root / initrd.lstrip("/")),
        "-append",
        f"{args} console=ttyS0 panic=-1 init={PROBE}",
        "-drive",
        f"file={image},format=raw,if=virtio",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(1)
            text = log.read_text(errors="replace") if log.exists() else ""
            if SWAP_MARKER in text or any(m in text for m in FAIL_MARKERS[1:]):
                time.sleep(2)
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    text = log.read_text(errors="replace") if log.exists() else ""
    lines = text.splitlines()
    # The firmware's screen-clearing escapes may share the marker's line.
    root_line = next((ln[ln.index(MARKER) :] for ln in lines if MARKER in ln), "")
    swap_line = next((ln[ln.index(SWAP_MARKER) :] for ln in lines if SWAP_MARKER in ln), "")
    failure = next((m for m in FAIL_MARKERS if m in text), "")
    if not text.strip():
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        failure = failure or f"qemu printed nothing: {err.strip()[-300:]}"
    return EntryBoot(bool(root_line), root_line, swap_line, RESUME_WAIT in text, failure, text)
