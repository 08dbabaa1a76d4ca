"""The one error the initrd reader raises for an image it cannot read."""

from __future__ import annotations

__all__ = ["InitrdError"]


class InitrdError(ValueError):
    """The image is corrupt, truncated, of an unknown kind, or needs a missing library.

    The message is one sentence a user can read: ``inspect_initrd`` puts it in
    ``InitrdInfo.error`` as it is.
    """
