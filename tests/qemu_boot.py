"""The one qemu runner of the boot proofs, and the Debian 12 guest they all boot.

Every proof boots the same way: software emulation (TCG), exactly the
kernel, initrd and arguments a boot entry names, the disk on **virtio-blk**
and a virtio NIC, the serial console written to a file. The guest's init is
replaced by a probe that prints the device mounted on ``/`` and the swap
``swapon -a`` activated, so "the boot reached the root on /dev/vda1" is a
line on the console, not a guess. The runner stops at the probe's last line
or at a known failure and returns what the console said.

The guest is a private copy of the cached debootstrap root
(``tests/debian_root.py``); :func:`debian_guest` skips where it cannot be
had, and fails under ``CI=true`` (``.ci/run`` installs everything).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tests import debian_root
from tests.wizard_cli import run_wizard

REPO = Path(__file__).parent.parent
PROBE = "/sbin/virtio-wizard-probe"
MARKER = "VIRTIO-WIZARD-ROOT-MOUNTED"
SWAP_MARKER = "VIRTIO-WIZARD-SWAP"
RESUME_WAIT = "Gave up waiting for suspend/resume device"
FAIL_MARKERS = (
    "ALERT!",
    "Gave up waiting for root",
    "VFS: Unable to mount root fs",
    "dracut-initqueue timeout",
)
MIB = 1024 * 1024

PROBE_SCRIPT = f"""#!/bin/sh
# Installed by the virtio-wizard boot tests: report root and swap, stop.
mount -t proc proc /proc 2>/dev/null
echo "{MARKER} $(grep ' / ' /proc/mounts | head -n 1)"
swapon -a 2>&1 | sed 's/^/VW-SWAPON: /'
echo "{SWAP_MARKER} $(tail -n +2 /proc/swaps | awk '{{print $1}}' | tr '\\n' ' ')"
exit 0
"""


@dataclass
class BootResult:
    """What one boot printed: the probe's lines (empty when not reached) and the first failure."""

    root_line: str
    swap_line: str
    failure: str
    console: str

    @property
    def reached_root(self) -> bool:
        return bool(self.root_line)

    @property
    def swaps(self) -> list[str]:
        """The swap devices active after ``swapon -a``."""
        return self.swap_line[len(SWAP_MARKER) :].split()

    @property
    def resume_wait(self) -> bool:
        """Whether the initramfs waited for a resume device that never came."""
        return RESUME_WAIT in self.console


def debian_guest(tmp_path_factory, name: str, *tools: str) -> Path:
    """A private copy of the cached Debian 12 root (skips, or fails under CI, when it cannot be).

    ``tools`` are what the test needs beyond building and booting the root.
    """
    if os.geteuid() != 0:
        debian_root.skip_or_fail("the boot test needs root (chroot, mount, debootstrap)")
    missing = debian_root.missing_tools() + [t for t in tools if shutil.which(t) is None]
    if missing:
        debian_root.skip_or_fail(f"the boot test needs {', '.join(missing)} (installed by .ci/run)")
    try:
        cached = debian_root.build_root()
    except RuntimeError as exc:
        debian_root.skip_or_fail(f"cannot build the Debian 12 root: {exc}")
    return debian_root.copy_root(cached, tmp_path_factory.mktemp(name) / "root")


def install_probe(root: Path) -> None:
    """The probe as an init the kernel command line can name (``init=PROBE``)."""
    probe = root / PROBE.lstrip("/")
    probe.write_text(PROBE_SCRIPT)
    probe.chmod(0o755)


def wizard(*argv: str) -> subprocess.CompletedProcess:
    """The wizard's command line; a guest's initramfs rebuild under emulation takes minutes."""
    return run_wizard(*argv, timeout=1800)


def boot(
    kernel: Path,
    initrd: Path,
    args: str,
    disk: Path,
    log: Path,
    disk_format: str = "raw",
    timeout: float = 600,
) -> BootResult:
    """Boot ``kernel`` and ``initrd`` with ``args``, ``disk`` on virtio-blk; read the console.

    The console, ``panic=-1`` (stop rather than hang) and the probe as init
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
        str(kernel),
        "-initrd",
        str(initrd),
        "-append",
        f"{args} console=ttyS0 panic=-1 init={PROBE}",
        "-drive",
        f"file={disk},format={disk_format},if=virtio",
        "-netdev",
        "user,id=n0,restrict=on",
        "-device",
        "virtio-net-pci,netdev=n0",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_probe(proc, log, timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    text = log.read_text(errors="replace") if log.exists() else ""
    failure = next((m for m in FAIL_MARKERS if m in text), "")
    if not text.strip():
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        failure = failure or f"qemu printed nothing: {err.strip()[-300:]}"
    return BootResult(_line_from(text, MARKER), _line_from(text, SWAP_MARKER), failure, text)


def _wait_for_probe(proc: subprocess.Popen, log: Path, timeout: float) -> None:
    """Until the probe's last line, a failure the boot cannot recover from, or qemu's end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(1)
        text = log.read_text(errors="replace") if log.exists() else ""
        # "ALERT!" is followed by the initramfs' rescue shell's timeout: not final yet.
        if SWAP_MARKER in text or any(m in text for m in FAIL_MARKERS[1:]):
            # Let the kernel finish printing (panic), then stop.
            time.sleep(2)
            return


def _line_from(text: str, marker: str) -> str:
    """The first line holding ``marker``, from the marker on.

    The firmware's screen-clearing escapes may share the marker's line.
    """
    line = next((ln for ln in text.splitlines() if marker in ln), "")
    return line[line.index(marker) :] if line else ""


# ---- the guest's boot entry -------------------------------------------------------


def update_grub_cfg(kver: str, root_dev: str = "/dev/sda1") -> str:
    """grub.cfg as grub-mkconfig (10_linux) writes it with GRUB_DISABLE_LINUX_UUID=true."""
    entry = f"""\
\tload_video
\tinsmod gzio
\tinsmod part_msdos
\tinsmod ext2
\tset root='hd0,msdos1'
\techo\t'Loading Linux {kver} ...'
\tlinux\t/boot/vmlinuz-{kver} root={root_dev} ro  quiet
\techo\t'Loading initial ramdisk ...'
\tinitrd\t/boot/initrd.img-{kver}
"""
    return f"""\
#
# DO NOT EDIT THIS FILE
#
# It is automatically generated by grub-mkconfig using templates
# from /etc/grub.d and settings from /etc/default/grub
#

### BEGIN /etc/grub.d/00_header ###
if [ -s $prefix/grubenv ]; then
  set have_grubenv=true
  load_env
fi
if [ "${{next_entry}}" ] ; then
   set default="${{next_entry}}"
   set next_entry=
   save_env next_entry
   set boot_once=true
else
   set default="0"
fi

function load_video {{
  if [ x$feature_all_video_module = xy ]; then
    insmod all_video
  fi
}}
### END /etc/grub.d/00_header ###

### BEGIN /etc/grub.d/10_linux ###
menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os \
$menuentry_id_option 'gnulinux-simple-{root_dev}' {{
{entry}}}
submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option \
'gnulinux-advanced-{root_dev}' {{
\tmenuentry 'Debian GNU/Linux, with Linux {kver}' --class debian --class gnu-linux \
$menuentry_id_option 'gnulinux-{kver}-advanced-{root_dev}' {{
{entry.replace(chr(10) + chr(9), chr(10) + chr(9) + chr(9))}\t}}
}}
### END /etc/grub.d/10_linux ###
"""


def install_sata_grub(root: Path, kver: str) -> None:
    """/etc/default/grub and grub.cfg of a Debian installed on /dev/sda1 without UUIDs."""
    (root / "etc/default").mkdir(exist_ok=True)
    (root / "etc/default/grub").write_text(
        'GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_DISTRIBUTOR="Debian"\n'
        'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n'
        "GRUB_DISABLE_LINUX_UUID=true\n"
    )
    (root / "boot/grub").mkdir(parents=True, exist_ok=True)
    (root / "boot/grub/grub.cfg").write_text(update_grub_cfg(kver))


def default_entry(grub_cfg: str):
    """The default entry as the wizard reads it, checked against grub.cfg's own linux line."""
    from virtio_wizard.detect.bootentries import parse_grub2

    menu = parse_grub2(grub_cfg, "/boot/grub/grub.cfg")
    entry = menu.default_entry()
    assert entry is not None and entry.index == "0", menu
    linux = next(ln for ln in grub_cfg.splitlines() if ln.strip().startswith("linux\t"))
    assert linux.strip().split(None, 2)[2].strip() == entry.args
    return entry


def entry_file(root: Path, guest_path: Optional[str]) -> Path:
    """Where a boot entry's kernel or initrd lies in the root on the host."""
    assert guest_path, "the boot entry names no kernel or initrd"
    return root / guest_path.lstrip("/")


# ---- disks ------------------------------------------------------------------------


def make_disk(root: Path, image: Path, size: str = "2G") -> None:
    """An ext4 file system image holding the whole root (owners kept)."""
    if image.exists():
        image.unlink()
    subprocess.run(
        ["mke2fs", "-q", "-F", "-t", "ext4", "-L", "vwroot", "-d", str(root), str(image), size],
        check=True,
    )


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
        ["mke2fs", "-q", "-F", "-t", "ext4", "-L", "vwroot", "-d", str(root), str(p1),
         f"{root_mib}M"],
        check=True,
    )  # fmt: skip
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
            ["dd", f"if={part}", f"of={image}", "bs=4M", f"seek={start * MIB}",
             "oflag=seek_bytes", "conv=notrunc,sparse", "status=none"],
            check=True,
        )  # fmt: skip
        part.unlink()
