"""``verify``'s checks of the next boot, not of the running system.

The running guest booted, so its current image worked; what can still break
is the image booted next:

- ``survives-update``: after an initrd apply, would the next kernel update
  keep virtio? A scratch image built the distro's way says
  (``scratch.check_survives_update``, into a temp file, never over a real
  image);
- ``initrd-root-needs``: does the initrd of the kernel the boot loader picks
  next hold what the root needs (its file system module, device-mapper and
  the lvm tool on LVM, MD and LUKS pieces: ``plan.rootneeds``)? The image is
  read once (``verify.check_root_needs``, as apply's verify does for each
  prepared kernel).

Both take the Facts ``verify_live`` detected once (None when detection
failed: then nothing can be told, and nothing is counted as a problem).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ..finding import Remedy, choose
from ..targets import Target
from .verify_report import Check, Problem

if TYPE_CHECKING:
    from ..facts import Facts, Kernel
    from ..plan.rootneeds import Need

__all__ = ["check_update", "check_next_root"]

_ROOT_ID = "initrd-root-needs"
_ROOT_TITLE = "the initrd booted next holds what the root needs"
#: The package that puts a missing tool in the image (its initrd hook copies it from the guest).
_PACKAGES = (("lvm", "lvm2"), ("mdadm", "mdadm"), ("cryptsetup", "cryptsetup"))


def _journal_plan(journal: Optional[dict[str, Any]]) -> dict[str, Any]:
    """The plan of the last apply when it was not undone; {} otherwise."""
    if not journal or journal.get("undone"):
        return {}
    return journal.get("plan") or {}


def check_update(
    target: Target, journal: Optional[dict[str, Any]], facts: Optional[Facts]
) -> Check:
    """Would the next kernel update keep virtio? A scratch image built the distro's way says.

    Only asked after an apply that put modules in the initrd (the journal's
    plan names them): that is what a kernel update rebuilds without the
    wizard.
    """
    title = "a kernel update keeps virtio"
    plan = _journal_plan(journal)
    modules = [str(m) for m in plan.get("modules") or ()]
    if (plan.get("choices") or {}).get("method") != "initrd" or not modules:
        return Check("survives-update", title, "no initrd apply to check: nothing to build")
    if facts is None:
        return Check("survives-update", title, "could not detect the guest: nothing to build")
    from .scratch import check_survives_update

    kernel = facts.kernel(str(plan.get("kernel") or "")) if plan.get("kernel") else None
    answer = check_survives_update(target, facts, modules, kernel)
    if answer.survives is False:
        problem = Problem(
            f"a scratch image built for {answer.kernel} the distro's way lacks "
            + ", ".join(answer.missing),
            "the initrd tool's own configuration does not name the virtio modules, so the next "
            "kernel update builds an image without them and that kernel cannot find its disk",
            Remedy(
                "Name the modules in the initrd tool's own configuration (a plan with the "
                "initrd method shows that edit), then verify again.",
                (choose(method="initrd"),),
            ),
        )
        return Check("survives-update", title, answer.line(), (problem,))
    return Check("survives-update", title, answer.line())


def check_next_root(
    target: Target,
    journal: Optional[dict[str, Any]],
    facts: Optional[Facts],
    error: str = "",
) -> Check:
    """Does the initrd of the kernel booted next hold what the root needs?

    Asked whatever the journal says: an image built later (a kernel update,
    a host-only build) can lack them as well as one the wizard built. A
    module built into the kernel is never asked; an image that cannot be
    read is said, not counted as a problem.
    """
    from .verify import check_root_needs

    def said(detail: str, *problems: Problem) -> Check:
        return Check(_ROOT_ID, _ROOT_TITLE, detail, problems)

    kernel = facts.default_kernel() if facts is not None else None
    if facts is None or kernel is None:
        why = f"could not detect the guest: {error}" if facts is None else "no installed kernel"
        return said(f"{why}: nothing to check")
    v = kernel.version
    if facts.root_stack is None:
        return said(f"{v} boots next; /etc/fstab names no root")
    answer = check_root_needs(target, facts, kernel)
    if not answer.needs:
        told = v in facts.root_stack.kernel_modules
        why = "what it needs is built into the kernel" if told else "its modules could not be told"
        return said(f"{v} boots next; nothing asked of its initrd ({why})")
    if answer.holds is None:
        return said(f"{v} boots next; could not read its initrd: {answer.error}")
    if answer.holds:
        return said(f"{v} boots next; its initrd ({answer.image}) holds what the root needs")
    problem = Problem(
        f"the initrd of {v} ({answer.image}), which boots next, lacks " + _describe(answer.missing),
        "the image was built without them (the tool was not installed in the guest, a "
        "host-only build, or a configuration that leaves them out): booted from it, the kernel "
        "cannot set up / and stops in the initrd (an emergency shell, or 'VFS: Unable to "
        "mount root fs')",
        _rebuild_remedy(facts, kernel, answer.image or "", answer.missing, journal),
    )
    return said(f"{v} boots next; its initrd lacks what the root needs", problem)


def _describe(needs: tuple[Need, ...]) -> str:
    from ..plan.rootneeds import describe

    return describe(needs)


def _rebuild_remedy(
    facts: Facts,
    kernel: Kernel,
    image: str,
    missing: tuple[Need, ...],
    journal: Optional[dict[str, Any]],
) -> Remedy:
    """Rebuild the image in place with the guest's tool, the virtio modules kept in it.

    The planner leaves an image that already holds virtio alone, so no wizard
    choice rebuilds it: the remedy is the tool's own command (``rebuild_argv``,
    the one apply runs, here writing the image itself), after installing the
    package a missing tool comes from.
    """
    from ..plan.initrd import rebuild_argv

    wanted = " ".join(alt for need in missing for alt in need.any_of)
    packages = [pkg for word, pkg in _PACKAGES if word in wanted]
    install = (
        f"install {', '.join(packages)} in the guest (the initrd tool copies the tool from "
        "there), then "
        if packages
        else ""
    )
    modules = [str(m) for m in _journal_plan(journal).get("modules") or ()]
    try:
        argv = rebuild_argv(
            facts.initrd_tool or "", kernel, image, modules or kernel.initrd_virtio or ()
        )
    except ValueError:
        argv = ()
    how = (
        "with the command below (it keeps the virtio modules in it)"
        if argv
        else "with the guest's initrd tool"
    )
    return Remedy(
        advice=(
            f"Before the next boot: {install}rebuild the initrd of {kernel.version} {how}, "
            "then verify again."
        ),
        command=argv,
    )
