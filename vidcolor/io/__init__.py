"""Media in and out: probe, streaming decode, atomic encode, still images.

The stage every other stage hangs between: ``probe`` -> ``iter_luma`` /
``iter_video_frames`` (decode) ... ``VideoWriter`` (encode). It imports only the shared
core (``vidcolor.errors``, ``vidcolor.frames``, ``vidcolor.options``, ``vidcolor.atomic``,
``vidcolor.workers``).
"""

from vidcolor.io.decode import (
    DecodeReport,
    VideoPlane,
    count_frames,
    frame_gray,
    iter_frames,
    iter_luma,
    iter_video_frames,
    resize_gray,
)
from vidcolor.io.encode import VideoWriter, rgb_to_yuv
from vidcolor.io.images import image_size, read_image, write_image
from vidcolor.io.probe import AudioStreamInfo, VideoInfo, probe

__all__ = [
    "AudioStreamInfo",
    "DecodeReport",
    "VideoInfo",
    "VideoPlane",
    "VideoWriter",
    "count_frames",
    "frame_gray",
    "image_size",
    "iter_frames",
    "iter_luma",
    "iter_video_frames",
    "probe",
    "read_image",
    "resize_gray",
    "rgb_to_yuv",
    "write_image",
]
