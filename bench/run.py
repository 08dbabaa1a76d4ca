"""``python bench/run.py``: virtio-wizard's speed claims, measured as ratios.

Every figure is a ratio against a reference run in the same rounds
(interleaved, fresh processes, median of per-round ratios with spread), so a
busy or a fast machine changes both sides alike. See docs/benchmarks.md.

    python bench/run.py                    # all parts, 9 rounds each
    python bench/run.py --quick            # 3 rounds, smaller scaling set
    python bench/run.py --parts screen,detect --markdown out.md --json out.json
    python bench/run.py --image /boot/initrd.img-$(uname -r)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable

if __package__ in (None, ""):
    # Run as a script: make ``bench`` importable as a package from the repo.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import live, parts, report  # noqa: E402

__all__ = ["PARTS", "build_parser", "main"]

#: Part name (for ``--parts``) -> function.
PARTS: dict[str, Callable[[parts.Setup], list[parts.Row]]] = {
    "screen": parts.first_screen,
    "detect": parts.detect_start,
    "live": live.live_kernel,
    "initrd": parts.initrd_read,
    "scaling": parts.scaling,
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bench/run.py", description="Measure virtio-wizard against reference commands."
    )
    p.add_argument("--quick", action="store_true", help="3 rounds and a smaller scaling set")
    p.add_argument("--repeat", type=int, metavar="N", help="rounds per comparison (default 9)")
    p.add_argument(
        "--parts",
        default=",".join(PARTS),
        metavar="LIST",
        help=f"comma-separated, from: {', '.join(PARTS)} (default: all)",
    )
    p.add_argument("--image", metavar="FILE", help="a real initramfs to read in part 'initrd'")
    p.add_argument(
        "--debian-root",
        metavar="DIR",
        help="a real Debian root with a kernel package (debootstrap --include="
        "linux-image-amd64): the whole detect of part 'initrd', and part 'live'",
    )
    p.add_argument(
        "--work",
        default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "virtio-wizard-bench"),
        metavar="DIR",
        help="where synthetic images and roots are built and kept (default: %(default)s)",
    )
    p.add_argument("--markdown", metavar="FILE", help="also write the results as Markdown")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    chosen = [name.strip() for name in args.parts.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in PARTS]
    if unknown or not chosen:
        print(
            f"bench: unknown part(s) {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(PARTS)}",
            file=sys.stderr,
        )
        return 2
    if args.image and not os.path.isfile(args.image):
        print(f"bench: --image {args.image}: not a file", file=sys.stderr)
        return 2
    if args.debian_root and not os.path.isdir(os.path.join(args.debian_root, "lib/modules")):
        print(f"bench: --debian-root {args.debian_root}: no lib/modules in it", file=sys.stderr)
        return 2
    repeats = args.repeat if args.repeat is not None else (3 if args.quick else 9)
    if repeats < 1:
        print("bench: --repeat must be at least 1", file=sys.stderr)
        return 2
    setup = parts.Setup(
        work=parts.ensure_work(args.work),
        repeats=repeats,
        quick=args.quick,
        image=args.image,
        log=lambda text: print(text, file=sys.stderr, flush=True),
        debian_root=os.path.abspath(args.debian_root) if args.debian_root else None,
    )
    before = parts.environment_note()
    started = time.time()
    rows: list[parts.Row] = []
    for name in chosen:
        try:
            rows += PARTS[name](setup)
        except RuntimeError as exc:  # a command failed: no figure, say which
            print(f"bench: part {name} failed: {exc}", file=sys.stderr)
            return 1
    after = parts.environment_note()
    header = (
        f"{repeats} interleaved rounds per comparison after one warm-up round; "
        f"before: {before}; after: {after}; took {time.time() - started:.0f} s"
    )
    print(header)
    print(report.text_table(rows))
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(report.markdown(rows, header))
    if args.json:
        meta = {"repeats": repeats, "quick": args.quick, "parts": chosen, "header": header}
        with open(args.json, "w", encoding="utf-8") as fh:
            fh.write(report.to_json(rows, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
