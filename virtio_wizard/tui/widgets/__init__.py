"""Widgets and renderers shared by the screens (header, ASCII toggles, fact views)."""
