"""Registration of every class of the add-on, from one list."""

from __future__ import annotations

import bpy

from . import panel, props
from .ops_add_hint_frame import VIDCOLOR_OT_add_hint_frame
from .ops_cancel_job import VIDCOLOR_OT_cancel_job
from .ops_colorize_strip import VIDCOLOR_OT_colorize_strip
from .ops_open_hints_folder import VIDCOLOR_OT_open_hints_folder

CLASSES = (
    *props.CLASSES,
    VIDCOLOR_OT_add_hint_frame,
    VIDCOLOR_OT_open_hints_folder,
    VIDCOLOR_OT_colorize_strip,
    VIDCOLOR_OT_cancel_job,
    panel.VIDCOLOR_PT_hints,
)


def register() -> None:
    """Register the classes, the properties and the status bar item."""
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    props.register_properties()
    bpy.types.STATUSBAR_HT_header.append(panel.draw_status_bar)


def unregister() -> None:
    """Undo :func:`register`; a running job is cancelled by its watcher on its next tick."""
    bpy.types.STATUSBAR_HT_header.remove(panel.draw_status_bar)
    props.unregister_properties()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
