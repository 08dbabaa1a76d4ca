"""``python bench/image.py``: ``--image`` detection against ``virt-inspector`` on the same image.

What the user waits for with ``--image`` is the libguestfs appliance: both
commands start one, inspect the guest and read its files. The reference is
libguestfs's own ``virt-inspector --no-applications -a IMAGE`` (inspection
plus its XML report; the package list is left out, as the wizard reads
none); the measured command is ``virtio-wizard --image IMAGE detect --json``
(inspection, mounting, and every read detection makes, initrd images
included). Interleaved rounds, median of per-round ratios.

The image is the RHEL 5.3 fixture guest made with ``virt-make-fs`` (or
``--image FILE`` of your own). Needs libguestfs-tools and python3-guestfs;
where KVM is unusable set ``LIBGUESTFS_BACKEND_SETTINGS=force_tcg`` for both
sides (the script does, unless you set it).

    python bench/image.py [--repeat N] [--image FILE]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))

from image_fixture import make_image, why_not  # noqa: E402

from bench.measure import Case, compare  # noqa: E402


def _fixture_image(work: Path) -> Path:
    """The RHEL 5.3 fixture on one partition, its fstab naming that partition as root.

    (The fixture's fstab names an LVM root; virt-inspector mounts by fstab
    and would fail on a one-partition image, the wizard mounts what
    inspection found.)
    """
    guest = work / "rhel53"
    shutil.copytree(HERE.parent / "tests/roots/rhel53", guest, symlinks=True)
    fstab = guest / "etc/fstab"
    fstab.write_text(fstab.read_text().replace("/dev/VolGroup00/LogVol00", "/dev/sda1", 1))
    return make_image(guest, work / "rhel53.qcow2")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench/image.py", description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, metavar="N", help="rounds (default 3)")
    p.add_argument("--image", metavar="FILE", help="an image of your own (default: a fixture)")
    args = p.parse_args(argv)
    reason = why_not()
    if reason:
        print(f"bench/image.py: cannot run here: {reason}", file=sys.stderr)
        return 2
    env = {"LIBGUESTFS_BACKEND_SETTINGS": os.environ["LIBGUESTFS_BACKEND_SETTINGS"]}
    with tempfile.TemporaryDirectory() as work:
        image = args.image or str(_fixture_image(Path(work)))
        cases = [
            Case(
                "virtio-wizard --image detect --json",
                (sys.executable, "-m", "virtio_wizard", "--image", image, "detect", "--json"),
                env=env,
                cwd=str(HERE.parent),
            ),  # fmt: skip
            Case(
                "virt-inspector --no-applications -a",
                ("virt-inspector", "--no-applications", "-a", image),
                env=env,
            ),  # fmt: skip
        ]
        result = compare(cases, args.repeat)
    mine, ref = (result.times(c.label) for c in cases)
    ratio = result.ratio(cases[0].label)
    print(f"virt-inspector: median {ref.median:.1f} s ({ref.low:.1f}-{ref.high:.1f})")
    print(f"virtio-wizard --image detect: median {mine.median:.1f} s "
          f"({mine.low:.1f}-{mine.high:.1f})")  # fmt: skip
    print(f"ratio: {ratio.median:.2f}x (spread {ratio.low:.2f}-{ratio.high:.2f}, n={ratio.n})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
