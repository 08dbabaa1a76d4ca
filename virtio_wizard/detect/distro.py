"""Which distribution and release the guest is.

os-release(5) first (``/etc/os-release``, then ``/usr/lib/os-release``), then
the older files in a fixed order, as libguestfs's inspection does:
lsb-release, redhat-release (and centos-release), fedora-release,
SuSE-release, debian_version, arch-release. The parsing is written by hand on
purpose: the ``distro`` package returns an empty id for Debian 5, Ubuntu 10.10
and Arch roots of that age (KNOWLEDGE.md section 1), and these are exactly the
guests this wizard exists for.

Versions come out as a sysadmin says them: ``release 3 (Taroon Update 9)`` is
``"3.9"``, ``release 5 (Tikanga)`` is ``"5"`` (5 GA), SUSE's ``VERSION = 11``
with ``PATCHLEVEL = 3`` is ``"11.3"``.
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING, Optional

from ..facts import Distro, Unreadable
from ._read import note, read_guest_text

if TYPE_CHECKING:
    from ..targets import Target

__all__ = [
    "detect_distro",
    "detect_not_linux",
    "family_of",
    "parse_os_release",
    "parse_release_line",
    "parse_suse_release",
    "RELEASE_FILES",
]

Problems = Optional[list[Unreadable]]

#: The old release files, in the order they are tried (after os-release).
RELEASE_FILES: tuple[str, ...] = (
    "/etc/lsb-release",
    "/etc/redhat-release",
    "/etc/centos-release",
    "/etc/fedora-release",
    "/etc/SuSE-release",
    "/etc/debian_version",
    "/etc/arch-release",
)

_FAMILIES: dict[str, tuple[str, ...]] = {
    "redhat": (
        "rhel",
        "centos",
        "fedora",
        "scientific",
        "oracle",
        "ol",
        "rocky",
        "almalinux",
        "redhat",
    ),
    "suse": ("sles", "sled", "opensuse", "suse"),
    "debian": ("debian", "ubuntu"),
    "arch": ("arch",),
}
_FAMILY_OF = {i: fam for fam, ids in _FAMILIES.items() for i in ids}
#: ID_LIKE words that name a family (os-release(5) lists parents there).
_LIKE_FAMILY = {"rhel": "redhat", "fedora": "redhat", "centos": "redhat", "suse": "suse"}
_LIKE_FAMILY.update({"debian": "debian", "ubuntu": "debian", "arch": "arch"})

#: Product names in redhat-release-style lines -> id. Longest match first.
_RH_NAMES: tuple[tuple[str, str], ...] = (
    ("red hat enterprise linux", "rhel"),
    ("centos", "centos"),
    ("scientific linux", "scientific"),
    ("oracle linux", "oracle"),
    ("enterprise linux enterprise linux", "oracle"),
    ("rocky linux", "rocky"),
    ("almalinux", "almalinux"),
    ("fedora", "fedora"),
    ("red hat linux", "redhat"),
)
_RELEASE_RE = re.compile(
    r"^(?P<name>.*?)\s+release\s+(?P<version>\d+(?:\.\d+)*)\S*(?:\s*\((?P<code>[^)]*)\))?",
    re.IGNORECASE,
)
_UPDATE_RE = re.compile(r"\bupdate\s+(\d+)", re.IGNORECASE)


def family_of(distro_id: str, id_like: str = "") -> str:
    """The family an id belongs to, else the first family named in ID_LIKE.

    >>> family_of("centos")
    'redhat'
    >>> family_of("linuxmint", "ubuntu debian")
    'debian'
    """
    if distro_id in _FAMILY_OF:
        return _FAMILY_OF[distro_id]
    for word in id_like.split():
        if word in _LIKE_FAMILY:
            return _LIKE_FAMILY[word]
        if word.startswith("opensuse") or word.startswith("sles"):
            return "suse"
    return "unknown"


def _normal_id(raw: str) -> str:
    """os-release ids as this wizard names them (all openSUSE flavours are one)."""
    raw = raw.strip().lower()
    if raw.startswith("opensuse"):
        return "opensuse"
    return raw


def _unquote(value: str) -> str:
    """A shell-style value of os-release(5); tolerant of broken quoting."""
    value = value.strip()
    try:
        parts = shlex.split(value, comments=False, posix=True)
    except ValueError:
        return value.strip("\"'")
    return " ".join(parts)


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value pairs of an os-release / lsb-release style file.

    >>> parse_os_release('ID=debian\\nVERSION_ID="12"\\n# c\\n')["VERSION_ID"]
    '12'
    """
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            out[key] = _unquote(value)
    return out


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def parse_release_line(line: str) -> Optional[tuple[str, str, str]]:
    """``(id, name, version)`` from a redhat-release style first line, or None.

    >>> parse_release_line("Red Hat Enterprise Linux ES release 3 (Taroon Update 9)")
    ('rhel', 'Red Hat Enterprise Linux ES', '3.9')
    >>> parse_release_line("Red Hat Enterprise Linux Server release 5 (Tikanga)")
    ('rhel', 'Red Hat Enterprise Linux Server', '5')
    """
    m = _RELEASE_RE.match(line.strip())
    if m is None:
        return None
    name = m.group("name").strip()
    lowered = name.lower()
    distro_id = next((i for key, i in _RH_NAMES if key in lowered), None)
    if distro_id is None:
        return None
    version = m.group("version")
    update = _UPDATE_RE.search(m.group("code") or "")
    if update is not None and "." not in version:
        version = f"{version}.{update.group(1)}"
    return distro_id, name, version


def parse_suse_release(text: str) -> Optional[tuple[str, str, str]]:
    """``(id, name, version)`` from /etc/SuSE-release, or None.

    >>> parse_suse_release("SLES 11 (x86_64)\\nVERSION = 11\\nPATCHLEVEL = 3")
    ('sles', 'SLES 11 (x86_64)', '11.3')
    """
    name = _first_line(text)
    if not name:
        return None
    lowered = name.lower()
    if "opensuse" in lowered:
        distro_id = "opensuse"
    elif "desktop" in lowered:
        distro_id = "sled"
    elif "suse" in lowered or lowered.startswith("sles"):
        distro_id = "sles"
    else:
        return None
    keys: dict[str, str] = {}
    for line in text.splitlines()[1:]:
        key, sep, value = line.partition("=")
        if sep:
            keys[key.strip().upper()] = value.strip()
    version = keys.get("VERSION", "")
    if not version:
        m = re.search(r"\b(\d+(?:\.\d+)?)\b", name)
        version = m.group(1) if m else ""
    patch = keys.get("PATCHLEVEL", "")
    if version and "." not in version and patch.isdigit() and int(patch) > 0:
        version = f"{version}.{patch}"
    return distro_id, name, version


def _from_os_release(text: str, source: str) -> Optional[Distro]:
    keys = parse_os_release(text)
    raw_id = keys.get("ID", "")
    if not raw_id:
        return None
    distro_id = _normal_id(raw_id)
    name = keys.get("NAME", "") or raw_id
    pretty = keys.get("PRETTY_NAME", "") or name
    return Distro(
        id=distro_id,
        name=name,
        version=keys.get("VERSION_ID", ""),
        family=family_of(distro_id, keys.get("ID_LIKE", "").lower()),
        source=source,
        release_line=pretty,
    )


def _from_old_file(path: str, text: str) -> Optional[Distro]:
    """One of RELEASE_FILES parsed by its own syntax; None when it says nothing."""
    line = _first_line(text)
    if path == "/etc/lsb-release":
        keys = parse_os_release(text)
        raw_id = keys.get("DISTRIB_ID", "")
        if not raw_id:
            return None  # RHEL's redhat-lsb writes only LSB_VERSION here
        distro_id = _normal_id(raw_id.replace(" ", ""))
        if distro_id == "redhatenterpriseserver" or distro_id.startswith("redhatenterprise"):
            distro_id = "rhel"
        return Distro(
            id=distro_id,
            name=raw_id,
            version=keys.get("DISTRIB_RELEASE", ""),
            family=family_of(distro_id),
            source=path,
            release_line=keys.get("DISTRIB_DESCRIPTION", "") or line,
        )
    if path in ("/etc/redhat-release", "/etc/centos-release", "/etc/fedora-release"):
        parsed = parse_release_line(line)
        if parsed is None:
            return None
        distro_id, name, version = parsed
        return Distro(distro_id, name, version, family_of(distro_id), path, line)
    if path == "/etc/SuSE-release":
        parsed = parse_suse_release(text)
        if parsed is None:
            return None
        distro_id, name, version = parsed
        return Distro(distro_id, name, version, family_of(distro_id), path, line)
    if path == "/etc/debian_version":
        if not line:
            return None
        return Distro("debian", "Debian GNU/Linux", line, "debian", path, line)
    if path == "/etc/arch-release":
        # The file is usually empty: its presence is the whole message.
        return Distro("arch", "Arch Linux", "", "arch", path, line)
    return None


def detect_distro(target: Target, problems: Problems = None) -> Distro:
    """The guest's distribution; ``Distro()`` (id ``unknown``) when nothing says.

    A file that exists but cannot be used (binary, not a regular file, no
    recognisable line) is recorded in ``problems`` and the next one is tried.
    """
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        text = read_guest_text(target, path, problems)
        if text is None:
            continue
        found = _from_os_release(text, path)
        if found is not None:
            return found
        note(problems, path, "no ID= line")
    for path in RELEASE_FILES:
        text = read_guest_text(target, path, problems)
        if text is None:
            continue
        found = _from_old_file(path, text)
        if found is not None:
            return found
        if path != "/etc/lsb-release":
            note(problems, path, "no release line this wizard recognises")
    return Distro()


def _find_ci(target: Target, folder: str, name: str) -> Optional[str]:
    """The entry of ``folder`` whose name matches ``name`` ignoring case (NTFS)."""
    for entry in target.listdir(folder):
        if entry.lower() == name.lower():
            return folder.rstrip("/") + "/" + entry
    return None


def detect_not_linux(target: Target) -> Optional[str]:
    """A sentence when the root is not a Linux guest this wizard can help, else None.

    A Windows system disk (``Windows/System32``, any case, no ``/etc``) is named
    as such: its virtio drivers are the virtio-win ones, out of scope here.
    Anything else (an empty folder, a data disk) is plainly no Linux guest:
    nothing there says Windows, so nothing is said about Windows.
    """
    if target.is_dir("/etc"):
        return None
    windows = _find_ci(target, "/", "Windows")
    if windows is not None and _find_ci(target, windows, "System32") is not None:
        return (
            "This is a Windows system disk (Windows/System32 found, no /etc): Windows "
            "guests use the virtio-win drivers (viostor, NetKVM, ...), which are out of "
            "scope for this wizard."
        )
    if not any(target.is_dir(p) for p in ("/bin", "/usr", "/boot", "/lib", "/sbin")):
        what = (
            "the folder is empty"
            if not target.listdir("/")
            else "it has no /etc, /bin, /usr, /lib or /boot"
        )
        return f"No Linux guest was found in {target.root}: {what}."
    return None
