"""Driving ipywidgets from tests as a browser would, and reading what they display.

Shared by the lesson-widget tests; the fixture that fails a test whose widget callbacks logged
an exception is ``no_logged_callback_errors`` in tests/conftest.py.
"""
import logging


def callback_errors(records):
    """The log records that report an exception raised inside a widget callback (ipywidgets
    logs those instead of raising them)."""
    return [r for r in records
            if r.exc_info or r.getMessage().startswith("Exception in")
            or r.levelno >= logging.ERROR]


def frontend_set(widget, **state):
    """Change `widget` as the browser does: an ``update`` message through ``_handle_msg``.

    Selection widgets (Dropdown, ToggleButtons) sync ``index``, the others ``value``.
    """
    widget._handle_msg({"content": {"data": {"method": "update", "state": state,
                                             "buffer_paths": []}},
                        "buffers": []})


def shown(box):
    """The widgets of `box`'s tree that are displayed (a hidden box hides its children)."""
    if getattr(box.layout, "display", None) == "none":
        return []
    out = [box]
    for child in getattr(box, "children", ()):
        out += shown(child)
    return out
