"""VIDCOLOR_OT_cancel_job: stop the running colorize job and leave nothing behind."""

from __future__ import annotations

import bpy

from . import props, watch


class VIDCOLOR_OT_cancel_job(bpy.types.Operator):
    """Stop the running colorize job."""

    bl_idname = "vidcolor.cancel_job"
    bl_description = "Stop the running colorize job; its partial output is removed"
    bl_label = "Cancel"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        """Available while a job runs."""
        status = props.job_status(context.window_manager)
        return status is not None and status.running and not status.cancel_requested

    def execute(self, context):
        """Flag the job; its watcher terminates the process on its next tick."""
        status = props.job_status(context.window_manager)
        status.cancel_requested = True
        status.status = "Cancelling..."
        watch.tag_redraw()
        return {"FINISHED"}
