"""VIDCOLOR_PT_hints: the "VidColor" tab of the Sequencer's sidebar, and the status bar item."""

from __future__ import annotations

import bpy

from . import commands, compat, paths, props, strips


class VIDCOLOR_PT_hints(bpy.types.Panel):
    """Hints, options and the colorize job of the active movie strip."""

    bl_idname = "VIDCOLOR_PT_hints"
    bl_label = "VidColor"
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = "VidColor"

    def draw(self, context):
        """Draw the strip's hints, the options and the job."""
        layout = self.layout
        scene = compat.sequencer_scene(context)
        editor = scene.sequence_editor
        strip = None if editor is None else editor.active_strip

        box = layout.box()
        if strip is None or strip.type != "MOVIE":
            box.label(text="Select a movie strip", icon="INFO")
        else:
            box.label(text=strip.name, icon="FILE_MOVIE")
            box.prop(strip, "vidcolor_hints", text="Hints")
            _draw_hint_count(box, strip)
            row = box.row(align=True)
            row.operator("vidcolor.add_hint_frame", icon="IMAGE_DATA")
            row.operator("vidcolor.open_hints_folder", icon="FILE_FOLDER", text="")
            _draw_frame_index(box, scene, strip)

        settings = scene.vidcolor
        col = layout.column(align=True)
        col.prop(settings, "device")
        col.prop(settings, "quality")
        col.prop(settings, "temporal")
        col.prop(settings, "weights")
        col.prop(settings, "output_dir", text="Output")

        status = props.job_status(context.window_manager)
        if status is None:
            return
        row = layout.row(align=True)
        row.scale_y = 1.4
        row.operator("vidcolor.colorize_strip", icon="COLOR")
        row.operator("vidcolor.cancel_job", icon="CANCEL", text="Cancel")
        if status.running:
            layout.label(text=f"Colorizing {status.strip_name!r}", icon="SEQUENCE")
            draw_progress(layout, status)
        elif status.status:
            layout.label(text=status.status, icon="CHECKMARK" if not status.error else "NONE")
        if status.error:
            for line in _wrap(status.error, 48):
                layout.label(text=line, icon="ERROR")


def draw_progress(layout, status) -> None:
    """A progress bar with the job's status text (an empty bar while the length is unknown)."""
    factor = status.progress if status.has_progress else 0.0
    layout.progress(factor=factor, type="BAR", text=status.status or "Running...")


def draw_status_bar(self, context):
    """Status bar item: the running job's progress, or its error."""
    status = props.job_status(context.window_manager)
    if status is None:
        return
    if status.running:
        row = self.layout.row()
        row.label(text="VidColor")
        row.progress(
            factor=status.progress if status.has_progress else 0.0,
            type="BAR",
            text=status.status or "Running...",
        )
    elif status.error:
        self.layout.label(text=f"VidColor: {status.error}", icon="ERROR")


def _draw_hint_count(layout, strip) -> None:
    folder = paths.hints_dir(strip)
    if folder is None:
        layout.label(text="No hints folder: colorized automatically")
        return
    if not folder.is_dir():
        layout.label(text="Folder does not exist yet", icon="INFO")
        return
    frames = sorted(
        {
            int(p.stem)
            for p in folder.iterdir()
            if p.stem.isdigit() and p.suffix.lower() in (".json", ".png")
        }
    )
    text = ", ".join(str(f) for f in frames[:8]) + (" ..." if len(frames) > 8 else "")
    layout.label(text=f"Hint frames: {text}" if frames else "No hint frames yet")


def _draw_frame_index(layout, scene, strip) -> None:
    try:
        frame = strips.movie_frame_at(strip, scene.frame_current)
    except strips.StripError:
        layout.label(text="Playhead is outside the strip")
        return
    folder = paths.hints_dir(strip)
    has = folder is not None and commands.hint_files(folder, frame)
    layout.label(text=f"Movie frame {frame}" + (" (has hints)" if has else ""))


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return lines
