"""Settings of the add-on: preferences, per-scene options, per-strip hints, the running job.

Where each value lives, and why:

- ``VIDCOLOR_AddonPreferences`` (user preferences): the path of the vidcolor program.
- ``Scene.vidcolor`` (saved in the .blend): device, quality, temporal smoothing, weights and
  the output folder.
- ``<Strip>.vidcolor_hints`` (saved, on each movie strip): that strip's hints folder.
- ``WindowManager.vidcolor_job`` (never saved): the state of the running job, drawn by the
  panel and the status bar. Window-manager properties are runtime-only, so a .blend saved
  during a run does not reopen with a phantom job.
"""

# No "from __future__ import annotations" here: Blender reads the property annotations
# of these classes as live objects.
import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, PointerProperty, StringProperty

from . import compat

_ADDON_ID = __package__

DEVICE_ITEMS = (
    ("auto", "Auto", "CUDA when the vidcolor install sees a GPU, else CPU"),
    ("cpu", "CPU", "Run on the CPU"),
    ("cuda", "CUDA", "Run on an NVIDIA GPU"),
)

QUALITY_ITEMS = (
    ("DRAFT", "Draft", "Small, fast-to-write file (CRF 23)"),
    ("GOOD", "Good", "Visually lossless for most footage (CRF 16)"),
    ("BEST", "Best", "Large file, near lossless (CRF 10)"),
)


class VIDCOLOR_AddonPreferences(bpy.types.AddonPreferences):
    """Where the vidcolor program is."""

    bl_idname = _ADDON_ID

    cli_path: StringProperty(
        name="vidcolor program",
        description="Path of the vidcolor command; empty to find it on PATH",
        subtype="FILE_PATH",
        default="",
    )

    def draw(self, context):
        """Draw the preferences."""
        self.layout.prop(self, "cli_path")
        self.layout.label(text="Leave empty to use the vidcolor found on PATH.", icon="INFO")


class VIDCOLOR_PG_scene(bpy.types.PropertyGroup):
    """Per-scene options of a colorize run (saved in the .blend)."""

    device: EnumProperty(name="Device", items=DEVICE_ITEMS, default="auto")
    quality: EnumProperty(name="Quality", items=QUALITY_ITEMS, default="GOOD")
    temporal: BoolProperty(
        name="Steady color",
        description="Remove color flicker by following the motion between frames",
        default=True,
    )
    weights: StringProperty(
        name="Weights",
        description="Model weights: a registry name or a .safetensors file; empty for the default",
        default="",
    )
    output_dir: StringProperty(
        name="Output folder",
        description=(
            "Folder of the colorized movies; empty for a 'vidcolor' folder beside the .blend "
            "(beside the movie when the .blend is unsaved)"
        ),
        subtype="DIR_PATH",
        default="",
    )


class VIDCOLOR_PG_job(bpy.types.PropertyGroup):
    """The running (or last) job, as the panel and the status bar show it. Not saved."""

    running: BoolProperty(default=False)
    cancel_requested: BoolProperty(default=False)
    progress: FloatProperty(min=0.0, max=1.0, subtype="FACTOR", default=0.0)
    has_progress: BoolProperty(default=False)
    status: StringProperty(default="")
    error: StringProperty(default="")
    token: StringProperty(default="")
    scene_name: StringProperty(default="")
    strip_name: StringProperty(default="")
    output: StringProperty(default="")


CLASSES = (VIDCOLOR_AddonPreferences, VIDCOLOR_PG_scene, VIDCOLOR_PG_job)


def register_properties() -> None:
    """Attach the property groups to Scene, WindowManager and the strip type."""
    bpy.types.Scene.vidcolor = PointerProperty(type=VIDCOLOR_PG_scene)
    bpy.types.WindowManager.vidcolor_job = PointerProperty(type=VIDCOLOR_PG_job)
    compat.strip_type(bpy.types).vidcolor_hints = StringProperty(
        name="Hints folder",
        description="Folder of this strip's hint files (<frame>.json, <frame>.png)",
        subtype="DIR_PATH",
        default="",
    )


def unregister_properties() -> None:
    """Detach what :func:`register_properties` attached (the saved values stay in files)."""
    del compat.strip_type(bpy.types).vidcolor_hints
    del bpy.types.WindowManager.vidcolor_job
    del bpy.types.Scene.vidcolor


def preferences(context) -> VIDCOLOR_AddonPreferences | None:
    """This add-on's preferences, or None when it is not enabled under this name."""
    addon = context.preferences.addons.get(_ADDON_ID)
    return None if addon is None else addon.preferences


def job_status(window_manager) -> VIDCOLOR_PG_job | None:
    """The job status of a window manager, or None once the add-on is unregistered."""
    return getattr(window_manager, "vidcolor_job", None)
