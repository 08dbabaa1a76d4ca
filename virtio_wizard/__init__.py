"""virtio-wizard: move a Linux KVM guest onto the virtio drivers, safely."""

__version__ = "0.1.0"
