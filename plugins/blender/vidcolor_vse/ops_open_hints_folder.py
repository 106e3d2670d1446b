"""VIDCOLOR_OT_open_hints_folder: show the strip's hints folder in the file manager."""

from __future__ import annotations

import bpy

from . import compat, paths


class VIDCOLOR_OT_open_hints_folder(bpy.types.Operator):
    """Open the active strip's hints folder."""

    bl_idname = "vidcolor.open_hints_folder"
    bl_label = "Open Hints Folder"
    bl_description = "Open the active strip's hints folder in the system file manager"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        """Available when the active movie strip's hints folder exists."""
        editor = compat.sequencer_scene(context).sequence_editor
        strip = None if editor is None else editor.active_strip
        if strip is None or strip.type != "MOVIE":
            return False
        folder = paths.hints_dir(strip)
        return folder is not None and folder.is_dir()

    def execute(self, context):
        """Hand the folder to Blender's ``wm.path_open``."""
        strip = compat.sequencer_scene(context).sequence_editor.active_strip
        return bpy.ops.wm.path_open(filepath=str(paths.hints_dir(strip)))
