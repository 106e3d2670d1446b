"""Media in and out: probe, streaming decode, atomic encode, still images.

The stage every other stage hangs between: ``probe`` -> ``iter_luma`` /
``iter_video_frames`` (decode) ... ``VideoWriter`` (encode). It imports only the shared
core (``vidcolor.errors``, ``vidcolor.frames``, ``vidcolor.options``).
"""

from vidcolor.io.atomic import atomic_output, check_output_path, stale_temp_files
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
from vidcolor.io.threads import BoundedPrefetch, BoundedSink

__all__ = [
    "AudioStreamInfo",
    "BoundedPrefetch",
    "BoundedSink",
    "DecodeReport",
    "VideoInfo",
    "VideoPlane",
    "VideoWriter",
    "atomic_output",
    "check_output_path",
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
    "stale_temp_files",
    "write_image",
]
