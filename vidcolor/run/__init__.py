"""The only package that wires the stages together (see ``docs/ARCHITECTURE.md``).

Each module answers one question:

* ``compose``: how is a frame's full-resolution chroma made from its working-resolution ab?
* ``workdir``: what does a run keep on disk, and what can an interrupted run reuse?
* ``plan``: which hints guide each shot (its own, a reference's, a similar shot's)?
* ``shot``: how is one shot colorized (the unit a preview or a cluster task calls)?
* ``video``: how does a file run go (analyze, colorize shots, encode)?
* ``stream``: how are pictures held in memory colorized (an image, a frame stream)?
* ``tools``: what are a film's shots, and which frames to paint on?
* ``preview``: what would a render give on this frame, or this shot, with the hints now?
  (``film_frames`` holds the film it asks about: decoded once, flows on demand.)
* ``hintedit``: how is a hints folder edited file by file, with undo?
* ``model``, ``cancel``: the loaded network as a run sees it; how a run is stopped.
"""

from vidcolor.run.cancel import CancelToken
from vidcolor.run.hintedit import HintFolder
from vidcolor.run.model import ChromaModel, load_model
from vidcolor.run.plan import HintFrames, ShotHints, hint_frames_of, plan_shot_hints
from vidcolor.run.preview import PreviewSession
from vidcolor.run.shot import colorize_shot, compute_shot_flows
from vidcolor.run.stream import colorize_gray_stream, colorize_image_gray, suggest_colors_gray
from vidcolor.run.tools import export_hint_templates, find_shots
from vidcolor.run.video import OnFrame, RunReport, VideoJob, run_video

__all__ = [
    "CancelToken",
    "ChromaModel",
    "HintFolder",
    "HintFrames",
    "OnFrame",
    "PreviewSession",
    "RunReport",
    "ShotHints",
    "VideoJob",
    "colorize_gray_stream",
    "colorize_image_gray",
    "colorize_shot",
    "compute_shot_flows",
    "export_hint_templates",
    "find_shots",
    "hint_frames_of",
    "load_model",
    "plan_shot_hints",
    "run_video",
    "suggest_colors_gray",
]
