"""The ``--ssh`` target: a live guest driven from a modern workstation.

RHEL 3.9/4.x/5.x guests ship Python 2.2-2.4, so the wizard cannot run there;
it runs here and reaches the guest through the OpenSSH client. The guest needs
only a Bourne ``/bin/sh`` and the old tools every Linux has (``ls``, ``cat``,
``test``, ``find``, ``mv``, ``cp``, ``mkdir``, ``df``): no Python, no
``stat -c``, no ``readlink -f``, no ``base64``.

How it stays fast and safe:

- One master connection per session (``ControlMaster``/``ControlPath``,
  ``ControlPersist`` as a safety net), closed by :meth:`SSHTarget.close` and
  at interpreter exit. On it runs one long-lived guest ``/bin/sh``
  (:class:`Session`): every operation is a framed request to that shell,
  one network round trip, no new process or channel (see docs/remote.md).
  ``BatchMode=yes`` turns password prompts into a clear error, and the user's
  ``~/.ssh/config`` applies as for any ``ssh`` call.
- Metadata comes one *folder* at a time: the first question about
  ``/etc/fstab`` lists ``/etc`` once (``ls -lnA``, which POSIX specifies), and
  every later exists/stat/is_file in ``/etc`` is answered from that listing.
  Symbolic links are resolved here, like ``LocalTarget`` does, from those
  listings; the first listing also fetches :data:`PREFETCH_FOLDERS` in the
  same round trip. ``/proc`` is live and has ``/proc/self``, so paths under
  it are always asked of the guest directly. Any write or command clears the
  caches.
- ``walk`` is one round trip (``find -print0``); file contents travel as raw
  bytes through the channel (``cat``), never through a text layer.
- Writes are atomic on the guest: the bytes go to a temp file in the same
  folder, the guest checks their size and hash (``sha256sum`` or ``md5sum``,
  whichever it has), then ``chmod``/``chown``, ``sync``, ``mv``. A connection
  that drops mid-write leaves the old file in place; a rerun finishes.

Every path and argument is quoted with :func:`shlex.quote`. Errors are
``TargetError`` subclasses with one-line messages.

Why this file is long: ``SSHTarget`` is one class whose methods all share the
session, the listing and content caches and the mutex that guards them, and
each guest operation is a shell script written beside the method that reads
its answer. What stands alone has its own module (``spec``, ``listing``,
``session``), and the query half is :class:`~virtio_wizard.targets.base.TargetBase`'s.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import hashlib
import os
import secrets
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from typing import BinaryIO, Callable, Optional

from ..base import (
    DEFAULT_READ_LIMIT,
    GUEST_PATH,
    LineCallback,
    LockedError,
    NotRegularFileError,
    RunResult,
    StatInfo,
    TargetBase,
    TargetError,
    decode_text,
    kept_owner,
    resolve_parts,
    too_large,
)
from .listing import Entry, parse_listing, parse_ls_line
from .session import ConnectionLostError, RemoteShellError, Session, SSHError, classify
from .spec import SSHSpec, options_from_env, parse_spec

__all__ = ["SSHTarget", "RemoteNotFoundError"]

#: Seconds to wait for the TCP connection and the SSH handshake.
CONNECT_TIMEOUT = 15
#: Seconds the master stays up without clients if this process dies uncleanly.
CONTROL_PERSIST = 300
#: Folders whose listing detection needs; the first listing of a session
#: fetches them all in one round trip (a missing one costs a few bytes).
PREFETCH_FOLDERS = (
    "/",
    "/bin",
    "/boot",
    "/boot/grub",
    "/dev",
    "/etc",
    "/etc/dracut.conf.d",
    "/etc/initramfs-tools",
    "/etc/mkinitcpio.conf.d",
    "/etc/modprobe.d",
    "/etc/modules-load.d",
    "/etc/rc.d",
    "/etc/sysconfig",
    "/etc/sysconfig/modules",
    "/lib",
    "/lib/modules",
    "/sbin",
    "/usr",
    "/usr/bin",
    "/usr/lib",
    "/usr/lib/modules",
    "/usr/sbin",
    "/sys",
    "/sys/block",
    "/sys/bus",
    "/sys/bus/pci",
    "/sys/bus/pci/devices",
    "/sys/bus/virtio",
    "/sys/bus/virtio/drivers",
    "/sys/module",
)
#: Contents of files up to this size are cached between mutations.
CONTENT_CACHE_LIMIT = 1024 * 1024

# Exit codes of the remote helper scripts (ssh itself uses 255).
_RC_NOTFOUND = 10
_RC_NOTREGULAR = 11
_RC_TOOLARGE = 12
_RC_BADDATA = 13
_RC_LOCKED = 14
_RC_ISDIR = 15

#: Flush the temp file, rename it over the target, flush the folder. ``sync FILE``
#: fsyncs just that file where sync knows operands (busybox, coreutils >= 8.24);
#: older ``sync`` ignores them and flushes everything, which is as safe.
_SYNC_MOVE = 'sync "$t" 2>/dev/null\nmv -f "$t" "$p" || exit 1\nsync "$d" 2>/dev/null\n'

#: Said first by every helper so that the guest's own /bin/sh is the one that answers.
_PRELUDE = (
    f"LC_ALL=C; export LC_ALL; unset TIME_STYLE LS_COLORS CDPATH; PATH={GUEST_PATH}; export PATH; "
)


class RemoteNotFoundError(TargetError, FileNotFoundError):
    """A guest path does not exist (also a FileNotFoundError, like LocalTarget's)."""


def _q(path: str) -> str:
    return shlex.quote(path)


def _norm(path: str) -> str:
    """A guest path made absolute and lexically clean (``..`` never above /)."""
    parts: list[str] = []
    for p in path.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if parts:
                parts.pop()
            continue
        parts.append(p)
    return "/" + "/".join(parts)


def _is_proc(path: str) -> bool:
    n = _norm(path)
    return n == "/proc" or n.startswith("/proc/")


#: Shell for a request with a payload: print the ready line (``$VW_READY``), then
#: read exactly ``$n`` bytes of the session's stdin into ``$t``. ``dd bs=C
#: count=1`` does one read(2) of at most C bytes, so it never swallows bytes
#: meant for the shell, whatever the guest's dd (busybox, RHEL 3's coreutils 4.5;
#: no ``iflag=fullblock``, no ``head -c``, which busybox reads through stdio).
#: Short reads from the pipe just mean another turn; a turn that adds nothing
#: is the end of the input (the connection went): the payload is incomplete.
_RECEIVE = (
    ': > "$t" || exit 1\n'
    'N=$n; printf "%s\\n" "$VW_READY"\n'
    'while [ "$n" -gt 0 ]; do\n'
    '  c=$n; [ "$c" -le 65536 ] || c=65536\n'
    '  dd bs="$c" count=1 2>/dev/null >> "$t"\n'
    '  h=$(wc -c < "$t"); h=${h##* }\n'
    "  m=$(($N - $h))\n"
    f'  [ "$m" -lt "$n" ] || exit {_RC_BADDATA}\n'
    "  n=$m\n"
    "done\n"
)


def _found_sections(out: bytes) -> tuple[set[str], list[str], set[str]]:
    """The walk script's three ``find -print0`` lists: folders, the rest, links to folders."""
    section = "dirs"
    dirs: set[str] = set()
    others: list[str] = []
    linkdirs: set[str] = set()
    for raw in out.split(b"\0"):
        if not raw:
            continue
        if raw in (b":files:", b":linkdirs:"):
            section = raw.decode().strip(":")
            continue
        name = os.fsdecode(raw)
        if len(name) > 1 and name.startswith("//"):
            name = name[1:]
        {"dirs": dirs.add, "files": others.append, "linkdirs": linkdirs.add}[section](name)
    return dirs, others, linkdirs


def _parent_and_name(p: str) -> tuple[str, str]:
    head, _, tail = p.rpartition("/")
    return head or "/", tail


def _walk_found(
    start: str, dirs: set[str], others: list[str], linkdirs: set[str]
) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk``'s answers, top-down, from the flat lists ``find`` printed.

    A link to a folder is listed among its parent's folders (as os.walk
    does) but never entered.
    """
    children: dict[str, tuple[list[str], list[str]]] = {d: ([], []) for d in dirs}
    for d in sorted(dirs):
        if d != start:
            parent, name = _parent_and_name(d)
            if parent in children:
                children[parent][0].append(name)
    for f in sorted(others):
        parent, name = _parent_and_name(f)
        if parent in children:
            children[parent][0 if f in linkdirs else 1].append(name)

    def visit(folder: str) -> Iterator[tuple[str, list[str], list[str]]]:
        subdirs, files = children[folder]
        subdirs.sort()
        files.sort()
        yield folder, subdirs, files
        for name in subdirs:
            child = folder.rstrip("/") + "/" + name
            if child in children and child not in linkdirs:
                yield from visit(child)

    if start in children:
        yield from visit(start)


class _CommandOutput:
    """A guest command's output as it streams: cut into lines, handed on as they come.

    The first line is the script's ``VW-RUN``, said just before the command
    starts: it is not the command's, and without it the command never ran.
    """

    def __init__(self, on_line: Optional[LineCallback]) -> None:
        self.on_line = on_line
        self.lines: list[str] = []
        self.pending = bytearray()
        self.first: Optional[bool] = None  # None until the first line: was it VW-RUN?

    @property
    def started(self) -> bool:
        return bool(self.first)

    def take(self, chunk: bytes) -> None:
        self.pending.extend(chunk)
        while True:
            cut = self.pending.find(b"\n")
            if cut < 0:
                return
            self._deliver(bytes(self.pending[:cut]))
            del self.pending[: cut + 1]

    def flush(self) -> None:
        """The last line, when the output did not end with a newline."""
        if self.pending:
            self._deliver(bytes(self.pending))

    def _deliver(self, raw: bytes) -> None:
        if self.first is None:
            self.first = raw == b"VW-RUN"
            if self.first:
                return
        line = decode_text(raw)
        self.lines.append(line)
        if self.on_line is not None:
            self.on_line(line)


class SSHTarget(TargetBase):
    """A live guest over SSH, implementing the whole ``Target`` protocol.

    Build it with :meth:`connect`; ``options`` are extra ``ssh`` arguments
    placed first (so they win over the defaults), e.g. ``["-F", cfg]``.
    """

    kind = "ssh"
    can_run = True
    temporary = False

    def __init__(
        self,
        spec: SSHSpec,
        *,
        options: Sequence[str] = (),
        ssh: str = "ssh",
    ) -> None:
        self.spec = spec
        self.options = tuple(options)
        self.ssh = ssh
        self.root = str(spec)
        self.live = True
        self.remote_user: Optional[str] = spec.user
        self.hostname = ""
        self._control_dir: Optional[str] = None
        self._session: Optional[Session] = None
        self._lock_fds: list[int] = []
        self._prefetched = False
        self._closed = False
        self._mutex = threading.RLock()
        self._dirs: dict[str, Optional[dict[str, Optional[Entry]]]] = {}
        self._probes: dict[str, Optional[Entry]] = {}
        self._contents: dict[str, bytes] = {}
        #: Round trips made (channels opened), for tests and the curious.
        self.round_trips = 0

    # ---- connection ------------------------------------------------------

    @classmethod
    def connect(
        cls, spec: str, *, options: Optional[Sequence[str]] = None, ssh: str = "ssh"
    ) -> SSHTarget:
        """Parse ``[USER@]HOST[:PORT]``, open the master connection, greet the shell.

        ``options=None`` takes them from ``$VIRTIO_WIZARD_SSH_OPTIONS``
        (:func:`options_from_env`), which is how the command line gets them.
        """
        if options is None:
            options = options_from_env()
        target = cls(parse_spec(spec), options=options, ssh=ssh)
        target.open()
        return target

    def _base_argv(self) -> list[str]:
        argv = [self.ssh, *self.options, "-o", "BatchMode=yes"]
        argv += ["-o", f"ConnectTimeout={CONNECT_TIMEOUT}"]
        if self._control_dir is not None:
            argv += ["-o", f"ControlPath={self._control_dir}/cm"]
        if self.spec.port:
            argv += ["-p", str(self.spec.port)]
        if self.spec.user:
            argv += ["-l", self.spec.user]
        return argv

    def open(self) -> None:
        """Start the master connection and check the guest's shell answers."""
        if shutil.which(self.ssh) is None and not os.path.exists(self.ssh):
            raise SSHError(self.root, f"'{self.ssh}' not found: install the OpenSSH client")
        self._control_dir = tempfile.mkdtemp(prefix="vw-ssh-")
        log = os.path.join(self._control_dir, "master.log")
        argv = self._base_argv() + [
            "-o",
            "ControlMaster=yes",
            "-o",
            f"ControlPersist={CONTROL_PERSIST}",
            "-o",
            "ServerAliveInterval=15",
            "-o",
            "ServerAliveCountMax=4",
            "-f",
            "-N",
            self.spec.host,
        ]
        # The backgrounded master keeps its stderr open: a file, never a pipe.
        with open(log, "wb") as err:
            rc = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        if rc != 0:
            with open(log, encoding="utf-8", errors="replace") as fh:
                message = fh.read()
            self._remove_control_dir()
            raise classify(self.root, message)
        atexit.register(self.close)
        out = self._check(
            "printf 'VW-OK\\n'; u=$(id -un 2>/dev/null) || u=; "
            '[ -n "$u" ] || u="uid-$(id -u)"; echo "$u"; '
            "uname -n 2>/dev/null || echo '?'; "
            "if [ -d /proc/self ]; then echo live; else echo offline; fi",
            what="greeting",
        )
        # Whatever the login shell's rc files printed comes first: skip it.
        text = out.decode("utf-8", "replace")
        lines = text[text.find("VW-OK\n") :].splitlines() if "VW-OK\n" in text else []
        if len(lines) < 4 or lines[0] != "VW-OK":
            self.close()
            raise RemoteShellError(
                self.root, f"the guest's /bin/sh did not answer as expected: {out[:80]!r}"
            )
        self.remote_user = self.spec.user or lines[1].strip()
        self.hostname = lines[2].strip()
        self.live = lines[3].strip() == "live"
        if not self.spec.user and self.remote_user:
            self.root = str(SSHSpec(self.spec.host, self.remote_user, self.spec.port))

    def close(self) -> None:
        """Close the master connection (idempotent; also run at exit)."""
        with self._mutex:
            if self._closed or self._control_dir is None:
                self._closed = True
                return
            self._closed = True
        if self._session is not None:
            self._session.close()
            self._session = None
        subprocess.call(
            self._base_argv() + ["-O", "exit", self.spec.host],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._remove_control_dir()
        with contextlib.suppress(Exception):
            atexit.unregister(self.close)

    def _remove_control_dir(self) -> None:
        if self._control_dir is not None:
            shutil.rmtree(self._control_dir, ignore_errors=True)

    def __enter__(self) -> SSHTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SSHTarget({self.root!r})"

    def describe(self) -> str:
        where = self.root + (f" ({self.hostname})" if self.hostname else "")
        return f"{where} over SSH"

    # ---- the channel -----------------------------------------------------

    def _session_argv(self) -> list[str]:
        """``ssh`` on the master connection running the guest's /bin/sh on our pipes."""
        return self._base_argv() + ["-o", "ControlMaster=no", self.spec.host, "exec /bin/sh"]

    def _start_session(self) -> None:
        self._session = Session(self._session_argv())
        self._session.send_raw(_PRELUDE + "\n")

    def _live_session(self) -> Session:
        if self._closed:
            raise SSHError(self.root, "the SSH connection is closed")
        if self._session is None:
            self._start_session()
        assert self._session is not None
        return self._session

    def _exec(
        self,
        script: str,
        data: Optional[bytes] = None,
        *,
        sink: Optional[Callable[[bytes], None]] = None,
        raw: bool = False,
    ) -> tuple[int, bytes, str]:
        """Run a helper script in the guest's /bin/sh: (exit code, stdout, stderr).

        One request on the long-lived session: no process start here, no new
        channel there, just the network round trip. ``data`` is sent after the
        script says it is ready for it (see :data:`_RECEIVE`). Exit code 255
        means the connection was lost; the stderr is then ssh's own message.
        """
        with self._mutex:
            self.round_trips += 1
            return self._live_session().request(script, data, sink=sink, raw=raw)

    def _check(self, script: str, data: Optional[bytes] = None, what: str = "") -> bytes:
        rc, out, err = self._exec(script, data)
        if rc == 255:
            raise classify(self.root, err, what or "a guest query")
        if rc != 0:
            detail = err.strip().splitlines()[-1] if err.strip() else f"exit status {rc}"
            raise TargetError(what or self.root, detail)
        return out

    def _invalidate(self) -> None:
        self._dirs.clear()
        self._probes.clear()
        self._contents.clear()

    # ---- metadata --------------------------------------------------------

    @staticmethod
    def _listing_script(folder: str) -> str:
        return (
            f"cd {_q(folder)} 2>/dev/null || exit {_RC_NOTFOUND}\n"
            "for f in * .[!.]* ..?*; do\n"
            '  if [ -e "$f" ] || [ -L "$f" ]; then printf \'%s\\000\' "$f"; fi\n'
            "done\n"
            "printf '\\000'\n"
            "ls -lnA 2>/dev/null\n"
            "exit 0\n"
        )

    @staticmethod
    def _parse_listing_output(out: bytes) -> dict[str, Optional[Entry]]:
        names: list[bytes] = []
        pos = 0
        while pos < len(out):
            end = out.find(b"\0", pos)
            if end < 0 or end == pos:
                break
            names.append(out[pos:end])
            pos = end + 1
        return parse_listing(names, out[pos + 1 :])

    def _listing(self, folder: str) -> Optional[dict[str, Optional[Entry]]]:
        """Entries of a resolved guest folder (one round trip, then cached).

        The first miss of a session also lists :data:`PREFETCH_FOLDERS` in
        the same round trip: detection asks about all of them anyway.
        """
        if folder in self._dirs:
            return self._dirs[folder]
        if not self._prefetched and not _is_proc(folder):
            self._prefetched = True
            self.prefetch([folder, *PREFETCH_FOLDERS])
            if folder in self._dirs:
                return self._dirs[folder]
        rc, out, err = self._exec(self._listing_script(folder))
        if rc == 255:
            raise classify(self.root, err, f"listing {folder}")
        if rc != 0:
            self._dirs[folder] = None
            return None
        result = self._parse_listing_output(out)
        self._dirs[folder] = result
        return result

    def prefetch(self, folders: Sequence[str]) -> int:
        """List several guest folders in one round trip into the listing cache.

        A folder with a symbolic link anywhere in its path is skipped (the
        cache is keyed by resolved paths; it is listed when first asked, as
        before), and so is ``/proc``. Returns how many folders were listed
        or found missing.
        """
        with self._mutex:
            self._prefetched = True
            todo: list[str] = []
            for folder in folders:
                folder = _norm(folder)
                if folder not in self._dirs and folder not in todo and not _is_proc(folder):
                    todo.append(folder)
            if not todo:
                return 0
            sep = "VW-SEP-" + secrets.token_hex(8)
            script = []
            for index, folder in enumerate(todo):
                comps = [c for c in folder.split("/") if c]
                links = " || ".join(
                    f"[ -L {_q('/' + '/'.join(comps[: k + 1]))} ]" for k in range(len(comps))
                )
                body = f"( eval {_q(self._listing_script(folder))} ); r=$?"
                script.append(
                    (f"if {links}; then r=9; else {body}; fi\n" if links else f"{body}\n")
                    + f"printf '\\n%s %s %s\\n' {sep} {index} $r\n"
                )
            rc, out, err = self._exec("".join(script))
            if rc == 255:
                raise classify(self.root, err, "listing folders")
            done = 0
            chunks = out.split(f"\n{sep} ".encode())
            # Section i is the text before the i-th separator; its status follows it.
            for index, folder in enumerate(todo):
                if index + 1 >= len(chunks):
                    break
                head = chunks[index + 1].split(b"\n", 1)[0].split()
                body = chunks[index]
                if index > 0:
                    body = body.split(b"\n", 1)[1] if b"\n" in body else b""
                status = int(head[1]) if len(head) == 2 and head[1].isdigit() else -1
                if status == 0:
                    self._dirs[folder] = self._parse_listing_output(body)
                    done += 1
                elif status == _RC_NOTFOUND:
                    self._dirs[folder] = None
                    done += 1
            return done

    def _probe(self, path: str, follow: bool) -> Optional[Entry]:
        """Ask the guest about one path directly (``/proc``, or names ls mangled)."""
        key = ("L:" if follow else "l:") + path
        if key in self._probes:
            return self._probes[key]
        flag = "L" if follow else ""
        script = f"ls -ldn{flag} -- {_q(path)} 2>/dev/null || exit {_RC_NOTFOUND}\n"
        rc, out, err = self._exec(script)
        if rc == 255:
            raise classify(self.root, err, f"checking {path}")
        entry: Optional[Entry] = None
        if rc == 0:
            parsed = parse_ls_line(out.rstrip(b"\n"))
            if parsed is not None:
                entry, rest = parsed
                if entry.is_link:
                    raw = os.fsencode(path)
                    cut = rest.find(raw + b" -> ")
                    cut = cut + len(raw) if cut >= 0 else rest.find(b" -> ")
                    link = os.fsdecode(rest[cut + 4 :]) if cut >= 0 else ""
                    entry = Entry(entry.mode, entry.uid, entry.gid, entry.size, link)
        if not (_is_proc(path)):
            self._probes[key] = entry
        return entry

    def _entry(self, parts: Sequence[str]) -> Optional[Entry]:
        """lstat of an already-resolved parent plus one name."""
        if not parts:
            return self._probe("/", follow=False)
        folder = "/" + "/".join(parts[:-1])
        listing = self._listing(folder)
        if listing is None or parts[-1] not in listing:
            return None
        entry = listing[parts[-1]]
        if entry is None:
            return self._probe("/" + "/".join(parts), follow=False)
        return entry

    def _resolve_parts(self, path: str, follow_last: bool = True) -> list[str]:
        """As LocalTarget: resolve links component by component, clamped to /."""

        def link_at(parts: list[str]) -> Optional[str]:
            entry = self._entry(parts)
            return (entry.link or "") if entry is not None and entry.is_link else None

        return resolve_parts(path, link_at, follow_last)

    def resolve(self, path: str) -> str:
        """The guest path with every symlink resolved (``/proc``: only made absolute)."""
        with self._mutex:
            if _is_proc(path):
                return _norm(path)
            return "/" + "/".join(self._resolve_parts(path))

    def _lstat(self, path: str, follow: bool = True) -> Optional[StatInfo]:
        """From the cached listings: mode, owner, size (mtime is not known: 0.0)."""
        with self._mutex:
            if _is_proc(path):
                entry = self._probe(_norm(path) if follow else path, follow)
            else:
                try:
                    parts = self._resolve_parts(path, follow_last=follow)
                except TargetError:
                    return None
                entry = self._entry(parts)
        return entry.info() if entry is not None else None

    def listdir(self, path: str) -> list[str]:
        """Sorted names in a guest folder; [] when it is missing or not a folder."""
        with self._mutex:
            if _is_proc(path):
                folder = _norm(path)
                self._dirs.pop(folder, None)
            else:
                try:
                    folder = "/" + "/".join(self._resolve_parts(path))
                except TargetError:
                    return []
            listing = self._listing(folder)
            if _is_proc(path):
                self._dirs.pop(folder, None)
            return sorted(listing) if listing else []

    def _walk_from(self, start: str) -> Iterator[tuple[str, list[str], list[str]]]:
        """The whole tree in one ``find`` run in the guest."""
        script = (
            f"[ -d {_q(start)} ] || exit {_RC_NOTFOUND}\n"
            f"find {_q(start)} -type d -print0 2>/dev/null\n"
            "printf ':files:\\000'\n"
            f"find {_q(start)} ! -type d -print0 2>/dev/null\n"
            "printf ':linkdirs:\\000'\n"
            f"find {_q(start)} -type l -exec test -d {{}} \\; -print0 2>/dev/null\n"
            "exit 0\n"
        )
        rc, out, err = self._exec(script)
        if rc == 255:
            raise classify(self.root, err, f"walking {start}")
        if rc == 0:
            yield from _walk_found(start, *_found_sections(out))

    # ---- reading ---------------------------------------------------------

    def _read_script(self, path: str, limit: Optional[int]) -> str:
        size_check = ""
        if limit is not None:
            size_check = (
                f'set -f; set -- $(ls -ldnL -- "$p" 2>/dev/null)\n'
                'case "$5" in *[!0-9]*|"") ;; '
                f'*) [ "$5" -le {limit} ] || exit {_RC_TOOLARGE};; esac\n'
            )
        return (
            f"p={_q(path)}\n"
            f'[ -e "$p" ] || exit {_RC_NOTFOUND}\n'
            f'[ -f "$p" ] || exit {_RC_NOTREGULAR}\n'
            f"{size_check}"
            "printf K\n"
            'exec cat -- "$p"\n'
        )

    def _read_error(self, path: str, rc: int, err: str, limit: Optional[int]) -> OSError:
        if rc == _RC_NOTFOUND:
            return RemoteNotFoundError(path, "no such file", errno.ENOENT)
        if rc == _RC_NOTREGULAR:
            return NotRegularFileError(path, "not a regular file", errno.EINVAL)
        if rc == _RC_TOOLARGE:
            return too_large(path, limit)
        if rc == 255:
            return classify(self.root, err, f"reading {path}")
        return TargetError(path, f"cannot read (exit status {rc}) {err.strip()}".strip())

    def read_bytes(self, path: str, limit: int = DEFAULT_READ_LIMIT) -> bytes:
        """The file's bytes; FileTooLargeError past ``limit`` (refused before sending).

        The guest refuses a file whose size is over the limit; a ``/proc``
        file (size 0 in ``ls``) that turns out bigger is drained, not kept.
        """
        with self._mutex:
            cached = self._contents.get(path)
        if cached is not None:
            if len(cached) > limit:
                raise too_large(path, limit)
            return cached
        data = bytearray()

        def keep(chunk: bytes) -> None:
            if len(data) <= limit + 1:
                data.extend(chunk[: limit + 2 - len(data)])

        rc, _out, err = self._exec(self._read_script(path, limit), sink=keep)
        if rc != 0 or not data.startswith(b"K"):
            raise self._read_error(path, rc, err, limit)
        if len(data) > limit + 1:
            raise too_large(path, limit)
        body = bytes(data[1:])
        if len(body) <= CONTENT_CACHE_LIMIT and not _is_proc(path):
            with self._mutex:
                self._contents[path] = body
        return body

    def open_binary(self, path: str) -> BinaryIO:
        """A seekable local copy of a regular guest file (big initrds stream to disk)."""
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller
        head = bytearray()

        def write(chunk: bytes) -> None:
            if not head:
                head.extend(chunk[:1])
                chunk = chunk[1:]
            spool.write(chunk)

        try:
            rc, _out, err = self._exec(self._read_script(path, None), sink=write)
        except BaseException:
            spool.close()
            raise
        if rc != 0 or head != b"K":
            spool.close()
            raise self._read_error(path, rc, err, None)
        spool.seek(0)
        return spool  # type: ignore[return-value]

    # ---- writing ---------------------------------------------------------

    def _resolved_for_write(self, path: str) -> tuple[str, Optional[Entry]]:
        with self._mutex:
            self._invalidate()
            parts = self._resolve_parts(path)
            if not parts:
                raise TargetError(path, "cannot write the root folder", errno.EISDIR)
            return "/" + "/".join(parts), self._entry(parts)

    @staticmethod
    def _checked_install(dest: str, size: int, sha256: str, md5: str, source: str) -> str:
        """Shell: fill ``$t`` from ``source``, check size and hash, then move it to ``dest``.

        The check is what makes a dropped connection harmless: a short or
        damaged temp file is removed and the old file stays.
        """
        return (
            f"p={_q(dest)}\n"
            'd=$(dirname -- "$p")\n'
            'b=$(basename -- "$p")\n'
            f'[ -d "$d" ] || exit {_RC_NOTFOUND}\n'
            f'if [ -e "$p" ] && [ ! -f "$p" ]; then exit {_RC_NOTREGULAR}; fi\n'
            't="$d/.$b.vw-$$"\n'
            "trap 'rm -f \"$t\"' 0\n"
            "trap 'exit 1' 1 2 13 15\n"
            "umask 077\n"
            f"{{ {source}\n}} || exit {_RC_BADDATA}\n"
            'set -f; set -- $(ls -ldn -- "$t")\n'
            f'[ "$5" = {size} ] || exit {_RC_BADDATA}\n'
            "if command -v sha256sum >/dev/null 2>&1; then\n"
            f'  h=$(sha256sum < "$t"); [ "${{h%% *}}" = {sha256} ] || exit {_RC_BADDATA}\n'
            "elif command -v md5sum >/dev/null 2>&1; then\n"
            f'  h=$(md5sum < "$t"); [ "${{h%% *}}" = {md5} ] || exit {_RC_BADDATA}\n'
            "fi\n"
        )

    @staticmethod
    def _receive(size: int) -> str:
        """Shell: the request's payload of ``size`` bytes into ``$t`` (see :data:`_RECEIVE`)."""
        return f"n={int(size)}\n{_RECEIVE}"

    def _finish(self, rc: int, err: str, path: str, what: str) -> None:
        if rc == 0:
            return
        if rc == 255:
            raise classify(self.root, err, what)
        if rc == _RC_NOTFOUND:
            raise RemoteNotFoundError(path, "no such file or folder", errno.ENOENT)
        if rc == _RC_NOTREGULAR:
            raise NotRegularFileError(path, "not a regular file", errno.EINVAL)
        if rc == _RC_ISDIR:
            raise TargetError(path, "is a folder", errno.EISDIR)
        if rc == _RC_BADDATA:
            raise ConnectionLostError(
                self.root,
                f"{what}: the bytes that arrived were incomplete or damaged; the old file "
                "was kept: run again",
                errno.EIO,
            )
        detail = err.strip().splitlines()[-1] if err.strip() else f"exit status {rc}"
        raise TargetError(path, f"{what} failed: {detail}")

    def write_file(
        self,
        path: str,
        data: bytes,
        mode: Optional[int] = None,
        uid: Optional[int] = None,
        gid: Optional[int] = None,
    ) -> str:
        """Replace a guest file atomically (temp file, check, sync, mv); mode/owner kept.

        The real file behind a symlink is written. Returns the resolved path.
        """
        real, old = self._resolved_for_write(path)
        mode, uid, gid = kept_owner(path, old.info() if old else None, mode, uid, gid)
        script = self._checked_install(
            real,
            len(data),
            hashlib.sha256(data).hexdigest(),
            hashlib.md5(data).hexdigest(),
            self._receive(len(data)),
        ) + (
            f'chmod {mode:o} "$t" || exit 1\n'
            f'if [ "$(id -u)" = 0 ]; then chown {int(uid)}:{int(gid)} "$t" || exit 1; fi\n'
            f"{_SYNC_MOVE}"
        )
        self._change(script, real, f"writing {real}", data)
        return real

    def _guest_path(self, path: str, follow_last: bool = True) -> str:
        """``path`` resolved in the guest, on fresh answers: a change is about to be made."""
        with self._mutex:
            self._invalidate()
            return "/" + "/".join(self._resolve_parts(path, follow_last=follow_last))

    def _change(self, script: str, path: str, what: str, data: Optional[bytes] = None) -> None:
        """Run a script that changes the guest and judge its exit status (``_finish``).

        What the cache knew is forgotten however the script ends, a lost
        connection included: the change may have happened.
        """
        try:
            rc, _out, err = self._exec(script, data)
        finally:
            self._invalidate()
        self._finish(rc, err, path, what)

    def makedirs(self, path: str, mode: int = 0o755) -> None:
        target = self._guest_path(path)
        script = (
            f"p={_q(target)}\n"
            f'if [ ! -d "$p" ]; then mkdir -p -- "$p" && chmod {mode:o} "$p" || exit 1; fi\n'
        )
        self._change(script, target, f"creating {target}")

    def remove(self, path: str) -> None:
        """Remove a guest file (the link itself when ``path`` is a symlink)."""
        target = self._guest_path(path, follow_last=False)
        script = (
            f"p={_q(target)}\n"
            f'[ -L "$p" ] || [ -e "$p" ] || exit {_RC_NOTFOUND}\n'
            f'if [ -d "$p" ] && [ ! -L "$p" ]; then exit {_RC_ISDIR}; fi\n'
            'rm -f -- "$p" || exit 1\n'
            'sync "$(dirname -- "$p")" 2>/dev/null\n'
        )
        self._change(script, target, f"removing {target}")

    def rename(self, src: str, dst: str) -> None:
        """Move regular file ``src`` over ``dst`` (the real file behind a link) in one rename."""
        real, _old = self._resolved_for_write(dst)
        source = self._guest_path(src, follow_last=False)
        script = (
            f"s={_q(source)}\n"
            f"p={_q(real)}\n"
            f'[ -f "$s" ] && [ ! -L "$s" ] || exit {_RC_NOTFOUND}\n'
            f'if [ -e "$p" ] && [ ! -f "$p" ]; then exit {_RC_NOTREGULAR}; fi\n'
            'mv -f -- "$s" "$p" || exit 1\n'
            'sync "$(dirname -- "$p")" 2>/dev/null\n'
        )
        self._change(script, real, f"renaming {source} to {real}")

    def copy_file(self, src: str, dst: str) -> None:
        """Copy a regular guest file to ``dst`` atomically, keeping mode, owner and times."""
        real, _old = self._resolved_for_write(dst)
        script = (
            f"s={_q(src)}\n"
            f'[ -e "$s" ] || exit {_RC_NOTFOUND}\n'
            f'[ -f "$s" ] || exit {_RC_NOTREGULAR}\n'
            f"p={_q(real)}\n"
            'd=$(dirname -- "$p"); b=$(basename -- "$p")\n'
            f'[ -d "$d" ] || exit {_RC_NOTFOUND}\n'
            't="$d/.$b.vw-$$"\n'
            "trap 'rm -f \"$t\"' 0\n"
            "trap 'exit 1' 1 2 13 15\n"
            'cp -p -- "$s" "$t" || exit 1\n'
            f"{_SYNC_MOVE}"
        )
        rc, _out, err = self._exec(script)
        self._invalidate()
        if rc == _RC_NOTFOUND:
            raise RemoteNotFoundError(src, "no such file", errno.ENOENT)
        self._finish(rc, err, src, f"copying {src} to {real}")

    def free_bytes(self, path: str) -> Optional[int]:
        """Free space on the guest file system holding ``path`` (``df -kP``), or None."""
        rc, out, _err = self._exec(f"df -kP -- {_q(path)} 2>/dev/null")
        if rc != 0:
            return None
        lines = [ln for ln in out.decode("utf-8", "replace").splitlines() if ln.strip()]
        if len(lines) < 2:
            return None
        fields = lines[-1].split()
        try:
            return int(fields[-3]) * 1024
        except (IndexError, ValueError):
            return None

    def write_problem(self, path: str) -> Optional[str]:
        """None: over SSH a write that cannot be done fails at once and is
        reported as such (each goes through a temp file and a rename)."""
        return None

    # ---- commands --------------------------------------------------------

    def command_problem(self) -> Optional[str]:
        """None: commands run in the guest itself, as the login user."""
        return None

    def run(self, argv: Sequence[str], on_line: Optional[LineCallback] = None) -> RunResult:
        """Run ``argv`` in the guest (from /, PATH with /sbin), output streamed by line.

        The command runs in the session shell like any request, with its
        stderr joined to its stdout and lines handed on as they arrive; the
        end marker that follows gives its exit status. So a long
        ``mkinitrd`` needs no second channel, and a connection that drops
        under it ends the stream without a marker: ConnectionLostError.
        """
        if not argv:
            raise TargetError("", "empty command")
        self._invalidate()
        command = " ".join(shlex.quote(a) for a in argv)
        script = (
            f"command -v {shlex.quote(argv[0])} >/dev/null 2>&1 || exit {_RC_NOTFOUND}\n"
            "echo VW-RUN\n"
            "cd / && HOME=/root && export HOME && LANG=C && export LANG\n"
            # The lock's descriptors stay with the session shell, not with
            # whatever the command leaves running.
            "exec 2>&1 7>&- 8>&- 9>&-\n"
            f"{command} </dev/null\n"
        )
        out = _CommandOutput(on_line)
        try:
            rc, _out, err = self._exec(script, sink=out.take)
            out.flush()
        finally:
            self._invalidate()
        if rc == 255:
            what = f"running {' '.join(argv)}" if out.first is not None else f"starting {argv[0]}"
            raise classify(self.root, err, what)
        if not out.started:
            if rc == _RC_NOTFOUND:
                raise TargetError(argv[0], "command not found", errno.ENOENT)
            raise RemoteShellError(self.root, f"{argv[0]} did not start (exit status {rc})")
        return RunResult(tuple(argv), rc, "\n".join(out.lines))

    @contextlib.contextmanager
    def lock(self, path: str) -> Iterator[None]:
        """Hold the apply lock on the guest; LockedError if a live holder has it.

        Two locks, so that every kind of holder sees every other:

        - ``flock`` on ``path`` itself when the guest has ``flock`` (util-linux
          or busybox): the session shell opens the file on a descriptor of its
          own and keeps it open, which is exactly what a wizard run *on* the
          guest (``LocalTarget.lock``) takes; the kernel drops it when the
          shell dies with the connection.
        - the folder ``path.d`` (``mkdir`` is atomic everywhere), holding the
          session shell's pid, for guests without ``flock`` (RHEL 3/4);
          ``LocalTarget.lock`` checks and takes it too. A folder whose pid is
          gone was left by a dropped connection and is cleared as stale.
        """
        lock_file = _norm(path)
        folder = lock_file + ".d"
        with self._mutex:
            fd = 9 - len(self._lock_fds)
            if fd < 7:
                raise TargetError(path, "too many locks held at once", errno.EBUSY)
            self._lock_fds.append(fd)
        try:
            self._invalidate()
            use_flock = self._lock_prepare(lock_file)
            if use_flock:
                self._lock_flock(path, lock_file, fd)
            try:
                self._lock_folder(path, folder)
            except BaseException:
                if use_flock:
                    self._lock_release_fd(fd)
                raise
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    self._exec(f'rm -rf -- {_q(folder)}\nsync "$(dirname -- {_q(folder)})"\n')
                if use_flock:
                    self._lock_release_fd(fd)
                self._invalidate()
        finally:
            with self._mutex:
                self._lock_fds.remove(fd)

    def _lock_prepare(self, lock_file: str) -> bool:
        """Create the lock file's folder and the file; True when the guest has ``flock``."""
        script = (
            f"L={_q(lock_file)}\n"
            'mkdir -p -- "$(dirname -- "$L")" || exit 1\n'
            ': >> "$L" || exit 1\n'
            "if command -v flock >/dev/null 2>&1; then echo flock; else echo mkdir; fi\n"
        )
        rc, out, err = self._exec(script)
        if rc == 255:
            raise classify(self.root, err, f"locking {lock_file}")
        if rc != 0:
            detail = err.strip().splitlines()[-1] if err.strip() else f"exit status {rc}"
            raise TargetError(lock_file, f"cannot create the lock file: {detail}")
        return out.strip() == b"flock"

    def _lock_flock(self, path: str, lock_file: str, fd: int) -> None:
        """``flock -n`` on a descriptor of the session shell itself (kept until release)."""
        script = (
            f": >> {_q(lock_file)} && exec {fd}>>{_q(lock_file)}\n"
            f"if flock -n {fd}; then r=0; else r=1; exec {fd}>&-; cat -- {_q(lock_file)}; fi\n"
            "(exit $r)\n"
        )
        rc, out, err = self._exec(script, raw=True)
        if rc == 255:
            raise classify(self.root, err, f"locking {lock_file}")
        if rc != 0:
            holder = out.decode("utf-8", "replace").strip().splitlines()
            raise LockedError(
                path,
                "another virtio-wizard is applying to this guest"
                + (f" (guest pid {holder[0].strip()})" if holder and holder[0].strip() else ""),
                errno.EBUSY,
            )

    def _lock_release_fd(self, fd: int) -> None:
        with contextlib.suppress(OSError):
            self._exec(f"exec {fd}>&-\n", raw=True)

    def _lock_folder(self, path: str, folder: str) -> None:
        """``mkdir path.d`` with the session shell's pid inside; stale folders are cleared."""
        script = (
            f"L={_q(folder)}\n"
            'if ! mkdir -- "$L" 2>/dev/null; then\n'
            '  pid=$(cat "$L/pid" 2>/dev/null)\n'
            '  if [ -z "$pid" ]; then sleep 1; pid=$(cat "$L/pid" 2>/dev/null); fi\n'
            '  case "$pid" in *[!0-9]*) pid= ;; esac\n'
            '  if [ -n "$pid" ] && { kill -0 "$pid" 2>/dev/null || [ -d "/proc/$pid" ]; }; then\n'
            f'    echo "$pid"; exit {_RC_LOCKED}\n'
            "  fi\n"
            '  rm -rf -- "$L"\n'
            f'  mkdir -- "$L" 2>/dev/null || exit {_RC_LOCKED}\n'
            "fi\n"
            # $$ is the session shell (a subshell keeps its parent's $$): it
            # lives exactly as long as the connection.
            'echo $$ > "$L/pid" || exit 1\n'
        )
        rc, out, err = self._exec(script)
        if rc == 0:
            return
        if rc == _RC_LOCKED:
            holder = out.decode("utf-8", "replace").strip()
            raise LockedError(
                path,
                "another virtio-wizard is applying to this guest"
                + (f" (guest pid {holder})" if holder else ""),
                errno.EBUSY,
            )
        if rc == 255:
            raise classify(self.root, err, f"locking {folder}")
        raise TargetError(folder, f"cannot create the lock folder: {err.strip()}")
