"""Part ``live``: ``detect --json`` on this machine as if a distro kernel package were installed.

Kept apart from ``parts.py`` because it re-runs the bench inside a private
mount namespace, a machinery of its own; the comparisons inside are those of
part ``detect`` (see ``parts.live_cases``).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from .measure import Stats
from .parts import (
    HERE,
    Row,
    Setup,
    _compression_of,
    debian_kernel,
    live_cases,
    live_rows,
    shlex_quote,
)

__all__ = ["LIVE_ENV", "live_kernel"]

#: Set inside the private mount namespace of part ``live`` (see ``live_kernel``).
LIVE_ENV = "VW_BENCH_LIVE_NAMESPACE"


def _live_layout(setup: Setup) -> tuple[Path, Path, str, str]:
    """(lib folder holding ``modules/``, boot folder, kernel version, image compression).

    The Debian root's module tree is hard-linked (or copied) into the work
    folder; its boot files likewise, the initramfs recompressed with
    ``zstd -q -9`` when zstd(1) is there: what initramfs-tools 0.142 writes
    on Debian 12 once zstd is installed (``COMPRESS=zstd``, its default level).
    """
    assert setup.debian_root
    kver, guest_path = debian_kernel(setup.debian_root)
    src = Path(setup.debian_root)
    live = setup.work / "live" / kver
    lib, boot = live / "lib", live / "boot"
    marker = live / ".complete"
    if not marker.exists():
        if live.exists():
            shutil.rmtree(live)
        lib.mkdir(parents=True)
        boot.mkdir()
        _link_tree(src / "lib/modules", lib / "modules")
        for item in (src / "boot").iterdir():
            if item.name.startswith("initrd.img-"):
                continue
            _link_tree(item, boot / item.name)
        image = src / guest_path.lstrip("/")
        out = boot / image.name
        if shutil.which("zstd") and _compression_of(str(image)) == "gzip":
            import subprocess

            pipe = f"zcat {shlex_quote(str(image))} | zstd -q -9"
            with open(out, "wb") as fh:
                subprocess.run(pipe, shell=True, stdout=fh, check=True)
        else:
            shutil.copy2(image, out)
        marker.write_text("ok\n")
    return lib, boot, kver, _compression_of(str(boot / f"initrd.img-{kver}"))


def _link_tree(src: Path, dst: Path) -> None:
    """Hard links where the file system allows (fast, no space), else a copy."""
    import subprocess

    if subprocess.run(["cp", "-al", str(src), str(dst)], capture_output=True).returncode != 0:
        subprocess.run(["cp", "-a", str(src), str(dst)], check=True)


def live_kernel(setup: Setup) -> list[Row]:
    """``detect --json`` on this machine as if ``linux-image-amd64`` were installed.

    A live target (``/``, the running kernel, its /proc and /sys) whose
    ``/boot`` and ``/lib/modules`` hold a Debian 12 kernel package: the bench
    re-runs itself in a private mount namespace (``unshare -m``) where the
    Debian root's ``/boot`` is bind-mounted and its module tree is overlaid
    on ``/usr/lib``; the machine's own folders are never touched. Both sides
    of every comparison run inside that namespace.
    """
    if not setup.debian_root:
        setup.log("2b/4 live: skipped (needs --debian-root with a kernel package)")
        return []
    if os.environ.get(LIVE_ENV) == "1":
        return _live_rows(setup)
    if os.geteuid() != 0 or not shutil.which("unshare"):
        setup.log("2b/4 live: skipped (needs root and unshare(1) for a private mount namespace)")
        return []
    import json
    import subprocess
    import tempfile

    lib, boot, _kver, _fmt = _live_layout(setup)
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        modules = shlex_quote(str(lib / "modules"))
        mounts = (
            # A machine with a module tree of its own gets it hidden by a bind
            # mount; one without gets the folder through an overlay of /usr/lib.
            f"if [ -d /usr/lib/modules ]; then mount --bind {modules} /usr/lib/modules; "
            f"else mount -t overlay overlay -o lowerdir=/usr/lib:{shlex_quote(str(lib))} "
            f'/usr/lib; fi && mount --bind {shlex_quote(str(boot))} /boot && exec "$@"'
        )
        argv = [
            "unshare", "-m", "--propagation", "private", "sh", "-c", mounts, "sh",
            sys.executable, str(HERE / "run.py"), "--parts", "live",
            "--repeat", str(setup.repeats), "--work", str(setup.work),
            "--debian-root", setup.debian_root, "--json", out.name,
        ]  # fmt: skip
        setup.log("2b/4 live detect with a distro kernel installed (private mount namespace) ...")
        env = {**os.environ, LIVE_ENV: "1"}
        proc = subprocess.run(argv, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"live part: {proc.stderr.strip().splitlines()[-3:]}")
        with open(out.name, encoding="utf-8") as fh:
            doc = json.load(fh)
    return [_row_from_dict(r) for r in doc["rows"]]


def _row_from_dict(data: dict) -> Row:
    fields = {k: v for k, v in data.items() if k != "verdict"}
    fields["ratio"] = Stats(**fields["ratio"])
    return Row(**fields)


def _live_rows(setup: Setup) -> list[Row]:
    """Inside the namespace: the comparisons of part ``detect``, on the Debian kernel."""
    kver, guest_path = debian_kernel(setup.debian_root or "/")
    shown = (sorted(os.listdir("/lib/modules")), sorted(os.listdir("/boot")))
    if shown != ([kver], sorted(os.listdir(setup.work / "live" / kver / "boot"))):
        raise RuntimeError(f"the namespace shows {shown}, not only kernel {kver}")
    cases, targets, ref, note = live_cases(setup, [guest_path])
    note = f"this machine's live / with Debian 12's linux-image-amd64 {kver}; {note}"
    return live_rows("live detect", cases, targets, ref, note, setup.repeats)
