"""After the switch: is the running guest really on virtio?

Not to be confused with ``apply.verify``, which detects the guest again right
after an apply (before any reboot) and says what is left to do. This module
runs *after* the VM was powered off, switched to virtio on the host and
started again, on the running guest (local or ``--ssh``), and checks what the
user cares about then:

- ``root-on-virtio``: the root file system sits on a virtio disk (through
  device-mapper too): ``/proc/self/mountinfo`` gives its ``major:minor``,
  ``/sys/dev/block/MAJ:MIN`` the device path, which runs through a
  ``virtioN`` node on a virtio disk;
- ``swap-active``: every fstab swap is in ``/proc/swaps`` (the guide's swap
  on ``/dev/hda3`` that silently goes missing);
- ``mounts-present``: every fstab file system is mounted;
- ``nics-virtio``: each NIC runs on ``virtio_net`` under the name the guest's
  configuration gives it (a new MAC renames it);
- ``journal``: the last apply finished and is pending verification;
- ``survives-update`` and ``initrd-root-needs``: the next boot, from the
  Facts detected once (``verify_next``).

Each problem carries a structured remedy (``verify_report``), worded by
each face. When all hold, the journal's apply is marked verified (so the TUI
stops opening on its "Welcome back" screen). An offline root has no running
system to ask: ``NotLiveError``. Documented as schema
``virtio-wizard/verify/2`` in docs/apply.md.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from ..detect._read import read_guest_text
from ..detect.nics import expected_nics, live_nics
from ..finding import Remedy, choose
from ..journal import DONE, changed_anything, latest_journal, timestamp, write_journal
from ..knowledge import LEGACY_DISK_RE
from ..targets import Target
from .verify_next import check_next_root, check_update
from .verify_report import Check, Problem, VerifyReport, host_remedy

__all__ = ["NotLiveError", "verify_live", "pending_verification"]

#: File systems that are not on a disk: never "missing" for this check.
_PSEUDO_FS = frozenset(
    {"proc", "sysfs", "devpts", "tmpfs", "devtmpfs", "usbfs", "binfmt_misc", "cgroup", "cgroup2"}
    | {"securityfs", "debugfs", "efivarfs", "rpc_pipefs", "nfsd", "configfs", "mqueue", "hugetlbfs"}
)
_VIRTIO_NODE = re.compile(r"/virtio\d+/")


class NotLiveError(ValueError):
    """The target is not a running system (an offline root, the demo): exit 3."""


# ---- the running system's tables ----------------------------------------------


def _unescape(text: str) -> str:
    """mountinfo/fstab escape spaces and tabs as octal (``\\040``)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def _mountinfo(target: Target) -> list[dict[str, str]]:
    """Mounts of the running system: mountpoint, maj:min, fstype, source."""
    text = read_guest_text(target, "/proc/self/mountinfo", None) or ""
    out = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        rest = right.split()
        if not sep or len(fields) < 5 or len(rest) < 2:
            continue
        out.append(
            {
                "devno": fields[2],
                "mountpoint": _unescape(fields[4]),
                "fstype": rest[0],
                "source": _unescape(rest[1]),
            }
        )
    return out


def _fstab(target: Target) -> list[tuple[int, str, str, str, str]]:
    """(line, device, mountpoint, fstype, options) of each fstab entry."""
    text = read_guest_text(target, "/etc/fstab", None) or ""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if len(words) < 3 or words[0].startswith("#"):
            continue
        options = words[3] if len(words) > 3 else "defaults"
        out.append((n, _unescape(words[0]), _unescape(words[1]), words[2], options))
    return out


def _device_path(target: Target, device: str) -> Optional[str]:
    """``UUID=``/``LABEL=``/a /dev path -> the guest path of the device node."""
    for prefix, folder in (
        ("UUID=", "/dev/disk/by-uuid/"),
        ("LABEL=", "/dev/disk/by-label/"),
        ("PARTUUID=", "/dev/disk/by-partuuid/"),
    ):
        if device.upper().startswith(prefix):
            return folder + device[len(prefix) :].strip("\"'")
    return device if device.startswith("/") else None


def _canonical(target: Target, device: str) -> Optional[str]:
    """The device node a name stands for (links followed), None when it does not exist."""
    path = _device_path(target, device)
    if path is None or not target.exists(path):
        return None
    return target.resolve(path)


def _rename_remedy(what: str, by: str, then: tuple[str, ...]) -> Remedy:
    """Name ``what`` in /etc/fstab by a name that survives the bus change, then use it.

    The wizard writes that edit when it fixes the disk names (its choice).
    """
    return Remedy(
        f"Name {what} by {by} or by its /dev/vdX name in /etc/fstab, then run the command "
        "below; a new plan that fixes the disk names writes that edit.",
        (choose(fix_disk_names=True),),
        then,
    )


def _legacy_hint(device: str) -> str:
    """'(it is /dev/vda3 on virtio)' for a /dev/hdX or /dev/sdX name."""
    match = LEGACY_DISK_RE.match(device)
    if not match:
        return ""
    new = f"/dev/vd{match.group(2)}{match.group(3)}"
    return f" (a disk on virtio is /dev/vdX: {new}, if the order held)"


# ---- the checks ---------------------------------------------------------------------


def _block_is_virtio(target: Target, devno: str, depth: int = 0) -> Optional[bool]:
    """Whether block device MAJ:MIN sits on virtio (through dm slaves); None: cannot tell."""
    link = target.readlink(f"/sys/dev/block/{devno}")
    if not link:
        return None
    if _VIRTIO_NODE.search(link + "/"):
        return True
    name = link.rstrip("/").rsplit("/", 1)[-1]
    slaves = target.listdir(f"/sys/block/{name}/slaves") if depth < 4 else []
    if slaves:
        answers = []
        for slave in slaves:
            dev = read_guest_text(target, f"/sys/class/block/{slave}/dev", None)
            answers.append(_block_is_virtio(target, dev.strip(), depth + 1) if dev else None)
        if all(a is True for a in answers):
            return True
        if any(a is False for a in answers):
            return False
        return None
    return False


def _check_root(target: Target, mounts: list[dict[str, str]]) -> Check:
    title = "the root file system is on a virtio disk"
    root = [m for m in mounts if m["mountpoint"] == "/"]
    if not root:
        problem = Problem(
            "/proc/self/mountinfo has no entry for /",
            "/proc is not mounted, or this is not the guest's running system",
            Remedy(
                "Run the check inside the running guest, or reach that guest over SSH.",
                command=("virtio-wizard", "--ssh", "root@GUEST", "verify"),
            ),
        )
        return Check("root-on-virtio", title, "no root mount found", (problem,))
    mount = root[-1]
    answer = _block_is_virtio(target, mount["devno"])
    source = mount["source"]
    link = target.readlink(f"/sys/dev/block/{mount['devno']}")
    if link:
        # The kernel's own name for it (mountinfo may say /dev/root or a mapper name).
        source = "/dev/" + link.rstrip("/").rsplit("/", 1)[-1]
    if answer is None and source.startswith("/dev/"):
        if re.match(r"^/dev/vd[a-z]+\d*$", source):
            answer = True
        elif LEGACY_DISK_RE.match(source):
            answer = False
    detail = f"/ is {source} ({mount['fstype']}, device {mount['devno']})"
    if answer is True:
        return Check("root-on-virtio", title, detail)
    if answer is False:
        problem = Problem(
            f"/ is on {source}, which is not a virtio disk",
            "the VM still presents the boot disk on its emulated bus (or the boot disk was kept "
            "emulated on purpose)",
            host_remedy("its disk bus"),
        )
    else:
        problem = Problem(
            f"cannot tell which disk holds / ({source}, {mount['fstype']})",
            "the root is not on a block device this check can follow (a container, NFS, "
            "an overlay)",
            Remedy(
                "Look at the disks and /sys/block/*/device: a virtio disk sits under a "
                "virtioN node.",
                command=("lsblk",),
            ),
        )
    return Check("root-on-virtio", title, detail, (problem,))


def _check_swap(target: Target, fstab: list[tuple[int, str, str, str, str]]) -> Check:
    title = "every swap in /etc/fstab is active"
    text = read_guest_text(target, "/proc/swaps", None) or ""
    active = set()
    for line in text.splitlines()[1:]:
        if line.split():
            name = _unescape(line.split()[0])
            active.add(_canonical(target, name) or name)
    wanted = [e for e in fstab if e[3] == "swap" and "noauto" not in e[4].split(",")]
    problems = []
    for line, device, _mp, _fs, _opts in wanted:
        node = _canonical(target, device)
        if node is None:
            problems.append(
                Problem(
                    f"fstab line {line}: swap on {device}, which does not exist",
                    f"the name changed with the bus{_legacy_hint(device)}: the guide's "
                    "swap-on-/dev/hda3 problem",
                    _rename_remedy("the swap", "UUID= (blkid shows it)", ("swapon", "-a")),
                )
            )
        elif node not in active:
            problems.append(
                Problem(
                    f"fstab line {line}: swap on {device} is not active",
                    "swapon failed at boot or the area has no swap signature",
                    Remedy("Turn it on by hand and read its error.", command=("swapon", device)),
                )
            )
    detail = f"{len(wanted)} swap line(s) in /etc/fstab, {len(active)} active area(s)"
    return Check("swap-active", title, detail, tuple(problems))


def _check_mounts(
    target: Target, fstab: list[tuple[int, str, str, str, str]], mounts: list[dict[str, str]]
) -> Check:
    title = "every file system in /etc/fstab is mounted"
    mounted = {m["mountpoint"] for m in mounts}
    wanted = [
        e
        for e in fstab
        if e[2].startswith("/")
        and e[3] not in _PSEUDO_FS
        and e[3] != "swap"
        and "noauto" not in e[4].split(",")
    ]
    problems = []
    for line, device, mountpoint, _fs, _opts in wanted:
        if mountpoint in mounted:
            continue
        if _canonical(target, device) is None:
            cause = f"{device} does not exist: the name changed with the bus{_legacy_hint(device)}"
            fix = _rename_remedy("it", "UUID= or LABEL=", ("mount", "-a"))
        else:
            cause = "the mount failed at boot (its file system, or a missing driver)"
            fix = Remedy(
                "Mount it by hand and read its error (dmesg).", command=("mount", mountpoint)
            )
        problems.append(Problem(f"fstab line {line}: {mountpoint} is not mounted", cause, fix))
    detail = f"{len(wanted)} file system(s) in /etc/fstab, {len(wanted) - len(problems)} mounted"
    return Check("mounts-present", title, detail, tuple(problems))


def _check_nics(target: Target, net_switched: bool) -> Check:
    title = "each NIC runs on virtio_net under its old name"
    live = live_nics(target)
    expected = expected_nics(target)
    names = {n.name: n for n in live}
    problems = []
    for nic in live:
        if nic.driver != "virtio_net" and net_switched:
            problems.append(
                Problem(
                    f"{nic.name} runs on {nic.driver or 'an unknown driver'}, not virtio_net",
                    "the VM's NIC model is not virtio yet",
                    host_remedy(f"its NIC model (keeping the MAC {nic.mac or 'it has now'})"),
                )
            )
    for exp in expected:
        have = names.get(exp.name)
        if have is None:
            moved = [n for n in live if exp.mac is None or n.mac != exp.mac]
            renamed = [n.name for n in moved if n.name not in {e.name for e in expected}]
            cause = (
                f"the NIC came up as {', '.join(renamed)}: its MAC changed, and {exp.source} "
                "names the interface by the old one"
                if renamed
                else "no NIC with that name: the virtio_net driver is not loaded, or the VM "
                "has no NIC"
            )
            fix = (
                f"Put the old MAC {exp.mac} back in the VM definition (<mac address='{exp.mac}'/>)"
                if exp.mac
                else "Keep the old MAC in the VM definition"
            ) + f", or update {exp.source}."
            problems.append(
                Problem(f"{exp.name} (named in {exp.source}) is missing", cause, Remedy(fix))
            )
        elif exp.mac and have.mac and exp.mac != have.mac:
            problems.append(
                Problem(
                    f"{exp.name} has MAC {have.mac}, {exp.source} expects {exp.mac}",
                    "the VM's MAC changed with the NIC model",
                    Remedy(f"Put {exp.mac} back in the VM definition, or update {exp.source}."),
                )
            )
    shown = ", ".join(f"{n.name} ({n.driver or '?'})" for n in live) or "none"
    detail = f"NICs: {shown}"
    if not net_switched:
        detail += "; the last apply did not prepare the NIC driver"
    return Check("nics-virtio", title, detail, tuple(problems))


def _check_journal(journal: Optional[dict[str, Any]]) -> Check:
    title = "the journal's last apply"
    if journal is None:
        return Check("journal", title, "no apply journal on this guest: nothing to confirm")
    jid, status = journal["id"], journal.get("status")
    if journal.get("undone"):
        return Check("journal", title, f"the last apply ({jid}) was undone on {journal['undone']}")
    if status != DONE:
        problem = Problem(
            f"the last apply ({jid}) did not finish: {status}",
            "it stopped part-way (an error, a lost connection, a kill)",
            Remedy(
                "Run the same apply again (it resumes where it stopped), or undo it.",
                command=("virtio-wizard", "undo"),
            ),
        )
        return Check("journal", title, f"apply {jid}: {status}", (problem,))
    if journal.get("verified"):
        return Check("journal", title, f"apply {jid} was verified on {journal['verified']}")
    if not changed_anything(journal):
        return Check("journal", title, f"apply {jid} changed nothing")
    return Check("journal", title, f"apply {jid} is pending verification")


def pending_verification(target: Target) -> Optional[dict[str, Any]]:
    """The last apply when it finished, changed the guest and awaits ``verify``; else None.

    Only a running guest can be verified; a demo copy never is (each run is a new copy).
    """
    if not getattr(target, "live", False) or getattr(target, "temporary", False):
        return None
    try:
        journal = latest_journal(target)
    except OSError:
        return None
    if journal is None or journal.get("status") != DONE or journal.get("undone"):
        return None
    if journal.get("verified") or not changed_anything(journal):
        return None
    return journal


def _detect(target: Target) -> tuple[Any, str]:
    """The guest's Facts for the next-boot checks, detected once; (None, why) on failure."""
    from ..detect import detect

    try:
        return detect(target), ""
    except (OSError, ValueError) as exc:
        return None, str(exc)


def verify_live(target: Target, *, record: bool = True) -> VerifyReport:
    """Run every check on the running guest; mark the journal verified when all hold."""
    if getattr(target, "temporary", False):
        raise NotLiveError(
            f"{target.describe()} is a copy made for this run, not a running guest: "
            "verify checks a real guest after the switch, from inside it"
        )
    if not getattr(target, "live", False):
        raise NotLiveError(
            f"{target.describe()} is not a running system: verify checks the guest after the "
            "switch from inside it (run it there, or with --ssh)"
        )
    journal = latest_journal(target)
    choices = ((journal or {}).get("plan") or {}).get("choices") or {}
    net_switched = bool(choices.get("net", True)) if journal and not journal.get("undone") else True
    mounts = _mountinfo(target)
    fstab = _fstab(target)
    facts, error = _detect(target)
    checks = (
        _check_root(target, mounts),
        _check_swap(target, fstab),
        _check_mounts(target, fstab, mounts),
        _check_nics(target, net_switched),
        _check_journal(journal),
        check_update(target, journal, facts),
        check_next_root(target, journal, facts, error),
    )
    notes: list[str] = []
    recorded = False
    if record and all(c.ok for c in checks) and pending_verification(target) is not None:
        assert journal is not None
        journal = dict(journal)
        journal.pop("path", None)
        journal["verified"] = timestamp()
        try:
            write_journal(target, journal)
            recorded = True
        except OSError as exc:
            notes.append(f"the journal could not be marked verified: {exc}")
    return VerifyReport(
        target.describe(),
        checks,
        journal["id"] if journal else None,
        recorded,
        tuple(notes),
    )
