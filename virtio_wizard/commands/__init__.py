"""One module per CLI subcommand, imported only when that subcommand runs.

Keeping them apart keeps ``detect --json`` from importing Rich or Textual.
"""
