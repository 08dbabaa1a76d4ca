"""detect/distro.py: release strings as users say them, file order, and broken files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from virtio_wizard.detect.distro import (
    detect_distro,
    detect_not_linux,
    family_of,
    parse_os_release,
    parse_release_line,
    parse_suse_release,
)
from virtio_wizard.facts import Unreadable


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Red Hat Enterprise Linux ES release 3 (Taroon Update 9)", ("rhel", "3.9")),
        ("Red Hat Enterprise Linux AS release 4 (Nahant Update 8)", ("rhel", "4.8")),
        ("Red Hat Enterprise Linux WS release 4 (Nahant)", ("rhel", "4")),
        ("Red Hat Enterprise Linux Server release 5.3 (Tikanga)", ("rhel", "5.3")),
        ("Red Hat Enterprise Linux Server release 5 (Tikanga)", ("rhel", "5")),
        ("Red Hat Enterprise Linux Server release 6.7 (Santiago)", ("rhel", "6.7")),
        ("CentOS release 4.8 (Final)", ("centos", "4.8")),
        ("CentOS release 5.3 (Final)", ("centos", "5.3")),
        ("CentOS Linux release 7.9.2009 (Core)", ("centos", "7.9.2009")),
        ("Fedora Core release 4 (Stentz)", ("fedora", "4")),
        ("Fedora release 19 (Schrödinger’s Cat)", ("fedora", "19")),
        ("Scientific Linux release 6.10 (Carbon)", ("scientific", "6.10")),
        ("Rocky Linux release 9.3 (Blue Onyx)", ("rocky", "9.3")),
        ("Red Hat Linux release 9 (Shrike)", ("redhat", "9")),
    ],
)
def test_release_lines_give_the_version_a_user_says(line, expected):
    distro_id, _name, version = parse_release_line(line)
    assert (distro_id, version) == expected


@pytest.mark.parametrize(
    "line", ["", "Linux", "release 5", "Mandrake Linux release 10.0 (Official)", "\x00\x01"]
)
def test_unknown_release_lines_are_not_guessed(line):
    assert parse_release_line(line) is None


def test_update_number_does_not_override_an_explicit_minor():
    assert parse_release_line("Foo CentOS release 5.3 (Update 9)")[2] == "5.3"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 3\n", "11.3"),
        ("SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 0\n", "11"),
        ("SUSE Linux Enterprise Server 10 (i586)\nVERSION = 10\nPATCHLEVEL = 4", "10.4"),
        ("openSUSE 13.1 (x86_64)\nVERSION = 13.1\nCODENAME = Bottle", "13.1"),
        ("openSUSE 12.3 (x86_64)", "12.3"),
    ],
)
def test_suse_release_version_and_patchlevel(text, expected):
    assert parse_suse_release(text)[2] == expected


def test_suse_ids():
    assert parse_suse_release("openSUSE 13.1 (x86_64)\nVERSION = 13.1")[0] == "opensuse"
    assert parse_suse_release("SUSE Linux Enterprise Desktop 11 (x86_64)")[0] == "sled"
    assert parse_suse_release("Something else\nVERSION = 1") is None
    assert parse_suse_release("") is None


def test_os_release_quoting_and_comments():
    keys = parse_os_release(
        '# comment\nNAME="Rocky Linux"\nID=\'rocky\'\nBROKEN="unterminated\n'
        "not a pair\n9BAD=x\nVERSION_ID=9.3\n"
    )
    assert keys["NAME"] == "Rocky Linux"
    assert keys["ID"] == "rocky"
    assert keys["BROKEN"] == "unterminated"
    assert keys["VERSION_ID"] == "9.3"
    assert "9BAD" not in keys


@pytest.mark.parametrize(
    ("distro_id", "like", "family"),
    [
        ("rhel", "", "redhat"),
        ("almalinux", "", "redhat"),
        ("ol", "", "redhat"),
        ("sles", "", "suse"),
        ("ubuntu", "", "debian"),
        ("arch", "", "arch"),
        ("linuxmint", "ubuntu debian", "debian"),
        ("opensuse", "", "suse"),
        ("sle_hpc", "sles suse", "suse"),
        ("gentoo", "", "unknown"),
    ],
)
def test_family(distro_id, like, family):
    assert family_of(distro_id, like) == family


# ---- whole-root detection ------------------------------------------------------


def test_os_release_wins_over_older_files(tree):
    t = tree(
        {
            "etc/os-release": 'ID="rhel"\nVERSION_ID="9.2"\nNAME="Red Hat Enterprise Linux"\n'
            'ID_LIKE="fedora"\nPRETTY_NAME="Red Hat Enterprise Linux 9.2 (Plow)"\n',
            "etc/redhat-release": "Red Hat Enterprise Linux release 9.2 (Plow)\n",
        }
    )
    d = detect_distro(t)
    assert (d.id, d.version, d.family, d.source) == ("rhel", "9.2", "redhat", "/etc/os-release")
    assert d.release_line == "Red Hat Enterprise Linux 9.2 (Plow)"


def test_usr_lib_os_release_is_the_fallback(tree):
    t = tree({"usr/lib/os-release": "ID=opensuse-leap\nVERSION_ID=15.5\nNAME=openSUSE Leap\n"})
    d = detect_distro(t)
    assert (d.id, d.version, d.family, d.source) == (
        "opensuse",
        "15.5",
        "suse",
        "/usr/lib/os-release",
    )


def test_os_release_without_id_falls_through_and_is_recorded(tree):
    t = tree({"etc/os-release": "NAME=whatever\n", "etc/debian_version": "5.0.10\n"})
    problems: list[Unreadable] = []
    d = detect_distro(t, problems)
    assert (d.id, d.version, d.source) == ("debian", "5.0.10", "/etc/debian_version")
    assert Unreadable("/etc/os-release", "no ID= line") in problems


def test_rhel_lsb_release_without_distrib_id_is_skipped(tree):
    t = tree(
        {
            "etc/lsb-release": "LSB_VERSION=base-4.0-amd64:base-4.0-noarch:core-4.0-amd64\n",
            "etc/redhat-release": "Red Hat Enterprise Linux Server release 5.3 (Tikanga)\n",
        }
    )
    problems: list[Unreadable] = []
    d = detect_distro(t, problems)
    assert (d.id, d.version, d.source) == ("rhel", "5.3", "/etc/redhat-release")
    assert problems == []


def test_ubuntu_from_lsb_release(tree):
    t = tree(
        {
            "etc/lsb-release": "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=10.04\n"
            'DISTRIB_DESCRIPTION="Ubuntu 10.04 LTS"\n',
            "etc/debian_version": "squeeze/sid\n",
        }
    )
    d = detect_distro(t)
    assert (d.id, d.version, d.family, d.release_line) == (
        "ubuntu",
        "10.04",
        "debian",
        "Ubuntu 10.04 LTS",
    )


def test_centos_release_is_read_when_redhat_release_is_missing(tree):
    t = tree({"etc/centos-release": "CentOS release 4.8 (Final)\n"})
    d = detect_distro(t)
    assert (d.id, d.version, d.source) == ("centos", "4.8", "/etc/centos-release")


def test_redhat_release_symlink_to_centos_release(tree):
    t = tree(
        {
            "etc/centos-release": "CentOS release 5.3 (Final)\n",
            "etc/redhat-release": Path("centos-release"),
        }
    )
    d = detect_distro(t)
    assert (d.id, d.version, d.source) == ("centos", "5.3", "/etc/redhat-release")


def test_fedora_release_in_utf8_keeps_the_curly_quote(tree):
    line = "Fedora release 19 (Schrödinger’s Cat)"
    t = tree({"etc/fedora-release": (line + "\n").encode("utf-8")})
    d = detect_distro(t)
    assert (d.id, d.version, d.release_line) == ("fedora", "19", line)


def test_latin1_release_file_is_read_not_refused(tree):
    line = "Red Hat Enterprise Linux ES release 3 (Taroon Update 9 é)\n"
    t = tree({"etc/redhat-release": line.encode("latin-1")})
    d = detect_distro(t)
    assert (d.id, d.version) == ("rhel", "3.9")
    assert d.release_line.endswith("é)")


def test_arch_release_may_be_empty(tree):
    d = detect_distro(tree({"etc/arch-release": ""}))
    assert (d.id, d.family, d.source) == ("arch", "arch", "/etc/arch-release")


def test_empty_release_files_are_skipped_and_named(tree):
    t = tree({"etc/redhat-release": "", "etc/debian_version": "\n\n"})
    problems: list[Unreadable] = []
    d = detect_distro(t, problems)
    assert d.id == "unknown" and d.family == "unknown" and d.source is None
    assert {(p.path, p.reason) for p in problems} == {
        ("/etc/redhat-release", "no release line this wizard recognises"),
        ("/etc/debian_version", "no release line this wizard recognises"),
    }


def test_binary_garbage_is_recorded_and_the_next_file_used(tree):
    t = tree(
        {
            "etc/os-release": b"\x00\xff\xfe ID=evil\x00",
            "etc/redhat-release": bytes(range(256)),
            "etc/debian_version": "6.0.10\n",
        }
    )
    problems: list[Unreadable] = []
    d = detect_distro(t, problems)
    assert (d.id, d.version) == ("debian", "6.0.10")
    reasons = {p.path: p.reason for p in problems}
    assert reasons["/etc/os-release"] == "binary data where text was expected"
    assert reasons["/etc/redhat-release"] == "binary data where text was expected"


def test_fifo_and_folder_where_a_file_should_be(tree):
    t = tree({"etc/debian_version": "12.1\n", "etc/redhat-release/.keep": ""})
    os.mkfifo(os.path.join(t.root, "etc", "os-release"))
    problems: list[Unreadable] = []
    d = detect_distro(t, problems)  # must not block on the FIFO
    assert (d.id, d.version) == ("debian", "12.1")
    reasons = {p.path: p.reason for p in problems}
    assert reasons["/etc/os-release"] == "not a regular file"
    assert reasons["/etc/redhat-release"] == "not a regular file"


def test_symlink_loop_is_recorded(tree):
    t = tree({"etc/os-release": Path("os-release"), "etc/arch-release": ""})
    problems: list[Unreadable] = []
    assert detect_distro(t, problems).id == "arch"
    assert [p.path for p in problems] == ["/etc/os-release"]
    assert "symbolic links" in problems[0].reason


def test_nothing_at_all_is_unknown(tree):
    problems: list[Unreadable] = []
    d = detect_distro(tree({"etc/hostname": "x\n"}), problems)
    assert d.id == "unknown" and d.version == "" and problems == []


def test_windows_root_is_not_linux(tree):
    message = detect_not_linux(tree({"WINDOWS/system32/ntoskrnl.exe": b"MZ"}))
    assert message is not None
    assert "Windows" in message and "virtio-win" in message and "out of scope" in message


def test_folder_without_any_system_is_not_linux(tree):
    target = tree({"photos/cat.jpg": b"\xff\xd8"})
    message = detect_not_linux(target)
    assert (
        message
        == f"No Linux guest was found in {target.root}: it has no /etc, /bin, /usr, /lib or /boot."
    )


def test_an_empty_folder_is_plainly_no_linux_guest(tree):
    """An empty directory is not a Windows guest: no word of Windows."""
    target = tree({})
    assert (
        detect_not_linux(target)
        == f"No Linux guest was found in {target.root}: the folder is empty."
    )


def test_linux_roots_are_linux(tree):
    assert detect_not_linux(tree({"etc/hostname": "x\n"})) is None
    assert detect_not_linux(tree({"usr/bin/ls": b""})) is None
    # A Windows folder on a Linux root (a Samba share, say) does not make it Windows.
    assert detect_not_linux(tree({"etc/fstab": "", "Windows/System32/x": ""})) is None
