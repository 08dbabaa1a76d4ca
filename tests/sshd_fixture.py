"""A real OpenSSH server for the tests, whose remote side sees only busybox.

``sshd`` (Debian's openssh-server) runs as root on 127.0.0.1 with a random
free port, a throwaway host key and an authorized key made in a temp folder.
Every session is forced into ``chroot GUEST /bin/sh -c "$SSH_ORIGINAL_COMMAND"``
(``ForceCommand``), where ``GUEST`` is a fixture guest root holding Debian's
``busybox`` (with the shared libraries ``ldd`` names) and links for the
applets the test chooses: the remote side really has only busybox ``sh`` and
its applets, as a minimal old guest would.

Why ``ForceCommand`` + ``chroot`` instead of ``ChrootDirectory``: sshd
refuses a ``ChrootDirectory`` with any group/world-writable component, and
pytest's temp folders live under ``/tmp`` (mode 1777).

:func:`unavailable` says why sshd cannot be used here (not root, no sshd,
no ssh client, no busybox); tests skip with that reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path
from typing import Optional

SSHD = "/usr/sbin/sshd"
BUSYBOX = "/bin/busybox"


def unavailable() -> Optional[str]:
    """None when a test sshd can run here, else the reason it cannot."""
    if os.geteuid() != 0:
        return "sshd fixture needs root (chroot and sshd privilege separation)"
    for tool in (SSHD, BUSYBOX):
        if not os.path.exists(tool):
            return f"{tool} is not installed (apt-get install openssh-server busybox)"
    for tool in ("ssh", "ssh-keygen", "chroot", "ldd"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def _libraries(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    libs = []
    for line in out.splitlines():
        for word in line.split():
            if word.startswith("/") and os.path.exists(word):
                libs.append(word)
    return libs


def install_busybox(
    root: Path, applets: Optional[list[str]] = None, *, replace: bool = False
) -> None:
    """Put busybox, its libraries and applet links (all, or just ``applets``) in ``root``.

    ``sh`` is always linked: it is the one thing the SSH target needs. With
    ``replace``, fixture stand-ins of the same names (a fake ``ls`` script)
    give way to the applet, so the remote side has working tools. A
    ``/dev/null`` node is made too, as every real guest has one.
    """
    make_dev_null(root)
    (root / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    for lib in _libraries(BUSYBOX):
        dest = root / lib.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists():
            shutil.copy2(lib, dest)
    if applets is None:
        listed = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True).stdout
        applets = listed.split()
    for name in {"sh", *applets}:
        link = root / "bin" / name
        if replace and (link.is_symlink() or link.is_file()):
            link.unlink()
        if not link.exists() and not link.is_symlink():
            link.symlink_to("busybox")


def install_binary(root: Path, binary: str) -> None:
    """Copy a host binary (util-linux ``flock``) and the libraries ``ldd`` names into ``root``."""
    for path in [binary, *_libraries(binary)]:
        dest = root / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists():
            shutil.copy2(path, dest)


def make_dev_null(root: Path) -> None:
    """A real ``/dev/null`` node in ``root`` (shutil.copytree turns one into a file)."""
    (root / "dev").mkdir(parents=True, exist_ok=True)
    null = root / "dev" / "null"
    if null.exists() and not stat.S_ISCHR(null.lstat().st_mode):
        null.unlink()
    if not null.exists():
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.chmod(null, 0o666)


def copy_guest(src: Path, dst: Path) -> Path:
    """Copy a fixture guest keeping links and owners, with a working ``/dev/null``."""
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns("null"))
    for dirpath, dirnames, filenames in os.walk(src):
        for name in dirnames + filenames:
            here = os.path.join(dirpath, name)
            st = os.lstat(here)
            there = os.path.join(dst, os.path.relpath(here, src))
            if os.path.lexists(there):
                os.lchown(there, st.st_uid, st.st_gid)
    make_dev_null(dst)
    return dst


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SSHServer:
    """One sshd serving ``guest`` (a chroot) on 127.0.0.1; ``stop()`` ends it by pid."""

    def __init__(self, guest: Path, workdir: Path) -> None:
        self.guest = guest
        self.workdir = workdir
        self.port = _free_port()
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.host_key = workdir / "host_key"
        self.user_key = workdir / "user_key"
        self.known_hosts = workdir / "known_hosts"

    @property
    def spec(self) -> str:
        return f"root@127.0.0.1:{self.port}"

    def client_options(self, key: Optional[Path] = None) -> list[str]:
        """ssh options for a client that trusts this server only (no ~/.ssh/config)."""
        return [
            "-F",
            "/dev/null",
            "-i",
            str(key or self.user_key),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "LogLevel=ERROR",
        ]

    def start(self) -> SSHServer:
        keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", ""]
        subprocess.run([*keygen, "-f", str(self.host_key)], check=True)
        subprocess.run([*keygen, "-f", str(self.user_key)], check=True)
        authorized = self.workdir / "authorized_keys"
        shutil.copy(f"{self.user_key}.pub", authorized)
        host_pub = Path(f"{self.host_key}.pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        config = self.workdir / "sshd_config"
        config.write_text(
            f"Port {self.port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {self.host_key}\n"
            f"AuthorizedKeysFile {authorized}\n"
            f"PidFile {self.workdir / 'sshd.pid'}\n"
            "StrictModes no\n"
            "PermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "MaxSessions 50\n"
            "MaxStartups 50\n"
            f'ForceCommand /usr/sbin/chroot {self.guest} /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n'
        )
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        log = open(self.workdir / "sshd.log", "wb")  # noqa: SIM115 - lives with sshd
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.workdir / 'sshd.log').read_text()}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("sshd did not start listening within 10 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
