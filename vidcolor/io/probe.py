"""What a video file holds, found before any real work starts.

``probe(path)`` opens the file once, reads the stream headers and decodes the first video
frame (the only place some facts live: display rotation, the interlaced flag, the colour
range the decoder settled on). Every way a file can fail to be a video becomes one
:class:`~vidcolor.errors.DecodeError` naming the file, what was found and what was
expected; a raw PyAV exception never escapes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from vidcolor.errors import DecodeError
from vidcolor.io.dpx import read_timecode as dpx_timecode
from vidcolor.io.sequence import ImageSequence, find_sequence, open_sequence

# AVColorRange values (libavutil/pixfmt.h).
RANGE_UNSPECIFIED, RANGE_LIMITED, RANGE_FULL = 0, 1, 2

# AVColorSpace values vidcolor names (libavutil/pixfmt.h); others keep their number.
COLORSPACE_NAMES = {
    0: "rgb",
    1: "bt709",
    2: "unspecified",
    4: "fcc",
    5: "bt470bg",
    6: "smpte170m",
    7: "smpte240m",
    9: "bt2020nc",
    10: "bt2020c",
}

# Demuxers that read single still images: a PNG or JPEG named .mp4 opens as one of these.
_IMAGE_DEMUXERS = ("image2", "_pipe")


@dataclass(frozen=True)
class AudioStreamInfo:
    """One audio stream of the input.

    Attributes:
        index: the stream's index in the container (all streams counted).
        codec: decoder name, e.g. ``"aac"``, ``"opus"``.
        sample_rate: samples per second.
        channels: number of channels.
        layout: channel layout name, e.g. ``"stereo"``.
        time_base: seconds per pts tick of the stream.
        language: the stream's language tag, if any.
    """

    index: int
    codec: str
    sample_rate: int
    channels: int
    layout: str
    time_base: Fraction
    language: str | None


@dataclass(frozen=True)
class VideoInfo:
    """The facts about a video file that decode, the run and encode need.

    Attributes:
        path: the probed file.
        container: demuxer name (e.g. ``"mov,mp4,m4a,3gp,3g2,mj2"``, ``"matroska,webm"``).
        width: coded picture width in pixels (before display rotation).
        height: coded picture height in pixels (before display rotation).
        frame_count: number of video frames the container declares, or None when it
            does not say (Matroska/WebM usually; count while decoding instead).
        time_base: seconds per pts tick of the video stream.
        average_rate: average frame rate (frames per second), or None if unknown.
        duration: length in seconds, or None if unknown.
        start_pts: pts of the first decoded frame, in ``time_base`` units (or None).
        rotation: display rotation in degrees counter-clockwise, in (-180, 180]; 0 if none.
        codec: video decoder name, e.g. ``"h264"``.
        pix_fmt: pixel format of the decoded frames, e.g. ``"yuv420p"``.
        bit_depth: bits per luma sample (8, 10, 12 ...).
        color_range: AVColorRange of the first frame: 0 unspecified, 1 limited, 2 full.
        colorspace: AVColorSpace number of the first frame (1 bt709, 5/6 bt601, 2 unknown).
        color_primaries: AVColorPrimaries number of the first frame.
        color_trc: AVColorTransferCharacteristic number of the first frame.
        interlaced: the first frame carries the interlaced flag.
        field_order: ``"tt"`` (top field first), ``"bb"``, ``"progressive"`` or
            ``"unknown"``, from the interlaced and top-field-first flags of the first frame.
        timecode: the start timecode (``"HH:MM:SS:FF"``, ``;`` for drop frame) of a MOV,
            MXF, MKV or DPX source, or None.
        sequence: the :class:`~vidcolor.io.sequence.ImageSequence` of an image-sequence
            input (its numbering), or None for a video file.
        video_stream_index: index of the video stream used (the first one) in the container.
        audio: every audio stream, in container order.
        metadata: container-level tags (title, comment, creation_time ...).
        video_metadata: the video stream's own tags (language, handler_name ...).
    """

    path: Path
    container: str
    width: int
    height: int
    frame_count: int | None
    time_base: Fraction
    average_rate: Fraction | None
    duration: float | None
    start_pts: int | None
    rotation: int
    codec: str
    pix_fmt: str
    bit_depth: int
    color_range: int
    colorspace: int
    color_primaries: int
    color_trc: int
    interlaced: bool
    video_stream_index: int
    field_order: str = "progressive"
    timecode: str | None = None
    sequence: ImageSequence | None = None
    audio: tuple[AudioStreamInfo, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict, hash=False)
    video_metadata: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def full_range(self) -> bool:
        """Whether Y uses the full 0..255 range (JPEG range) rather than 16..235."""
        return is_full_range(self.pix_fmt, self.color_range)

    @property
    def colorspace_name(self) -> str:
        """The colour matrix as FFmpeg names it (``"bt709"``, ``"smpte170m"`` ...)."""
        return COLORSPACE_NAMES.get(self.colorspace, str(self.colorspace))


def is_full_range(pix_fmt: str, color_range: int) -> bool:
    """Whether frames of ``pix_fmt`` tagged ``color_range`` carry full-range luma.

    Full range when tagged so, for the deprecated ``yuvj*`` formats, and for gray and RGB
    formats left untagged (FFmpeg treats those as full range). Untagged YUV is limited
    range, as FFmpeg and every player assume.

    Args:
        pix_fmt: FFmpeg pixel format name.
        color_range: AVColorRange (0 unspecified, 1 limited, 2 full).

    Returns:
        True for full range (0..255), False for limited range (16..235 at 8 bits).
    """
    if color_range == RANGE_FULL:
        return True
    if color_range == RANGE_LIMITED:
        return False
    if pix_fmt.startswith("yuvj"):
        return True
    try:
        fmt = av.VideoFormat(pix_fmt)
    except (ValueError, av.FFmpegError):
        return False
    return fmt.is_rgb or pix_fmt.startswith(("gray", "ya", "pal"))


def check_readable(path: Path) -> None:
    """Raise DecodeError unless ``path`` is an existing, readable, non-empty file."""
    if not path.exists():
        raise DecodeError("no such file (expected an existing video file)", path=path)
    if path.is_dir():
        raise DecodeError("is a directory (expected a video file)", path=path)
    if not os.access(path, os.R_OK):
        raise DecodeError("permission denied (expected a readable video file)", path=path)
    if path.stat().st_size == 0:
        raise DecodeError("empty file: 0 bytes (expected a video file)", path=path)


def open_input(path: str | Path, rate: Fraction | None = None) -> av.container.InputContainer:
    """Open ``path`` with PyAV for reading, turning every failure into a DecodeError.

    Args:
        path: the media file, or an image sequence (a printf pattern such as
            ``scan/%06d.dpx``, or a folder of numbered images).
        rate: frames per second of an image sequence (default 24); ignored for files.

    Returns:
        An open PyAV input container; the caller closes it.

    Raises:
        DecodeError: missing, unreadable, empty, or not a media file FFmpeg recognises; an
            image sequence with a gap (naming the missing frame).
    """
    path = Path(path)
    seq = find_sequence(path)
    if seq is not None:
        return open_sequence(seq, rate)
    check_readable(path)
    try:
        return av.open(str(path), "r")
    except av.FFmpegError as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise DecodeError(
            f"not a readable media file ({reason}); expected a video container such as "
            "mp4, mkv, mov or webm (a truncated or damaged file also fails this way)",
            path=path,
        ) from exc
    except OSError as exc:
        raise DecodeError(f"cannot open: {exc.strerror or exc}", path=path) from exc


def probe(path: str | Path, rate: Fraction | None = None) -> VideoInfo:
    """Read what a video file holds and check that it can be decoded.

    Opens the file, reads the headers of every stream and decodes the first frame of
    the first video stream. Cheap: no more than a few packets are decoded.

    Args:
        path: a video file (mp4, mkv, mov, webm, avi ...) or an image sequence (see
            :func:`open_input`).
        rate: frames per second of an image sequence (default 24).

    Returns:
        A VideoInfo for the first video stream, plus the audio streams and metadata.

    Raises:
        DecodeError: with the path and what was found versus expected, when the file is
            missing, empty, not a media file, a still image, audio only, has no video
            stream, or has a video stream without a single decodable frame.
    """
    path = Path(path)
    seq = find_sequence(path)
    container = open_input(path, rate)
    try:
        return _probe_open(path, container, seq)
    finally:
        container.close()


def _probe_open(path: Path, container: av.container.InputContainer,
                seq: ImageSequence | None = None) -> VideoInfo:
    fmt_name = container.format.name
    if seq is None and any(tag in fmt_name for tag in _IMAGE_DEMUXERS):
        raise DecodeError(
            f"a still image (format {fmt_name}), expected a video; "
            "use `vidcolor image` for single pictures",
            path=path,
        )
    audio = tuple(_audio_info(s) for s in container.streams.audio)
    stream = select_video_stream(container)
    if stream is None:
        if audio:
            raise DecodeError(
                f"audio only: found {len(audio)} audio stream(s) and no video stream "
                "(expected a video stream)",
                path=path,
            )
        kinds = ", ".join(sorted({s.type for s in container.streams})) or "no streams"
        raise DecodeError(f"no video stream: found {kinds} (expected a video stream)", path=path)
    if stream.codec_context is None:
        raise DecodeError(
            "video codec not supported by this FFmpeg build (expected a decodable codec)",
            path=path,
            field="codec",
        )
    ctx = stream.codec_context  # the container's colour tags, before a decoder updates them
    tags = (ctx.colorspace, ctx.color_primaries, ctx.color_trc)
    first = _first_frame(path, container, stream)
    time_base = stream.time_base or Fraction(1, 90000)
    rate = stream.average_rate or stream.guessed_rate or None
    duration = None
    if stream.duration:
        duration = float(stream.duration * time_base)
    elif container.duration:
        duration = container.duration / av.time_base
    frames = seq.count if seq is not None else (stream.frames or None)
    fmt = first.format
    return VideoInfo(
        path=path,
        container=fmt_name,
        width=first.width,
        height=first.height,
        frame_count=frames,
        time_base=Fraction(time_base),
        average_rate=Fraction(rate) if rate else None,
        duration=duration,
        start_pts=first.pts,
        rotation=_normalise_rotation(first.rotation),
        codec=stream.codec_context.name,
        pix_fmt=fmt.name,
        bit_depth=fmt.components[0].bits if fmt.components else 8,
        color_range=int(first.color_range),
        colorspace=_tag(first.colorspace, tags[0]),
        color_primaries=_tag(first.color_primaries, tags[1]),
        color_trc=_tag(first.color_trc, tags[2]),
        interlaced=bool(first.interlaced_frame),
        video_stream_index=stream.index,
        field_order=_field_order(first, stream),
        timecode=find_timecode(container, stream, first) or (
            dpx_timecode(seq.path_of(seq.start)) if seq is not None else None),
        sequence=seq,
        audio=audio,
        metadata=dict(container.metadata),
        video_metadata=dict(stream.metadata),
    )


def _tag(frame_value, stream_value) -> int:
    """A colour tag: the frame's, else the container's (ProRes frames may leave it unset)."""
    value = int(frame_value)
    if value == 2 and stream_value is not None and int(stream_value) not in (0, 2):
        return int(stream_value)
    return value


#: AVFieldOrder numbers (libavcodec/defs.h) and their names.
FIELD_ORDERS = {1: "progressive", 2: "tt", 3: "bb", 4: "tb", 5: "bt"}


def _field_order(frame: av.VideoFrame, stream) -> str:
    """The field order: the decoder's (AVFieldOrder), else top first for interlaced frames."""
    order = FIELD_ORDERS.get(int(getattr(stream.codec_context, "field_order", 0) or 0))
    if not frame.interlaced_frame:
        return "progressive"
    return order if order not in (None, "progressive") else "tt"


def find_timecode(container, stream, frame: av.VideoFrame | None = None) -> str | None:
    """The start timecode a source carries, or None.

    Looked for where FFmpeg's demuxers put it: the container's tags (MXF, Matroska), the
    video stream's, a ``tmcd`` data stream's (MOV/MP4), and the first frame's metadata
    (the DPX and EXR decoders export the header's timecode there).
    """
    places = [container.metadata, stream.metadata]
    places += [s.metadata for s in container.streams if s is not stream]
    if frame is not None:
        places.append(getattr(frame, "metadata", None) or {})
    for tags in places:
        for key, value in tags.items():
            if key.lower() == "timecode" and value:
                return str(value)
    return None


def select_video_stream(container: av.container.InputContainer):
    """The video stream vidcolor works on: the first one that is not cover art, or None."""
    for stream in container.streams.video:
        if not _is_cover_art(stream):
            return stream
    return None


def _is_cover_art(stream) -> bool:
    """True for an attached picture (album art) posing as a video stream."""
    try:
        return bool(stream.disposition & av.stream.Disposition.attached_pic)
    except (AttributeError, TypeError):
        return False


def _first_frame(path: Path, container, stream) -> av.VideoFrame:
    """Decode the first frame of ``stream``; DecodeError if there is none."""
    errors = 0
    last_error = ""
    try:
        for packet in container.demux(stream):
            try:
                for frame in packet.decode():
                    return frame
            except av.FFmpegError as exc:
                errors += 1
                last_error = str(exc)
                if errors > 50:
                    break
    except av.FFmpegError as exc:
        last_error = str(exc)
    if errors or last_error:
        raise DecodeError(
            f"no video frame could be decoded ({last_error}); expected at least one frame",
            path=path,
        )
    raise DecodeError(
        "zero frames: the video stream is empty (expected at least one frame)", path=path
    )


def _audio_info(stream) -> AudioStreamInfo:
    ctx = stream.codec_context
    layout = getattr(getattr(ctx, "layout", None), "name", "") if ctx is not None else ""
    return AudioStreamInfo(
        index=stream.index,
        codec=ctx.name if ctx is not None else "unknown",
        sample_rate=int(ctx.sample_rate or 0) if ctx is not None else 0,
        channels=int(ctx.channels or 0) if ctx is not None else 0,
        layout=layout or "",
        time_base=Fraction(stream.time_base) if stream.time_base else Fraction(1, 1),
        language=stream.metadata.get("language"),
    )


def _normalise_rotation(degrees: float | None) -> int:
    """Round to whole degrees in (-180, 180]."""
    if degrees is None:
        return 0
    d = int(round(degrees)) % 360
    return d - 360 if d > 180 else d
