"""Apply: the one writer, and the way back.

The modules, in the order a change flows through them:

- ``events``: the progress vocabulary (``ApplyEvent``) shared by the CLI and the TUI;
- ``preflight``: the refusals checked before anything is written, and the lock;
- ``resume``: which journal a re-run continues, and a new journal's first record;
- ``run``: ``apply_plan``, the executor that keeps the journal;
- ``logfile``: the log of each apply and undo, kept in the guest beside its journal;
- ``undo``: replaying a journal backwards;
- ``verify``: what the guest holds after the change (the initrd's modules, detection again);
- ``verify_live``: the checks on the guest once it runs on virtio;
- ``scratch``: a throw-away initrd build, the distro's way, for "does it survive an update".
"""
