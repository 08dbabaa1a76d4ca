"""The Textual face of virtio-wizard: ``make_app(target)`` builds it.

Only this package imports Textual; the core never does.
"""
