"""Four guests behind four real sshd, an inventory and the play: shared by the
Ansible fleet test and ``bench/fleet.py``.

``old`` needs the initrd path (RHEL 5.3 with a stand-in ``mkinitrd``),
``current`` is the same guest already converted (nothing to do), ``nokernel``
has no kernel at all (detection finds nothing wrong, the plan is refused), ``refused``
has a kernel without virtio. Each guest's remote side has only busybox.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

from apply_fixtures import nash_initrd, tree_state
from sshd_fixture import SSHServer, install_busybox, unavailable
from wizard_cli import run_wizard

ROOTS = Path(__file__).parent / "roots"
REPO = Path(__file__).parent.parent
PLAYBOOK = REPO / "contrib" / "ansible" / "site.yml"
KVER = "2.6.18-128.el5"
MODULES = ("virtio", "virtio_ring", "virtio_blk", "virtio_net", "virtio_pci")
FAKE_MKINITRD = """#!/bin/sh
echo "fake mkinitrd $*"
for a; do case $a in /boot/*) img=$a ;; esac; done
# Only builds into /boot (the scratch check's /var/tmp build is refused, as
# a stand-in cannot build the distro's default image).
[ -n "$img" ] || { echo "fake mkinitrd: no image under /boot" >&2; exit 1; }
cat /boot/new.img > "$img.tmp" && mv -f "$img.tmp" "$img"
"""


def ansible_playbook() -> Optional[str]:
    """The ansible-playbook of this Python's environment (a venv's bin/), else the PATH's.

    The test extra installs ansible-core beside this Python; a venv that is
    not activated (``.venv/bin/python -m pytest``) does not put it on PATH.
    """
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.exists() else shutil.which("ansible-playbook")


def why_not() -> Optional[str]:
    """None when the play can run here, else why not."""
    reason = unavailable()
    if reason:
        return reason
    if ansible_playbook() is None:
        return "ansible-playbook is not installed (pip install ansible-core: the test extra has it)"
    return None


def old_guest(where: Path) -> Path:
    """A RHEL 5.3 guest with busybox and a stand-in mkinitrd: it needs the initrd path."""
    shutil.copytree(ROOTS / "rhel53", where, symlinks=True)
    install_busybox(where, replace=True)
    (where / "boot" / "new.img").write_bytes(nash_initrd(MODULES, KVER))
    (where / "sbin" / "mkinitrd").write_text(FAKE_MKINITRD)
    os.chmod(where / "sbin" / "mkinitrd", 0o755)
    os.chown(where / "etc" / "fstab", 1234, 567)
    return where


CHOICES = ("--method", "initrd", "--drivers", "block,net")


def guest_state(root: Path) -> dict:
    """tree_state without what Ansible itself leaves (its remote temp folder)."""
    return {k: v for k, v in tree_state(root).items() if not k.startswith(("tmp/", "root/"))}


def make_fleet(tmp_path: Path) -> dict:
    """Start the three guests' sshd; the caller stops them with :func:`stop_fleet`."""
    guests = {
        "old": old_guest(tmp_path / "old"),
        "current": old_guest(tmp_path / "current"),
        "refused": tmp_path / "refused",
        "nokernel": tmp_path / "nokernel",
    }
    proc = run_wizard("--root", str(guests["current"]), "apply", *CHOICES, "-y")
    assert proc.returncode == 0, proc.stderr
    shutil.copytree(ROOTS / "broken-garbage", guests["refused"], symlinks=True)
    install_busybox(guests["refused"], replace=True)
    shutil.copytree(ROOTS / "broken-missing", guests["nokernel"], symlinks=True)
    install_busybox(guests["nokernel"], replace=True)

    servers = {}
    for name, root in guests.items():
        work = tmp_path / f"sshd-{name}"
        work.mkdir()
        servers[name] = SSHServer(root, work).start()
    inventory = write_inventory(tmp_path / "inventory.yml", servers)
    cmd = tmp_path / "virtio-wizard"
    cmd.write_text(
        f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(REPO))} exec {shlex.quote(sys.executable)}"
        ' -m virtio_wizard "$@"\n'
    )
    cmd.chmod(0o755)
    return {
        "guests": guests,
        "servers": servers,
        "inventory": inventory,
        "cmd": cmd,
        "run": tmp_path / "run",
        "tmp": tmp_path,
    }


def stop_fleet(fleet: dict) -> None:
    for srv in fleet["servers"].values():
        srv.stop()


def write_inventory(path: Path, servers: dict, proxy: str = "") -> Path:
    """A YAML (here JSON) inventory: each guest with its own port, key and known_hosts."""
    hosts = {}
    for name, srv in servers.items():
        common = [
            "-F", "/dev/null", "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={srv.known_hosts}",
            "-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR",
        ]  # fmt: skip
        if proxy:
            common += ["-o", f"ProxyCommand={proxy} %h %p"]
        hosts[name] = {
            "ansible_host": "127.0.0.1",
            "ansible_port": srv.port,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(srv.user_key),
            "ansible_ssh_common_args": shlex.join(common),
        }
    group = {
        "hosts": hosts,
        "vars": {"ansible_ssh_transfer_method": "piped", "ansible_ssh_pipelining": False},
    }
    path.write_text(json.dumps({"virtio_guests": group}, indent=1))
    return path


def play(fleet, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_LOCAL_TEMP=str(fleet["tmp"] / "ansible-local"),
        # A path on the remote side, which sshd chroots into each guest's own
        # root (under tmp_path): two runs at once never share it.
        ANSIBLE_REMOTE_TMP="/tmp/.ansible-tmp",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="False",
    )
    return subprocess.run(
        [
            str(ansible_playbook()),
            "-i",
            str(fleet["inventory"]),
            str(PLAYBOOK),
            "-e",
            f"virtio_wizard_cmd={fleet['cmd']}",
            "-e",
            f"virtio_run_dir={fleet['run']}",
            "-e",
            "virtio_serial=2",
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def summary(fleet) -> dict[str, str]:
    lines = (fleet["run"] / "summary.txt").read_text().splitlines()
    assert lines[0].split() == ["HOST", "OUTCOME", "DETAIL"]
    return {line.split()[0]: line.split(None, 1)[1] for line in lines[1:] if line.strip()}


RELAY = """
import os, selectors, socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
sel = selectors.DefaultSelector()
sel.register(0, selectors.EVENT_READ)
sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj == 0:
            data = os.read(0, 65536)
            if not data:
                s.shutdown(socket.SHUT_WR); sel.unregister(0); continue
            s.sendall(data)
        else:
            data = s.recv(65536)
            if not data:
                sys.exit(0)
            os.write(1, data)
"""
