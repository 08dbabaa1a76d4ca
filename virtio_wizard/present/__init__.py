"""What the wizard says about a guest, decided once for every face.

``present.facts`` builds the lines and rows that describe Facts and
``present.remedy`` the words of a Finding's remedy on the command line; the
CLI (``render.py``, ``report.py``) and the TUI (``tui/widgets/facts_view.py``)
only lay them out, as ``preview.py`` is the one source of a Plan's words.
"""
