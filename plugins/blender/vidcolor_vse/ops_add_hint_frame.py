"""VIDCOLOR_OT_add_hint_frame: export the strip's current frame into its hints folder."""

from __future__ import annotations

import bpy

from . import commands, compat, paths, props, strips
from .runner import JobError


class VIDCOLOR_OT_add_hint_frame(bpy.types.Operator):
    """Export the frame under the playhead into the strip's hints folder."""

    bl_idname = "vidcolor.add_hint_frame"
    bl_description = (
        "Export the frame under the playhead as <frame>.png plus an empty <frame>.json into "
        "the strip's hints folder, for painting color hints on"
    )
    bl_label = "Add Hint Frame"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        """Available when a movie strip is active."""
        editor = compat.sequencer_scene(context).sequence_editor
        strip = None if editor is None else editor.active_strip
        return strip is not None and strip.type == "MOVIE"

    def execute(self, context):
        """Run ``vidcolor hints template`` for the movie frame under the playhead.

        Waits for the CLI (one frame: a few seconds, mostly its start-up) under a wait cursor.
        """
        window = context.window
        if window is not None:
            window.cursor_modal_set("WAIT")
        try:
            return self._export(context)
        finally:
            if window is not None:
                window.cursor_modal_restore()

    def _export(self, context):
        scene = compat.sequencer_scene(context)
        editor = scene.sequence_editor
        try:
            strip = strips.require_movie(None if editor is None else editor.active_strip)
            frame = strips.movie_frame_at(strip, scene.frame_current)
            if not strip.vidcolor_hints.strip():
                strip.vidcolor_hints = paths.default_hints_dir(strip)
            prefs = props.preferences(context)
            cli = commands.find_cli(prefs.cli_path if prefs is not None else "")
            written = commands.export_hint_frame(
                cli, paths.movie_path(strip), paths.hints_dir(strip), frame
            )
        except (JobError, strips.StripError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        names = ", ".join(path.name for path in written)
        self.report(
            {"INFO"},
            f"VidColor: hint frame {frame} written ({names}). Paint colors on a transparent "
            f"layer over the PNG and save that layer as {frame}.png, or add points to the JSON",
        )
        return {"FINISHED"}
