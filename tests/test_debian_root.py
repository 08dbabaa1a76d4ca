"""The cached Debian 12 root of the boot tests is built once, even by two runs at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests import debian_root


def test_two_runs_that_find_no_cache_build_it_once(tmp_path, monkeypatch):
    monkeypatch.setenv("VIRTIO_WIZARD_TEST_CACHE", str(tmp_path))
    builds = []

    def slow_build(root: Path, stamp: Path) -> Path:
        builds.append(root)
        time.sleep(0.5)  # the other run arrives while this one builds
        (root / "boot").mkdir(parents=True)
        stamp.write_text("ok\n")
        return root

    monkeypatch.setattr(debian_root, "_debootstrap", slow_build)
    got = []
    runs = [threading.Thread(target=lambda: got.append(debian_root.build_root())) for _ in "ab"]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=30)
    assert len(builds) == 1
    assert got == [tmp_path / "debian12-root"] * 2


# ---- which mirror: the Debian archive entry of the sources apt reads ---------------

DEBIAN_SOURCES = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def apt_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "sources.list.d").mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def mirror(tmp_path: Path, files: dict[str, str]):
    return debian_root.apt_mirror(debian_root.apt_sources(str(apt_dir(tmp_path, files))))


def test_only_the_files_apt_reads_are_read(tmp_path):
    base = apt_dir(
        tmp_path,
        {
            "sources.list": "",
            "sources.list.d/a.list": "",
            "sources.list.d/b.sources": "",
            "sources.list.d/c.list.disabled-by-farm": "",
            "sources.list.d/d.sources.save": "",
        },
    )
    names = [Path(f).name for f in debian_root.apt_sources(str(base))]
    assert names == ["sources.list", "a.list", "b.sources"]


def test_the_deb822_debian_entry_is_chosen(tmp_path):
    assert mirror(tmp_path, {"sources.list.d/debian.sources": DEBIAN_SOURCES}) == (
        "http://deb.debian.org/debian"
    )


def test_a_third_party_repository_for_the_same_suite_is_not_the_mirror(tmp_path):
    files = {
        "sources.list.d/docker.list": "deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.gpg] "
        "https://download.docker.com/linux/debian bookworm stable\n",
        "sources.list.d/sury.list": "deb https://packages.sury.org/php/ bookworm main\n",
        "sources.list.d/mongo.list": "deb http://repo.mongodb.org/apt/debian "
        "bookworm/mongodb-org/7.0 main\n",
        "sources.list.d/debian.sources": DEBIAN_SOURCES,
    }
    assert mirror(tmp_path, files) == "http://deb.debian.org/debian"


def test_a_one_line_mirror_for_the_suite_is_taken(tmp_path):
    files = {"sources.list": "deb http://ftp.de.debian.org/debian/ bookworm main contrib\n"}
    assert mirror(tmp_path, files) == "http://ftp.de.debian.org/debian/"


def test_the_debian_archive_of_another_release_serves_bookworm_too(tmp_path):
    """A trixie machine's mirror is the same archive: debootstrap asks it for bookworm."""
    files = {
        "sources.list.d/debian.sources": DEBIAN_SOURCES.replace("bookworm", "trixie"),
        "sources.list.d/other.list": "deb https://example.org/apt trixie main\n",
    }
    assert mirror(tmp_path, files) == "http://deb.debian.org/debian"


def test_no_debian_archive_no_mirror(tmp_path):
    files = {
        "sources.list": "deb http://archive.ubuntu.com/ubuntu jammy main\n"
        "deb http://security.debian.org/debian-security bookworm-security main\n"
    }
    assert mirror(tmp_path, files) is None


def test_a_missing_prerequisite_fails_under_ci_and_skips_elsewhere(monkeypatch):
    import pytest

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run this test"):
        debian_root.skip_or_fail("no qemu")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        debian_root.skip_or_fail("no qemu")
