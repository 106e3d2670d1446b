"""Follow a running job from Blender's main thread with ``bpy.app.timers``.

The job's own threads never touch ``bpy``. A timer calls :meth:`JobWatcher.tick` every
fraction of a second on the main thread; each tick reads what arrived (never waits), copies
it into ``WindowManager.vidcolor_job`` for the panel and the status bar, and, when the job
has finished well, adds the colorized strip.

The watcher object is held only by the timer (and by whoever called :func:`schedule`), so the
add-on keeps no module-level state. The Cancel operator reaches the job through the
``cancel_requested`` flag of ``WindowManager.vidcolor_job``; a watcher whose token no longer
matches that property group (add-on disabled, another job started) cancels its job and stops.
"""

from __future__ import annotations

import traceback

import bpy

from . import compat, props, strips
from .runner import CliJob, JobState

TICK_SECONDS = 0.25


class JobWatcher:
    """Copies a :class:`CliJob`'s progress into Blender and finishes the job there.

    Args:
        job: a started job.
        token: the ``vidcolor_job.token`` this job was started under.
        scene: the scene that holds the source strip.
        strip_name: the source strip's name.
    """

    def __init__(self, job: CliJob, token: str, scene, strip_name: str):
        self.job = job
        self.token = token
        self.scene_name = scene.name
        # Unique within this Blender session and renewed by every file load, so a result never
        # lands in a scene of another file that happens to have the same name (None before 4.1).
        self.scene_uid = getattr(scene, "session_uid", None)
        self.strip_name = strip_name
        self.result_strip_name: str | None = None
        # One bound-method object, so bpy.app.timers can find it again (is_registered).
        self.callback = self.tick

    def tick(self) -> float | None:
        """One timer step: returns the seconds until the next step, or None when done.

        An unexpected exception stops the job (a timer that raises is dropped by Blender,
        which would leave the child running unwatched) and is shown as the job's error.
        """
        try:
            return self._step()
        except Exception as exc:
            self.job.cancel()
            traceback.print_exc()
            status = props.job_status(bpy.context.window_manager)
            if status is not None and status.token == self.token:
                status.running = False
                status.error = f"VidColor internal error: {exc!r} (job cancelled)"
            return None

    def _step(self) -> float | None:
        status = props.job_status(bpy.context.window_manager)
        if status is None or status.token != self.token:
            self.job.cancel()  # the add-on went away, or this job was superseded
            return None
        if status.cancel_requested:
            self.job.cancel()
        self.job.poll()
        status.has_progress = self.job.fraction is not None
        status.progress = self.job.fraction or 0.0
        status.status = self.job.status_text()
        if not self.job.finished:
            tag_redraw()
            return TICK_SECONDS
        self._finish(status)
        tag_redraw()
        return None

    def _finish(self, status: props.VIDCOLOR_PG_job) -> None:
        status.running = False
        status.cancel_requested = False
        if self.job.state is JobState.CANCELLED:
            status.status = "Cancelled; nothing was written"
            return
        if self.job.state is JobState.FAILED:
            status.error = self.job.error or "vidcolor failed"
            status.status = "Failed"
            print(f"VidColor: {status.error}\n{self.job.stderr_tail}")
            return
        status.output = str(self.job.output)
        try:
            added = self._add_strip()
        except strips.StripError as exc:
            status.error = f"{exc} (the colorized movie is at {self.job.output})"
            status.status = "Colorized, but the strip could not be added"
            return
        self.result_strip_name = added.name
        status.status = f"{self.job.status_text()}: added {added.name!r} on channel {added.channel}"

    def _find_scene(self):
        if self.scene_uid is None:
            return bpy.data.scenes.get(self.scene_name)
        for scene in bpy.data.scenes:
            if scene.session_uid == self.scene_uid:
                return scene
        return None

    def _add_strip(self):
        scene = self._find_scene()
        editor = None if scene is None else scene.sequence_editor
        source = None if editor is None else compat.all_strips(editor).get(self.strip_name)
        if source is None:
            raise strips.StripError(
                f"strip {self.strip_name!r} of scene {self.scene_name!r} no longer exists "
                "(deleted or renamed, or another file was opened)"
            )
        return strips.add_result_strip(editor, source, str(self.job.output))


def schedule(watcher: JobWatcher) -> None:
    """Register the watcher's tick with ``bpy.app.timers`` (persistent across file loads)."""
    bpy.app.timers.register(watcher.callback, first_interval=TICK_SECONDS, persistent=True)


def tag_redraw() -> None:
    """Ask the Sequencer areas and the status bar to redraw with the new job state."""
    window_manager = bpy.context.window_manager
    for window in getattr(window_manager, "windows", ()):
        screen = window.screen
        if screen is None:
            continue
        for area in screen.areas:
            if area.type in {"SEQUENCE_EDITOR", "STATUSBAR"}:
                area.tag_redraw()
