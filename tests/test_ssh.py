"""SSHTarget: the parsers on their own, then the whole Target against a real sshd.

The sshd tests run OpenSSH's server on 127.0.0.1 (``tests/sshd_fixture.py``)
with each session chrooted into a copy of a fixture guest whose only tools
are busybox applets, and compare what SSHTarget says with what LocalTarget
says about the same tree.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sshd_fixture import SSHServer, install_binary, install_busybox, unavailable
from wizard_cli import run_wizard

from virtio_wizard.targets import (
    FileTooLargeError,
    LocalTarget,
    LockedError,
    NotRegularFileError,
    TargetError,
)
from virtio_wizard.targets.ssh import (
    AuthError,
    ConnectionLostError,
    HostKeyError,
    SSHError,
    SSHSpec,
    SSHSpecError,
    SSHTarget,
    UnreachableError,
    parse_spec,
)
from virtio_wizard.targets.ssh.listing import mode_from_ls, parse_listing
from virtio_wizard.targets.ssh.session import classify

ROOTS = Path(__file__).parent / "roots"

# ---- parsing, no server ------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("guest", SSHSpec("guest")),
        ("root@guest", SSHSpec("guest", "root")),
        ("root@guest:2222", SSHSpec("guest", "root", 2222)),
        ("10.0.0.5:22", SSHSpec("10.0.0.5", None, 22)),
        ("admin@[fe80::1]:2200", SSHSpec("fe80::1", "admin", 2200)),
        ("fe80::1", SSHSpec("fe80::1")),
        ("a@b@host", SSHSpec("host", "a@b")),
    ],
)
def test_parse_spec(text, expected):
    assert parse_spec(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "no host name"),
        ("root@", "no host name"),
        ("@guest", "empty user name"),
        ("guest:0", "port must be a number"),
        ("guest:70000", "port must be a number"),
        ("guest:ssh", "port must be a number"),
        ("-oProxyCommand=x", "invalid host name"),
        ("-l@guest", "invalid user name"),
        ("[fe80::1", "missing ']'"),
        ("[fe80::1]22", "expected ':PORT'"),
    ],
)
def test_parse_spec_refuses(text, message):
    with pytest.raises(SSHSpecError, match=message.replace("[", r"\[")):
        parse_spec(text)


def test_a_bad_spec_is_the_clis_usage_error(capsys):
    """The CLI says what parse_spec says, as a usage error (exit 2), before any connection."""
    from virtio_wizard.cli import EXIT_USAGE, main

    assert main(["--ssh", "guest:70000", "detect"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "usage:" in err
    assert err.strip().splitlines()[-1] == (
        "virtio-wizard: error: --ssh 'guest:70000': port must be a number from 1 to 65535"
    )


def test_spec_str_round_trips():
    for text in ("guest", "root@guest:2222", "admin@[fe80::1]:2200"):
        assert str(parse_spec(text)) == text


@pytest.mark.parametrize(
    "text, mode",
    [
        (b"-rw-r--r--", 0o100644),
        (b"drwxr-xr-x", 0o040755),
        (b"lrwxrwxrwx", 0o120777),
        (b"-rwsr-xr-x", 0o104755),
        (b"-rwSr-----", 0o104640),
        (b"drwxrwxrwt", 0o041777),
        (b"drwxrwx--T", 0o041770),
        (b"-rwxr-s---", 0o102750),
        (b"crw-rw-rw-", 0o020666),
        (b"prw-------", 0o010600),
    ],
)
def test_mode_from_ls(text, mode):
    assert mode_from_ls(text) == mode


def test_parse_listing_matches_exact_names():
    names = [b"a b", b"x -> y", b"plain", b"n\nl", b"dev"]
    ls = (
        b"total 8\n"
        b"drwxr-xr-x    2 0        0             4096 Nov 25 18:32 a b\n"
        b"lrwxrwxrwx    1 0        0                6 Nov 25 18:32 x -> y -> ../bin\n"
        b"-rw-------    1 12       34              77 Jan  1  2009 plain\n"
        b"-rw-r--r--    1 0        0                2 Nov 25 18:32 n?l\n"
        b"crw-rw-rw-    1 0        0           1,   3 Nov 25 18:32 dev\n"
    )
    got = parse_listing(names, ls)
    assert got["a b"].is_dir
    assert got["x -> y"].is_link and got["x -> y"].link == "../bin"
    plain = got["plain"]
    assert (plain.uid, plain.gid, plain.size, stat.S_IMODE(plain.mode)) == (12, 34, 77, 0o600)
    assert got["n\nl"] is None  # ls mangled it: asked about on its own when needed
    assert stat.S_ISCHR(got["dev"].mode)


@pytest.mark.parametrize(
    "stderr, kind, words",
    [
        ("ssh: connect to host h port 1: Connection refused", UnreachableError, "unreachable"),
        ("ssh: Could not resolve hostname nope: Name or service not known", UnreachableError, ""),
        ("root@h: Permission denied (publickey).", AuthError, "authentication failed"),
        (
            "No ED25519 host key is known for h.\nHost key verification failed.",
            HostKeyError,
            "unknown",
        ),
        (
            "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\n"
            "Host key verification failed.",
            HostKeyError,
            "CHANGED",
        ),
    ],
)
def test_classify_connection_errors(stderr, kind, words):
    exc = classify("root@h", stderr)
    assert type(exc) is kind
    assert words in str(exc)
    assert "\n" not in str(exc)
    assert str(exc).startswith("root@h: ")


def test_classify_drop_during_an_operation():
    exc = classify("root@h", "Connection to h closed by remote host.", "writing /etc/fstab")
    assert isinstance(exc, ConnectionLostError)
    assert "writing /etc/fstab" in str(exc) and "run again" in str(exc)


def test_missing_ssh_client_is_a_clear_error():
    with pytest.raises(SSHError, match="install the OpenSSH client"):
        SSHTarget.connect("guest", ssh="/nonexistent/ssh")


# ---- against a real sshd ----------------------------------------------------

if unavailable() and os.environ.get("CI") == "true":
    # CI installs sshd and busybox (.ci/run): a missing piece there is a failure, not a skip.
    raise RuntimeError(f"CI must run the SSH tests, but: {unavailable()}")
needs_sshd = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))


@pytest.fixture
def serve(tmp_path):
    """serve(root) -> (server, connected SSHTarget); everything is stopped afterwards."""
    servers: list[SSHServer] = []
    targets: list[SSHTarget] = []

    def start(guest: Path, **connect) -> tuple[SSHServer, SSHTarget]:
        work = tmp_path / f"sshd{len(servers)}"
        work.mkdir()
        server = SSHServer(guest, work).start()
        servers.append(server)
        target = SSHTarget.connect(server.spec, options=server.client_options(), **connect)
        targets.append(target)
        return server, target

    yield start
    for target in targets:
        target.close()
    for server in servers:
        server.stop()


def guest_copy(tmp_path: Path, name: str) -> Path:
    guest = tmp_path / name
    shutil.copytree(ROOTS / name, guest, symlinks=True)
    install_busybox(guest, replace=True)
    return guest


def small_guest(tmp_path: Path) -> Path:
    guest = tmp_path / "guest"
    guest.mkdir()
    install_busybox(guest)
    etc = guest / "etc"
    etc.mkdir()
    (etc / "fstab").write_bytes(b"/dev/hda1 / ext3 defaults 1 1\n")
    (etc / "latin1.conf").write_bytes(b"caf\xe9\n")
    (etc / "all-bytes").write_bytes(bytes(range(256)) * 3)
    os.chmod(etc / "fstab", 0o640)
    os.symlink("fstab", etc / "mtab")
    os.symlink("/etc/fstab", etc / "abs-link")
    os.symlink("../../../../etc/fstab", etc / "climbing-link")
    os.symlink("loop-b", etc / "loop-a")
    os.symlink("loop-a", etc / "loop-b")
    os.symlink("missing", etc / "dangling")
    (etc / "sub dir").mkdir()
    (etc / "sub dir" / "x -> y").write_text("odd name\n")
    os.symlink("sub dir", etc / "link-to-dir")
    os.mkfifo(etc / "fifo")
    (guest / "boot").mkdir()
    (guest / "boot" / "big.img").write_bytes(os.urandom(300_000))
    return guest


@needs_sshd
@pytest.mark.integration
@pytest.mark.parametrize("name", ["rhel53", "rhel39", "debian12"])
def test_detect_over_ssh_equals_detect_on_the_root(tmp_path, serve, name):
    from virtio_wizard.detect import detect

    guest = guest_copy(tmp_path, name)
    _server, remote = serve(guest)
    # The chrooted sshd shows the fixture's recorded proc/ as the guest's own:
    # the local side opens the same tree as that snapshot (--root never is live).
    local = LocalTarget(str(guest), live=(guest / "proc" / "self").is_dir())
    assert remote.live == local.live
    over_ssh = detect(remote).to_dict()
    on_root = detect(local).to_dict()
    assert over_ssh.pop("target") != on_root.pop("target")
    assert over_ssh == on_root
    # One listing per folder, not one round trip per question.
    assert remote.round_trips < 120


@needs_sshd
@pytest.mark.integration
def test_queries_equal_local_target(tmp_path, serve):
    guest = small_guest(tmp_path)
    _server, remote = serve(guest)
    local = LocalTarget(str(guest))
    paths = [
        "/etc/fstab",
        "/etc/mtab",
        "/etc/abs-link",
        "/etc/climbing-link",
        "/etc/dangling",
        "/etc/loop-a",
        "/etc/fifo",
        "/etc/sub dir/x -> y",
        "/etc/link-to-dir",
        "/etc/link-to-dir/x -> y",
        "/etc/link-to-dir/../fstab",
        "/etc/nothing",
        "/nothing/at/all",
        "/etc",
        "/",
    ]
    for path in paths:
        for query in ("exists", "is_file", "is_dir", "is_symlink", "readlink", "listdir"):
            assert getattr(remote, query)(path) == getattr(local, query)(path), (query, path)
        if path != "/etc/loop-a":
            assert remote.resolve(path) == local.resolve(path), path
        here, there = remote.stat(path), local.stat(path)
        if there is None:
            assert here is None, path
        else:
            assert (here.mode, here.uid, here.gid, here.is_file, here.is_dir) == (
                there.mode,
                there.uid,
                there.gid,
                there.is_file,
                there.is_dir,
            ), path
            if there.is_file:
                assert here.size == there.size
    assert list(remote.walk("/etc")) == [
        (d, sorted(ds), sorted(fs)) for d, ds, fs in local.walk("/etc")
    ]
    assert list(remote.walk("/nothing")) == []
    with pytest.raises(TargetError, match="symbolic links"):
        remote.resolve("/etc/loop-a")


@needs_sshd
@pytest.mark.integration
def test_reads_are_binary_safe_and_bounded(tmp_path, serve):
    guest = small_guest(tmp_path)
    _server, remote = serve(guest)
    assert remote.read_bytes("/etc/all-bytes") == bytes(range(256)) * 3
    assert remote.read_text("/etc/latin1.conf") == "caf\xe9\n"
    assert remote.read_bytes("/etc/climbing-link") == b"/dev/hda1 / ext3 defaults 1 1\n"
    with pytest.raises(FileNotFoundError):
        remote.read_bytes("/etc/nothing")
    with pytest.raises(FileNotFoundError):
        remote.read_bytes("/etc/dangling")
    with pytest.raises(NotRegularFileError, match="not a regular file"):
        remote.read_bytes("/etc/fifo")  # never opened: a FIFO would block
    with pytest.raises(NotRegularFileError):
        remote.read_bytes("/etc")
    with pytest.raises(FileTooLargeError, match="larger than 1000 bytes"):
        remote.read_bytes("/boot/big.img", limit=1000)
    with remote.open_binary("/boot/big.img") as fh:
        assert fh.read() == (guest / "boot" / "big.img").read_bytes()
        fh.seek(10)
        assert fh.read(5) == (guest / "boot" / "big.img").read_bytes()[10:15]
    with pytest.raises(FileNotFoundError):
        remote.open_binary("/boot/none.img")


@needs_sshd
@pytest.mark.integration
def test_writes_are_atomic_and_keep_mode_and_owner(tmp_path, serve):
    guest = small_guest(tmp_path)
    os.chown(guest / "etc" / "fstab", 1234, 567)
    _server, remote = serve(guest)
    assert remote.read_bytes("/etc/mtab")  # fills the caches, which writes must clear
    data = bytes(range(256)) + b"\nno newline at the end"
    assert remote.write_file("/etc/mtab", data) == "/etc/fstab"
    st = os.lstat(guest / "etc" / "fstab")
    assert (guest / "etc" / "fstab").read_bytes() == data
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 1234, 567)
    assert (guest / "etc" / "mtab").is_symlink()  # the link stays a link
    assert remote.read_bytes("/etc/fstab") == data
    remote.write_file("/etc/new.conf", b"", mode=0o600)
    assert (guest / "etc" / "new.conf").read_bytes() == b""
    assert stat.S_IMODE(os.stat(guest / "etc" / "new.conf").st_mode) == 0o600
    assert remote.stat("/etc/new.conf").perms == 0o600
    leftovers = [n for n in os.listdir(guest / "etc") if ".vw-" in n]
    assert leftovers == []
    with pytest.raises(NotRegularFileError):
        remote.write_file("/etc/fifo", b"x")
    with pytest.raises(FileNotFoundError):
        remote.write_file("/no/such/folder/file", b"x")


@needs_sshd
@pytest.mark.integration
def test_damaged_transfer_keeps_the_old_file(tmp_path, serve):
    """What a connection dropped mid-write looks like to the guest: short input."""
    guest = small_guest(tmp_path)
    _server, remote = serve(guest)
    before = (guest / "etc" / "fstab").read_bytes()
    good = b"new content\n" * 100
    import hashlib

    def script(sent: int) -> str:
        return (
            remote._checked_install(
                "/etc/fstab",
                len(good),
                hashlib.sha256(good).hexdigest(),
                hashlib.md5(good).hexdigest(),
                remote._receive(sent),
            )
            + 'mv -f "$t" "$p"\n'
        )

    rc, _out, err = remote._exec(script(500), good[:500])  # cut short
    with pytest.raises(ConnectionLostError, match="old file was kept"):
        remote._finish(rc, err, "/etc/fstab", "writing /etc/fstab")
    rc, _out, err = remote._exec(script(len(good)), good[:-1] + b"X")  # same size, other bytes
    assert rc != 0
    # The session is still in step after refused payloads.
    assert remote.read_bytes("/etc/fstab") == before
    assert (guest / "etc" / "fstab").read_bytes() == before
    assert [n for n in os.listdir(guest / "etc") if ".vw-" in n] == []


@needs_sshd
@pytest.mark.integration
def test_copy_remove_makedirs_free(tmp_path, serve):
    guest = small_guest(tmp_path)
    os.utime(guest / "etc" / "fstab", (1_000_000_000, 1_000_000_000))
    _server, remote = serve(guest)
    remote.makedirs("/var/lib/virtio-wizard/backups")
    assert (guest / "var" / "lib" / "virtio-wizard" / "backups").is_dir()
    remote.copy_file("/etc/mtab", "/var/lib/virtio-wizard/backups/fstab")
    copy = guest / "var" / "lib" / "virtio-wizard" / "backups" / "fstab"
    assert copy.read_bytes() == (guest / "etc" / "fstab").read_bytes()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o640
    assert copy.stat().st_mtime == 1_000_000_000
    with pytest.raises(FileNotFoundError):
        remote.copy_file("/etc/nothing", "/etc/x")
    with pytest.raises(NotRegularFileError):
        remote.copy_file("/etc/fifo", "/etc/x")
    remote.remove("/etc/mtab")
    assert not (guest / "etc" / "mtab").is_symlink()
    assert (guest / "etc" / "fstab").exists()  # the link went, not its target
    assert not remote.exists("/etc/mtab")
    with pytest.raises(FileNotFoundError):
        remote.remove("/etc/mtab")
    with pytest.raises(TargetError, match="is a folder"):
        remote.remove("/etc/sub dir")
    # The chroot has no /proc, so busybox df cannot name the mount: None, not a crash.
    free = remote.free_bytes("/")
    assert free is None or free > 0


@needs_sshd
@pytest.mark.integration
def test_run_streams_lines_and_reports_status(tmp_path, serve):
    guest = small_guest(tmp_path)
    _server, remote = serve(guest)
    seen: list[str] = []
    result = remote.run(
        ["sh", "-c", "echo one; echo \"$1\" >&2; printf 'caf\\351\\n'; exit 3", "sh", "two it's"],
        seen.append,
    )
    assert result.returncode == 3
    assert seen == ["one", "two it's", "caf\xe9"]
    assert result.output == "one\ntwo it's\ncaf\xe9"
    assert remote.run(["pwd"]).output == "/"
    with pytest.raises(TargetError, match="command not found"):
        remote.run(["mkinitrd", "-f"])
    # A command changes the guest: cached answers must not survive it.
    assert not remote.exists("/etc/made-by-run")
    remote.run(["touch", "/etc/made-by-run"])
    assert remote.exists("/etc/made-by-run")


@needs_sshd
@pytest.mark.integration
def test_lock_excludes_and_clears_stale_locks(tmp_path, serve):
    guest = small_guest(tmp_path)
    _server, remote = serve(guest)
    lock_dir = guest / "var" / "lib" / "virtio-wizard" / "lock.d"
    with remote.lock("/var/lib/virtio-wizard/lock"):
        assert lock_dir.is_dir()
        with (
            pytest.raises(LockedError, match="another virtio-wizard"),
            remote.lock("/var/lib/virtio-wizard/lock"),
        ):
            pass
    assert not lock_dir.exists()
    # A holder that died with its connection: the pid is gone, the lock is stale.
    lock_dir.mkdir(parents=True)
    (lock_dir / "pid").write_text("999999\n")
    with remote.lock("/var/lib/virtio-wizard/lock"):
        assert (lock_dir / "pid").read_text().strip() != "999999"
    assert not lock_dir.exists()


@needs_sshd
@pytest.mark.integration
def test_connection_errors_are_one_clear_line(tmp_path, serve):
    guest = small_guest(tmp_path)
    server, _remote = serve(guest)
    closed_port = server.port
    server.stop()
    with pytest.raises(UnreachableError, match="unreachable.*refused"):
        SSHTarget.connect(f"root@127.0.0.1:{closed_port}", options=server.client_options())
    server2, _ = serve(guest)
    other_key = tmp_path / "other_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)], check=True
    )
    with pytest.raises(AuthError, match="authentication failed"):
        SSHTarget.connect(server2.spec, options=server2.client_options(other_key))
    known = server2.known_hosts.read_text()
    server2.known_hosts.write_text("")
    with pytest.raises(HostKeyError, match="host key unknown"):
        SSHTarget.connect(server2.spec, options=server2.client_options())
    liar = tmp_path / "liar_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(liar)], check=True)
    fake = Path(f"{liar}.pub").read_text().split()
    server2.known_hosts.write_text(f"{known.split()[0]} {fake[0]} {fake[1]}\n")
    with pytest.raises(HostKeyError, match="CHANGED"):
        SSHTarget.connect(server2.spec, options=server2.client_options())


@needs_sshd
@pytest.mark.integration
def test_connection_dropped_during_a_command(tmp_path, serve):
    guest = small_guest(tmp_path)
    _server, remote = serve(guest)
    errors: list[BaseException] = []

    def long_command() -> None:
        try:
            remote.run(["sleep", "5"])
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    worker = threading.Thread(target=long_command)
    worker.start()
    time.sleep(0.7)
    started = time.monotonic()
    # Drop the master connection under the running command.
    subprocess.run(
        remote._base_argv() + ["-O", "exit", remote.spec.host],
        capture_output=True,
        check=False,
    )
    worker.join(10)
    assert time.monotonic() - started < 4
    assert len(errors) == 1 and isinstance(errors[0], ConnectionLostError)
    assert "run again" in str(errors[0])
    assert errors[0].errno == errno.ECONNRESET


# ---- ssh options from the environment, and the CLI end to end ---------------


def test_options_from_env_are_split_like_a_shell():
    from virtio_wizard.targets.ssh import OPTIONS_ENV, options_from_env

    assert options_from_env({}) == []
    assert options_from_env({OPTIONS_ENV: "-F /etc/vw.conf -i '/k/old guest'"}) == [
        "-F",
        "/etc/vw.conf",
        "-i",
        "/k/old guest",
    ]
    with pytest.raises(SSHSpecError, match="VIRTIO_WIZARD_SSH_OPTIONS: cannot split"):
        options_from_env({OPTIONS_ENV: "-i 'unclosed"})


def _cli(*argv: str, options, timeout: int = 120) -> subprocess.CompletedProcess:
    """The CLI in a subprocess; ``options`` (a list, or the raw text) go in by the environment."""
    import shlex

    env = dict(os.environ)
    env["VIRTIO_WIZARD_SSH_OPTIONS"] = options if isinstance(options, str) else shlex.join(options)
    return run_wizard(*argv, timeout=timeout, env=env)


@needs_sshd
@pytest.mark.integration
def test_cli_detect_and_plan_over_ssh(tmp_path, serve):
    """``virtio-wizard --ssh USER@HOST:PORT detect --json`` and ``plan``, as a user types them."""
    import json

    guest = guest_copy(tmp_path, "rhel53")
    # --root is never live; without the recorded proc/self the chrooted sshd
    # shows the same offline guest, so the two commands can be compared.
    shutil.rmtree(guest / "proc" / "self")
    server, _remote = serve(guest)
    options = server.client_options()
    proc = _cli("--ssh", server.spec, "detect", "--json", options=options)
    assert proc.returncode == 0, proc.stderr
    over_ssh = json.loads(proc.stdout)
    proc = _cli("--root", str(guest), "detect", "--json", options=[])
    assert proc.returncode == 0, proc.stderr
    on_root = json.loads(proc.stdout)
    assert over_ssh["target"]["kind"] == "ssh"
    assert over_ssh.pop("target") != on_root.pop("target")
    assert over_ssh == on_root
    assert over_ssh["findings"]

    choices = ["plan", "--method", "initrd", "--drivers", "block,net", "--json"]
    proc = _cli("--ssh", server.spec, *choices, options=options)
    assert proc.returncode == 0, proc.stderr
    plan_ssh = json.loads(proc.stdout)
    proc = _cli("--root", str(guest), *choices, options=[])
    assert proc.returncode == 0, proc.stderr
    plan_root = json.loads(proc.stdout)
    assert plan_ssh["steps"] and plan_ssh["steps"] == plan_root["steps"]
    assert plan_ssh.pop("target")["kind"] == "ssh"
    plan_root.pop("target")
    assert plan_ssh == plan_root
    # plan wrote nothing.
    assert not (guest / "var" / "lib" / "virtio-wizard").exists()


@needs_sshd
@pytest.mark.integration
def test_cli_over_ssh_errors_are_one_line(tmp_path, serve):
    guest = small_guest(tmp_path)
    server, _remote = serve(guest)
    wrong = tmp_path / "wrong_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong)], check=True)
    proc = _cli("--ssh", server.spec, "detect", options=server.client_options(wrong))
    assert proc.returncode == 1
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith(f"virtio-wizard: error: {server.spec}: authentication failed")
    )
    assert "Traceback" not in proc.stderr
    proc = _cli("--ssh", server.spec, "detect", options="-i 'unclosed")
    assert proc.returncode == 2
    assert "VIRTIO_WIZARD_SSH_OPTIONS: cannot split" in proc.stderr


# ---- one lock for both kinds of wizard --------------------------------------

LOCK = "/var/lib/virtio-wizard/lock"


@needs_sshd
@pytest.mark.integration
@pytest.mark.parametrize("guest_flock", [True, False], ids=["flock", "no-flock"])
def test_ssh_and_local_wizards_exclude_each_other(tmp_path, serve, guest_flock):
    """A wizard over SSH and one on the guest itself see each other's lock.

    With ``flock`` on the guest both take it on the lock file; without it
    (RHEL 3/4) the ``lock.d`` folder, which LocalTarget takes too, is what
    they meet on. ``proc/self`` says a process in this pid space runs in the
    tree (the test sshd's chroot), so LocalTarget asks whether the pid in
    ``lock.d`` lives.
    """
    guest = small_guest(tmp_path)
    host_flock = shutil.which("flock")
    if guest_flock:
        if host_flock is None:
            if os.environ.get("CI") == "true":
                pytest.fail("CI must run this test, but util-linux flock is not installed")
            pytest.skip("util-linux flock is not installed here")
        install_binary(guest, host_flock)  # Debian's busybox has no flock applet
    assert any((guest / d / "flock").exists() for d in ("bin", "usr/bin")) == guest_flock
    (guest / "proc" / "self").mkdir(parents=True)
    _server, remote = serve(guest)
    local = LocalTarget(str(guest))
    assert not local.live  # an offline root; its proc/self still shares our pid space
    lock_dir = guest / "var" / "lib" / "virtio-wizard" / "lock.d"
    with remote.lock(LOCK):
        assert lock_dir.is_dir()
        if host_flock is not None:  # the kernel's view: is the lock file flocked?
            probe = subprocess.run([host_flock, "-n", str(guest / LOCK.lstrip("/")), "true"])
            assert (probe.returncode != 0) == guest_flock
        with pytest.raises(LockedError, match="another virtio-wizard"), local.lock(LOCK):
            pass
        assert lock_dir.is_dir()  # the refused one took nothing away
    assert not lock_dir.exists()
    with local.lock(LOCK):
        assert (lock_dir / "pid").read_text().strip() == str(os.getpid())
        with (
            pytest.raises(LockedError, match=r"another virtio-wizard.*guest pid \d+"),
            remote.lock(LOCK),
        ):
            pass
    assert not lock_dir.exists()
    # Each side finishes: the lock can be taken again.
    with remote.lock(LOCK):
        pass
    with local.lock(LOCK):
        pass


def test_local_lock_clears_a_stale_folder_and_refuses_a_live_one(tmp_path):
    guest = tmp_path / "guest"
    (guest / "proc" / "self").mkdir(parents=True)
    lock_dir = guest / "var" / "lib" / "virtio-wizard" / "lock.d"
    lock_dir.mkdir(parents=True)
    (lock_dir / "pid").write_text("999999999\n")  # no such process: a dropped SSH session
    local = LocalTarget(str(guest))
    with local.lock(LOCK):
        assert (lock_dir / "pid").read_text().strip() == str(os.getpid())
    assert not lock_dir.exists()
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        lock_dir.mkdir()
        (lock_dir / "pid").write_text(f"{sleeper.pid}\n")
        with pytest.raises(LockedError, match=rf"\(pid {sleeper.pid}\)"), local.lock(LOCK):
            pass
        # A guest tree that is not running: no guest process can hold it.
        offline = tmp_path / "offline"
        shutil.copytree(guest / "var", offline / "var")
        with LocalTarget(str(offline)).lock(LOCK):
            pass
        assert not (offline / "var" / "lib" / "virtio-wizard" / "lock.d").exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    shutil.rmtree(lock_dir)
    lock_dir.write_text("not a folder")
    with pytest.raises(TargetError, match="lock.d: is not a lock folder"), local.lock(LOCK):
        pass


@needs_sshd
@pytest.mark.integration
def test_prefetch_lists_many_folders_in_one_round_trip(tmp_path, serve):
    guest = small_guest(tmp_path)
    (guest / "usr" / "lib" / "modules" / "6.1.0").mkdir(parents=True)
    os.symlink("usr/lib", guest / "srv")  # as merged /usr's /lib: a folder reached by a link
    _server, remote = serve(guest)
    local = LocalTarget(str(guest))
    before = remote.round_trips
    folders = ["/", "/usr", "/etc", "/boot", "/nothing", "/srv/modules", "/proc", "/usr/lib"]
    assert remote.prefetch(folders) == 6  # not /srv/modules (a link on the way), not /proc
    assert remote.round_trips == before + 1
    for path in ("/etc", "/boot", "/nothing", "/usr/lib"):
        assert remote.listdir(path) == local.listdir(path), path
    assert remote.round_trips == before + 1  # answered from the cache
    assert remote.listdir("/srv/modules") == local.listdir("/srv/modules") == ["6.1.0"]
    assert remote.is_dir("/srv/modules/6.1.0")
    assert remote.prefetch(["/etc"]) == 0  # already known: no round trip


@needs_sshd
@pytest.mark.integration
def test_connection_dropped_mid_write_keeps_the_old_file(tmp_path, serve, monkeypatch):
    """The link dies after part of a payload: the guest keeps the old file, no temp file."""
    guest = small_guest(tmp_path)
    _server, remote = serve(guest)
    before = (guest / "etc" / "fstab").read_bytes()
    session = remote._live_session()
    real_send = session.send_raw
    big = b"new line\n" * 30_000

    def send_then_drop(data):
        if data is not big:
            return real_send(data)
        real_send(data[:5000])
        subprocess.run(remote._base_argv() + ["-O", "exit", remote.spec.host], capture_output=True)
        time.sleep(0.3)
        return real_send(data[5000:])

    monkeypatch.setattr(session, "send_raw", send_then_drop)
    with pytest.raises(ConnectionLostError, match="run again"):
        remote.write_file("/etc/fstab", big)
    deadline = time.monotonic() + 5
    while [n for n in os.listdir(guest / "etc") if ".vw-" in n] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [n for n in os.listdir(guest / "etc") if ".vw-" in n] == []
    assert (guest / "etc" / "fstab").read_bytes() == before
    # Later operations say the same, they do not hang or pretend.
    with pytest.raises(ConnectionLostError, match="run again"):
        remote.read_bytes("/etc/latin1.conf")
