"""Benchmarks of virtio-wizard: ``python bench/run.py`` (see docs/benchmarks.md)."""
