"""VIDCOLOR_OT_colorize_strip: colorize the active movie strip with the vidcolor CLI."""

from __future__ import annotations

import uuid

import bpy

from . import commands, compat, paths, props, strips, watch
from .runner import CliJob, JobError


class VIDCOLOR_OT_colorize_strip(bpy.types.Operator):
    """Colorize the active movie strip in the background."""

    bl_idname = "vidcolor.colorize_strip"
    bl_description = (
        "Colorize the active movie strip in the background with its hints; the result is "
        "added as a new strip above it"
    )
    bl_label = "Colorize"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        """Available when a movie strip is active and no job is running."""
        status = props.job_status(context.window_manager)
        if status is None or status.running:
            return False
        editor = compat.sequencer_scene(context).sequence_editor
        strip = None if editor is None else editor.active_strip
        return strip is not None and strip.type == "MOVIE"

    def execute(self, context):
        """Start the job and the timer that follows it; returns at once."""
        scene = compat.sequencer_scene(context)
        editor = scene.sequence_editor
        status = props.job_status(context.window_manager)
        try:
            strip = strips.require_movie(None if editor is None else editor.active_strip)
            if status.running:
                raise JobError("a colorize job is already running; cancel it or wait")
            job = self._make_job(context, scene, strip)
            job.start()
        except (JobError, strips.StripError) as exc:
            if status is not None:
                status.error = str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}

        token = uuid.uuid4().hex
        status.token = token
        status.running = True
        status.cancel_requested = False
        status.progress = 0.0
        status.has_progress = False
        status.error = ""
        status.output = str(job.output)
        status.scene_name = scene.name
        status.strip_name = strip.name
        status.status = "Starting..."
        watch.schedule(watch.JobWatcher(job, token, scene, strip.name))
        watch.tag_redraw()
        self.report({"INFO"}, f"VidColor: colorizing {strip.name!r} into {job.output}")
        return {"FINISHED"}

    @staticmethod
    def _make_job(context, scene, strip) -> CliJob:
        prefs = props.preferences(context)
        cli = commands.find_cli(prefs.cli_path if prefs is not None else "")
        source = paths.movie_path(strip)
        if not source.is_file():
            raise JobError(f"strip {strip.name!r}: movie file {source} does not exist")
        hints = paths.hints_dir(strip)
        if hints is not None and not hints.is_dir():
            raise JobError(
                f"strip {strip.name!r}: hints folder {hints} does not exist; expected a folder "
                "of <frame>.json/<frame>.png files (or clear it to colorize without hints)"
            )
        settings = scene.vidcolor
        output = commands.output_path(source, paths.output_dir(settings, strip), strip.name)
        if output.resolve() == source:
            raise JobError(f"{output}: would replace the source movie; choose another folder")
        command = commands.colorize_command(
            cli,
            source,
            hints,
            device=settings.device,
            quality=settings.quality,
            temporal=settings.temporal,
            weights=settings.weights,
        )
        return CliJob(command, output)
