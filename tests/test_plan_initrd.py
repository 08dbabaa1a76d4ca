"""The initrd method: one config step and one rebuild per tool, backups first."""

from __future__ import annotations

import pytest

from tests.plan_fixtures import ALL, IMAGE, KVER, applied, facts, kernel, make
from virtio_wizard.plan import GuestFiles
from virtio_wizard.plan.initrd import future_images_keep_them
from virtio_wizard.plan.initrd_config import merge_words
from virtio_wizard.present.remedy import cli_fix

NEW = ".virtio-wizard.new"
WITH = tuple(f"--with={m}" for m in ALL)


def initrd(f, files=None, **kw):
    return make(f, files or {}, method="initrd", **kw)


# ---- nash mkinitrd (RHEL 3-5) -----------------------------------------------------


def test_nash_backup_then_rebuild_with_the_seed_modules_in_order():
    p = initrd(facts())
    assert not p.refused
    backup, command = p.steps
    assert backup.kind == "backup"
    assert (backup.path, backup.to) == (IMAGE, IMAGE + ".virtio.orig")
    assert backup.why
    assert command.kind == "command"
    # Built beside the image; apply checks it, then renames it over IMAGE.
    assert command.argv == ("mkinitrd", "-f", *WITH, IMAGE + NEW, KVER)
    assert command.image == IMAGE
    assert command.build == IMAGE + NEW
    assert command.verify_modules == ALL
    assert p.kernel == KVER and p.modules == ALL


def test_nash_block_only_and_net_only_lists():
    block = initrd(facts(), net=False)
    assert block.steps[1].argv[2:-2] == (
        "--with=virtio",
        "--with=virtio_ring",
        "--with=virtio_blk",
        "--with=virtio_pci",
    )
    net = initrd(facts(), block=False)
    assert net.steps[1].argv[2:-2] == ("--with=virtio", "--with=virtio_net", "--with=virtio_pci")


def test_backup_name_taken_moves_to_ours_then_numbered():
    taken = {IMAGE + ".virtio.orig": b""}
    assert initrd(facts(), taken).steps[0].to == IMAGE + ".virtio-wizard.bak"
    taken[IMAGE + ".virtio-wizard.bak"] = b""
    assert initrd(facts(), taken).steps[0].to == IMAGE + ".virtio-wizard.bak.1"


def test_the_seeds_package_backup_is_never_overwritten():
    k = kernel(virtio_orig=IMAGE + ".virtio.orig")
    assert initrd(facts(kernels=(k,))).steps[0].to == IMAGE + ".virtio-wizard.bak"


def test_all_backup_names_taken_is_refused():
    taken = {IMAGE + s: b"" for s in [".virtio.orig", ".virtio-wizard.bak"]}
    taken.update({f"{IMAGE}.virtio-wizard.bak.{n}": b"" for n in range(1, 10)})
    p = initrd(facts(), taken)
    (f,) = p.refusals
    assert f.id == "initrd-backup-names-taken"
    assert f.message == (
        f"Every backup name for {IMAGE} (.virtio.orig, .virtio-wizard.bak, "
        ".virtio-wizard.bak.1 to .9) is taken."
    )
    assert p.steps == ()


def test_no_image_yet_is_built_without_backup():
    p = initrd(facts(kernels=(kernel(initrd=None, initrd_virtio=None),)))
    (command,) = p.steps
    assert command.argv[-2:] == (IMAGE + NEW, KVER)
    assert command.build == IMAGE + NEW
    assert "build the initrd" in command.why


def test_image_with_every_module_is_not_rebuilt():
    k = kernel(initrd_virtio=tuple(sorted(ALL)))
    p = initrd(facts(kernels=(k,)))
    assert p.steps == () and not p.refused
    (note,) = [f for f in p.findings if f.id == "initrd-already-has-virtio"]
    assert note.message == f"{IMAGE} already holds {', '.join(ALL)}: no rebuild needed."


def test_image_with_some_modules_is_rebuilt():
    k = kernel(initrd_virtio=("virtio", "virtio_pci"))
    assert [s.kind for s in initrd(facts(kernels=(k,))).steps] == ["backup", "command"]


def test_unreadable_image_is_rebuilt_with_a_warning():
    k = kernel(initrd_virtio=None, initrd_error="truncated gzip")
    p = initrd(facts(kernels=(k,)))
    assert [s.kind for s in p.steps] == ["backup", "command"]
    (w,) = [f for f in p.findings if f.id == "initrd-unreadable"]
    assert w.severity == "warning"
    assert w.message == (
        f"The wizard could not read {IMAGE} (truncated gzip), so it rebuilds it to be sure."
    )


def test_builtin_modules_are_dropped_and_noted():
    virtio = {m: "module" for m in ALL}
    virtio.update(virtio="builtin", virtio_ring="builtin", virtio_pci="builtin")
    p = initrd(facts(kernels=(kernel(virtio=virtio),)))
    assert p.modules == ("virtio_blk", "virtio_net")
    argv = ("mkinitrd", "-f", "--with=virtio_blk", "--with=virtio_net", IMAGE + NEW, KVER)
    assert p.steps[1].argv == argv
    (note,) = [f for f in p.findings if f.id == "modules-builtin"]
    assert note.message == (
        f"Kernel {KVER} has virtio, virtio_ring, virtio_pci built in; "
        "still to load: virtio_blk, virtio_net."
    )


def test_everything_builtin_means_nothing_to_do():
    k = kernel(virtio={m: "builtin" for m in ALL})
    p = initrd(facts(kernels=(k,)))
    assert p.steps == () and not p.refused and p.modules == ()
    (note,) = [f for f in p.findings if f.id == "modules-builtin"]
    assert note.message.endswith("built in: nothing to load or put in the initrd.")


def test_unknown_tool_is_refused():
    p = initrd(facts(initrd_tool=None))
    (f,) = p.refusals
    assert f.id == "initrd-tool-unknown"
    assert f.message == (
        "No initrd tool (mkinitrd, dracut, SUSE mkinitrd, initramfs-tools, mkinitcpio) "
        "was found on this guest, so the initrd cannot be rebuilt."
    )
    assert p.steps == ()


# ---- dracut --------------------------------------------------------------------------

DRACUT = "/etc/dracut.conf.d/virtio.conf"
FC_IMAGE = "/boot/initramfs-3.10.0.img"


def dracut_facts(**kw):
    k = kernel("3.10.0", initrd=FC_IMAGE, **kw)
    return facts(initrd_tool="dracut", kernels=(k,))


def test_dracut_drop_in_then_backup_then_rebuild():
    p = initrd(dracut_facts(), {DRACUT: None})
    edit, backup, command = p.steps
    assert edit.path == DRACUT and edit.old_sha256 is None and edit.mode == 0o644
    assert edit.new_text.splitlines()[-1] == (
        'add_drivers+=" virtio virtio_ring virtio_blk virtio_net virtio_pci "'
    )
    assert (backup.path, backup.to) == (FC_IMAGE, FC_IMAGE + ".virtio.orig")
    # An offline root: host-only mode would see the host's hardware.
    assert command.argv == ("dracut", "-f", "--no-hostonly", FC_IMAGE + NEW, "3.10.0")
    assert "dracut-no-hostonly" in [f.id for f in p.findings]
    assert command.verify_modules == ALL


def test_dracut_drop_in_is_not_duplicated():
    first = initrd(dracut_facts(), {DRACUT: None})
    again = initrd(dracut_facts(), applied(first, {DRACUT: None}))
    assert [s.kind for s in again.steps] == ["backup", "command"]


def test_dracut_partial_drop_in_gets_only_the_missing_names():
    text = '# mine\nadd_drivers+=" virtio virtio_net "\n'
    (edit, _, _) = initrd(dracut_facts(), {DRACUT: text.encode()}).steps
    assert edit.new_text == text + 'add_drivers+=" virtio_ring virtio_blk virtio_pci "\n'


def test_dracut_image_already_complete_and_not_hostonly_needs_nothing():
    k = kernel("3.10.0", initrd=FC_IMAGE, initrd_virtio=ALL)
    f = facts(initrd_tool="dracut", kernels=(k,), initrd_tool_config={"hostonly": "no"})
    assert initrd(f, {DRACUT: None}).steps == ()


def test_dracut_hostonly_image_complete_still_gets_the_config_but_no_rebuild():
    k = kernel("3.10.0", initrd=FC_IMAGE, initrd_virtio=ALL)
    f = facts(initrd_tool="dracut", kernels=(k,), initrd_tool_config={"hostonly": "yes"})
    p = initrd(f, {DRACUT: None})
    assert [s.kind for s in p.steps] == ["edit"]
    (note,) = [x for x in p.findings if x.id == "initrd-already-has-virtio"]
    assert "images built later keep them" in cli_fix(note.remedy)


def test_dracut_without_image_builds_the_default_name():
    k = kernel("3.10.0", initrd=None, initrd_virtio=None)
    p = initrd(facts(initrd_tool="dracut", kernels=(k,)), {DRACUT: None})
    assert [s.kind for s in p.steps] == ["edit", "command"]
    assert p.steps[1].argv == (
        "dracut",
        "-f",
        "--no-hostonly",
        "/boot/initramfs-3.10.0.img" + NEW,
        "3.10.0",
    )


def test_dracut_on_a_running_guest_keeps_its_host_only_mode():
    import dataclasses

    f = dracut_facts()
    live = dataclasses.replace(f, target=dataclasses.replace(f.target, live=True))
    command = initrd(live, {DRACUT: None}).steps[-1]
    assert command.argv == ("dracut", "-f", FC_IMAGE + NEW, "3.10.0")


# ---- SUSE mkinitrd -------------------------------------------------------------------

SUSE = "/etc/sysconfig/kernel"
SLES_V = "3.0.101-63-default"


def suse_facts():
    k = kernel(SLES_V, initrd=f"/boot/initrd-{SLES_V}")
    return facts(initrd_tool="suse-mkinitrd", kernels=(k,))


def test_suse_appends_inside_the_quotes_keeping_others():
    text = '## Type: string\nINITRD_MODULES="piix ata_piix processor thermal fan"\nDOMU=""\n'
    edit, backup, command = initrd(suse_facts(), {SUSE: text.encode()}).steps
    assert edit.new_text == text.replace(
        "fan", "fan virtio virtio_ring virtio_blk virtio_net virtio_pci"
    )
    assert backup.to == f"/boot/initrd-{SLES_V}.virtio.orig"
    argv = ("mkinitrd", "-k", f"vmlinuz-{SLES_V}", "-i", f"initrd-{SLES_V}{NEW}")
    assert command.argv == argv
    assert command.image == f"/boot/initrd-{SLES_V}"


def test_suse_is_idempotent_and_adds_a_line_when_there_is_none():
    text = 'INITRD_MODULES="piix virtio virtio_ring virtio_blk virtio_net virtio_pci"\n'
    assert [s.kind for s in initrd(suse_facts(), {SUSE: text.encode()}).steps] == [
        "backup",
        "command",
    ]
    (edit, _, _) = initrd(suse_facts(), {SUSE: b'DOMU_INITRD_MODULES=""\n'}).steps
    assert edit.new_text.endswith(
        '\nINITRD_MODULES="virtio virtio_ring virtio_blk virtio_net virtio_pci"\n'
    )


def test_suse_out_of_order_list_is_kept_and_completed():
    """SLES 11's 3.0 kernel: another order works, so warn and add (issue 14)."""
    text = 'INITRD_MODULES="virtio_pci virtio"\n'
    p = initrd(suse_facts(), {SUSE: text.encode()})
    assert not p.refused
    (f,) = [f for f in p.findings if f.id == "modules-order-tolerated"]
    assert f.message.startswith("/etc/sysconfig/kernel (INITRD_MODULES) lists")
    assert p.steps[0].new_text == (
        'INITRD_MODULES="virtio_ring virtio_blk virtio_net virtio_pci virtio"\n'
    )


# ---- initramfs-tools -----------------------------------------------------------------

ITOOLS = "/etc/initramfs-tools/modules"
DEB_V = "2.6.26-2-686"


def deb_facts(**kw):
    k = kernel(DEB_V, initrd=f"/boot/initrd.img-{DEB_V}", **kw)
    return facts(initrd_tool="initramfs-tools", kernels=(k,), initrd_tool_config={"MODULES": "dep"})


def test_initramfs_tools_appends_names_and_updates():
    text = "# List of modules that you want to include in your initramfs.\n#\n# raid1\n"
    edit, backup, command = initrd(deb_facts(), {ITOOLS: text.encode()}).steps
    assert edit.new_text == text + "".join(m + "\n" for m in ALL)
    assert backup.to == f"/boot/initrd.img-{DEB_V}.virtio.orig"
    # update-initramfs has no output option; it runs mkinitramfs -o IMAGE.new KVER.
    assert command.argv == ("mkinitramfs", "-o", f"/boot/initrd.img-{DEB_V}{NEW}", DEB_V)


def test_initramfs_tools_without_image_creates_one():
    f = facts(
        initrd_tool="initramfs-tools",
        kernels=(kernel(DEB_V, initrd=None, initrd_virtio=None),),
    )
    p = initrd(f, {ITOOLS: b""})
    assert p.steps[-1].argv == ("mkinitramfs", "-o", f"/boot/initrd.img-{DEB_V}{NEW}", DEB_V)
    assert p.steps[-1].image == f"/boot/initrd.img-{DEB_V}"


def test_initramfs_tools_most_with_complete_image_needs_nothing():
    k = kernel(DEB_V, initrd=f"/boot/initrd.img-{DEB_V}", initrd_virtio=ALL)
    f = facts(initrd_tool="initramfs-tools", kernels=(k,), initrd_tool_config={"MODULES": "most"})
    assert initrd(f, {ITOOLS: b""}).steps == ()


@pytest.mark.parametrize(
    "tool, config, expected",
    [
        ("initramfs-tools", {}, True),
        ("initramfs-tools", {"MODULES": "dep"}, False),
        ("dracut", {"hostonly": "no"}, True),
        ("dracut", {}, False),
        ("mkinitcpio", {}, False),
    ],
)
def test_future_images_keep_them(tool, config, expected):
    assert future_images_keep_them(tool, config) is expected


# ---- mkinitcpio ------------------------------------------------------------------------

CPIO_CONF = "/etc/mkinitcpio.conf"
CPIO_DROPIN = "/etc/mkinitcpio.conf.d/virtio.conf"
ARCH_IMAGE = "/boot/initramfs-linux.img"


def arch_facts(initrd=ARCH_IMAGE):
    k = kernel("6.6.1-arch1-1", initrd=initrd, initrd_virtio=() if initrd else None)
    return facts(initrd_tool="mkinitcpio", kernels=(k,))


def test_mkinitcpio_uses_a_drop_in_when_the_folder_exists():
    files = {CPIO_CONF: b"MODULES=()\nHOOKS=(base udev)\n", "/etc/mkinitcpio.conf.d/": b""}
    edit, backup, command = initrd(arch_facts(), files).steps
    assert edit.path == CPIO_DROPIN
    assert edit.new_text.splitlines()[-1] == (
        "MODULES+=(virtio virtio_ring virtio_blk virtio_net virtio_pci)"
    )
    assert backup.to == ARCH_IMAGE + ".virtio.orig"
    argv = ("mkinitcpio", "-k", "6.6.1-arch1-1", "-g", ARCH_IMAGE + NEW)
    assert command.argv == argv and command.image == ARCH_IMAGE


def test_mkinitcpio_edits_the_main_array_without_drop_ins():
    files = {CPIO_CONF: b"MODULES=(ext4)\nHOOKS=(base udev)\n", "/etc/mkinitcpio.conf.d/": None}
    (edit, _, _) = initrd(arch_facts(), files).steps
    assert edit.path == CPIO_CONF
    assert edit.new_text == (
        "MODULES=(ext4 virtio virtio_ring virtio_blk virtio_net virtio_pci)\nHOOKS=(base udev)\n"
    )
    old_style = {CPIO_CONF: b'MODULES="ext4"\n'}
    (edit, _, _) = initrd(arch_facts(), old_style).steps
    assert edit.new_text == 'MODULES="ext4 virtio virtio_ring virtio_blk virtio_net virtio_pci"\n'


def test_mkinitcpio_is_idempotent():
    files = {CPIO_CONF: b"MODULES=()\n", "/etc/mkinitcpio.conf.d/": b""}
    first = initrd(arch_facts(), files)
    again = initrd(arch_facts(), applied(first, files))
    assert [s.kind for s in again.steps] == ["backup", "command"]


def test_mkinitcpio_without_image_is_refused():
    p = initrd(arch_facts(initrd=None), {CPIO_CONF: b"MODULES=()\n"})
    (f,) = p.refusals
    assert f.id == "initrd-image-unknown"
    assert f.message == (
        "Kernel 6.6.1-arch1-1 has no initrd image, and mkinitcpio names its images by "
        "preset, so the wizard cannot tell which one to check."
    )


# ---- word lists -----------------------------------------------------------------------


def test_merge_words_keeps_others_and_the_seed_order():
    words, added, bad = merge_words(["ext4", "virtio_pci"], ALL)
    assert words == ["ext4", "virtio", "virtio_ring", "virtio_blk", "virtio_net", "virtio_pci"]
    assert added == ["virtio", "virtio_ring", "virtio_blk", "virtio_net"] and bad is None
    assert merge_words(["virtio_net", "virtio_blk"], ALL)[0][:2] == ["virtio", "virtio_ring"]
    assert merge_words(["virtio_pci", "virtio"], ALL)[2] == 1
    assert merge_words(["virtio_pci", "virtio"], ALL)[1] == []  # strict: left alone
    words, added, bad = merge_words(["virtio_pci", "virtio"], ALL, strict=False)
    assert bad == 1 and added == ["virtio_ring", "virtio_blk", "virtio_net"]
    assert words == ["virtio_ring", "virtio_blk", "virtio_net", "virtio_pci", "virtio"]


def test_guest_files_modes_do_not_change_initrd_plans():
    files = GuestFiles({DRACUT: None})
    assert initrd(dracut_facts(), files).steps[0].mode == 0o644
