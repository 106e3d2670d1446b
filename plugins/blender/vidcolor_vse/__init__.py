"""VidColor for Blender's Video Sequencer: colorize black-and-white movie strips from hints.

The add-on drives the ``vidcolor`` command-line program in a child process; Blender never
imports torch. ``runner`` and ``commands`` are plain Python (no ``bpy``) and can be imported
outside Blender; everything that needs ``bpy`` is imported by :func:`register`.
"""


def register():
    """Blender entry point: register the add-on's classes and properties."""
    from . import registration

    registration.register()


def unregister():
    """Blender entry point: unregister everything :func:`register` added."""
    from . import registration

    registration.unregister()
