"""The exported script's look inside an initrd: the virtio drivers and what the root needs.

Apply reads a rebuilt image with the wizard's own reader (``initrd``) and
checks it holds the virtio modules and what the root itself needs
(``plan.rootneeds``: the root file system's module, ``dm_mod`` and ``lvm``
for LVM, ``mdadm`` for MD RAID, ...) before the new image replaces the old
one. A script that runs on the guest (``plan --script``, the Ansible role)
must make the same check with ``/bin/sh`` and the guest's own tools, or a
guest converted through it can reach "VFS: Unable to mount root fs" that a
direct apply would have refused.

How the shell lists an image's members, with nothing but POSIX tools and
the decompressor the guest's own initrd tool needs anyway:

- leading uncompressed newc archives (the early microcode that dracut and
  initramfs-tools put first) are walked header by header with ``dd``; their
  names are read from the headers, and zero padding between archives is
  stepped over;
- the rest is decompressed by its magic (gzip, xz, zstd, lz4, bzip2, lzma)
  with the first tool the guest has for it (``gzip -dc`` or ``zcat``, ...);
  in the newc stream each member's name follows its 110-character ASCII
  header and ends with a NUL, so ``tr`` turns NULs into newlines and
  ``sed`` keeps what follows a header: one member path per line (on a
  33 MiB zstd image of Debian 12, about as fast as ``lsinitramfs``);
- a compressed ext2 image (RHEL 3's mkinitrd) has no paths in its bytes,
  only directory entries' base names: those are matched by base name,
  after the entry's file-type byte; a need that only a path can answer (a
  glob with folders, or "no udev rules") cannot be judged there.

Each Need alternative becomes two extended regular expressions for
``grep -E``: one over the member paths (``^/usr/sbin/lvm$``, with the same
meaning as ``rootneeds.unmet``) and one over an ext2 image's raw names, or
``-`` when base names cannot tell. A module name matches its file under any
``lib`` folder with any suffix the wizard's reader accepts, ``-`` and ``_``
alike (``dm-mod.ko`` is ``dm_mod``).
"""

from __future__ import annotations

from collections.abc import Sequence

from .initrd.info import MODULE_SUFFIXES
from .plan.model import Step
from .plan.rootneeds import Need, decode, describe
from .shellwords import quote

__all__ = ["IMAGE_FUNCTIONS", "needs_of", "needs_function", "rebuild_lines"]

#: The characters POSIX extended regular expressions treat as operators.
_ERE_SPECIAL = set(".[]()*+?{}|^$\\")
#: Before a name in an ext2 directory entry: its file-type byte (0-7), never printable.
_RAW_START = "(^|[^ -~])"
_MODULE_END = "(" + "|".join(_s.replace(".", r"\.") for _s in MODULE_SUFFIXES) + ")$"


def _ere_literal(text: str) -> str:
    return "".join("\\" + c if c in _ERE_SPECIAL else c for c in text)


def _module_body(name: str) -> str:
    """``dm_mod`` as an ERE that also takes ``dm-mod``."""
    return "".join("[-_]" if c in "-_" else _ere_literal(c) for c in name)


def _glob_ere(glob: str) -> str:
    """An ``fnmatchcase`` glob of ``*`` and ``?`` as an ERE over a whole line.

    >>> _glob_ere("*bin/lvm")
    '^.*bin/lvm$'
    """
    if "[" in glob:
        raise ValueError(f"cannot check {glob!r} in a script: bracket globs are not supported")
    out = []
    for c in glob:
        out.append(".*" if c == "*" else "." if c == "?" else _ere_literal(c))
    return "^" + "".join(out) + "$"


def _raw_glob_ere(glob: str) -> str:
    """The glob's last part as an ERE over an ext2 image's raw names (base names only)."""
    base = glob.rsplit("/", 1)[-1]
    out = []
    for c in base:
        out.append("[ -~]*" if c == "*" else "[ -~]" if c == "?" else _ere_literal(c))
    return _RAW_START + "".join(out)


def alternative_eres(alt: str) -> tuple[str, str]:
    """(ERE over member paths, ERE over raw ext2 names or ``-``) for one Need alternative.

    A negated alternative (``!*/rules.d/*.rules``: met when no member
    matches) keeps its ``!`` in front of the path ERE; base names cannot
    prove an absence, so its raw ERE is ``-``.

    >>> alternative_eres("dm_mod")[0]
    '^/(.*/)?lib/(.*/)?dm[-_]mod(\\\\.ko|\\\\.ko\\\\.gz|\\\\.ko\\\\.xz|\\\\.ko\\\\.zst|\\\\.o)$'
    """
    if alt.startswith("!"):
        return "!" + _glob_ere(alt[1:]), "-"
    if "/" in alt or "*" in alt:
        return _glob_ere(alt), _raw_glob_ere(alt)
    body = _module_body(alt)
    return f"^/(.*/)?lib/(.*/)?{body}{_MODULE_END}", rf"{_RAW_START}{body}\.k?o"


def needs_of(modules: Sequence[str], members: Sequence[str]) -> list[Need]:
    """Every Need of a rebuild step: each virtio module, then the root's (encoded) needs."""
    out = [Need((m,), "a virtio driver") for m in modules]
    out += [decode(text) for text in members]
    return out


def needs_function(name: str, needs: Sequence[Need]) -> list[str]:
    """Shell lines defining ``name IMAGE``: 0 all held, 1 some missing, 2 some unknown.

    It leaves the missing needs, said, in ``$vw_miss`` and the ones it could
    not judge in ``$vw_unsure``.
    """
    lines = [
        f"{name}() {{",
        '  vw_k=$(vw_members "$1"); vw_miss=; vw_unsure=',
    ]
    for need in needs:
        words = [quote(describe([need]))]
        for alt in need.any_of:
            words += [quote(e) for e in alternative_eres(alt)]
        lines.append("  vw_one " + " ".join(words))
    lines += [
        '  rm -f "$VW_STATE/members"',
        '  [ -z "$vw_miss" ] || return 1',
        '  [ -z "$vw_unsure" ] || return 2',
        "}",
    ]
    return lines


#: What a rebuilt image must hold besides the virtio drivers (``plan.rootneeds``).
ROOT = "what the root needs"


def rebuild_lines(n: int, i: int, step: Step, run: list[str]) -> list[str]:
    """A rebuild: skipped when the image already holds everything, checked before it is used.

    The new image is built beside the old one (``step.build``) where the
    plan says so: when it lacks a virtio driver or what the root needs, it is
    removed and the old image is untouched, as apply does. An image the guest
    cannot look inside (no tool for its format) is installed with a warning
    that names what to check by hand.
    """
    image = quote(step.image or "")
    check = f"vw_holds_{i}"
    needs = needs_of(step.verify_modules, step.verify_members)
    out = needs_function(check, needs) if needs else []
    out += [
        f"if {'false' if not needs else check + ' ' + image}; then",
        f"  vw_say {quote(f'step {n}: {step.image} already holds the virtio drivers and {ROOT}')}",
        "else",
        f"  vw_keep {i} {image}",
        *run,
    ]
    made, shown = (quote(step.build), step.build) if step.build else (image, step.image)
    if needs:
        out += _check_lines(check, step, made, shown)
    if step.build:
        # The new image was built beside the old one: one rename puts it in place.
        out.append(
            f"  mv -f {made} {image} || vw_die {quote(f'cannot rename {shown} over {step.image}')}"
        )
    out.append("fi")
    return out


def _check_lines(check: str, step: Step, made: str, shown: str) -> list[str]:
    """Stop when the new image lacks a need, or when this guest cannot look inside it.

    A build beside the old image is removed when it lacks something, and
    kept (with the command to install it) when it could not be read: the
    user may check it with the distro's own lister. An image rebuilt in
    place (an older plan) is already in place: the message names the undo.
    """
    if step.build:
        kept, drop = quote(f"; {step.image} is unchanged"), f"rm -f {made}; "
        hand = quote(f"; then mv {step.build} {step.image}; {step.image} is unchanged")
    else:
        kept, drop = "'; the old image is kept: undo with sh '\"$0\"' --undo'", ""
        hand = "'; or undo with sh '\"$0\"' --undo'"
    lacks = quote(f"{shown} lacks: ") + '"$vw_miss"' + kept
    unsure = quote(f"cannot look inside {shown} on this guest: check by hand that it holds ")
    return [
        f"  {check} {made} && vw_rc=0 || vw_rc=$?",
        f'  [ "$vw_rc" != 1 ] || {{ {drop}vw_die {lacks}; }}',
        f'  [ "$vw_rc" = 0 ] || vw_die {unsure}"$vw_unsure"{hand}',
    ]


IMAGE_FUNCTIONS = r"""
# ---- looking inside an initrd (what apply's reader checks, with POSIX tools) ----
# vw_at FILE OFFSET COUNT: COUNT bytes of FILE from OFFSET.
vw_at() { dd if="$1" bs=1 skip="$2" count="$3" 2>/dev/null; }
# vw_magic FILE OFFSET: the first 6 bytes at OFFSET, in hex.
vw_magic() { vw_at "$1" "$2" 6 | od -An -tx1 | tr -d ' \n'; }
# vw_zeros FILE OFFSET: how many NUL bytes start at OFFSET (up to 512).
vw_zeros() {
  set -- $(vw_at "$1" "$2" 512 | od -An -tx1 -v); vw_z=0
  for vw_b; do [ "$vw_b" = 00 ] || break; vw_z=$((vw_z + 1)); done
  echo $vw_z
}
# vw_skip_cpio FILE LIST: walk the uncompressed newc archives FILE starts with (early
# microcode), adding their member names to LIST; prints the offset where they end.
vw_skip_cpio() {
  vw_o=0
  while :; do
    vw_h=$(vw_at "$1" $vw_o 110)
    case $vw_h in
      07070[12]*) ;;
      *) vw_z=$(vw_zeros "$1" $vw_o)
         [ "$vw_z" -gt 0 ] || { echo $vw_o; return 0; }
         vw_o=$((vw_o + vw_z)); continue ;;
    esac
    # Only hex digits may reach the shell's arithmetic.
    case ${vw_h#07070?} in *[!0-9A-Fa-f]*) echo $vw_o; return 0 ;; esac
    [ ${#vw_h} = 110 ] || { echo $vw_o; return 0; }
    vw_fs=$(printf '%s' "$vw_h" | cut -c55-62); vw_ns=$(printf '%s' "$vw_h" | cut -c95-102)
    vw_fs=$((0x$vw_fs)); vw_ns=$((0x$vw_ns))
    if [ "$vw_ns" -gt 1 ]; then
      vw_n=$(vw_at "$1" $((vw_o + 110)) $((vw_ns - 1)))
      printf '%s\n' "$vw_n" | sed 's,^\./,,; s,^/*,/,' >> "$2"
    fi
    vw_o=$(( (vw_o + 110 + vw_ns + 3) / 4 * 4 + (vw_fs + 3) / 4 * 4 ))
  done
}
# vw_inflate MAGIC: decompress stdin with a tool this guest has for that format; 2 if none.
vw_inflate() {
  case $1 in
    1f8b*) set -- gzip:-dc zcat: ;;
    fd377a585a00*) set -- xz:-dc xzcat: unxz:-c ;;
    28b52ffd*) set -- zstd:-dcq zstdcat: unzstd:-c ;;
    02214c18*) set -- lz4:-dc lz4cat: ;;
    425a68*) set -- bzip2:-dc bzcat: bunzip2:-c ;;
    5d0000*) set -- lzma:-dc lzcat: unlzma:-c ;;
    *) return 2 ;;
  esac
  for vw_t; do
    command -v "${vw_t%%:*}" >/dev/null 2>&1 || continue
    "${vw_t%%:*}" ${vw_t#*:} 2>/dev/null
    return
  done
  return 2
}
# vw_rest FILE OFFSET: FILE's bytes from OFFSET, decompressed; 2 if they cannot be.
vw_rest() {
  vw_m=$(vw_magic "$1" "$2")
  tail -c +$(($2 + 1)) "$1" | vw_inflate "$vw_m"
}
# vw_names: the member paths of a newc stream on stdin, one per line, with a leading /
# (grep first: sed alone is slow on the millions of short lines a large image makes).
vw_names() {
  tr -s '\000' '\n' | grep '07070[12]' | sed -n 's/.*07070[12][0-9A-Fa-f]\{104\}//p' \
    | sed 's,^\./,,; s,^/*,/,'
}
# vw_members IMAGE: its members into $VW_STATE/members; prints "list" (one path per
# line), "raw" (an ext2 image: its bytes, for base names only) or "none" (unreadable).
vw_members() {
  for vw_t in dd od tr sed grep cut tail wc; do
    command -v $vw_t >/dev/null 2>&1 || { echo none; return 0; }
  done
  mkdir -p "$VW_STATE" 2>/dev/null || { echo none; return 0; }
  vw_l="$VW_STATE/members"; : > "$vw_l"; rm -f "$VW_STATE/members.rc"
  [ -f "$1" ] || { echo none; return 0; }
  vw_off=$(vw_skip_cpio "$1" "$vw_l")
  vw_size=$(wc -c < "$1"); vw_size=$((vw_size))
  [ "$vw_off" -lt "$vw_size" ] || { echo list; return 0; }
  { vw_rest "$1" "$vw_off" || echo $? > "$VW_STATE/members.rc"; } | vw_names >> "$vw_l"
  [ ! -f "$VW_STATE/members.rc" ] || { rm -f "$VW_STATE/members.rc"; echo none; return 0; }
  grep -q . "$vw_l" && { echo list; return 0; }
  # Nothing listed: an ext2 image (magic 53 ef at byte 1080) holds base names only.
  vw_x=$(vw_rest "$1" "$vw_off" | dd bs=1 skip=1080 count=2 2>/dev/null | od -An -tx1 \
    | tr -d ' \n')
  [ "$vw_x" = 53ef ] || { echo none; return 0; }
  vw_rest "$1" "$vw_off" | tr '\000' '\n' > "$vw_l"
  echo raw
}
# vw_need PATH_ERE RAW_ERE [...]: is one alternative in the members? 0 yes, 1 no, 2 cannot tell.
vw_need() {
  [ "$vw_k" != none ] || return 2
  vw_r=1
  while [ $# -ge 2 ]; do
    if [ "$vw_k" = list ]; then
      case $1 in
        '!'*) grep -E -q -e "${1#!}" "$VW_STATE/members" || return 0 ;;
        *) grep -E -q -e "$1" "$VW_STATE/members" && return 0 ;;
      esac
    elif [ "$2" = - ]; then vw_r=2
    else grep -E -q -e "$2" "$VW_STATE/members" && return 0
    fi
    shift 2
  done
  return $vw_r
}
# vw_one WHAT ALTERNATIVES...: judge one need; add WHAT to $vw_miss or $vw_unsure.
vw_one() {
  vw_w=$1; shift
  vw_need "$@" && return 0
  case $? in
    1) vw_miss="$vw_miss${vw_miss:+; }$vw_w" ;;
    *) vw_unsure="$vw_unsure${vw_unsure:+; }$vw_w" ;;
  esac
}
""".strip("\n")
