"""detect/initrd_tool.py, detect/sysinit.py and detect/modlists.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from virtio_wizard.detect.initrd_tool import detect_initrd_tool, shell_assignments
from virtio_wizard.detect.modlists import (
    detect_module_lists,
    parse_lines_list,
    parse_shell_list,
)
from virtio_wizard.detect.sysinit import detect_sysinit, find_hook_line, modprobe_module
from virtio_wizard.facts import Distro, ModuleList, ModuleListEntry, Unreadable

RHEL3 = Distro("rhel", "Red Hat Enterprise Linux ES", "3.9", "redhat")
RHEL5 = Distro("rhel", "Red Hat Enterprise Linux Server", "5", "redhat")
RHEL6 = Distro("rhel", "Red Hat Enterprise Linux Server", "6.7", "redhat")
FEDORA = Distro("fedora", "Fedora", "19", "redhat")
SLES = Distro("sles", "SUSE Linux Enterprise Server 11", "11.3", "suse")
DEBIAN = Distro("debian", "Debian GNU/Linux", "12", "debian")
UNKNOWN = Distro()

NASH = "#!/bin/bash\n# mkinitrd\ninst /sbin/nash $MNTIMAGE/bin/nash\n"
WRAPPER = '#!/bin/bash --norc\ndracut $args "$target" "$kernel"\n'

# ---- initrd tool -----------------------------------------------------------------


def test_nash_mkinitrd_by_content(tree):
    tool, config = detect_initrd_tool(tree({"sbin/mkinitrd": NASH}), UNKNOWN)
    assert tool == "mkinitrd"
    assert config == {"path": "/sbin/mkinitrd", "evidence": "/sbin/mkinitrd"}


def test_latin1_nash_script_is_read(tree):
    t = tree({"sbin/mkinitrd": ("# Jos\xe9\n" + NASH).encode("latin-1")})
    assert detect_initrd_tool(t, RHEL3)[0] == "mkinitrd"


def test_binary_mkinitrd_on_rhel5_is_nash_by_release(tree):
    t = tree({"sbin/mkinitrd": b"\x7fELF\x02\x01\x01" + bytes(40)})
    problems: list[Unreadable] = []
    assert detect_initrd_tool(t, RHEL5, problems)[0] == "mkinitrd"
    assert [p.path for p in problems] == ["/sbin/mkinitrd"]


def test_dracut_wrapper_mkinitrd_is_dracut(tree):
    tool, config = detect_initrd_tool(tree({"sbin/mkinitrd": WRAPPER}), FEDORA)
    assert tool == "dracut" and config["evidence"] == "/sbin/mkinitrd calls dracut"


def test_dracut_program_and_hostonly_from_all_config_files(tree):
    t = tree(
        {
            "usr/bin/dracut": "#!/bin/bash\n",
            "usr/lib/dracut/dracut.conf.d/01-dist.conf": 'hostonly="yes"\n',
            "etc/dracut.conf": '# hostonly="no"\n',
            "etc/dracut.conf.d/50-local.conf": "hostonly=no\n",
        }
    )
    tool, config = detect_initrd_tool(t, FEDORA)
    assert tool == "dracut"
    assert config == {"path": "/usr/bin/dracut", "evidence": "/usr/bin/dracut", "hostonly": "no"}


def test_dracut_hostonly_from_the_distribution_default(tree):
    t = tree({"sbin/dracut": "", "usr/lib/dracut/dracut.conf.d/01-dist.conf": "hostonly='yes'"})
    assert detect_initrd_tool(t, RHEL6)[1]["hostonly"] == "yes"


def test_suse_mkinitrd(tree):
    t = tree(
        {
            "sbin/mkinitrd": "#!/bin/bash\n#%stage: setup\n",
            "etc/sysconfig/kernel": 'INITRD_MODULES="piix ata_piix jbd ext3"\n',
        }
    )
    tool, config = detect_initrd_tool(t, SLES)
    assert tool == "suse-mkinitrd"
    assert config["INITRD_MODULES"] == "piix ata_piix jbd ext3"


def test_suse_with_dracut_is_dracut(tree):
    t = tree({"sbin/mkinitrd": WRAPPER, "usr/bin/dracut": ""})
    assert detect_initrd_tool(t, Distro("sles", "SLES", "15.5", "suse"))[0] == "dracut"


def test_initramfs_tools_modules_policy_from_conf_d(tree):
    t = tree(
        {
            "usr/sbin/update-initramfs": "",
            "etc/initramfs-tools/initramfs.conf": "MODULES=most\nCOMPRESS=zstd\n",
            "etc/initramfs-tools/conf.d/driver-policy": "MODULES=dep\n",
        }
    )
    tool, config = detect_initrd_tool(t, DEBIAN)
    assert tool == "initramfs-tools"
    assert (config["MODULES"], config["COMPRESS"]) == ("dep", "zstd")


def test_initramfs_tools_by_config_folder_only(tree):
    t = tree({"etc/initramfs-tools/initramfs.conf": "MODULES=list\n"})
    tool, config = detect_initrd_tool(t, DEBIAN)
    assert tool == "initramfs-tools"
    assert config == {"path": "", "evidence": "/etc/initramfs-tools", "MODULES": "list"}


def test_debian_with_dracut_programs_but_initramfs_tools_hook(tree):
    t = tree(
        {
            "usr/bin/dracut": "",
            "usr/sbin/update-initramfs": "",
            "etc/kernel/postinst.d/initramfs-tools": "",
        }
    )
    assert detect_initrd_tool(t, DEBIAN)[0] == "initramfs-tools"
    t = tree(
        {
            "usr/bin/dracut": "",
            "usr/sbin/update-initramfs": "",
            "etc/kernel/postinst.d/initramfs-tools": "",
            "etc/kernel/postinst.d/dracut": "",
        }
    )
    assert detect_initrd_tool(t, DEBIAN)[0] == "dracut"


def test_mkinitcpio_modules_and_hooks(tree):
    t = tree(
        {
            "etc/mkinitcpio.conf": "MODULES=(virtio_blk)\nHOOKS=(base udev autodetect block)\n",
            "etc/mkinitcpio.conf.d/10-more.conf": "MODULES=(virtio_blk virtio_pci)\n",
        }
    )
    tool, config = detect_initrd_tool(t, Distro("arch", "Arch Linux", "", "arch"))
    assert tool == "mkinitcpio"
    assert config["MODULES"] == "virtio_blk virtio_pci"
    assert config["HOOKS"] == "base udev autodetect block"


def test_missing_program_falls_back_on_the_release(tree):
    t = tree({"etc/hostname": ""})
    tool, config = detect_initrd_tool(t, RHEL5)
    assert tool == "mkinitrd" and "no program found" in config["evidence"]
    assert detect_initrd_tool(t, RHEL6)[0] == "dracut"


def test_no_tool(tree):
    assert detect_initrd_tool(tree({"etc/hostname": ""}), DEBIAN) == (None, {})


def test_shell_assignments():
    got = shell_assignments(
        "export MODULES=most # comment\n"
        "  # MODULES=dep\n"
        'add_drivers+=" virtio_blk "\n'
        "add_drivers+=' virtio_net'\n"
        "HOOKS=(base udev)\n"
        "garbage line\n"
    )
    assert got == {"MODULES": "most", "add_drivers": "virtio_blk virtio_net", "HOOKS": "base udev"}


# ---- rc.sysinit ------------------------------------------------------------------

BLOCK = ["if [ -f /etc/rc.modules ]; then", "\t/etc/rc.modules", "fi"]


@pytest.mark.parametrize(
    ("lines", "hook"),
    [
        (["# head", *BLOCK], 4),
        (["if  [ -f /etc/rc.modules ] ;then", "    /etc/rc.modules", "fi  "], 3),
        (["if [ -f /etc/rc.modules ]", "then", "\t/etc/rc.modules", "", "fi # done"], 5),
        (["if [ -f /etc/rc.modules ]; then", "\t. /etc/rc.modules", "fi"], 3),
        (["# if [ -f /etc/rc.modules ]; then", "#\t/etc/rc.modules", "# fi", *BLOCK], 6),
        (["if [ -f /etc/rc.modules ]; then", "\t/etc/rc.modules", "\techo x", "fi"], None),
        (["if [ -f /etc/rc.local ]; then", "\t/etc/rc.local", "fi"], None),
        (["if [ -f /etc/rc.modules ]; then"], None),
        ([], None),
    ],
)
def test_find_hook_line(lines, hook):
    assert find_hook_line(lines) == hook


@pytest.mark.parametrize(
    ("line", "module"),
    [
        ("modprobe virtio", "virtio"),
        ("/sbin/modprobe -q virtio-blk >/dev/null 2>&1", "virtio-blk"),
        ("modprobe virtio_ring # Comment this out if you do not need block driver", "virtio_ring"),
        ("modprobe $module", None),
        ('modprobe "$i"', None),
        ("# modprobe virtio", None),
        ("echo modprobe virtio", None),
        ("modprobe", None),
    ],
)
def test_modprobe_module(line, module):
    assert modprobe_module(line) == module


def test_sysinit_fixture_block_near_line_440_with_latin1(fixture_target):
    s = detect_sysinit(fixture_target("rhel39"))
    assert s is not None
    assert (s.file, s.hook_line, s.modprobes) == ("/etc/rc.d/rc.sysinit", 442, ())


def test_sysinit_hook_and_existing_modprobes(tree):
    text = "\n".join(
        [
            "#!/bin/bash",
            "modprobe virtio_pci",  # before the hook: not the seed's place
            *BLOCK,
            "",
            "modprobe virtio",
            "# modprobe virtio_ring",
            "modprobe virtio_blk  # block",
            "modprobe e1000",
            "modprobe $x",
        ]
    )
    s = detect_sysinit(tree({"etc/rc.d/rc.sysinit": text.encode("latin-1")}))
    assert s.hook_line == 5
    assert s.modprobes == ("modprobe virtio", "modprobe virtio_blk  # block")


def test_sysinit_via_etc_rc_sysinit_link(tree):
    t = tree({"etc/rc.sysinit": Path("rc.d/rc.sysinit"), "etc/rc.d/rc.sysinit": "\n".join(BLOCK)})
    assert detect_sysinit(t).hook_line == 3


def test_no_sysinit(tree):
    assert detect_sysinit(tree({"etc/hostname": ""})) is None


def test_sysinit_without_block(tree):
    s = detect_sysinit(tree({"etc/rc.d/rc.sysinit": "#!/bin/bash\necho hi\n"}))
    assert s is not None and s.hook_line is None and s.modprobes == ()


def test_sysinit_garbage_or_fifo_is_recorded(tree):
    problems: list[Unreadable] = []
    s = detect_sysinit(tree({"etc/rc.d/rc.sysinit": b"\x00\x01\x02fi\n"}), problems)
    assert s is not None and s.hook_line is None
    assert problems == [Unreadable("/etc/rc.d/rc.sysinit", "binary data where text was expected")]
    t = tree({"etc/rc.d/.keep": ""})
    os.mkfifo(os.path.join(t.root, "etc/rc.d/rc.sysinit"))
    problems = []
    s = detect_sysinit(t, problems)
    assert s is not None and s.hook_line is None
    assert problems == [Unreadable("/etc/rc.d/rc.sysinit", "not a regular file")]


# ---- module lists ----------------------------------------------------------------


def test_parse_lines_list_comments_and_args():
    assert parse_lines_list("; x\n# y\nloop max_loop=8\n  virtio_blk\nbad/name\n") == (
        ModuleListEntry(3, "loop"),
        ModuleListEntry(4, "virtio_blk"),
    )


def test_parse_shell_list_forms():
    entries, seen = parse_shell_list(
        'add_drivers+=" virtio_blk virtio_net "\n'
        '# add_drivers+=" nope "\n'
        "force_drivers=virtio_pci\n",
        ("add_drivers", "force_drivers"),
    )
    assert seen
    assert entries == (
        ModuleListEntry(1, "virtio_blk"),
        ModuleListEntry(1, "virtio_net"),
        ModuleListEntry(3, "virtio_pci"),
    )
    entries, seen = parse_shell_list("MODULES=(\n  virtio  # core\n  virtio_pci\n)\n", ("MODULES",))
    assert entries == (ModuleListEntry(2, "virtio"), ModuleListEntry(3, "virtio_pci"))
    assert parse_shell_list("MODULES=()\n", ("MODULES",)) == ((), True)
    assert parse_shell_list("HOOKS=(base)\n", ("MODULES",)) == ((), False)
    # An unterminated value stops at the end of the file instead of looping.
    assert parse_shell_list('MODULES="virtio\n', ("MODULES",))[0] == (ModuleListEntry(1, "virtio"),)


def test_every_kind_of_list(tree):
    t = tree(
        {
            "etc/rc.d/rc.sysinit": "\n".join([*BLOCK, "modprobe virtio", "modprobe $m"]),
            "etc/rc.modules": "#!/bin/sh\nmodprobe virtio_ring\n"
            "insmod /lib/modules/2.4.21/extra/virtio_blk.o\n",
            "etc/sysconfig/modules/virtio.modules": "#!/bin/sh\nmodprobe virtio_pci\n",
            "etc/sysconfig/modules/notes.txt": "modprobe ignored\n",
            "etc/modules": "# comment\nvirtio_net\n",
            "etc/modules-load.d/virtio.conf": "virtio_blk\n",
            "etc/initramfs-tools/modules": "virtio_pci\n",
            "etc/dracut.conf": "hostonly=yes\n",
            "etc/dracut.conf.d/virtio.conf": 'add_drivers+=" virtio_blk "\n',
            "etc/mkinitcpio.conf": "MODULES=(virtio virtio_blk)\n",
            "etc/sysconfig/kernel": 'INITRD_MODULES="ata_piix"\nMODULES_LOADED_ON_BOOT=""\n',
            "etc/modprobe.conf": "alias eth0 virtio_net\nalias scsi_hostadapter virtio_blk\n",
            "etc/modprobe.d/blacklist.conf": "blacklist pcspkr\n",
        }
    )
    lists = {
        (ml.file, ml.kind): [(e.line, e.module) for e in ml.entries]
        for ml in detect_module_lists(t)
    }
    assert lists == {
        ("/etc/rc.d/rc.sysinit", "rc.sysinit"): [(4, "virtio")],
        ("/etc/rc.modules", "script"): [(2, "virtio_ring"), (3, "virtio_blk")],
        ("/etc/sysconfig/modules/virtio.modules", "script"): [(2, "virtio_pci")],
        ("/etc/modules", "lines"): [(2, "virtio_net")],
        ("/etc/modules-load.d/virtio.conf", "lines"): [(1, "virtio_blk")],
        ("/etc/initramfs-tools/modules", "lines"): [(1, "virtio_pci")],
        ("/etc/dracut.conf.d/virtio.conf", "dracut"): [(1, "virtio_blk")],
        ("/etc/mkinitcpio.conf", "mkinitcpio"): [(1, "virtio"), (1, "virtio_blk")],
        ("/etc/sysconfig/kernel", "sysconfig-kernel"): [(1, "ata_piix")],
        ("/etc/modprobe.conf", "modprobe-alias"): [(1, "virtio_net"), (2, "virtio_blk")],
    }


def test_empty_dedicated_lists_are_reported_shared_configs_are_not(tree):
    t = tree(
        {
            "etc/modules": "# nothing yet\n",
            "etc/modprobe.conf": "options e1000 debug=1\n",
            "etc/dracut.conf": "hostonly=yes\n",
        }
    )
    assert detect_module_lists(t) == (ModuleList("/etc/modules", "lines", ()),)


def test_a_list_reached_by_two_paths_is_reported_once(fixture_target):
    lists = detect_module_lists(fixture_target("debian12"))
    files = [ml.file for ml in lists]
    assert "/etc/modules" in files and "/etc/modules-load.d/modules.conf" not in files


def test_module_lists_skip_garbage_and_fifos(tree):
    t = tree({"etc/modules": b"\x00garbage\x00", "etc/modules-load.d/.keep": ""})
    os.mkfifo(os.path.join(t.root, "etc/modules-load.d/virtio.conf"))
    problems: list[Unreadable] = []
    assert detect_module_lists(t, problems) == ()
    assert {p.path for p in problems} == {"/etc/modules", "/etc/modules-load.d/virtio.conf"}


def test_rhel48_fixture_lists(fixture_target):
    lists = detect_module_lists(fixture_target("rhel48"))
    alias = next(ml for ml in lists if ml.kind == "modprobe-alias")
    assert alias.file == "/etc/modprobe.conf"
    assert [e.module for e in alias.entries] == ["e1000", "ata_piix"]
