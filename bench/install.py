"""The wizard as the README installs it, and the bare inflate under every initrd read.

Why a venv: what a user runs is ``python3 -m venv .venv && .venv/bin/pip install
.`` and then the ``virtio-wizard`` console script, with the dependencies
``pyproject.toml`` declares and nothing else (no test extra: no
``backports.zstd``, whatever this Python happens to have). The bench makes
that venv once per ``pyproject.toml`` content, from PyPI through pip, and
reinstalls the package into it from the working tree on every run, so the
figures are of the code as it is now and of the dependencies as declared.

Why a floor: an initrd read inflates the whole image (a module's absence is
known only at the end). ``INFLATE_CODE`` inflates the same images with the
same library and nothing else, in a fresh Python: what no reader of those
images in Python can go below.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Optional

__all__ = ["INFLATE_CODE", "boot_images", "readme_venv", "zstd_cli_floor"]

REPO = Path(__file__).resolve().parent.parent

#: Inflates each image given on the command line to nothing, 1 MiB at a time,
#: with the library the wizard uses in that Python (the fastest installed).
INFLATE_CODE = r"""
import sys
def zstd_reader(fh):
    try:
        from compression import zstd
    except ImportError:
        try:
            from backports import zstd
        except ImportError:
            zstd = None
    if zstd is not None:
        return zstd.ZstdFile(fh)
    import zstandard
    d = zstandard.ZstdDecompressor()
    return d.stream_reader(fh, read_size=1 << 20, read_across_frames=True)
def gzip_reader(fh):
    try:
        from isal import igzip as gzip
    except ImportError:
        import gzip
    return gzip.open(fh)
for path in sys.argv[1:]:
    with open(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(0)
        reader = zstd_reader(fh) if head == b"\x28\xb5\x2f\xfd" else gzip_reader(fh)
        while reader.read(1 << 20):
            pass
"""


def boot_images(boot: str = "/boot") -> list[str]:
    """The initrd images in ``boot`` a live ``detect`` reads (backups and kdump left out)."""
    try:
        names = sorted(os.listdir(boot))
    except OSError:
        return []
    found = []
    for name in names:
        if not name.startswith(("initrd.img-", "initramfs-", "initrd-")):
            continue
        if "kdump" in name or name.endswith((".orig", ".old", ".bak")):
            continue
        path = os.path.join(boot, name)
        if os.path.isfile(path):
            found.append(path)
    return found


def zstd_cli_floor(images: list[str]) -> Optional[tuple[str, ...]]:
    """``zstd -dc``/``zcat`` of the images to /dev/null: the C tools' own inflate, or None."""
    tool = "zstd" if _all_zstd(images) else "gzip"
    if not images or shutil.which(tool) is None:
        return None
    import shlex

    quoted = " ".join(shlex.quote(p) for p in images)
    return ("sh", "-c", f"{tool} -dc {quoted} >/dev/null")


def _all_zstd(images: list[str]) -> bool:
    for path in images:
        with open(path, "rb") as fh:
            if fh.read(4) != b"\x28\xb5\x2f\xfd":
                return False
    return True


def readme_venv(work: Path, log: Callable[[str], None]) -> Optional[Path]:
    """A venv with the package installed as the README says; None when pip cannot make it.

    The venv (``work/venv-readme-HASH``, HASH of ``pyproject.toml``) is made
    once, ``pip install`` resolving the declared dependencies from the
    index; the package is reinstalled from a copy of the working tree's
    ``pyproject.toml``, ``README.md`` and ``virtio_wizard/`` each run.
    """
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()[:12]
    venv = work / f"venv-readme-{digest}"
    marker = venv / ".complete"
    src = work / "readme-src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(
        REPO / "virtio_wizard",
        src / "virtio_wizard",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    try:
        if not marker.exists():
            if venv.exists():
                shutil.rmtree(venv)
            log(f"making the README's venv (once, {venv}): pip install . ...")
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([*pip, str(src)], check=True, capture_output=True)
            marker.write_text("ok\n")
        else:
            subprocess.run(
                [*pip, "--no-deps", "--force-reinstall", str(src)], check=True, capture_output=True
            )
    except (OSError, subprocess.CalledProcessError) as exc:
        tail = getattr(exc, "stderr", b"") or b""
        log(f"the README's venv could not be made ({exc}): {tail.decode(errors='replace')[-300:]}")
        return None
    return venv
