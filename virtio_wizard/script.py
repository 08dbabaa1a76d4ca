"""Export a Plan as a self-contained POSIX ``sh`` script to run on the guest.

For guests the wizard cannot reach (no SSH, an air gap, a customer who wants
to read what runs), ``plan --script FILE`` writes the same changes as a shell
script. It needs only ``/bin/sh`` and old tools (``cp``, ``mv``, ``cat``,
``dd``, ``ls``, ``mkdir``, ``chmod``) and:

- checks every file before touching any (``--check`` stops there): a file
  that is neither as planned nor already as wanted stops the script before
  it writes anything. The check uses ``sha256sum`` where the guest has it;
  RHEL 3/4 do not, so the script also carries MD5 sums (``md5sum`` is in
  every coreutils and busybox) for the new bytes, and for the old bytes when
  the export could read them (``write_script(..., target=...)``);
- keeps the originals under ``/var/lib/virtio-wizard/script-backups/<id>/``
  (the id is a hash of the plan, so a rerun finds them) and makes the plan's
  own backup copies;
- writes each file through a temp file in the same folder, checks the
  temp file's hash, keeps mode and owner (``cp -p`` first, then the new
  bytes into that copy), ``sync``, ``mv``;
- checks a rebuilt initrd before it replaces the old one, as apply does:
  it must hold the virtio modules and what the root needs (the root file
  system's module, LVM, MD, LUKS: ``plan.rootneeds``), read with the guest's
  own decompressor (``script_image``); an image that lacks one is removed
  and one the guest cannot read is left beside the old image, unused;
- is idempotent: a file already as planned is skipped, a backup already made
  is kept, an initrd that already holds all that is not rebuilt;
- ``--undo`` puts every original back byte for byte (refusing, before it
  changes anything, files changed since), removes files it created, and
  restores initrd images it saved.

New content is embedded in quoted here-documents (no expansion; the exact
bytes, with a ``dd`` cut when the file does not end in a newline) or, for
bytes a here-document cannot carry (NUL), as ``printf`` octal escapes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Optional

from .journal import SCRIPT_BACKUP_DIR
from .outfile import PRIVATE_EXEC, write_private
from .plan.model import Plan, Step
from .script_image import IMAGE_FUNCTIONS, rebuild_lines
from .shellwords import comment, quote
from .targets import GUEST_PATH

if TYPE_CHECKING:
    from .targets import Target

__all__ = ["render_script", "write_script", "plan_id"]

#: printf chunks stay well below old shells' line limits.
_PRINTF_CHUNK = 512


def plan_id(plan: Plan) -> str:
    """A short stable id for a plan: the same plan gives the same backup folder."""
    text = json.dumps(plan.to_dict(), sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _printf_lines(data: bytes, dest: str) -> list[str]:
    """``printf`` commands that append ``data`` to ``dest`` exactly (octal escapes)."""
    lines = [f": > {dest}"]
    for start in range(0, len(data), _PRINTF_CHUNK):
        chunk = data[start : start + _PRINTF_CHUNK]
        body = "".join(
            chr(b) if 32 <= b < 127 and chr(b) not in "\\'%" else f"\\{b:03o}" for b in chunk
        )
        lines.append(f"printf '{body}' >> {dest}")
    return lines


def _content_lines(data: bytes, dest: str, index: int) -> list[str]:
    """Shell lines that make file ``dest`` hold exactly ``data``."""
    if not data:
        return [f": > {dest}"]
    if b"\0" in data:
        return _printf_lines(data, dest)
    text_lines = data.split(b"\n")
    delimiter = f"VW_END_OF_FILE_{index}"
    while delimiter.encode() in text_lines:
        delimiter += "_"
    body = data if data.endswith(b"\n") else data + b"\n"
    # Any bytes survive: surrogateescape here, and again when the script is encoded.
    heredoc = body.decode("utf-8", "surrogateescape")
    if data.endswith(b"\n"):
        return [f"cat > {dest} <<'{delimiter}'", heredoc + delimiter]
    return [
        f"cat > {dest}.in <<'{delimiter}'",
        heredoc + delimiter,
        f"dd if={dest}.in of={dest} bs={len(data)} count=1 2>/dev/null"
        f' || vw_die "cannot cut {dest}"',
        f"rm -f {dest}.in",
    ]


_FUNCTIONS = r"""
# printf, not echo: dash's echo would read backslashes in guest names as escapes.
vw_say() { printf '%s\n' "virtio-wizard: $*"; }
vw_err() { printf '%s\n' "virtio-wizard: error: $*" >&2; }
vw_die() { vw_err "$@"; exit 1; }
# vw_path FILE: a path stored by vw_store, exactly (even one that ends in a newline).
vw_path() { vw_p=$(cat "$1"); printf '%s' "${vw_p%x}"; }
vw_store() { printf '%sx' "$1" > "$2"; }
if command -v sha256sum >/dev/null 2>&1; then VW_TOOL=sha256
elif command -v md5sum >/dev/null 2>&1; then VW_TOOL=md5
else VW_TOOL=none
fi
# vw_sum FILE: the hash this guest can compute.
vw_sum() {
  case $VW_TOOL in
    sha256) set -- $(sha256sum < "$1"); echo "$1" ;;
    md5) set -- $(md5sum < "$1"); echo "$1" ;;
  esac
}
# vw_is FILE SHA256 MD5: 0 same bytes, 1 other bytes, 2 cannot tell here.
vw_is() {
  [ -f "$1" ] || return 1
  case $VW_TOOL in
    sha256) [ "$(vw_sum "$1")" = "$2" ] && return 0; return 1 ;;
    md5) [ -n "$3" ] || return 2; [ "$(vw_sum "$1")" = "$3" ] && return 0; return 1 ;;
  esac
  return 2
}
# vw_real PATH: the file behind any symlinks (the file is written, the link stays),
# with an "x" after it so that $(...) keeps a trailing newline: p=${p%x} takes it off.
vw_real() {
  vw_p=$1; vw_n=0
  while [ -L "$vw_p" ]; do
    vw_n=$((vw_n + 1)); [ $vw_n -le 40 ] || vw_die "$1: too many levels of symbolic links"
    vw_l=$(ls -ld "$vw_p"); vw_l=${vw_l#* -> }
    case $vw_l in /*) vw_p=$vw_l ;; *) vw_p=$(dirname "$vw_p")/$vw_l ;; esac
  done
  printf '%sx' "$vw_p"
}
# vw_state PATH NEW_SHA NEW_MD5 OLD_SHA OLD_MD5 (OLD_SHA "-": must not exist).
vw_state() {
  if vw_is "$1" "$2" "$3"; then echo done; return; fi
  if [ "$4" = - ]; then
    if [ -e "$1" ] || [ -L "$1" ]; then echo stale; else echo todo; fi
    return
  fi
  if [ ! -f "$1" ]; then echo stale; return; fi
  vw_is "$1" "$4" "$5" && { echo todo; return; }
  [ $? = 2 ] && { echo unknown; return; }
  echo stale
}
# vw_keep N PATH: keep the original for --undo (once: a rerun keeps the first copy).
vw_keep() {
  mkdir -p "$VW_STATE" || vw_die "cannot create $VW_STATE"
  [ -e "$VW_STATE/orig.$1" ] || [ -e "$VW_STATE/absent.$1" ] && return 0
  if [ -f "$2" ]; then
    cp -p "$2" "$VW_STATE/orig.$1.tmp" && mv -f "$VW_STATE/orig.$1.tmp" "$VW_STATE/orig.$1" \
      || vw_die "cannot keep a copy of $2"
  else
    : > "$VW_STATE/absent.$1" || vw_die "cannot write $VW_STATE"
  fi
  vw_store "$2" "$VW_STATE/path.$1"
}
# vw_install TEMP PATH SIZE SHA MD5: check the temp file, then rename it over PATH.
vw_install() {
  set -- "$1" "$2" "$3" "$4" "$5" $(ls -ln "$1")
  [ "${10}" = "$3" ] || vw_die "$2: the new content has ${10} bytes, not $3"
  vw_is "$1" "$4" "$5" || [ $? = 2 ] || vw_die "$2: the new content does not match its hash"
  sync "$1" 2>/dev/null || sync
  mv -f "$1" "$2" || vw_die "cannot rename $1 to $2"
  sync "$(dirname "$2")" 2>/dev/null || sync
}
""".strip("\n")


def _edit_info(step: Step, originals: Mapping[str, bytes]) -> dict[str, str]:
    new = step.new_bytes()
    old = originals.get(step.path or "")
    old_md5 = ""
    if old is not None and step.old_sha256 is not None and _sha(old) == step.old_sha256:
        old_md5 = _md5(old)
    return {
        "new_sha": _sha(new),
        "new_md5": _md5(new),
        "old_sha": step.old_sha256 or "-",
        "old_md5": old_md5,
    }


def _check_section(plan: Plan, originals: Mapping[str, bytes]) -> list[str]:
    out = ["# ---- check every file before changing any ----", "vw_bad=0"]
    for i, step in enumerate(plan.steps):
        if step.kind != "edit":
            continue
        info = _edit_info(step, originals)
        path = quote(step.path or "")
        out += [
            f"p=$(vw_real {path}); p=${{p%x}}",
            f'case $(vw_state "$p" {info["new_sha"]} "{info["new_md5"]}" '
            f'{info["old_sha"]} "{info["old_md5"]}") in',
            f"  done) vw_say {quote(f'step {i + 1}: {step.path} is already as planned')} ;;",
            "  todo) ;;",
            f"  unknown) vw_err {quote(f'{step.path}: this guest has no sha256sum and the export has no MD5 of the old file: re-export with a target')}; vw_bad=1 ;;",  # noqa: E501
            f"  *) vw_err {quote(f'{step.path} changed since the plan was made (or is missing): nothing was changed; make a new plan')}; vw_bad=1 ;;",  # noqa: E501
            "esac",
        ]
    out.append('[ "$vw_bad" = 0 ] || exit 1')
    return out


def _apply_section(plan: Plan, originals: Mapping[str, bytes]) -> list[str]:
    out = ["# ---- apply ----"]
    for i, step in enumerate(plan.steps):
        n = i + 1
        out.append(f"# step {n}: {step.kind}: {comment(step.why)}")
        if step.kind == "edit":
            info = _edit_info(step, originals)
            new = step.new_bytes()
            path = quote(step.path or "")
            out += [
                f"p=$(vw_real {path}); p=${{p%x}}",
                f'if vw_is "$p" {info["new_sha"]} "{info["new_md5"]}"; then',
                f"  vw_say {quote(f'step {n}: {step.path} is already as planned')}",
                "else",
                f'  vw_keep {i} "$p"',
                '  d=$(dirname "$p"); mkdir -p "$d" || vw_die "cannot create $d"',
                '  t="$d/.vw-new.$$"',
                '  rm -f "$t"',
                '  if [ -f "$p" ]; then cp -p "$p" "$t" || vw_die "cannot copy $p"; fi',
            ]
            out += _content_lines(new, '"$t"', i)
            if step.mode is not None:
                if not isinstance(step.mode, int) or not 0 <= step.mode <= 0o7777:
                    raise ValueError(f"cannot export the plan as a script: mode {step.mode!r}")
                out.append(f'  chmod {step.mode:o} "$t" || vw_die "cannot chmod $t"')
            out += [
                f'  vw_install "$t" "$p" {len(new)} {info["new_sha"]} "{info["new_md5"]}"',
                f"  vw_say {quote(f'step {n}: wrote {step.path}')}",
                "fi",
            ]
        elif step.kind == "remove":
            path = quote(step.path or "")
            out += [
                f"p=$(vw_real {path}); p=${{p%x}}",
                'if [ ! -e "$p" ]; then',
                f"  vw_say {quote(f'step {n}: {step.path} is already gone')}",
                "else",
                f'  vw_keep {i} "$p"',
                '  rm -f "$p" || vw_die "cannot remove $p"',
                f"  vw_say {quote(f'step {n}: removed {step.path} (a copy is kept for --undo)')}",
                "fi",
            ]
        elif step.kind == "backup":
            src, to = quote(step.path or ""), quote(step.to or "")
            out += [
                f"if [ -e {to} ]; then",
                f"  vw_say {quote(f'step {n}: backup {step.to} exists, kept')}",
                "else",
                f'  mkdir -p "$(dirname {to})" || vw_die {quote(f"cannot create the folder of {step.to}")}',  # noqa: E501
                f"  cp -p {src} {to}.vw-tmp && mv -f {to}.vw-tmp {to} || vw_die {quote(f'cannot copy {step.path} to {step.to}')}",  # noqa: E501
                f'  mkdir -p "$VW_STATE" && vw_store {to} "$VW_STATE/made.{i}"',
                f"  vw_say {quote(f'step {n}: copied {step.path} to {step.to}')}",
                "fi",
            ]
        else:
            cmdline = " ".join(quote(a) for a in step.argv)
            run = [
                f"  vw_say {quote('step ' + str(n) + ': run: ' + cmdline)}",
                f"  {cmdline} || vw_die {quote(f'step {n}: `{cmdline}` failed')}",
            ]
            if step.image:
                out += rebuild_lines(n, i, step, run)
            else:
                out += ["if :; then", *run, "fi"]
    out.append('vw_say "done; undo with: sh $0 --undo"')
    return out


def _undo_section(plan: Plan) -> list[str]:
    out = [
        "# ---- undo: check all, then restore in reverse order ----",
        '[ -d "$VW_STATE" ] || vw_die "nothing to undo: $VW_STATE does not exist"',
        "vw_bad=0",
    ]
    restores: list[str] = []
    for i in reversed(range(len(plan.steps))):
        step = plan.steps[i]
        if step.kind == "edit":
            new = step.new_bytes()
            sha, md5 = _sha(new), _md5(new)
            out += [
                f'if [ -f "$VW_STATE/path.{i}" ]; then',
                f'  p=$(vw_path "$VW_STATE/path.{i}")',
                f'  if [ -e "$VW_STATE/orig.{i}" ] && cmp -s "$VW_STATE/orig.{i}" "$p"; then :',
                f'  elif [ -e "$VW_STATE/absent.{i}" ] && [ ! -e "$p" ]; then :',
                f'  elif ! vw_is "$p" {sha} "{md5}"; then',
                '    vw_err "$p changed since the script wrote it: nothing was restored"; vw_bad=1',
                "  fi",
                "fi",
            ]
        if step.kind == "remove":
            restores += [
                f'if [ -f "$VW_STATE/path.{i}" ] && [ -e "$VW_STATE/orig.{i}" ]; then',
                f'  p=$(vw_path "$VW_STATE/path.{i}")',
                '  if [ -e "$p" ]; then',
                '    vw_say "$p was made again since the script removed it: kept"',
                "  else",
                f'    cp -p "$VW_STATE/orig.{i}" "$p.vw-undo" && mv -f "$p.vw-undo" "$p"'
                ' || vw_die "cannot restore $p"',
                '    vw_say "restored $p"',
                "  fi",
                "fi",
            ]
        if step.kind in ("edit", "command"):
            restores += [
                f'if [ -f "$VW_STATE/path.{i}" ]; then',
                f'  p=$(vw_path "$VW_STATE/path.{i}")',
                f'  if [ -e "$VW_STATE/orig.{i}" ]; then',
                f'    cp -p "$VW_STATE/orig.{i}" "$p.vw-undo" && mv -f "$p.vw-undo" "$p"'
                ' || vw_die "cannot restore $p"',
                '    vw_say "restored $p"',
                f'  elif [ -e "$VW_STATE/absent.{i}" ] && [ -e "$p" ]; then',
                '    rm -f "$p" && vw_say "removed $p (it did not exist before)"',
                "  fi",
                "fi",
            ]
        elif step.kind == "backup":
            restores += [
                f'if [ -f "$VW_STATE/made.{i}" ]; then',
                f'  p=$(vw_path "$VW_STATE/made.{i}"); rm -f "$p" && rm -f "$VW_STATE/made.{i}"',
                '  vw_say "removed the backup copy $p"',
                "fi",
            ]
    out.append('[ "$vw_bad" = 0 ] || exit 1')
    out += restores
    out += ["sync", 'vw_say "undone"']
    return out


def render_script(plan: Plan, originals: Optional[Mapping[str, bytes]] = None) -> str:
    """The plan as a POSIX sh script (see the module docstring for what it does).

    ``originals`` maps edited guest paths to their current bytes; when given,
    the script can also check old files by MD5 on guests without sha256sum.
    Raises ValueError for a refused plan: a refusal is not exported. File
    bytes that are not UTF-8 are carried as surrogate escapes: encode the
    text with ``encode("utf-8", "surrogateescape")`` (``write_script`` does).
    """
    if plan.refused:
        reasons = "; ".join(f.message for f in plan.refusals)
        raise ValueError(f"the plan is refused, nothing to export: {reasons}")
    originals = originals or {}
    ident = plan_id(plan)
    target = plan.target.get("root") or plan.target.get("kind") or "a guest"
    head = [
        "#!/bin/sh",
        f"# virtio-wizard plan {ident}, made for {comment(str(target))}",
        f"# choices: method={comment(plan.choices.method)} drivers={plan.choices.drivers}"
        f" kernel={comment(plan.kernel or '-')}",
        "#",
        "# Run on the guest as root:",
        "#   sh THIS-FILE           apply (stops before any change if a file is not as planned)",
        "#   sh THIS-FILE --check   only check the files",
        "#   sh THIS-FILE --undo    restore the originals byte for byte",
        "#",
        *(
            f"# step {i + 1}: {s.kind} {comment(s.path or ' '.join(s.argv))}: {comment(s.why)}"
            for i, s in enumerate(plan.steps)
        ),
        "set -e",
        "umask 022",
        f"PATH={GUEST_PATH}; export PATH",
        "LC_ALL=C; export LC_ALL",
        f"VW_STATE={SCRIPT_BACKUP_DIR}/{ident}",
        _FUNCTIONS,
        IMAGE_FUNCTIONS,
        'case "${1:-}" in',
        "  ''|--check|--undo) ;;",
        "  *) printf '%s\\n' \"usage: sh $0 [--check|--undo]\" >&2; exit 2 ;;",
        "esac",
        'if [ "${1:-}" = --undo ]; then',
        *_undo_section(plan),
        "  exit 0",
        "fi",
    ]
    body = [
        *_check_section(plan, originals),
        'if [ "${1:-}" = --check ]; then',
        '  vw_say "check passed: the plan can be applied"; exit 0',
        "fi",
        *_apply_section(plan, originals),
    ]
    return "\n".join(head + body) + "\n"


def write_script(plan: Plan, path: str, target: Optional[Target] = None) -> str:
    """Write ``render_script(plan)`` to ``path`` (mode 0700); returns the path.

    The script embeds the new text of every file it edits, so it is written
    for its owner only (``outfile.write_private``): a 0600 ``grub.conf`` with
    a boot password must not become world-readable through it. With
    ``target`` (the guest the plan was made from), the current bytes of
    edited files are read so the script can check them by MD5 on old guests.
    """
    originals: dict[str, bytes] = {}
    if target is not None:
        for step in plan.steps:
            if step.kind == "edit" and step.path and step.old_sha256 is not None:
                try:
                    originals[step.path] = target.read_bytes(step.path)
                except OSError:
                    continue
    data = render_script(plan, originals).encode("utf-8", "surrogateescape")
    write_private(path, data, PRIVATE_EXEC)
    return path
